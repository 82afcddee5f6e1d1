using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

/// <summary>The state machine on the real clock, with boot 0.3 s and a 0.5 s minute. Exact timing is
/// checked on a manual clock in <see cref="ClockTests"/>; these check the wiring end to end.</summary>
public class StateTests
{
    static string? Url(JsonObject e) => e["status"]!["url"]?.GetValue<string>();

    static DateTimeOffset Stamp(JsonObject e, string key) => DateTimeOffset.Parse(e["status"]![key]!.GetValue<string>()[..^3] + "Z");

    async Task<HttpStatusCode> Health(TestEmulator emulator, string name)
    {
        using var response = await emulator.Client.GetAsync(emulator.DataUrl(name, "/health"));
        return response.StatusCode;
    }

    [Fact]
    public async Task Create_GoesPendingInitializingRunning_InAboutBootSeconds_AndHealthIs200OnlyWhenRunning()
    {
        // A 3 s boot here, so a busy machine (CI runs test classes in parallel on 2 cores) cannot skip the 2.4 s
        // initializing phase between two polls; the exact timing is checked on a manual clock in ClockTests.
        await using var emulator = await StartAsync("--boot-seconds", "3");
        var clock = Stopwatch.StartNew();
        var created = await emulator.CreateAsync("boot");
        Assert.Equal("pending", State(created));
        Assert.Null(Url(created));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await Health(emulator, "boot"));

        // The create's own answer is the first state seen: a loaded machine may take the 0.6 s of pending to poll.
        var seen = new List<string> { State(created) };
        JsonObject e;
        while (true)
        {
            e = await emulator.GetAsync("boot");
            if (seen.Count == 0 || seen[^1] != State(e)) seen.Add(State(e));
            if (State(e) == "initializing")
            {
                Assert.Equal($"{emulator.BaseUrl}/endpoints/emulator-user/boot", Url(e));
                Assert.Equal(0, e["status"]!["readyReplica"]!.GetValue<int>());
            }
            if (State(e) == "running") break;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "never reached running");
            await Task.Delay(10);
        }
        var elapsed = clock.Elapsed.TotalSeconds;
        Assert.Equal(["pending", "initializing", "running"], seen);
        Assert.InRange(elapsed, 2.99, 8); // generous: the machine may be busy; the exact figure is below
        Assert.Equal(3.0, (Stamp(e, "updatedAt") - Stamp(created, "createdAt")).TotalSeconds, 6); // running exactly boot-seconds after creation
        Assert.Equal($"{emulator.BaseUrl}/endpoints/emulator-user/boot", Url(e));
        Assert.Equal(1, e["status"]!["readyReplica"]!.GetValue<int>());
        Assert.Equal("Endpoint is ready", e["status"]!["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, "boot"));
    }

    [Fact]
    public async Task PauseThenResume_FollowsTheService()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("pr");
        var running = await emulator.WaitForStateAsync("pr", "running");

        var paused = await emulator.ActAsync("pr", "pause");
        Assert.Equal("paused", State(paused));
        Assert.Null(Url(paused));
        Assert.Equal(0, paused["status"]!["readyReplica"]!.GetValue<int>());
        Assert.Equal(0, paused["status"]!["targetReplica"]!.GetValue<int>());
        using (var health = await emulator.Client.GetAsync(emulator.DataUrl("pr", "/health")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, health.StatusCode);
            Assert.Contains("Invalid state", (await ReadObject(health))["error"]!.GetValue<string>());
        }

        // Pausing again is a no-op that answers the endpoint unchanged.
        var again = await emulator.ActAsync("pr", "pause");
        Assert.Equal("paused", State(again));
        Assert.Equal(paused["status"]!["updatedAt"]!.GetValue<string>(), again["status"]!["updatedAt"]!.GetValue<string>());
        await Task.Delay(400);
        Assert.Equal("paused", State(await emulator.GetAsync("pr")));

        // Resume: pending again, the same URL, and min/max replicas reset to 1 as the service does.
        var resumed = await emulator.ActAsync("pr", "resume");
        Assert.Equal("pending", State(resumed));
        Assert.Equal(Url(running), Url(resumed));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1, "scaleToZeroTimeout": null}"""), resumed["compute"]!["scaling"]));
        Assert.Equal(Url(running), Url(await emulator.WaitForStateAsync("pr", "running")));
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, "pr"));

        var error = await emulator.ActAsync("pr", "resume", HttpStatusCode.BadRequest);
        Assert.Contains("already running", error["error"]!.GetValue<string>());

        // A paused endpoint cannot be scaled to zero.
        await emulator.ActAsync("pr", "pause");
        Assert.Contains("resume it", (await emulator.ActAsync("pr", "scale-to-zero", HttpStatusCode.BadRequest))["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ScaleToZero_KeepsTheUrl_AndARequestWakesIt()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("stz");
        var running = await emulator.WaitForStateAsync("stz", "running");

        var scaled = await emulator.ActAsync("stz", "scale-to-zero");
        Assert.Equal("scaledToZero", State(scaled));
        Assert.Equal(Url(running), Url(scaled));
        Assert.Equal(0, scaled["status"]!["readyReplica"]!.GetValue<int>());
        Assert.Equal("scaledToZero", State(await emulator.ActAsync("stz", "scale-to-zero"))); // idempotent

        // Without X-Scale-Up-Timeout the proxy answers 503 at once, and the endpoint wakes up.
        using (var first = await emulator.Client.GetAsync(emulator.DataUrl("stz", "/health")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
            Assert.Contains("scaling up", (await ReadObject(first))["error"]!.GetValue<string>());
        }
        Assert.NotEqual("scaledToZero", State(await emulator.GetAsync("stz"))); // woken (pending, initializing, or already running)
        Assert.Equal(Url(running), Url(await emulator.WaitForStateAsync("stz", "running")));
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, "stz"));
    }

    [Fact]
    public async Task ScaleUpTimeout_HoldsTheRequestUntilReady_OrGivesUp()
    {
        // A 2 s boot: the impatient request (0.05 s) must give up while it boots, even when the emulator's hold loop
        // wakes late on a loaded machine (with 0.3 s it was sometimes running by then).
        const double boot = 2;
        await using var emulator = await StartAsync("--boot-seconds", "2");
        await emulator.CreateAsync("hold");
        await emulator.WaitForStateAsync("hold", "running");
        await emulator.ActAsync("hold", "scale-to-zero");

        using (var impatient = new HttpRequestMessage(HttpMethod.Post, emulator.DataUrl("hold")) { Content = new ByteArrayContent([1, 2, 3]) })
        {
            impatient.Headers.Add("X-Scale-Up-Timeout", "0.05");
            using var response = await emulator.Client.SendAsync(impatient);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }
        await emulator.WaitForStateAsync("hold", "running");
        await emulator.ActAsync("hold", "scale-to-zero");

        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, emulator.DataUrl("hold")) { Content = new ByteArrayContent([1, 2, 3]) };
        request.Headers.Add("X-Scale-Up-Timeout", "10");
        using var held = await emulator.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        Assert.True(clock.Elapsed.TotalSeconds >= boot * 0.9, $"answered after {clock.Elapsed.TotalSeconds} s");
        Assert.Equal(3, (await ReadObject(held))["bytes"]!.GetValue<int>());
        Assert.Equal("running", State(await emulator.GetAsync("hold")));
    }

    [Fact]
    public async Task IdleEndpoint_WithMinReplicaZero_ScalesToZeroAfterTheTimeout()
    {
        await using var emulator = await StartAsync();
        // 1 minute = 0.5 s here. "idle" (1 min) gets no request; "busy" (10 min, so a stalled test thread on a loaded
        // machine does not let it idle out) gets one every 0.1 s; "pinned" has minReplica 1.
        await emulator.CreateAsync("idle", b => b["compute"]!["scaling"]!["scaleToZeroTimeout"] = 1);
        await emulator.CreateAsync("busy", b => b["compute"]!["scaling"]!["scaleToZeroTimeout"] = 10);
        await emulator.CreateAsync("pinned", b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}"""));
        // Not "idle": on a loaded machine it can boot and scale to zero (0.5 s) before a poll sees it running.
        foreach (var name in new[] { "busy", "pinned" }) await emulator.WaitForStateAsync(name, "running");

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(1.2))
        {
            Assert.Equal(HttpStatusCode.OK, await Health(emulator, "busy"));
            await Task.Delay(100);
        }
        var idle = await emulator.WaitForStateAsync("idle", "scaledToZero");
        Assert.NotNull(Url(idle));
        Assert.Equal("running", State(await emulator.GetAsync("busy")));
        Assert.Equal("running", State(await emulator.GetAsync("pinned")));
        await emulator.WaitForStateAsync("busy", "scaledToZero", 15);
        Assert.Equal("running", State(await emulator.GetAsync("pinned")));
    }

    [Fact]
    public async Task FailingImage_EndsInFailed_AndCannotBeResumed()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("broken", b => b["model"]!["image"]!["custom"]!["url"] = "someone/will-fail:latest");
        var failed = await emulator.WaitForStateAsync("broken", "failed");
        Assert.Null(Url(failed));
        Assert.Equal(0, failed["status"]!["readyReplica"]!.GetValue<int>());
        var error = await emulator.ActAsync("broken", "resume", HttpStatusCode.BadRequest);
        Assert.Contains("cannot be resumed", error["error"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await Health(emulator, "broken"));
        Assert.Equal("failed", State(await emulator.ActAsync("broken", "pause"))); // nothing to stop
        await Task.Delay(400);
        Assert.Equal("failed", State(await emulator.GetAsync("broken")));
    }

    [Fact]
    public async Task Update_GoesUpdatingThenRunning_OrUpdateFailedForAFailingImage()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("upd");
        await emulator.WaitForStateAsync("upd", "running");

        using (var response = await emulator.Client.PutAsync(EndpointPath("upd"), Json(JsonNode.Parse("""{"tags": ["v2"]}""")!)))
            Assert.Equal("updating", State(await ReadObject(response)));
        await emulator.WaitForStateAsync("upd", "running");

        const string failing = """{"model": {"image": {"custom": {"url": "someone/fail:1", "healthRoute": "/health"}}}}""";
        using (var response = await emulator.Client.PutAsync(EndpointPath("upd"), Json(JsonNode.Parse(failing)!)))
            Assert.Equal("updating", State(await ReadObject(response)));
        await emulator.WaitForStateAsync("upd", "updateFailed");
        Assert.Contains("cannot be resumed", (await emulator.ActAsync("upd", "resume", HttpStatusCode.BadRequest))["error"]!.GetValue<string>());

        const string working = """{"model": {"image": {"custom": {"url": "someone/mert:2", "healthRoute": "/health"}}}}""";
        using (var response = await emulator.Client.PutAsync(EndpointPath("upd"), Json(JsonNode.Parse(working)!)))
            Assert.Equal("updating", State(await ReadObject(response)));
        await emulator.WaitForStateAsync("upd", "running");

        // A paused endpoint takes the change and stays paused.
        await emulator.ActAsync("upd", "pause");
        using (var response = await emulator.Client.PutAsync(EndpointPath("upd"), Json(JsonNode.Parse("""{"tags": ["v3"]}""")!)))
        {
            var e = await ReadObject(response);
            Assert.Equal("paused", State(e));
            Assert.Equal("v3", e["tags"]![0]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Billing_CountsBootAndRunningTime_AndNothingWhilePaused()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("meter", b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}"""));
        var running = await emulator.WaitForStateAsync("meter", "running");
        await Task.Delay(500);
        var paused = await emulator.ActAsync("meter", "pause");
        var billed = (await emulator.BillingFor("meter"))["billedSeconds"]!.GetValue<double>();
        // The bill is 0.8 × boot initializing plus the running span the service's own timestamps show.
        var ranFor = (Stamp(paused, "updatedAt") - Stamp(running, "updatedAt")).TotalSeconds;
        Assert.True(ranFor >= 0.45, $"ran for {ranFor} s"); // Task.Delay may end a hair early against the wall clock
        Assert.Equal(0.8 * BootSeconds + ranFor, billed, 0.002);
        await Task.Delay(300);
        var bill = await emulator.BillingFor("meter");
        Assert.Equal(billed, bill["billedSeconds"]!.GetValue<double>());
        Assert.Equal(billed / 3600, bill["cost"]!.GetValue<double>(), 0.0000015); // the meter rounds cost to 6 places
    }
}
