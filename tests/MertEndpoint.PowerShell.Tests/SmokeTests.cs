namespace MertEndpoint.PowerShell.Tests;

public class SmokeTests
{
    [Fact]
    public async Task Get_lists_through_the_fake()
    {
        using var host = new CmdletHost();
        host.Service.Add("a");
        var run = await host.RunAsync("Get-MertEndpoint");
        run.Succeeded();
        Assert.Equal(["a"], run.Names);
    }
}
