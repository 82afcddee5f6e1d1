using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Xunit;

namespace MertEndpoint.Emulator.Tests;

public class AuthTests
{
    const string TokenMessage = "A valid user or organization token, sent as a Bearer, is required";

    static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string message)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(message, Assert.Single(body, p => p.Key == "error").Value!.GetValue<string>());
        Assert.Single(body);
        Assert.Equal(message, response.Headers.GetValues("X-Error-Message").Single());
        Assert.Single(response.Headers.GetValues("X-Request-Id"));
    }

    [Theory]
    [InlineData("/v2/endpoint/emulator-user")]
    [InlineData("/v2/endpoint/emulator-user/anything")]
    [InlineData("/v2/provider/emulator-user")]
    [InlineData("/api/whoami-v2")]
    [InlineData("/v2/no-such-route")]
    public async Task MissingOrUnknownToken_Is401WithTheOfficialBody(string path)
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var missing = await emulator.Anonymous.GetAsync(path);
        await AssertError(missing, HttpStatusCode.Unauthorized, TokenMessage);

        using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "hf_wrong") } };
        using var unknown = await emulator.Anonymous.SendAsync(request);
        await AssertError(unknown, HttpStatusCode.Unauthorized, TokenMessage);

        using var basic = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = new AuthenticationHeaderValue("Basic", TestEmulator.Token) } };
        using var notBearer = await emulator.Anonymous.SendAsync(basic);
        await AssertError(notBearer, HttpStatusCode.Unauthorized, TokenMessage);
    }

    [Fact]
    public async Task EveryConfiguredToken_IsAccepted_AndTheDefaultOnlyWhenNoneIsGiven()
    {
        await using var emulator = await TestEmulator.StartAsync("--token", "hf_one", "--token", "hf_two");
        foreach (var (token, expected) in new[] { ("hf_one", HttpStatusCode.OK), ("hf_two", HttpStatusCode.OK), (TestEmulator.Token, HttpStatusCode.Unauthorized) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/whoami-v2") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
            using var response = await emulator.Anonymous.SendAsync(request);
            Assert.Equal(expected, response.StatusCode);
        }
    }

    [Fact]
    public async Task WhoAmI_NamesTheConfiguredUserAndOrgs()
    {
        await using var emulator = await TestEmulator.StartAsync("--user", "alice", "--org", "lab", "--org", "team");
        var me = JsonNode.Parse(await emulator.Client.GetStringAsync("/api/whoami-v2"))!;
        Assert.Equal("user", me["type"]!.GetValue<string>());
        Assert.Equal("alice", me["name"]!.GetValue<string>());
        Assert.Equal(["lab", "team"], me["orgs"]!.AsArray().Select(o => o!["name"]!.GetValue<string>()));
        Assert.Matches("^[0-9a-f]{24}$", me["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task NamespacesOtherThanTheUsersAndItsOrgs_Are401()
    {
        await using var emulator = await TestEmulator.StartAsync("--org", "lab");
        Assert.Equal("""{"items":[]}""", await emulator.Client.GetStringAsync("/v2/endpoint/lab"));
        await emulator.CreateAsync(TestEmulator.CreateBody("in-org"), "lab");
        Assert.Equal("in-org", (await emulator.GetAsync("in-org", "lab"))["name"]!.GetValue<string>());

        foreach (var (method, path) in new[] { ("GET", "/v2/endpoint/stranger"), ("POST", "/v2/endpoint/stranger"), ("GET", "/v2/endpoint/stranger/x"),
                     ("POST", "/v2/endpoint/stranger/x/pause"), ("DELETE", "/v2/endpoint/stranger/x"), ("GET", "/v2/provider/stranger") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method == "POST") request.Content = TestEmulator.Json(TestEmulator.CreateBody("x"));
            using var response = await emulator.Client.SendAsync(request);
            await AssertError(response, HttpStatusCode.Unauthorized, TokenMessage);
        }
    }

    [Fact]
    public async Task EveryResponse_CarriesAFreshRequestId_AndUnknownRoutesAnswerWithTheErrorBody()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var ids = new List<string>();
        foreach (var path in new[] { "/api/whoami-v2", "/api/whoami-v2", "/nowhere", "/_emulator/billing", "/endpoints/emulator-user/none/" })
        {
            using var response = await emulator.Client.GetAsync(path);
            ids.Add(response.Headers.GetValues("X-Request-Id").Single());
        }
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.False(string.IsNullOrWhiteSpace(id)));

        using var notFound = await emulator.Client.GetAsync("/nowhere");
        await AssertError(notFound, HttpStatusCode.NotFound, "Not Found");
        using var wrongMethod = await emulator.Client.PatchAsync("/v2/endpoint/emulator-user/x", TestEmulator.Json(new JsonObject()));
        await AssertError(wrongMethod, HttpStatusCode.MethodNotAllowed, "Method Not Allowed");
    }
}
