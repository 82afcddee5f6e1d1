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
}
