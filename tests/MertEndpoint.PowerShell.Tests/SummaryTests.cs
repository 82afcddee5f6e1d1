namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// Commands that say what happened: one line on the information stream (shown by default, silenced by
/// -InformationAction Ignore), on the host once the pipeline is stopped, through the command's one reporter.
/// </summary>
public class SummaryTests
{
    [Fact]
    public async Task Use_ends_with_one_line_started_cold_start_block_paused_and_about_how_much()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused", boot: TimeSpan.FromSeconds(90));
        var run = (await host.RunAsync("Use-MertEndpoint u -Confirm:$false { 'work' }")).Succeeded();
        var line = Assert.Single(run.Information);
        // The fake boot takes 90 s of fake time; a10g x1 at the list price of $1.00/h: about 90 s of billing.
        Assert.Matches(@"^alice/u: started, ready after 1 min 3\d s; the block ran 0 s; paused after 1 min 3\d s billed \(about \$0\.02\d at \$1\.00/h\)\.$", line);
        Assert.Equal("paused", host.Service.StateOf("u"));
    }

    [Fact]
    public async Task Use_says_what_happened_when_the_block_throws_and_when_it_leaves_a_shared_endpoint_running()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        host.Service.Add("shared", state: "running");
        var failed = await host.RunAsync("Use-MertEndpoint u -Confirm:$false { throw 'boom' }");
        Assert.Equal("boom", failed.Terminating?.Message);
        Assert.Matches(@"^alice/u: started, ready after \d+ s; the block failed after 0 s; paused after \d+ s billed", Assert.Single(failed.Information));

        var kept = (await host.RunAsync("Use-MertEndpoint shared -KeepIfRunning -Confirm:$false { }")).Succeeded();
        Assert.Equal("alice/shared: was already running; the block ran 0 s; left running, as asked (it bills $1.00/h).", Assert.Single(kept.Information));
    }

    [Fact]
    public async Task Use_whose_pause_keeps_failing_says_it_may_still_bill_and_never_says_paused()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        host.Service.Intercept = r => r.Is("POST", "/pause") ? FakeService.Json(500, FakeService.Error("pause is broken")) : null;
        var run = await host.RunAsync("Use-MertEndpoint u -OwedPauseTimeoutSec 30 -Confirm:$false { }");
        Assert.Equal("EndpointStillBilling", Assert.Single(run.AllErrors).FullyQualifiedErrorId.Split(',')[0]);
        var line = Assert.Single(run.Information);
        Assert.Contains("it MAY STILL BE BILLING (see the error)", line);
        Assert.DoesNotContain("paused", line);
    }

    [Fact]
    public async Task InformationAction_Ignore_silences_the_line()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var run = (await host.RunAsync("Use-MertEndpoint u -InformationAction Ignore -Confirm:$false { }")).Succeeded();
        Assert.Empty(run.Information);
        Assert.DoesNotContain(host.Host.HostLines, l => l.Contains("alice/u: started", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Use_stopped_in_its_block_says_what_happened_on_the_host()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        using var ps = host.Create("Use-MertEndpoint u -Confirm:$false { 'in block'; Start-Sleep -Seconds 600 }");
        var output = new PSDataCollection<PSObject>();
        var invoking = Task.Factory.StartNew(() => ps.Invoke(null, output), TaskCreationOptions.LongRunning);
        await host.Clock.Until(() => output.Count > 0).WaitAsync(CmdletHost.Bound);

        await Task.Run(ps.Stop).WaitAsync(CmdletHost.Bound);

        await CmdletHost.AssertStopped(ps, invoking);
        Assert.True(host.Service.StateOf("u") == "paused", $"u is {host.Service.StateOf("u")}; the host said:\n" + string.Join("\n", host.Host.HostLines));
        // The pipeline is stopped, so the line goes to the host at once.
        Assert.True(host.Host.HostLines.Any(l => System.Text.RegularExpressions.Regex.IsMatch(l,
            @"^alice/u: started, ready after \d+ s; the block was stopped after \d+ s; paused after \d+ s billed")), string.Join("\n", host.Host.HostLines));
    }

    [Fact]
    public async Task Invoke_stopped_while_sending_says_on_the_host_what_it_did_and_that_a_rerun_sends_the_rest()
    {
        using var host = new CmdletHost();
        host.Service.Add("a");
        host.Service.Hold(r => r.Method == HttpMethod.Post && r.Host.EndsWith(".endpoints.huggingface.cloud", StringComparison.Ordinal));
        using var ps = host.Create("Invoke-MertEndpoint a -Body @{ inputs = 'x' }");
        var invoking = Task.Factory.StartNew(() => ps.Invoke(), TaskCreationOptions.LongRunning);
        await PipelineTests.Until(() => host.Service.Held == 1);

        await Task.Run(ps.Stop).WaitAsync(CmdletHost.Bound);

        await CmdletHost.AssertStopped(ps, invoking);
        Assert.Contains(host.Host.HostLines, l => System.Text.RegularExpressions.Regex.IsMatch(l,
            @"^Stopped: 0 answered, 0 failed, 0 skipped in \d+ s; run the same command again to send only what is left\.$"));
    }

    [Fact]
    public async Task New_says_the_endpoint_bills_from_now_and_how_to_stop_it()
    {
        using var host = new CmdletHost();
        var run = (await host.RunAsync("New-MertEndpoint fresh -ImageUrl 'someone/img:1' -Confirm:$false")).Succeeded();
        Assert.Equal(["fresh"], run.Names);
        Assert.Equal("alice/fresh was created and bills from now while it boots and runs ($1.00/h on nvidia-a10g x1); "
            + "it scales to zero after 15 idle minutes. Stop it with: Stop-MertEndpoint -Name fresh -Namespace alice", Assert.Single(run.Information));
    }

    [Fact]
    public async Task A_ScaleToZero_that_changes_nothing_on_a_paused_endpoint_warns()
    {
        using var host = new CmdletHost();
        host.Service.Add("p", state: "paused");
        host.Service.Add("r", state: "running");
        var run = (await host.RunAsync("Stop-MertEndpoint p, r -ScaleToZero -Confirm:$false")).Succeeded();
        var warning = Assert.Single(run.Warnings);
        Assert.StartsWith("Endpoint 'p' in namespace 'alice' is paused, so -ScaleToZero changed nothing", warning);
        Assert.Equal("scaledToZero", host.Service.StateOf("r"));
    }
}
