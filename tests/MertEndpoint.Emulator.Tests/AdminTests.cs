using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

public class AdminTests
{
    static async Task<JsonObject> AddFault(TestEmulator emulator, string json)
    {
        using var response = await emulator.Anonymous.PostAsync("/_emulator/faults", Json(JsonNode.Parse(json)!));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadObject(response);
    }

    [Fact]
    public async Task RequestLog_ListsEveryNonAdminRequest_OldestFirst()
    {
        await using var emulator = await StartAsync();
        (await emulator.Client.GetAsync("/v2/endpoint/emulator-user")).Dispose();
        (await emulator.Anonymous.GetAsync("/api/whoami-v2")).Dispose();
        await emulator.AdminAsync("billing");
        (await emulator.Client.PostAsync(emulator.DataUrl("nobody"), new StringContent("x"))).Dispose();

        var log = (await emulator.AdminAsync("requests"))["requests"]!.AsArray();
        Assert.Equal(["GET /v2/endpoint/emulator-user 200", "GET /api/whoami-v2 401", "POST /endpoints/emulator-user/nobody/ 404"],
            log.Select(r => $"{r!["method"]} {r["path"]} {r["status"]}"));
        var times = log.Select(r => DateTimeOffset.Parse(r!["time"]!.GetValue<string>()[..^3] + "Z")).ToList();
        Assert.Equal(times.Order(), times);
        Assert.All(log, r => Assert.Matches(@"\.\d{9}Z$", r!["time"]!.GetValue<string>()));
    }

    [Fact]
    public async Task StatusFault_AnswersTheEmulatedError_CountTimes_WithRetryAfter()
    {
        await using var emulator = await StartAsync();
        var rule = await AddFault(emulator, """{"method": "GET", "pathPrefix": "/v2/endpoint", "status": 503, "count": 2, "delayMs": 0, "retryAfterSeconds": 7, "drop": false}""");
        Assert.Equal(503, rule["status"]!.GetValue<int>());
        Assert.Equal(2, rule["count"]!.GetValue<int>());

        for (var i = 0; i < 2; i++)
        {
            using var faulted = await emulator.Client.GetAsync("/v2/endpoint/emulator-user");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, faulted.StatusCode);
            Assert.Equal("""{"error":"Emulated fault"}""", await faulted.Content.ReadAsStringAsync());
            Assert.Equal("Emulated fault", faulted.Headers.GetValues("X-Error-Message").Single());
            Assert.Equal(TimeSpan.FromSeconds(7), faulted.Headers.RetryAfter?.Delta);
            Assert.Single(faulted.Headers.GetValues("X-Request-Id"));
        }
        Assert.Equal("""{"items":[]}""", await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"));
        Assert.Empty((await emulator.AdminAsync("faults"))["faults"]!.AsArray());
        Assert.Equal([503, 503, 200], (await emulator.AdminAsync("requests"))["requests"]!.AsArray().Select(r => r!["status"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Faults_FilterByMethodAndPathPrefix_AndCoverWhoamiAndTheDataPlane()
    {
        await using var emulator = await StartAsync();
        await AddFault(emulator, """{"method": "POST", "pathPrefix": "/v2/endpoint/emulator-user", "status": 429}""");
        await AddFault(emulator, """{"pathPrefix": "/api/whoami", "status": 500}""");
        await AddFault(emulator, """{"pathPrefix": "/endpoints/", "status": 502}""");

        Assert.Equal(HttpStatusCode.OK, (await emulator.Client.GetAsync("/v2/endpoint/emulator-user")).StatusCode);
        for (var i = 0; i < 3; i++) // count null: forever
            Assert.Equal((HttpStatusCode)429, (await emulator.Client.PostAsync("/v2/endpoint/emulator-user", Json(CreateBody()))).StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, (await emulator.Client.GetAsync("/api/whoami-v2")).StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, (await emulator.Anonymous.GetAsync("/endpoints/emulator-user/any/health")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await emulator.Client.GetAsync("/v2/other")).StatusCode);

        using var cleared = await emulator.Anonymous.DeleteAsync("/_emulator/faults");
        Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await emulator.Client.GetAsync("/api/whoami-v2")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await emulator.Client.PostAsync("/v2/endpoint/emulator-user", Json(CreateBody()))).StatusCode);
    }

    [Fact]
    public async Task DropFault_ClosesTheConnectionWithoutAnswer_AndDelayWithoutStatusAnswersNormallyLater()
    {
        await using var emulator = await StartAsync();
        await AddFault(emulator, """{"pathPrefix": "/api/whoami-v2", "count": 1, "drop": true}""");
        await Assert.ThrowsAsync<HttpRequestException>(() => emulator.Client.GetAsync("/api/whoami-v2"));
        Assert.Equal(HttpStatusCode.OK, (await emulator.Client.GetAsync("/api/whoami-v2")).StatusCode);

        await AddFault(emulator, """{"pathPrefix": "/v2/", "count": 1, "delayMs": 300, "status": null}""");
        var clock = Stopwatch.StartNew();
        Assert.Equal("""{"items":[]}""", await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"));
        Assert.True(clock.ElapsedMilliseconds >= 290, $"answered after {clock.ElapsedMilliseconds} ms");

        var statuses = (await emulator.AdminAsync("requests"))["requests"]!.AsArray().Select(r => r!["status"]!.GetValue<int>());
        Assert.Equal([0, 200, 200], statuses);
    }

    [Theory]
    [InlineData("""{"status": 700}""", "status")]
    [InlineData("""{"status": "503"}""", "status")]
    [InlineData("""{"count": 0}""", "count")]
    [InlineData("""{"delayMs": -1}""", "delayMs")]
    [InlineData("""{"drop": "yes"}""", "drop")]
    [InlineData("""{"method": 5}""", "method")]
    [InlineData("""{"pathPrefix": "v2"}""", "pathPrefix")]
    [InlineData("""{"body": "x"}""", "need a 'status'")]
    [InlineData("""{"status": 500, "headers": {"Bad Name": "x"}}""", "Bad Name")]
    [InlineData("""{"status": 500, "headers": {"X": "a\nb"}}""", "headers")]
    [InlineData("""{"status": 500, "headers": ["x"]}""", "headers")]
    [InlineData("""{"cutAfterBytes": -1}""", "cutAfterBytes")]
    [InlineData("""[1]""", "JSON object")]
    public async Task BadFaultRules_Are400(string body, string error)
    {
        await using var emulator = await StartAsync();
        using var response = await emulator.Anonymous.PostAsync("/_emulator/faults", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(error, (await ReadObject(response))["error"]!.GetValue<string>());
        Assert.Empty((await emulator.AdminAsync("faults"))["faults"]!.AsArray());
    }

    [Fact]
    public async Task Reset_ForgetsEndpointsFaultsLogsAndMeters()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("temp");
        await AddFault(emulator, """{"pathPrefix": "/nothing", "status": 500}""");
        Assert.NotEmpty((await emulator.AdminAsync("billing"))["endpoints"]!.AsArray());

        using var response = await emulator.Anonymous.PostAsync("/_emulator/reset", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await emulator.AdminAsync("billing"))["endpoints"]!.AsArray());
        Assert.Empty((await emulator.AdminAsync("faults"))["faults"]!.AsArray());
        Assert.Empty((await emulator.AdminAsync("requests"))["requests"]!.AsArray());
        Assert.Equal("""{"items":[]}""", await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.8.9.10", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("10.0.0.1", false)]
    [InlineData("::ffff:192.168.1.2", false)]
    [InlineData("fe80::1", false)]
    public void AdminRoutes_AcceptLoopbackCallersOnly(string address, bool allowed) =>
        Assert.Equal(allowed, Http.IsLoopback(System.Net.IPAddress.Parse(address)));

    [Fact]
    public async Task AdminRoutes_Answer403ToOtherCallers_WithoutRunningTheRoute()
    {
        var nextRan = false;
        var ctx = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        ctx.Request.Path = "/_emulator/reset";
        ctx.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("10.1.2.3");
        await Admin.LoopbackOnly(ctx, _ => { nextRan = true; return Task.CompletedTask; });
        Assert.Equal(403, ctx.Response.StatusCode);
        Assert.False(nextRan);

        ctx = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        ctx.Request.Path = "/v2/endpoint/x";
        ctx.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("10.1.2.3");
        await Admin.LoopbackOnly(ctx, _ => { nextRan = true; return Task.CompletedTask; });
        Assert.True(nextRan);
        Assert.False(Http.IsLoopback(null));
    }

    [Fact]
    public async Task AdminRoutes_RefuseWebPages_NonJsonBodies_AndRebindingHosts()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("kept");
        async Task<(HttpStatusCode, string)> Send(HttpMethod method, string route, Action<HttpRequestMessage> change)
        {
            using var request = new HttpRequestMessage(method, $"/_emulator/{route}");
            change(request);
            using var response = await emulator.Anonymous.SendAsync(request);
            return (response.StatusCode, (await ReadObject(response))["error"]?.GetValue<string>() ?? "");
        }

        // What a page can send cross-origin without asking: a form or text/plain POST, always with Origin.
        var (status, error) = await Send(HttpMethod.Post, "reset", r => r.Headers.Add("Origin", "https://evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("Origin", error);
        (status, _) = await Send(HttpMethod.Get, "requests", r => r.Headers.Add("Origin", "null"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        (status, _) = await Send(HttpMethod.Post, "reset", r => r.Headers.Add("Sec-Fetch-Site", "cross-site"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        (status, error) = await Send(HttpMethod.Post, "faults", r => r.Content = new StringContent("""{"status": 500}"""));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Contains("application/json", error);
        (status, _) = await Send(HttpMethod.Post, "reset", r => r.Content = new FormUrlEncodedContent([KeyValuePair.Create("a", "b")]));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        // A page on a DNS name rebound to 127.0.0.1 is same-origin to itself, but its name is in Host.
        (status, error) = await Send(HttpMethod.Post, "reset", r => r.Headers.Host = "evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("loopback host", error);
        Assert.Empty((await emulator.AdminAsync("faults"))["faults"]!.AsArray());
        Assert.Equal("kept", (await emulator.GetAsync("kept"))["name"]!.GetValue<string>()); // nothing was reset

        // What scripts send still works: JSON, or no body at all; localhost by name too.
        (status, _) = await Send(HttpMethod.Post, "faults", r => r.Content = Json(JsonNode.Parse("""{"pathPrefix": "/nothing", "status": 500}""")!));
        Assert.Equal(HttpStatusCode.OK, status);
        (status, _) = await Send(HttpMethod.Delete, "faults", r => r.Headers.Host = $"localhost:{new Uri(emulator.BaseUrl).Port}");
        Assert.Equal(HttpStatusCode.OK, status);
        (status, _) = await Send(HttpMethod.Post, "reset", _ => { });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"items":[]}""", await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"));
        // The rest of the emulator does not care about Origin: a browser may call the service's own routes.
        using var api = new HttpRequestMessage(HttpMethod.Get, "/v2/endpoint/emulator-user");
        api.Headers.Add("Origin", "https://ui.example");
        Assert.Equal(HttpStatusCode.OK, (await emulator.Client.SendAsync(api)).StatusCode);
    }

    [Fact]
    public async Task AbandonedRequests_AreLoggedWithStatus0_AsNoAnswerWentOut()
    {
        await using var emulator = await StartAsync();
        await AddFault(emulator, """{"pathPrefix": "/v2/endpoint", "count": 1, "delayMs": 30000, "status": null}""");
        using (var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => emulator.Client.GetAsync("/v2/endpoint/emulator-user", giveUp.Token));

        // The server notices the closed connection a moment later: wait for the entry to settle.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        JsonNode? entry;
        do
        {
            entry = (await emulator.AdminAsync("requests"))["requests"]!.AsArray().Single();
            if (entry!["status"] is not null) break;
            await Task.Delay(50);
        } while (DateTime.UtcNow < deadline);
        Assert.Equal(0, entry!["status"]!.GetValue<int>());
        Assert.Equal("""{"items":[]}""", await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"));
        Assert.Equal([0, 200], (await emulator.AdminAsync("requests"))["requests"]!.AsArray().Select(r => r!["status"]!.GetValue<int>()));
    }

    [Fact]
    public async Task FaultBodies_ContentTypesAndHeaders_AnswerAsSet()
    {
        await using var emulator = await StartAsync();
        var rule = await AddFault(emulator, """
            {"pathPrefix": "/api/whoami-v2", "status": 429, "count": 1, "contentType": "text/html; charset=utf-8",
             "body": "<html><body>Too Many Requests</body></html>",
             "headers": {"RateLimit": "\"api\";r=0;t=183", "RateLimit-Policy": "\"fixed window\";\"api\";q=500;w=300", "Retry-After": "183"}}
            """);
        Assert.Equal("text/html; charset=utf-8", rule["contentType"]!.GetValue<string>());
        using (var html = await emulator.Client.GetAsync("/api/whoami-v2"))
        {
            Assert.Equal((HttpStatusCode)429, html.StatusCode);
            Assert.Equal("text/html", html.Content.Headers.ContentType?.MediaType);
            Assert.Equal("<html><body>Too Many Requests</body></html>", await html.Content.ReadAsStringAsync());
            Assert.Equal("\"api\";r=0;t=183", html.Headers.GetValues("RateLimit").Single());
            Assert.Equal("\"fixed window\";\"api\";q=500;w=300", html.Headers.GetValues("RateLimit-Policy").Single());
            Assert.Equal(TimeSpan.FromSeconds(183), html.Headers.RetryAfter?.Delta);
            Assert.False(html.Headers.Contains("X-Error-Message"));
        }

        // A truncated JSON 200, a proxy's plain-text 502, a 200 with unknown fields and an unknown state.
        await AddFault(emulator, """{"pathPrefix": "/v2/endpoint/emulator-user/a", "status": 200, "count": 1, "contentType": "application/json", "body": "{\"name\": \"a\", \"sta"}""");
        await AddFault(emulator, """{"pathPrefix": "/v2/endpoint/emulator-user/b", "status": 502, "count": 1, "body": "Bad Gateway"}""");
        await AddFault(emulator, """{"pathPrefix": "/v2/endpoint/emulator-user/c", "status": 200, "count": 1, "contentType": "application/json", "body": "{\"name\": \"c\", \"novel\": 1, \"status\": {\"state\": \"hibernating\"}}"}""");
        Assert.Equal("{\"name\": \"a\", \"sta", await emulator.Client.GetStringAsync(EndpointPath("a")));
        using (var proxy = await emulator.Client.GetAsync(EndpointPath("b")))
        {
            Assert.Equal(HttpStatusCode.BadGateway, proxy.StatusCode);
            Assert.Equal("text/plain", proxy.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Bad Gateway", await proxy.Content.ReadAsStringAsync());
        }
        Assert.Equal("hibernating", JsonNode.Parse(await emulator.Client.GetStringAsync(EndpointPath("c")))!["status"]!["state"]!.GetValue<string>());

        // Headers on a rule without status ride on the normal answer.
        await AddFault(emulator, """{"pathPrefix": "/v2/endpoint", "count": 1, "headers": {"RateLimit": "\"api\";r=499;t=200"}}""");
        using var normal = await emulator.Client.GetAsync("/v2/endpoint/emulator-user");
        Assert.Equal("""{"items":[]}""", await normal.Content.ReadAsStringAsync());
        Assert.Equal("\"api\";r=499;t=200", normal.Headers.GetValues("RateLimit").Single());
    }

    [Fact]
    public async Task CutAfterBytes_TruncatesAnOrdinaryAnswer()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("whole");
        await AddFault(emulator, """{"pathPrefix": "/v2/endpoint/emulator-user/whole", "count": 1, "cutAfterBytes": 10}""");
        using var response = await emulator.Client.GetAsync(EndpointPath("whole"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = new MemoryStream();
        var error = await Record.ExceptionAsync(() => response.Content.CopyToAsync(received));
        Assert.True(error is IOException or HttpRequestException, $"expected the answer to end early, got {error}"); // it promised more bytes
        Assert.Equal(10, received.Length);
        Assert.Equal("whole", (await emulator.GetAsync("whole"))["name"]!.GetValue<string>()); // count 1: the next answer is whole
    }
}
