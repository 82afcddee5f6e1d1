namespace MertEndpoint.PowerShell.Tests;

/// <summary>Test-MertEndpointSetup: a good setup, no token, and an organization whose listing cannot be read.</summary>
public class SetupTests
{
    /// <summary>Everything the command wrote, on every stream, as text: the token must appear nowhere.</summary>
    private static string AllText(CmdletHost host, Run run) =>
        string.Join("\n", host.Invoke("param($o) $o | Format-List * | Out-String -Width 300; $o | ConvertTo-Json -Depth 5", run.Output.ToArray()).Select(o => o.ToString())
            .Concat(run.AllErrors.Select(e => e.ToString() + " " + e.Exception))
            .Concat(run.Verbose).Concat(run.Warnings)
            .Concat(run.PowerShell.Streams.Information.Select(i => i.ToString()))
            .Concat(run.PowerShell.Streams.Debug.Select(d => d.Message)));

    [Fact]
    public async Task The_account_is_asked_afresh_not_taken_from_the_cache()
    {
        using var host = new CmdletHost();
        (await host.RunAsync("$null = Get-MertEndpoint")).Succeeded(); // the account is now cached (an hour in memory)
        int asked = host.Service.Requests.Count(r => r.Path == "/api/whoami-v2");
        Assert.Equal(1, asked);
        (await host.RunAsync("$null = Test-MertEndpointSetup")).Succeeded();
        // A check says what is true now (a revoked token, a new organization): one whoami of its own.
        Assert.Equal(2, host.Service.Requests.Count(r => r.Path == "/api/whoami-v2"));
    }

    [Fact]
    public async Task A_good_setup_is_Ok_and_says_token_source_account_namespaces_price_and_history_but_never_the_token()
    {
        using var host = new CmdletHost();
        host.Service.Add("mine");
        host.Service.Add("theirs", ns: FakeService.Org);
        host.Service.Add("theirs-too", ns: FakeService.Org);
        (await host.RunAsync("$null = Get-MertEndpoint")).Succeeded(); // creates the usage history
        string history = Path.Combine(host.DataDirectory, "usage.jsonl");
        long size = new FileInfo(history).Length;
        Assert.True(size > 0);

        var run = (await host.RunAsync("Test-MertEndpointSetup -Verbose")).Succeeded();

        var report = Assert.IsType<SetupReport>(Assert.Single(run.Output).BaseObject);
        Assert.True(report.Ok);
        Assert.Empty(report.Problems);
        Assert.Equal("-Token", report.TokenSource);
        Assert.Equal(FakeService.User, report.User);
        Assert.Equal("user", report.AccountType);
        Assert.Equal([FakeService.Org], report.Organizations);
        Assert.Equal(FakeService.User, report.Namespace);
        Assert.Equal("the token's user", report.NamespaceSource);
        Assert.Equal([(FakeService.User, "user", true, (int?)1), (FakeService.Org, "organization", true, 2)],
            report.Listings.Select(l => (l.Namespace, l.Role, l.Readable, l.Endpoints)));
        Assert.Equal("aws us-east-1 nvidia-a10g x1", report.Hardware);
        Assert.Equal(1.0m, report.PricePerHour);
        Assert.Null(report.Quota); // the fake's catalog gives none
        Assert.Equal(history, report.HistoryPath);
        Assert.Equal(size, report.HistoryBytes);
        Assert.StartsWith("https://", report.ApiUrl);

        string text = AllText(host, run);
        Assert.Contains("TokenSource", text);
        Assert.DoesNotContain(FakeService.Token, text);
        Assert.DoesNotContain(FakeService.Token.Substring(3, 12), text);
        // Nothing changed: only reads were sent.
        Assert.Empty(host.Service.Writes);
    }

    [Fact]
    public async Task Without_a_token_it_reports_SetupIncomplete_without_ending_and_sends_nothing()
    {
        using var host = new CmdletHost();
        string tokenFile = Path.Combine(host.DataDirectory, "no-such-token");
        using var env = new TokenEnvironment(tokenFile);

        var run = await host.RunAsync("""
            $PSDefaultParameterValues.Remove('*-MertEndpoint*:Token')
            $r = Test-MertEndpointSetup
            $r
            if (-not $r.Ok) { 'not ok' }
            """);

        Assert.Null(run.Terminating);
        var report = Assert.IsType<SetupReport>(run.Output[0].BaseObject);
        Assert.Equal("not ok", run.Output[1].ToString());
        Assert.False(report.Ok);
        Assert.Null(report.TokenSource);
        Assert.Null(report.User);
        Assert.Empty(report.Listings);
        Assert.Null(report.PricePerHour);
        Assert.Equal(Path.Combine(host.DataDirectory, "usage.jsonl"), report.HistoryPath);
        Assert.Null(report.HistoryBytes); // no history yet

        var error = Assert.Single(run.Errors);
        Assert.Equal("SetupIncomplete", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.ResourceUnavailable, error.CategoryInfo.Category);
        var ex = Assert.IsType<EndpointException>(error.Exception);
        Assert.Equal(EndpointErrorKind.SetupIncomplete, ex.Kind);
        Assert.Equal(EndpointErrorKind.TokenNotFound, Assert.IsType<EndpointException>(ex.InnerException).Kind);
        Assert.Contains("No Hugging Face token found", ex.Message);
        Assert.Contains(tokenFile, ex.Message);
        Assert.Equal([ex.Message], report.Problems);
        Assert.Empty(host.Service.Requests);
    }

    [Theory]
    [InlineData(-600, 600, "10 min 0 s ahead of")]
    [InlineData(3725, -3725, "62 min 5 s behind")]
    [InlineData(20, -20, null)]
    public async Task A_clock_more_than_a_minute_off_the_control_planes_is_a_problem_naming_how_far_and_the_fix(int serviceAheadSeconds, int reportedSeconds, string? problem)
    {
        using var host = new CmdletHost();
        host.Service.DateSkew = TimeSpan.FromSeconds(serviceAheadSeconds);

        var run = await host.RunAsync("Test-MertEndpointSetup");

        var report = Assert.IsType<SetupReport>(Assert.Single(run.Output).BaseObject);
        Assert.Equal(TimeSpan.FromSeconds(reportedSeconds), report.ClockAhead);
        if (problem == null)
        {
            Assert.True(report.Ok, string.Join(" | ", report.Problems));
            return;
        }
        string said = Assert.Single(report.Problems);
        Assert.Contains($"this machine's clock is {problem} the control plane's", said);
        Assert.Contains("NTP", said);
        Assert.Equal("SetupIncomplete", Assert.Single(run.Errors).FullyQualifiedErrorId.Split(',')[0]);
    }

    [Fact]
    public async Task A_command_on_a_machine_whose_clock_is_far_off_warns_once_how_far_and_the_fix()
    {
        using var host = new CmdletHost();
        host.Service.Add("h");
        host.Service.DateSkew = TimeSpan.FromMinutes(-10);

        var run = (await host.RunAsync("Get-MertEndpoint h; Get-MertEndpoint")).Succeeded();

        Assert.Equal(2, run.Output.Count);
        Assert.Equal(2, run.Warnings.Count(w => w.Contains("This machine's clock is about 10 min ahead of the control plane's")));   // once per command
        Assert.All(run.Warnings, w => Assert.Contains("NTP", w));

        host.Service.DateSkew = TimeSpan.FromSeconds(30);
        Assert.Empty((await host.RunAsync("Get-MertEndpoint h")).Succeeded().Warnings);
    }

    [Fact]
    public async Task An_organization_whose_listing_is_refused_is_one_SetupIncomplete_error_naming_it_and_the_rest_is_still_reported()
    {
        using var host = new CmdletHost();
        host.Service.Add("mine");
        host.Service.Intercept = r => r.Is("GET", "/v2/endpoint/" + FakeService.Org)
            ? FakeService.Json(403, FakeService.Error("No billing set up for this organization"))
            : null;

        var run = await host.RunAsync("Test-MertEndpointSetup");

        Assert.Null(run.Terminating);
        var report = Assert.IsType<SetupReport>(Assert.Single(run.Output).BaseObject);
        Assert.False(report.Ok);
        var error = Assert.Single(run.Errors);
        Assert.Equal("SetupIncomplete", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(new EndpointId(FakeService.Org, null), error.TargetObject);
        var ex = Assert.IsType<EndpointException>(error.Exception);
        Assert.Equal(403, ex.StatusCode);
        Assert.Contains($"namespace '{FakeService.Org}' (organization) cannot be listed", ex.Message);
        Assert.Contains("No billing set up for this organization", ex.Message);
        Assert.Equal([ex.Message], report.Problems);

        // The rest is still there: the account, the user's listing, the price.
        Assert.Equal(FakeService.User, report.User);
        Assert.Equal([FakeService.Org], report.Organizations);
        var user = Assert.Single(report.Listings, l => l.Namespace == FakeService.User);
        Assert.True(user.Readable);
        Assert.Equal(1, user.Endpoints);
        var org = Assert.Single(report.Listings, l => l.Namespace == FakeService.Org);
        Assert.False(org.Readable);
        Assert.Null(org.Endpoints);
        Assert.Equal(ex.Message, org.Problem);
        Assert.Equal(1.0m, report.PricePerHour);
        Assert.DoesNotContain(FakeService.Token, AllText(host, run));
    }

    [Fact]
    public async Task A_token_the_service_refuses_is_one_SetupIncomplete_error_and_no_listing_is_tried()
    {
        using var host = new CmdletHost();
        const string wrong = "hf_wrongTOKEN_x7Yp2Lm9Qr";
        var run = await host.RunAsync("param($t) Test-MertEndpointSetup -Token $t", CmdletHost.SecureToken(wrong));

        Assert.Null(run.Terminating);
        var report = Assert.IsType<SetupReport>(Assert.Single(run.Output).BaseObject);
        Assert.False(report.Ok);
        Assert.Equal("-Token", report.TokenSource);
        Assert.Null(report.User);
        Assert.Null(report.Namespace);
        Assert.Empty(report.Listings);
        var ex = Assert.IsType<EndpointException>(Assert.Single(run.Errors).Exception);
        Assert.Equal(EndpointErrorKind.SetupIncomplete, ex.Kind);
        Assert.Equal(EndpointErrorKind.Unauthorized, Assert.IsType<EndpointException>(ex.InnerException).Kind);
        Assert.Equal(401, ex.StatusCode);
        Assert.Equal(["/api/whoami-v2"], host.Service.Requests.Select(r => r.Path));
        Assert.DoesNotContain(wrong, AllText(host, run));
    }

    /// <summary>No token in the environment or the token file, for one test; restores what was there.</summary>
    private sealed class TokenEnvironment : IDisposable
    {
        private static readonly string[] Names = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"];
        private readonly Dictionary<string, string?> _saved = Names.ToDictionary(n => n, Environment.GetEnvironmentVariable);

        public TokenEnvironment(string tokenFile)
        {
            // The other in-process tests pass -Token, which wins over all of these, so they are not affected.
            Environment.SetEnvironmentVariable("HF_TOKEN", null);
            Environment.SetEnvironmentVariable("HUGGING_FACE_HUB_TOKEN", null);
            Environment.SetEnvironmentVariable("HF_TOKEN_PATH", tokenFile);
        }

        public void Dispose()
        {
            foreach (var (name, value) in _saved) Environment.SetEnvironmentVariable(name, value);
        }
    }
}
