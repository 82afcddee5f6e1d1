namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// A sweep of every namespace (Get-MertEndpoint -Namespace '*', what the guard runs) sees what it should or says it
/// could not: only a 401 (an organization without billing or access) is a warning; a 403 or a listing that cannot be
/// read is an error naming the namespace, never an empty namespace.
/// </summary>
public class SweepTests
{
    private static async Task<Run> SweepWith(CmdletHost host, int status, string body)
    {
        host.Service.Add("mine");
        host.Service.Add("theirs", ns: FakeService.Org);
        host.Service.Intercept = r => r.Method == HttpMethod.Get && r.Path == "/v2/endpoint/lab" ? FakeService.Json(status, body) : null;
        return await host.RunAsync("Get-MertEndpoint -Namespace '*'");
    }

    [Fact]
    public async Task A_403_on_an_organization_listing_is_an_error_naming_it()
    {
        using var host = new CmdletHost();
        var run = await SweepWith(host, 403, FakeService.Error("Forbidden"));
        Assert.Equal(["mine"], run.Names);
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("lab", ((EndpointId)error.TargetObject).Namespace);
        Assert.Empty(run.Warnings);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("")]
    [InlineData("{\"endpoints\": []}")]
    public async Task A_listing_without_items_is_an_error_naming_the_namespace_not_an_empty_one(string body)
    {
        using var host = new CmdletHost();
        var run = await SweepWith(host, 200, body);
        Assert.Equal(["mine"], run.Names);
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("lab", ((EndpointId)error.TargetObject).Namespace);
        Assert.Contains("could not be read", error.Exception.Message);
    }

    [Fact]
    public async Task A_401_on_an_organization_listing_stays_a_warning_naming_it()
    {
        using var host = new CmdletHost();
        var run = await SweepWith(host, 401, FakeService.Error("Unauthorized"));
        Assert.Equal(["mine"], run.Names);
        Assert.Empty(run.AllErrors);
        Assert.StartsWith("Skipped namespace 'lab'", Assert.Single(run.Warnings));
    }

    [Fact]
    public async Task An_empty_items_array_is_an_empty_namespace()
    {
        using var host = new CmdletHost();
        var run = (await SweepWith(host, 200, "{\"items\": []}")).Succeeded();
        Assert.Equal(["mine"], run.Names);
    }
}
