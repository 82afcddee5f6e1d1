namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// The stop path, driven by PowerShell.Stop() (what Ctrl+C does to a pipeline; the console's own Ctrl+C stays with
/// Pester): a stopped start pauses what it resumed, says so on the host, and the command ends.
/// </summary>
public class StopTests
{
    [Fact]
    public async Task Stop_during_a_starts_wait_pauses_what_it_resumed_and_says_so()
    {
        using var host = new CmdletHost();
        host.Service.Add("p", state: "paused", boot: TimeSpan.FromMinutes(10));
        using var ps = host.Create("Start-MertEndpoint p -Confirm:$false");
        var invoking = Task.Factory.StartNew(() => ps.Invoke(), TaskCreationOptions.LongRunning);
        // Fake time runs until the resume went out and the start is waiting for the boot (a minute in).
        await host.Clock.Until(() => host.Service.Requests.Any(r => r.Is("POST", "/resume"))
            && host.Clock.GetUtcNow() >= new TestClock().GetUtcNow().AddMinutes(1)).WaitAsync(CmdletHost.Bound);
        Assert.Equal("initializing", host.Service.StateOf("p"));

        await host.Clock.Drive(Task.Run(ps.Stop)).WaitAsync(CmdletHost.Bound);

        await CmdletHost.AssertStopped(ps, invoking);
        Assert.Equal(["POST /v2/endpoint/alice/p/resume", "POST /v2/endpoint/alice/p/pause"], host.Service.Writes.Select(r => r.ToString()));
        Assert.Equal("paused", host.Service.StateOf("p"));
        // The pipeline is stopped, so the notice goes to the host.
        Assert.Contains(host.Host.HostLines, l => l.StartsWith("WARNING: alice/p: the start was cancelled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_during_a_start_whose_pause_keeps_failing_says_at_once_that_it_retries_and_then_how_it_ended()
    {
        using var host = new CmdletHost();
        host.Service.Add("f", state: "paused", boot: TimeSpan.FromMinutes(10));
        host.Service.Intercept = r => r.Is("POST", "/pause") ? FakeService.Json(500, FakeService.Error("pause is broken")) : null;
        using var ps = host.Create("Start-MertEndpoint f -Confirm:$false");
        var invoking = Task.Factory.StartNew(() => ps.Invoke(), TaskCreationOptions.LongRunning);
        await host.Clock.Until(() => host.Service.Requests.Any(r => r.Is("POST", "/resume"))
            && host.Clock.GetUtcNow() >= new TestClock().GetUtcNow().AddMinutes(1)).WaitAsync(CmdletHost.Bound);

        var stopping = Task.Run(ps.Stop);
        // The first pause has failed and the second is not out yet: the host already says the pause is being retried,
        // and for how long (before this, the terminal stayed silent for the whole 5 minutes).
        await host.Clock.Until(() => host.Service.Requests.Count(r => r.Is("POST", "/pause")) >= 2).WaitAsync(CmdletHost.Bound);
        var early = host.Host.HostLines.Where(l => l.Contains("alice/f", StringComparison.Ordinal)).ToList();
        // Let the stop end before asserting: a failed assertion must not leave the pipeline stopping forever.
        await host.Clock.Drive(stopping).WaitAsync(CmdletHost.Bound);
        await CmdletHost.AssertStopped(ps, invoking);

        Assert.Contains(early, l => l.StartsWith("WARNING: alice/f: the start was cancelled; pausing it again", StringComparison.Ordinal)
            && l.Contains("5 min", StringComparison.Ordinal));
        Assert.DoesNotContain(early, l => l.Contains("MAY STILL BE BILLING", StringComparison.Ordinal));
        // How it ended: said on the host once the pause gave up.
        Assert.Contains(host.Host.HostLines, l => l.StartsWith("ERROR: ", StringComparison.Ordinal)
            && l.Contains("'f' in namespace 'alice' MAY STILL BE BILLING", StringComparison.Ordinal));
        // Never paused: still booting, or booted meanwhile (fake time runs on while the stop settles).
        Assert.Contains(host.Service.StateOf("f"), new[] { "initializing", "running" });
    }

    [Fact]
    public async Task Stop_during_a_start_of_a_running_endpoint_leaves_it_running()
    {
        using var host = new CmdletHost();
        host.Service.Add("r");
        // The health probe never answers while the stop comes: nothing was started here, so nothing is owed.
        host.Service.Hold(r => r.Path == "/health");
        using var ps = host.Create("Start-MertEndpoint r -Confirm:$false");
        var invoking = Task.Factory.StartNew(() => ps.Invoke(), TaskCreationOptions.LongRunning);
        await PipelineTests.Until(() => host.Service.Held == 1);

        await Task.Run(ps.Stop).WaitAsync(CmdletHost.Bound);

        await CmdletHost.AssertStopped(ps, invoking);
        Assert.Empty(host.Service.Writes);
        Assert.Equal("running", host.Service.StateOf("r"));
    }

    [Fact]
    public async Task Stop_of_a_fan_out_start_pauses_each_endpoint_it_resumed_and_none_it_did_not()
    {
        using var host = new CmdletHost();
        host.Service.Add("s1", state: "paused", boot: TimeSpan.FromMinutes(10));
        host.Service.Add("s2", state: "paused", boot: TimeSpan.FromMinutes(10));
        host.Service.Add("s3", state: "running");
        using var ps = host.Create("Start-MertEndpoint s1, s2, s3 -Confirm:$false");
        var invoking = Task.Factory.StartNew(() => ps.Invoke(), TaskCreationOptions.LongRunning);
        await host.Clock.Until(() => host.Service.Requests.Count(r => r.Is("POST", "/resume")) == 2
            && host.Clock.GetUtcNow() >= new TestClock().GetUtcNow().AddMinutes(1)).WaitAsync(CmdletHost.Bound);

        await host.Clock.Drive(Task.Run(ps.Stop)).WaitAsync(CmdletHost.Bound);

        await CmdletHost.AssertStopped(ps, invoking);
        Assert.Equal(["s1", "s2"], host.Service.Writes.Where(r => r.Path.EndsWith("/pause")).Select(r => r.Path.Split('/')[4]).Order());
        Assert.Equal("running", host.Service.StateOf("s3"));
    }

    [Fact]
    public async Task Stop_while_Use_runs_its_block_ends_the_block_and_pauses_the_endpoint()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        // Write-Output, not a bare 'never': a stopped nested pipeline ends at its next command, while an expression
        // statement right after the interrupted sleep was once seen to run (1 run in about 15, on a loaded machine).
        using var ps = host.Create("Use-MertEndpoint u -Confirm:$false { 'in block'; Start-Sleep -Seconds 600; Write-Output 'never' }");
        var output = new PSDataCollection<PSObject>();
        var invoking = Task.Factory.StartNew(() => ps.Invoke(null, output), TaskCreationOptions.LongRunning);
        await host.Clock.Until(() => output.Count > 0).WaitAsync(CmdletHost.Bound);

        await Task.Run(ps.Stop).WaitAsync(CmdletHost.Bound);

        await CmdletHost.AssertStopped(ps, invoking);
        Assert.Equal(["in block"], output.Select(o => o.ToString()));
        Assert.Equal(["resume", "pause"], host.Service.Writes.Select(r => r.Path.Split('/')[^1]));
        Assert.Equal("paused", host.Service.StateOf("u"));
    }

    [Fact]
    public async Task Wait_that_runs_out_of_time_is_WaitTimeout_and_changes_nothing()
    {
        using var host = new CmdletHost();
        host.Service.Add("w", state: "initializing", boot: TimeSpan.FromHours(1));
        var run = await host.RunAsync("Wait-MertEndpoint w -TimeoutSec 30");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("WaitTimeout,MertEndpoint.PowerShell.Cmdlets.WaitMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);
        Assert.Empty(host.Service.Writes);
    }
}
