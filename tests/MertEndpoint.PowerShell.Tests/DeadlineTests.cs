namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// The command deadline (MERT_ENDPOINT_COMMAND_TIMEOUT_SEC): an ordinary command against a control plane that does not
/// answer ends with CommandTimedOut at the deadline, its calls cancelled; a command that waits on purpose is bound by its
/// own -TimeoutSec instead.
/// </summary>
public class DeadlineTests
{
    [Fact]
    public async Task An_ordinary_command_past_its_deadline_ends_with_CommandTimedOut_and_cancels_its_calls()
    {
        using var host = new CmdletHost();
        host.Factory.CommandTimeout = TimeSpan.FromSeconds(30);
        host.Service.Add("a");
        host.Service.Hold(r => r.Method == HttpMethod.Get && r.Path == "/v2/endpoint/alice");
        using var ps = host.Create("Get-MertEndpoint");
        var invoking = Task.Factory.StartNew(() => ps.Invoke(), TaskCreationOptions.LongRunning);
        await PipelineTests.Until(() => host.Service.Held == 1);

        // The listing never answers; 30 s of fake time pass (a deadline is not a wait the test clock runs to by itself).
        host.Clock.Advance(TimeSpan.FromSeconds(30));

        var error = await CmdletHost.FirstError(ps, invoking);
        Assert.NotNull(error);
        Assert.StartsWith("CommandTimedOut,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);
        Assert.Contains("Get-MertEndpoint did not finish within 30 s", error.Exception.Message);
        Assert.Contains("MERT_ENDPOINT_COMMAND_TIMEOUT_SEC", error.Exception.Message);
        Assert.True(host.Service.CancelledWhileHeld >= 1); // the call in flight was cancelled, not left running
        Assert.Equal(0, host.Service.Held);
    }

    [Fact]
    public async Task A_command_fed_by_a_pipeline_takes_as_long_as_its_input_and_is_not_cut_at_the_deadline()
    {
        using var host = new CmdletHost();
        host.Factory.CommandTimeout = TimeSpan.FromSeconds(30);
        host.Service.Add("a");
        var release = host.Service.Hold(r => r.Method == HttpMethod.Get && r.Path == "/v2/endpoint/alice/a");
        using var ps = host.Create("'a' | Get-MertEndpoint");
        var output = new PSDataCollection<PSObject>();
        var invoking = Task.Factory.StartNew(() => ps.Invoke(null, output), TaskCreationOptions.LongRunning);
        await PipelineTests.Until(() => host.Service.Held == 1);

        // Past the deadline (a slow producer upstream would take this long): the command goes on.
        host.Clock.Advance(TimeSpan.FromSeconds(31));
        release.SetResult();
        await host.Clock.Drive(invoking).WaitAsync(CmdletHost.Bound);

        Assert.Empty(ps.Streams.Error);
        Assert.Equal(["a"], output.Select(o => ((EndpointInfo)o.BaseObject).Name));
    }

    [Fact]
    public async Task A_command_that_waits_on_purpose_is_bound_by_its_own_timeout_not_the_deadline()
    {
        using var host = new CmdletHost();
        host.Factory.CommandTimeout = TimeSpan.FromSeconds(10);
        host.Service.Add("w", state: "initializing", boot: TimeSpan.FromSeconds(40));
        var run = (await host.RunAsync("Wait-MertEndpoint w -TimeoutSec 120")).Succeeded();
        Assert.Equal(["w"], run.Names);
    }
}
