namespace MertEndpoint.Tests;

public class ValidationTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("mert-spike6-inference")]
    [InlineData("0abc-9")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")] // 32
    public void Valid_names(string name) => EndpointClient.ValidateName(name);

    [Theory]
    [InlineData("")]
    [InlineData("Mert")]
    [InlineData("mert_v1")]
    [InlineData("-mert")]
    [InlineData("mert-")]
    [InlineData("mert endpoint")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")] // 33
    [InlineData("mért")]
    public void Invalid_names(string name)
    {
        var ex = Assert.Throws<EndpointException>(() => EndpointClient.ValidateName(name));
        Assert.Equal(EndpointErrorKind.InvalidEndpointName, ex.Kind);
        Assert.Contains("lowercase letters, digits and '-'", ex.Message);
    }

    [Theory]
    [InlineData("https://api.endpoints.huggingface.cloud/v2")]
    [InlineData("http://127.0.0.1:5080/v2")]
    [InlineData("http://127.1.2.3/v2")]
    [InlineData("http://localhost:5080/v2")]
    [InlineData("http://[::1]:5080/v2")]
    public void Accepted_base_urls(string url) =>
        _ = new EndpointClient("t", new EndpointClientOptions { ApiBaseUri = new Uri(url) });

    [Theory]
    [InlineData("http://api.example.com/v2")]
    [InlineData("http://localhost.example.com/v2")]
    [InlineData("http://10.0.0.1/v2")]
    [InlineData("ftp://127.0.0.1/v2")]
    public void Rejected_base_urls(string url)
    {
        var ex = Assert.Throws<EndpointException>(() => new EndpointClient("t", new EndpointClientOptions { HubBaseUri = new Uri(url) }));
        Assert.Equal(EndpointErrorKind.InvalidConfiguration, ex.Kind);
        Assert.Contains("HubBaseUri", ex.Message);
        Assert.Contains("https://", ex.Message);
    }

    [Fact]
    public void Empty_token_is_refused()
    {
        var ex = Assert.Throws<EndpointException>(() => new EndpointClient(" ", new EndpointClientOptions()));
        Assert.Equal(EndpointErrorKind.TokenNotFound, ex.Kind);
    }

    // ---- issue 11, item 12: base URLs ----

    [Theory]
    [InlineData("http://user:s3cretPw@127.0.0.1:5080/v2")]
    [InlineData("https://user:s3cretPw@api.example.com/v2")]
    [InlineData("http://user:s3cretPw@api.example.com/v2")] // refused for plain http too, and still without the password
    public void Base_urls_with_user_information_are_refused_without_echoing_it(string url)
    {
        var ex = Assert.Throws<EndpointException>(() => new EndpointClient("t", new EndpointClientOptions { ApiBaseUri = new Uri(url) }));
        Assert.Equal(EndpointErrorKind.InvalidConfiguration, ex.Kind);
        Assert.DoesNotContain("s3cretPw", ex.Message);
        Assert.DoesNotContain("user:s3", ex.Message);
    }

    [Theory]
    [InlineData("http://user:s3cretPw@127.0.0.1:5080/v2")]
    [InlineData("ht tp://user:s3cretPw@x/v2")] // not even a URL: still masked
    public void A_base_url_setting_with_user_information_is_refused_without_echoing_it(string url)
    {
        var ex = Assert.Throws<EndpointException>(() => EndpointClientOptions.ParseBaseUri(url, "MERT_ENDPOINT_API_URL"));
        Assert.DoesNotContain("s3cretPw", ex.Message);
        Assert.Contains("MERT_ENDPOINT_API_URL", ex.Message);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080/v2?x=1")]
    [InlineData("http://127.0.0.1:5080/v2#frag")]
    public void Base_urls_with_a_query_or_fragment_are_refused(string url)
    {
        var ex = Assert.Throws<EndpointException>(() => new EndpointClient("t", new EndpointClientOptions { ApiBaseUri = new Uri(url) }));
        Assert.Equal(EndpointErrorKind.InvalidConfiguration, ex.Kind);
        Assert.Contains("query", ex.Message);
    }

    // ---- item 13: tokens ----

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void An_explicit_empty_token_is_an_error_not_a_fall_back_to_HF_TOKEN(string given)
    {
        var ex = Assert.Throws<EndpointException>(() => TokenResolver.TryResolve(given, out _));
        Assert.Equal(EndpointErrorKind.TokenNotFound, ex.Kind);
        Assert.Contains("-Token", ex.Message);
    }

    [Theory]
    [InlineData("hf_abc\\ndef", "a line break")]
    [InlineData("hf_abc\\rdef", "a line break")]
    [InlineData("hf_abc\\tdef", "a tab")]
    [InlineData("hf_abc\\u0000def", "a control character (U+0000)")]
    [InlineData("hf_abc\\u007Fdef", "a control character (U+007F)")]
    [InlineData("hf_abc\\u00A0def", "a non-ASCII character (U+00A0")]
    [InlineData("hf_abc\\u201Ddef", "a non-ASCII character (U+201D")]
    [InlineData("hf_abc\\u00E9def", "a non-ASCII character (U+00E9")]
    public void A_token_no_header_can_carry_is_InvalidToken_before_any_request_without_the_token(string escaped, string what)
    {
        string token = System.Text.RegularExpressions.Regex.Unescape(escaped);
        var handler = new FakeHandler(new TestClock());
        var resolve = Assert.Throws<EndpointException>(() => TokenResolver.TryResolve(token, out _));
        var client = Assert.Throws<EndpointException>(() => new EndpointClient(token, Samples.Options(new TestClock(), handler)));
        Assert.Contains("The token from -Token has " + what, resolve.Message);
        Assert.Contains("given to the client has " + what, client.Message);
        foreach (var ex in new[] { resolve, client })
        {
            Assert.Equal(EndpointErrorKind.InvalidToken, ex.Kind);
            Assert.Contains("at position 7, which cannot be sent in an HTTP header, so no request was sent", ex.Message);
            Assert.DoesNotContain("abc", ex.Message);
            Assert.DoesNotContain("def", ex.Message);
        }
        Assert.Empty(handler.Requests);
    }

    [Theory]
    [InlineData("hf_plain_ASCII-token.1~+/=")]
    [InlineData("  hf_padded  \r\n")]
    public void A_token_of_header_characters_is_taken(string token) =>
        Assert.Equal(token.Trim(), TokenResolver.TryResolve(token, out _));

    // ---- item 14: segments and routes ----

    private static (EndpointClient Client, FakeHandler Handler) Recording()
    {
        var clock = new TestClock();
        var handler = new FakeHandler(clock, _ => Respond.Make(200, Samples.Endpoint()));
        return (Samples.Client(clock, handler), handler);
    }

    [Theory]
    [InlineData(".", "mert")]
    [InlineData("..", "mert")]
    [InlineData("alice/..", "mert")]
    [InlineData("alice", "..")]
    [InlineData("alice", ".")]
    [InlineData("a\\b", "mert")]
    public async Task Dot_segments_and_slashes_in_a_namespace_or_name_are_refused_before_any_request(string ns, string name)
    {
        var (client, handler) = Recording();
        var delete = await Assert.ThrowsAsync<EndpointException>(() => client.DeleteAsync(ns, name));
        var get = await Assert.ThrowsAsync<EndpointException>(() => client.GetAsync(ns, name));
        Assert.All(new[] { delete, get }, ex => Assert.Equal(EndpointErrorKind.InvalidArgument, ex.Kind));
        Assert.Empty(handler.Requests);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    public async Task A_dot_namespace_from_the_parameter_is_refused(string ns)
    {
        var (client, handler) = Recording();
        var ex = await Assert.ThrowsAsync<EndpointException>(() => client.ResolveNamespaceAsync(ns));
        Assert.Contains("-Namespace", ex.Message);
        Assert.Empty(handler.Requests);
    }

    [Theory]
    [InlineData("/../../../v2/endpoint/alice/mert/pause")]
    [InlineData("/a/./b")]
    [InlineData("/a//b")]
    [InlineData("/%2e%2e/%2E%2E/v2")]
    [InlineData("/a%2fb")]
    [InlineData("/a\\..\\b")]
    [InlineData("https://evil.example/x")]
    [InlineData("//evil.example/x")]
    [InlineData("..")]
    public async Task A_route_can_never_leave_the_endpoints_url(string route)
    {
        var (client, handler) = Recording();
        var endpoint = await client.GetAsync("alice", "mert");

        var ex = await Assert.ThrowsAsync<EndpointException>(() =>
            client.SendDataAsync(endpoint, route, () => new StringContent("{}")));

        Assert.Equal(EndpointErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("-Route", ex.Message);
        Assert.Single(handler.Requests); // the GET above, nothing else
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/embed")]
    [InlineData("v1/predict")]
    [InlineData("/v1/predict/")]
    [InlineData("/predict?mode=fast&x=..")]
    public void Ordinary_routes_pass(string route) => Assert.StartsWith("/", Inputs.Route(route, "Route"));

    [Theory]
    [InlineData("/../health")]
    [InlineData("/a//health")]
    public async Task A_health_route_with_dot_or_empty_segments_is_refused_on_create_update_and_probe(string route)
    {
        var (client, handler) = Recording();
        var create = await Assert.ThrowsAsync<EndpointException>(() =>
            client.CreateAsync("alice", new EndpointCreateSpec { Name = "mert", ImageUrl = "someone/x:1", HealthRoute = route }));
        var update = await Assert.ThrowsAsync<EndpointException>(() =>
            client.UpdateAsync("alice", "mert", new EndpointUpdateSpec { HealthRoute = route }));
        var probe = await Assert.ThrowsAsync<EndpointException>(() => client.ProbeAsync("https://x.endpoints.huggingface.cloud", route));
        Assert.All(new[] { create, update, probe }, ex => Assert.Contains("-HealthRoute", ex.Message));
        Assert.DoesNotContain(handler.Requests, r => r.Method != HttpMethod.Get);
    }

    // ---- item 15: environment and secrets ----

    [Theory]
    [InlineData("", "v", "is empty")]
    [InlineData("A=B", "v", "contains '='")]
    [InlineData("1ABC", "v", "characters")]
    [InlineData("A B", "v", "characters")]
    [InlineData("A", null, "no value")]
    public void Env_and_secret_entries_are_checked(string key, string? value, string problem)
    {
        var ex = Assert.Throws<EndpointException>(() =>
            Inputs.EnvEntries(new[] { new KeyValuePair<string, string?>(key, value) }, "Secret"));
        Assert.Equal(EndpointErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("-Secret", ex.Message);
        Assert.Contains(problem, ex.Message);
    }

    [Fact]
    public async Task A_create_with_a_bad_env_key_sends_nothing()
    {
        var (client, handler) = Recording();
        var ex = await Assert.ThrowsAsync<EndpointException>(() => client.CreateAsync("alice",
            new EndpointCreateSpec { Name = "mert", ImageUrl = "someone/x:1", Env = new Dictionary<string, string> { ["A=B"] = "1" } }));
        Assert.Equal(EndpointErrorKind.InvalidArgument, ex.Kind);
        Assert.Empty(handler.Requests);
    }
}
