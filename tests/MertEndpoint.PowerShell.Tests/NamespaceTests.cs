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

    [Fact]
    public async Task A_listing_whose_next_page_is_elsewhere_is_shown_with_a_warning_and_the_token_stays_home()
    {
        using var host = new CmdletHost();
        host.Service.Add("a");
        host.Service.Add("b");
        host.Service.Intercept = r =>
        {
            if (!r.Is("GET", "/v2/endpoint/alice")) return null;
            var page = FakeService.Json(200, $$"""{"items": [{{host.Service.BodyOf("a")}}]}""");
            page.Headers.TryAddWithoutValidation("Link", "<https://elsewhere.example/v2/endpoint/alice?page=2>; rel=\"next\"");
            return page;
        };

        var run = (await host.RunAsync("Get-MertEndpoint")).Succeeded();

        Assert.Equal(["a"], run.Names);
        var warning = Assert.Single(run.Warnings, w => w.Contains("may be incomplete", StringComparison.Ordinal));
        Assert.Contains("namespace 'alice'", warning);
        Assert.Contains("-Name", warning);
        Assert.DoesNotContain(host.Service.Requests, r => r.Host.Contains("elsewhere", StringComparison.Ordinal));
    }
}
