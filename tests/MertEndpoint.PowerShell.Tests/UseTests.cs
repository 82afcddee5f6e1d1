namespace MertEndpoint.PowerShell.Tests;

/// <summary>Use-MertEndpoint's nested pipeline: the block runs on a ready endpoint, which is paused after in every case.</summary>
public class UseTests
{
    [Fact]
    public async Task The_block_runs_with_the_ready_endpoint_and_the_endpoint_is_paused_after()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var run = (await host.RunAsync("""
            $MertEndpoint = 'caller''s own'
            Use-MertEndpoint u -Confirm:$false { param($e) "arg:$($e.Name)"; "var:$($MertEndpoint.Status)"; "read:$((Get-MertEndpoint u).Status)" }
            "after:$MertEndpoint"
            """)).Succeeded();
        Assert.Equal(["arg:u", "var:Running", "read:Running", "after:caller's own"], run.Output.Select(o => o.ToString()));
        Assert.Equal(["resume", "pause"], host.Service.Writes.Select(r => r.Path.Split('/')[^1]));
        Assert.Equal("paused", host.Service.StateOf("u"));
    }

    [Fact]
    public async Task A_block_that_throws_still_pauses_and_the_error_comes_out()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var run = await host.RunAsync("Use-MertEndpoint u -Confirm:$false { 'before'; throw 'boom in block' }; 'next statement'");
        // A throw ends the script that called Use, as it would without Use around it; the output before it came out.
        Assert.Equal(["before"], run.Output.Select(o => o.ToString()));
        Assert.Equal("boom in block", run.Terminating?.Message);
        Assert.Equal("POST /v2/endpoint/alice/u/pause", host.Service.Writes[^1].ToString());
        Assert.Equal("paused", host.Service.StateOf("u"));
    }

    [Fact]
    public async Task Exit_in_the_block_pauses_first_then_leaves_with_its_code()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var run = await host.RunAsync("Use-MertEndpoint u -Confirm:$false { exit 3 }; 'not reached'");
        Assert.DoesNotContain(run.Output, o => o.ToString() == "not reached");
        Assert.Equal("paused", host.Service.StateOf("u"));
        Assert.Equal(3, host.Invoke("$LASTEXITCODE").Single().BaseObject);
    }

    [Fact]
    public async Task ScaleToZero_and_KeepIfRunning_choose_what_happens_after()
    {
        using var host = new CmdletHost();
        host.Service.Add("z", state: "paused");
        host.Service.Add("shared", state: "running");
        (await host.RunAsync("Use-MertEndpoint z -AfterAction ScaleToZero -Confirm:$false { }; Use-MertEndpoint shared -KeepIfRunning -Confirm:$false { }")).Succeeded();
        Assert.Equal("scaledToZero", host.Service.StateOf("z"));
        Assert.Equal("running", host.Service.StateOf("shared"));
        Assert.DoesNotContain(host.Service.Writes, r => r.Path.Contains("/shared/"));
    }

    [Fact]
    public async Task A_missing_endpoint_is_EndpointNotFound_and_the_block_never_runs()
    {
        using var host = new CmdletHost();
        var run = await host.RunAsync("Use-MertEndpoint nothing-here -Confirm:$false { 'ran' }");
        Assert.Empty(run.Output);
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("EndpointNotFound,MertEndpoint.PowerShell.Cmdlets.UseMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Empty(host.Service.Writes);
    }

    [Fact]
    public async Task A_start_that_fails_is_EndpointFailed_and_the_block_never_runs()
    {
        using var host = new CmdletHost();
        host.Service.Add("broken", state: "paused", image: "someone/fail:1");
        var run = await host.RunAsync("Use-MertEndpoint broken -Confirm:$false { 'ran' }");
        Assert.Empty(run.Output);
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("EndpointFailed,MertEndpoint.PowerShell.Cmdlets.UseMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceUnavailable, error.CategoryInfo.Category);
    }

    [Fact]
    public async Task A_MaxDuration_that_is_not_positive_is_refused_before_any_request()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var run = await host.RunAsync("Use-MertEndpoint u -MaxDuration 0 -Confirm:$false { 'ran' }");
        Assert.Empty(run.Output);
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("InvalidMaxDuration,MertEndpoint.PowerShell.Cmdlets.UseMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Empty(host.Service.Requests);
    }

    [Fact]
    public async Task MaxDuration_stops_a_block_that_hangs_and_pauses_the_endpoint()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var run = await host.RunAsync("Use-MertEndpoint u -MaxDuration '00:00:02' -Confirm:$false { 'started'; Start-Sleep -Seconds 120; Write-Output 'never' }");
        Assert.Equal(["started"], run.Output.Select(o => o.ToString()));
        Assert.StartsWith("MaxDurationExceeded,", Assert.Single(run.AllErrors).FullyQualifiedErrorId);
        Assert.Equal("paused", host.Service.StateOf("u"));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}: the block's sleep was not stopped");
    }

    [Fact]
    public async Task WhatIf_runs_nothing_and_sends_nothing()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var run = (await host.RunAsync("Use-MertEndpoint u -WhatIf { 'ran' }")).Succeeded();
        Assert.Empty(run.Output);
        Assert.Empty(host.Service.Writes);
    }
}

public class UseLimitTests
{
    [Fact]
    public async Task A_404_on_the_pause_owed_means_nothing_to_pause_not_still_billing()
    {
        using var host = new CmdletHost();
        host.Service.Add("f", state: "paused", boot: TimeSpan.FromHours(1));
        host.Service.Add("u", state: "paused");
        host.Service.Intercept = r => r.Is("POST", "/pause") ? FakeService.Json(404, FakeService.Error("Endpoint not found")) : null;

        var start = await host.RunAsync("Start-MertEndpoint f -TimeoutSec 3 -Confirm:$false");
        var error = Assert.Single(start.AllErrors);
        Assert.Equal("WaitTimeout", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("nothing to pause", error.Exception.Message);
        Assert.DoesNotContain("BILLING", error.Exception.Message);

        var use = (await host.RunAsync("Use-MertEndpoint u -Confirm:$false { 'ok' }")).Succeeded();
        Assert.Equal(["ok"], use.Output.Select(o => o.ToString()));
    }

    [Fact]
    public async Task Start_is_quiet_about_the_idle_timeout_once_IdleTimeoutMinutes_set_one()
    {
        using var host = new CmdletHost();
        host.Service.Add("always", state: "paused", minReplica: 1, scaleToZeroTimeout: null);
        var run = (await host.RunAsync("Start-MertEndpoint always -IdleTimeoutMinutes 5 -Confirm:$false")).Succeeded();
        Assert.Empty(run.Warnings);
        Assert.Contains(host.Service.Writes, w => w.Method == HttpMethod.Put);
    }
}
