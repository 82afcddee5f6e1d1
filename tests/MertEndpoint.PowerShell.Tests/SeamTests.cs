namespace MertEndpoint.PowerShell.Tests;

/// <summary>The seam itself: each runspace's factory is its own, down to the usage history and its clock.</summary>
public class SeamTests
{
    [Fact]
    public async Task Two_runspaces_running_at_once_each_reach_only_their_own_service()
    {
        using var a = new CmdletHost();
        using var b = new CmdletHost();
        a.Service.Add("only-a");
        b.Service.Add("only-b");
        var runs = await Task.WhenAll(a.RunAsync("Get-MertEndpoint | Stop-MertEndpoint -PassThru -Confirm:$false"),
            b.RunAsync("Get-MertEndpoint | Stop-MertEndpoint -PassThru -Confirm:$false"));
        Assert.Equal(["only-a"], runs[0].Succeeded().Names);
        Assert.Equal(["only-b"], runs[1].Succeeded().Names);
        Assert.DoesNotContain(a.Service.Requests, r => r.Path.Contains("only-b"));
    }

    [Fact]
    public async Task A_script_cannot_shadow_the_factory_and_reach_the_machine()
    {
        using var host = new CmdletHost();
        host.Service.Add("x");
        var run = await host.RunAsync($"& {{ ${ClientFactory.VariableName} = $null }}; (Get-MertEndpoint x).Name");
        Assert.Equal("x", Assert.Single(run.Output).ToString());
        Assert.NotEmpty(run.Errors); // the assignment to a constant is refused
    }

    [Fact]
    public async Task The_usage_history_is_the_factorys_and_dates_on_its_clock()
    {
        using var host = new CmdletHost();
        host.Service.Add("billed", state: "paused", boot: TimeSpan.FromMinutes(1));
        (await host.RunAsync("Start-MertEndpoint billed -Confirm:$false")).Succeeded();
        host.Clock.Advance(TimeSpan.FromHours(2));
        (await host.RunAsync("Stop-MertEndpoint billed -Confirm:$false")).Succeeded();
        Assert.True(File.Exists(Path.Combine(host.DataDirectory, "usage.jsonl")));

        var run = (await host.RunAsync("Get-MertEndpointCost billed -WarningAction SilentlyContinue")).Succeeded();
        var cost = Assert.IsType<EndpointCost>(Assert.Single(run.Output).BaseObject);
        // Resumed, booted a minute, ran two hours on the fake clock, paused: a little over two hours at $1/h.
        Assert.InRange(cost.BilledTime, TimeSpan.FromHours(2), TimeSpan.FromHours(2.1));
        Assert.Equal(1.0m, cost.PricePerHour);
    }
}
