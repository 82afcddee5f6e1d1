namespace MertEndpoint.PowerShell.Tests;

/// <summary>Arguments no request could serve are refused before the first request, with the module's own ids.</summary>
public class ArgumentTests
{
    [Theory]
    [InlineData("Use-MertEndpoint u -MaxDuration 50.00:00:00 -Confirm:$false { 'ran' }", "InvalidMaxDuration")]
    [InlineData("Use-MertEndpoint u -MaxDuration ([TimeSpan]::MaxValue) -Confirm:$false { 'ran' }", "InvalidMaxDuration")]
    [InlineData("Get-MertEndpointCost u -Until ([datetime]::MaxValue)", "InvalidPeriod")]
    [InlineData("Get-MertEndpointMetric u -Until ([datetime]::MaxValue)", "InvalidPeriod")]
    [InlineData("Get-MertEndpointLog u -Until ([datetime]::MaxValue)", "InvalidPeriod")]
    [InlineData("Get-MertEndpoint -BilledLongerThan -00:01:00", "InvalidArgument")]
    public async Task Refused_before_any_request(string command, string id)
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var run = await host.RunAsync(command);
        Assert.Empty(run.Output);
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith(id + ",", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Empty(host.Service.Requests);
    }
}
