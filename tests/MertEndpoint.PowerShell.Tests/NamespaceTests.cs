namespace MertEndpoint.PowerShell.Tests;

/// <summary>Qualified names and the '*' namespace.</summary>
public class NamespaceTests
{
    [Fact]
    public async Task Takes_ns_slash_name_and_refuses_one_that_contradicts_Namespace()
    {
        using var host = new CmdletHost();
        host.Service.Add("qual-one", ns: FakeService.Org);
        var run = (await host.RunAsync("(Get-MertEndpoint lab/qual-one).Name; Stop-MertEndpoint lab/qual-one -Confirm:$false")).Succeeded();
        Assert.Equal(["qual-one"], run.Output.Select(o => o.ToString()));
        Assert.Equal(["POST /v2/endpoint/lab/qual-one/pause"], host.Service.Writes.Select(w => w.ToString()));

        var conflict = await host.RunAsync("Stop-MertEndpoint lab/qual-one -Namespace alice -Confirm:$false");
        var error = Assert.Single(conflict.AllErrors);
        Assert.Equal("InvalidArgument", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("-Name qual-one -Namespace alice", error.Exception.Message);
        Assert.Single(host.Service.Writes);
    }

    [Fact]
    public async Task A_cmdlet_that_acts_on_one_namespace_refuses_star_and_says_how_to_pipe_instead()
    {
        using var host = new CmdletHost();
        host.Service.Add("some-one");
        var run = await host.RunAsync("Stop-MertEndpoint some-one -Namespace '*' -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("InvalidArgument", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("Get-MertEndpoint -Namespace '*' | Stop-MertEndpoint", error.Exception.Message);
        Assert.Empty(host.Service.Requests);
    }
}
