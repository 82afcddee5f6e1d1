namespace MertEndpoint.PowerShell.Tests;

/// <summary>A name that is not found gets the close names of its namespace, and no hint to create it under a typo.</summary>
public class SuggestionTests
{
    [Theory]
    [InlineData("Start-MertEndpoint mert-spike6-inferense -Confirm:$false")]
    [InlineData("Stop-MertEndpoint mert-spike6-inferense -Confirm:$false")]
    [InlineData("Get-MertEndpoint mert-spike6-inferense")]
    public async Task A_typo_gets_did_you_mean(string command)
    {
        using var host = new CmdletHost();
        host.Service.Add("mert-spike6-inference", state: "paused");
        host.Service.Add("unrelated", state: "paused");
        var run = await host.RunAsync(command);
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith("EndpointNotFound,", error.FullyQualifiedErrorId);
        Assert.Contains("Did you mean 'mert-spike6-inference'?", error.Exception.Message);
        Assert.DoesNotContain("CreateIfMissing", error.Exception.Message);
        Assert.DoesNotContain("unrelated", error.Exception.Message);
    }

    [Fact]
    public async Task Nothing_close_keeps_the_CreateIfMissing_hint_for_a_start()
    {
        using var host = new CmdletHost();
        host.Service.Add("unrelated", state: "paused");
        var run = await host.RunAsync("Start-MertEndpoint brand-new-name -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith("EndpointNotFound,", error.FullyQualifiedErrorId);
        Assert.Contains("-CreateIfMissing", error.Exception.Message);
        Assert.DoesNotContain("Did you mean", error.Exception.Message);
    }
}
