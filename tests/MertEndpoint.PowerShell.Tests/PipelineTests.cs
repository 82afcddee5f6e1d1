namespace MertEndpoint.PowerShell.Tests;

/// <summary>Pipelines of names and objects: binding, output order, fan-out, a downstream command that has enough.</summary>
public class PipelineTests
{
    [Fact]
    public async Task Get_piped_to_Stop_pauses_every_endpoint()
    {
        using var host = new CmdletHost();
        host.Service.Add("pipe-a");
        host.Service.Add("pipe-b", state: "scaledToZero");
        (await host.RunAsync("Get-MertEndpoint | Stop-MertEndpoint -Confirm:$false")).Succeeded();
        Assert.Equal("paused", host.Service.StateOf("pipe-a"));
        Assert.Equal("paused", host.Service.StateOf("pipe-b"));
        Assert.Equal(2, host.Service.Writes.Count(r => r.Is("POST", "/pause")));
    }

    [Fact]
    public async Task Binds_Name_and_Namespace_by_property_name_from_custom_objects()
    {
        using var host = new CmdletHost();
        host.Service.Add("prop-a", ns: FakeService.Org);
        var run = (await host.RunAsync("[pscustomobject]@{ Name = 'prop-a'; Namespace = 'lab' } | Stop-MertEndpoint -PassThru -Confirm:$false")).Succeeded();
        var endpoint = Assert.IsType<EndpointInfo>(Assert.Single(run.Output).BaseObject);
        Assert.Equal(("lab", "prop-a", EndpointStatus.Paused), (endpoint.Namespace, endpoint.Name, endpoint.Status));
    }

    [Fact]
    public async Task Names_piped_to_Start_NoWait_resume_each_once_and_return_at_once()
    {
        using var host = new CmdletHost();
        host.Service.Add("a", state: "paused");
        host.Service.Add("b", state: "paused");
        var run = (await host.RunAsync("'a', 'b' | Start-MertEndpoint -NoWait -Confirm:$false")).Succeeded();
        Assert.Equal(["a", "b"], run.Names);
        Assert.Equal(2, host.Service.Writes.Count(r => r.Is("POST", "/resume")));
        Assert.All(run.Output, o => Assert.Equal(EndpointStatus.Initializing, ((EndpointInfo)o.BaseObject).Status));
        Assert.Equal(new TestClock().GetUtcNow(), host.Clock.GetUtcNow()); // no wait: fake time never moved
    }

    [Fact]
    public async Task Start_of_many_returns_one_result_per_endpoint_in_input_order_whatever_order_they_finish_in()
    {
        using var host = new CmdletHost();
        // Boots in an order unlike the input order: the first named is the last ready.
        string[] names = Enumerable.Range(1, 12).Select(i => $"fan-{i:d2}").ToArray();
        for (int i = 0; i < names.Length; i++) host.Service.Add(names[i], state: "paused", boot: TimeSpan.FromSeconds(200 - 15 * i + (i % 3) * 40));
        var run = (await host.RunAsync("$args[0] | Start-MertEndpoint -ThrottleLimit 5 -Confirm:$false", [names])).Succeeded();
        Assert.Equal(names, run.Names);
        Assert.All(names, n => Assert.Equal("running", host.Service.StateOf(n)));
    }

    [Fact]
    public async Task Wait_of_many_returns_in_input_order()
    {
        using var host = new CmdletHost();
        host.Service.Add("slow", state: "initializing", boot: TimeSpan.FromSeconds(120));
        host.Service.Add("fast", state: "initializing", boot: TimeSpan.FromSeconds(5));
        var run = (await host.RunAsync("Wait-MertEndpoint slow, fast")).Succeeded();
        Assert.Equal(["slow", "fast"], run.Names);
        Assert.Empty(host.Service.Writes);
    }

    [Fact]
    public async Task Stop_of_many_gives_one_error_per_failing_endpoint_in_order_and_carries_on()
    {
        using var host = new CmdletHost();
        foreach (var n in new[] { "fan-01", "fan-02", "fan-03" }) host.Service.Add(n);
        var run = await host.RunAsync("Stop-MertEndpoint fan-01, gone-a, fan-02, gone-b, fan-03 -PassThru -ThrottleLimit 4 -Confirm:$false");
        Assert.Equal(["fan-01", "fan-02", "fan-03"], run.Names);
        Assert.Equal(["alice/gone-a", "alice/gone-b"], run.Errors.Select(e => e.TargetObject.ToString()));
        Assert.All(run.Errors, e => Assert.Equal("EndpointNotFound,MertEndpoint.PowerShell.Cmdlets.StopMertEndpoint", e.FullyQualifiedErrorId));
        Assert.All(run.Output, o => Assert.Equal(EndpointStatus.Paused, ((EndpointInfo)o.BaseObject).Status));
    }

    [Fact]
    public async Task Fan_out_sends_the_pauses_concurrently()
    {
        using var host = new CmdletHost();
        string[] names = Enumerable.Range(1, 6).Select(i => $"fan-{i}").ToArray();
        foreach (var n in names) host.Service.Add(n);
        // Every pause is held until all six are in flight at once: one at a time would never get there.
        var release = host.Service.Hold(r => r.Is("POST", "/pause"));
        var run = host.RunAsync("Get-MertEndpoint fan-* | Stop-MertEndpoint -PassThru -Confirm:$false");
        await Until(() => host.Service.Held == 6);
        release.SetResult();
        Assert.Equal(names, (await run).Succeeded().Names);
    }

    [Fact]
    public async Task A_downstream_Select_First_ends_the_command_at_once_cancelling_the_rest()
    {
        using var host = new CmdletHost();
        foreach (var n in new[] { "fan-04", "fan-05", "fan-06" }) host.Service.Add(n);
        // fan-04's pause answers once all three are in flight; the two others never answer: only a command that
        // cancels them ends (within the bound).
        var first = host.Service.Hold(r => r.Is("POST", "/fan-04/pause"));
        host.Service.Hold(r => r.Is("POST", "/fan-05/pause") || r.Is("POST", "/fan-06/pause"));
        var running = host.RunAsync("Stop-MertEndpoint fan-04, fan-05, fan-06 -PassThru -Confirm:$false | Select-Object -First 1");
        await Until(() => host.Service.Held == 3);
        first.SetResult();
        var run = (await running).Succeeded();
        Assert.Equal(["fan-04"], run.Names);
        Assert.Equal(2, host.Service.CancelledWhileHeld);
        Assert.Equal(0, host.Service.Held);
        // The pauses it cancelled are named, each with the commands to check and stop it: nothing is left unsaid.
        foreach (var n in new[] { "fan-05", "fan-06" })
            Assert.Contains(host.Host.HostLines, l => l.Contains($"'{n}' in namespace 'alice' MAY STILL BE BILLING", StringComparison.Ordinal)
                && l.Contains($"Stop-MertEndpoint {n} -Namespace alice", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Host.HostLines, l => l.Contains("'fan-04'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Namespace_star_lists_every_namespace_and_an_org_that_answers_401_is_a_warning()
    {
        using var host = new CmdletHost();
        host.Service.Add("mine");
        host.Service.Add("org-one", ns: FakeService.Org);
        var all = (await host.RunAsync("Get-MertEndpoint -Namespace '*'")).Succeeded();
        Assert.Equal(["mine", "org-one"], all.Names.Order());
        Assert.DoesNotContain(host.Service.Requests, r => r.Path.Contains('*'));

        host.Service.Intercept = r => r.Path == "/v2/endpoint/lab" ? FakeService.Json(401, FakeService.Error("no")) : null;
        var some = (await host.RunAsync("Get-MertEndpoint -Namespace '*'")).Succeeded();
        Assert.Equal(["mine"], some.Names);
        Assert.Contains("Skipped namespace 'lab'", Assert.Single(some.Warnings));
    }

    /// <summary>Waits (wall clock, bounded) for something the code does without waiting on the fake clock.</summary>
    internal static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + CmdletHost.Bound;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("The condition did not hold within " + CmdletHost.Bound);
            await Task.Delay(5);
        }
    }
}
