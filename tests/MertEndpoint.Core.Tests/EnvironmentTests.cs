
namespace MertEndpoint.Tests;

/// <summary>Tests that change process environment variables; they run alone, never beside other tests.</summary>
[CollectionDefinition(nameof(EnvironmentCollection), DisableParallelization = true)]
public class EnvironmentCollection;

/// <summary>Sets variables for one test and restores the previous values afterwards.</summary>
public sealed class EnvScope : IDisposable
{
    public static readonly string[] Relevant =
    [
        "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HOME", "XDG_CACHE_HOME", "HOME", "USERPROFILE",
        "MERT_ENDPOINT_API_URL", "HF_ENDPOINT", "MERT_ENDPOINT_NAMESPACE", "MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC",
    ];

    private readonly Dictionary<string, string?> _saved = Relevant.ToDictionary(v => v, Environment.GetEnvironmentVariable);

    public string Dir { get; } = Directory.CreateTempSubdirectory("mert-env-").FullName;

    public EnvScope()
    {
        // Start from nothing, with the home directory pointed away from the real token file.
        foreach (var name in Relevant) Environment.SetEnvironmentVariable(name, null);
        Environment.SetEnvironmentVariable("HOME", Dir);
        Environment.SetEnvironmentVariable("USERPROFILE", Dir);
    }

    public EnvScope Set(string name, string? value)
    {
        Environment.SetEnvironmentVariable(name, value);
        return this;
    }

    public string File(string relative, string content)
    {
        var path = Path.Combine(Dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        foreach (var (name, value) in _saved) Environment.SetEnvironmentVariable(name, value);
        Directory.Delete(Dir, recursive: true);
    }
}

[Collection(nameof(EnvironmentCollection))]
public class TokenResolverTests
{
    [Theory]
    [InlineData("HF_TOKEN")]
    [InlineData("HUGGING_FACE_HUB_TOKEN")]
    public void A_variable_with_a_character_no_header_can_carry_is_named_with_its_fix(string variable)
    {
        using var env = new EnvScope().Set(variable, "hf_SECRETpart\u2028more");

        var ex = Assert.Throws<EndpointException>(() => TokenResolver.TryResolve(null, out _));

        Assert.Equal(EndpointErrorKind.InvalidToken, ex.Kind);
        Assert.StartsWith($"The token from the {variable} environment variable has a non-ASCII character (U+2028", ex.Message);
        Assert.Contains($"Set {variable} to the token alone", ex.Message);
        Assert.DoesNotContain("SECRET", ex.Message);
        Assert.DoesNotContain("more", ex.Message);
    }

    [Fact]
    public void A_token_file_with_a_control_character_inside_is_named_by_its_path()
    {
        using var env = new EnvScope();
        var path = env.File("hf/token", "hf_SECRETpart\u001bmore\n");
        env.Set("HF_TOKEN_PATH", path);

        var ex = Assert.Throws<EndpointException>(() => TokenResolver.Resolve(null));

        Assert.Equal(EndpointErrorKind.InvalidToken, ex.Kind);
        Assert.StartsWith($"The token from the token file '{path}' has a control character (U+001B) at position 14", ex.Message);
        Assert.Contains("HF_TOKEN_PATH", ex.Message);
        Assert.DoesNotContain("SECRET", ex.Message);
    }

    [Fact]
    public void Explicit_token_wins_and_is_trimmed()
    {
        using var env = new EnvScope().Set("HF_TOKEN", "from-env");
        Assert.Equal("given", TokenResolver.TryResolve("  given\n", out var source));
        Assert.Equal("parameter", source);
    }

    [Fact]
    public void Resolution_order_follows_huggingface_hub()
    {
        using var env = new EnvScope();
        env.Set("XDG_CACHE_HOME", Path.Combine(env.Dir, "xdg"));
        var xdgFile = env.File("xdg/huggingface/token", "from-xdg\n");
        Assert.Equal(("from-xdg", xdgFile), Resolve());

        env.Set("HF_HOME", Path.Combine(env.Dir, "hfhome"));
        Assert.Null(TokenResolver.TryResolve(null, out _)); // HF_HOME replaces the XDG location; its file is missing
        var homeFile = env.File("hfhome/token", "  from-hf-home  ");
        Assert.Equal(("from-hf-home", homeFile), Resolve());

        var pathFile = env.File("elsewhere/my-token", "from-token-path");
        env.Set("HF_TOKEN_PATH", pathFile);
        Assert.Equal(("from-token-path", pathFile), Resolve());

        env.Set("HUGGING_FACE_HUB_TOKEN", "from-legacy-var");
        Assert.Equal(("from-legacy-var", "HUGGING_FACE_HUB_TOKEN"), Resolve());

        env.Set("HF_TOKEN", "   "); // blank counts as unset
        Assert.Equal(("from-legacy-var", "HUGGING_FACE_HUB_TOKEN"), Resolve());

        env.Set("HF_TOKEN", "from-hf-token");
        Assert.Equal(("from-hf-token", "HF_TOKEN"), Resolve());

        Assert.Equal(("given", "parameter"), (TokenResolver.TryResolve("given", out var s), s));
        Assert.Equal("from-hf-token", TokenResolver.Resolve(null)); // an explicit "" is an error now (issue 11, item 13)
    }

    [Fact]
    public void Home_cache_is_the_last_resort()
    {
        using var env = new EnvScope();
        var file = env.File(".cache/huggingface/token", "from-home\n");
        Assert.Equal(("from-home", file), Resolve());
    }

    [Fact]
    public void Empty_token_file_counts_as_none()
    {
        using var env = new EnvScope();
        env.Set("HF_TOKEN_PATH", env.File("token", "\n  \n"));
        Assert.Null(TokenResolver.TryResolve(null, out var source));
        Assert.Equal("", source);
    }

    [Fact]
    public void No_token_anywhere_explains_how_to_set_one()
    {
        using var env = new EnvScope();
        var ex = Assert.Throws<EndpointException>(() => TokenResolver.Resolve(null));
        Assert.Equal(EndpointErrorKind.TokenNotFound, ex.Kind);
        Assert.Contains("-Token", ex.Message);
        Assert.Contains("HF_TOKEN", ex.Message);
    }

    private static (string?, string) Resolve() => (TokenResolver.TryResolve(null, out var source), source);
}

[Collection(nameof(EnvironmentCollection))]
public class EnvironmentConfigurationTests
{
    [Fact]
    public void Defaults_without_variables()
    {
        using var env = new EnvScope();
        var o = EndpointClientOptions.FromEnvironment();
        Assert.Equal("https://api.endpoints.huggingface.cloud/v2", o.ApiBaseUri.ToString());
        Assert.Equal("https://huggingface.co/", o.HubBaseUri.ToString());
    }

    [Fact]
    public void Variables_override_the_bases()
    {
        using var env = new EnvScope().Set("MERT_ENDPOINT_API_URL", "http://127.0.0.1:5080/v2").Set("HF_ENDPOINT", "https://hub.example");
        var o = EndpointClientOptions.FromEnvironment();
        Assert.Equal("http://127.0.0.1:5080/v2", o.ApiBaseUri.ToString());
        Assert.Equal("https://hub.example/", o.HubBaseUri.ToString());
    }

    [Theory]
    [InlineData("MERT_ENDPOINT_API_URL", "http://api.example.com/v2")]
    [InlineData("MERT_ENDPOINT_API_URL", "not a url")]
    [InlineData("HF_ENDPOINT", "http://hub.example.com")]
    public void Bad_values_name_the_variable(string variable, string value)
    {
        using var env = new EnvScope().Set(variable, value);
        var ex = Assert.Throws<EndpointException>(EndpointClientOptions.FromEnvironment);
        Assert.Equal(EndpointErrorKind.InvalidConfiguration, ex.Kind);
        Assert.Contains(variable, ex.Message);
    }

    [Fact]
    public async Task Namespace_comes_from_parameter_then_variable_then_whoami()
    {
        using var env = new EnvScope();
        var clock = new TestClock();
        var handler = new FakeHandler(clock, _ => Respond.Make(200, """{"type": "user", "name": "alice", "orgs": []}"""));
        var token = "hf_ns_" + Guid.NewGuid();
        var accounts = new AccountCache(TimeSpan.FromHours(1));
        EndpointClient NewClient()
        {
            var options = Samples.Options(clock, handler);
            options.Accounts = accounts;
            return new EndpointClient(token, options);
        }
        var client = NewClient();

        Assert.Equal("given", await client.ResolveNamespaceAsync("given"));
        env.Set("MERT_ENDPOINT_NAMESPACE", "from-env");
        Assert.Equal("from-env", await client.ResolveNamespaceAsync(null));
        Assert.Empty(handler.Requests);

        env.Set("MERT_ENDPOINT_NAMESPACE", null);
        Assert.Equal("alice", await client.ResolveNamespaceAsync(""));
        // Cached per token in the shared cache: another client with the same token asks nobody...
        Assert.Equal("alice", await NewClient().ResolveNamespaceAsync(null));
        var request = Assert.Single(handler.Requests);
        Assert.Equal("/api/whoami-v2", request.Path);
        // ...until the answer expires.
        clock.Advance(TimeSpan.FromHours(1.01));
        Assert.Equal("alice", await NewClient().ResolveNamespaceAsync(null));
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task Org_token_must_name_the_namespace()
    {
        using var env = new EnvScope();
        var clock = new TestClock();
        var handler = new FakeHandler(clock, _ => Respond.Make(200, """{"type": "org", "name": "lab"}"""));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => Samples.Client(clock, handler, "hf_org_" + Guid.NewGuid()).ResolveNamespaceAsync(null));

        Assert.Equal(EndpointErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("-Namespace", ex.Message);
    }

    [Fact]
    public async Task Failed_whoami_is_not_cached()
    {
        using var env = new EnvScope();
        var clock = new TestClock();
        var handler = new FakeHandler(clock,
            Respond.With(401, Respond.Error("A valid user or organization token, sent as a Bearer, is required")),
            Respond.With(200, """{"type": "user", "name": "bob"}"""));
        var client = Samples.Client(clock, handler, "hf_retry_" + Guid.NewGuid());

        var ex = await Assert.ThrowsAsync<EndpointException>(() => client.ResolveNamespaceAsync(null));
        Assert.Equal(EndpointErrorKind.Unauthorized, ex.Kind);
        Assert.Equal("bob", await client.ResolveNamespaceAsync(null));
    }
}

/// <summary>
/// The account lookup behind a sweep of every namespace ('*', the guard): at most 15 minutes old, so an organization
/// joined since is seen; a Hub that cannot answer leaves the older answer in use, said in a warning.
/// </summary>
public class SweepAccountTests
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(15);

    private static (EndpointClient Client, FakeHandler Handler, Lines Lines) Setup(TestClock clock, AccountCache accounts, Func<int, HttpResponseMessage> answer)
    {
        int asked = 0;
        var handler = new FakeHandler(clock, _ => answer(Interlocked.Increment(ref asked)));
        var options = Samples.Options(clock, handler);
        options.Accounts = accounts;
        var lines = new Lines();
        return (new EndpointClient("hf_sweep_" + Guid.NewGuid(), options).With(lines), handler, lines);
    }

    private static HttpResponseMessage Account(params string[] orgs) =>
        Respond.Make(200, "{\"type\": \"user\", \"name\": \"alice\", \"orgs\": [" + string.Join(", ", orgs.Select(o => "{\"name\": \"" + o + "\"}")) + "]}");

    [Fact]
    public async Task An_answer_older_than_15_minutes_is_asked_again_and_a_new_organization_is_seen()
    {
        var clock = new TestClock();
        var (client, handler, lines) = Setup(clock, new AccountCache(TimeSpan.FromHours(1)), n => n == 1 ? Account("lab") : Account("lab", "new-org"));

        Assert.Equal(["lab"], (await client.WhoAmIAsync()).Orgs);
        clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(["lab"], (await client.WhoAmIAsync(MaxAge)).Orgs); // 10 minutes old: still good
        Assert.Single(handler.Requests);

        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(["lab", "new-org"], (await client.WhoAmIAsync(MaxAge)).Orgs);
        Assert.Equal(2, handler.Requests.Count);
        // The fresh answer serves everyone after it: the ordinary lookup asks nobody.
        Assert.Equal(["lab", "new-org"], (await client.WhoAmIAsync()).Orgs);
        Assert.Equal(2, handler.Requests.Count);
        Assert.Empty(lines.All);
    }

    [Fact]
    public async Task A_day_old_answer_on_disk_is_asked_again()
    {
        var clock = new TestClock();
        string dir = Path.Combine(Path.GetTempPath(), "mert-accounts-" + Guid.NewGuid().ToString("N"));
        try
        {
            var first = Setup(clock, new AccountCache(TimeSpan.FromHours(1), dir), _ => Account("lab"));
            await first.Client.WhoAmIAsync();
            clock.Advance(TimeSpan.FromHours(2));
            // A new process: nothing in memory, a two-hour-old answer on disk (trusted for a day by the ordinary lookup).
            var second = Setup(clock, new AccountCache(TimeSpan.FromHours(1), dir), _ => Account("lab", "new-org"));
            Assert.Equal(["lab", "new-org"], (await second.Client.WhoAmIAsync(MaxAge)).Orgs);
            Assert.Single(second.Handler.Requests);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_429_on_the_lookup_uses_the_older_answer_and_says_so()
    {
        var clock = new TestClock();
        var (client, handler, lines) = Setup(clock, new AccountCache(TimeSpan.FromHours(1)), n => n == 1 ? Account("lab")
            : Respond.Make(429, Respond.Error("Too many requests"), h => h.Add("Retry-After", "3600")));
        await client.WhoAmIAsync();
        clock.Advance(TimeSpan.FromMinutes(20));

        Assert.Equal(["lab"], (await clock.Drive(client.WhoAmIAsync(MaxAge))).Orgs);
        var warning = Assert.Single(lines.Of("warning"));
        Assert.Contains("could not be refreshed", warning);
        Assert.Contains("using its answer from 20 min ago", warning);
    }

    [Fact]
    public async Task A_refused_token_is_an_error_even_with_an_older_answer()
    {
        var clock = new TestClock();
        var (client, _, _) = Setup(clock, new AccountCache(TimeSpan.FromHours(1)), n => n == 1 ? Account("lab") : Respond.Make(401, Respond.Error("Invalid token")));
        await client.WhoAmIAsync();
        clock.Advance(TimeSpan.FromMinutes(20));
        var ex = await Assert.ThrowsAsync<EndpointException>(() => clock.Drive(client.WhoAmIAsync(MaxAge)));
        Assert.Equal(EndpointErrorKind.Unauthorized, ex.Kind);
    }
}

[Collection(nameof(EnvironmentCollection))]
public class CommandTimeoutSettingTests
{
    [Fact]
    public void MERT_ENDPOINT_COMMAND_TIMEOUT_SEC_sets_the_command_deadline_and_the_default_is_5_minutes()
    {
        using var env = new EnvScope();
        env.Set("MERT_ENDPOINT_COMMAND_TIMEOUT_SEC", null);
        Assert.Equal(TimeSpan.FromMinutes(5), EndpointClientOptions.FromEnvironment().CommandTimeout);
        env.Set("MERT_ENDPOINT_COMMAND_TIMEOUT_SEC", "12.5");
        Assert.Equal(TimeSpan.FromSeconds(12.5), EndpointClientOptions.FromEnvironment().CommandTimeout);
    }
}

[Collection(nameof(EnvironmentCollection))]
public class SweepAccountMaxAgeSettingTests
{
    [Fact]
    public void MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC_sets_how_old_the_sweeps_account_lookup_may_be_from_0_to_an_hour()
    {
        using var env = new EnvScope();
        env.Set("MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC", null);
        Assert.Equal(TimeSpan.FromMinutes(15), EndpointClientOptions.FromEnvironment().SweepAccountMaxAge);
        env.Set("MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC", "0");
        Assert.Equal(TimeSpan.Zero, EndpointClientOptions.FromEnvironment().SweepAccountMaxAge);
        env.Set("MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC", "3600");
        Assert.Equal(TimeSpan.FromHours(1), EndpointClientOptions.FromEnvironment().SweepAccountMaxAge);
        foreach (var bad in new[] { "3601", "-1", "soon" })
        {
            env.Set("MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC", bad);
            var ex = Assert.Throws<EndpointException>(() => EndpointClientOptions.FromEnvironment());
            Assert.Equal(EndpointErrorKind.InvalidConfiguration, ex.Kind);
            Assert.Contains("MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC", ex.Message);
        }
    }
}
