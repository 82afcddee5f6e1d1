using System.Net;
using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

/// <summary>The switches for the readings of the service that are not confirmed, each on a manual clock
/// (boot 1 s: 0.2 s pending, 0.8 s initializing; a minute is 0.5 s) so they are checked to the tick.</summary>
public class FidelityTests
{
    static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    static async Task<(TestEmulator, ManualClock)> StartManual(params string[] args)
    {
        var clock = new ManualClock(Start);
        return (await StartAsync(clock, ["--boot-seconds", "1", .. args]), clock);
    }

    static Action<JsonObject> Pinned => b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}""");

    static string UpdatedAt(JsonObject e) => e["status"]!["updatedAt"]!.GetValue<string>();
    static string? Url(JsonObject e) => e["status"]!["url"]?.GetValue<string>();

    static async Task<HttpStatusCode> Health(TestEmulator emulator, string url, string? scaleUpTimeout = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url + "/health");
        if (scaleUpTimeout is not null) request.Headers.Add("X-Scale-Up-Timeout", scaleUpTimeout);
        using var response = await emulator.Client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task UpdatedAtActions_StampsUserRequestsOnly_NotTimedTransitions()
    {
        var (emulator, clock) = await StartManual("--updated-at", "actions");
        await using var _ = emulator;
        await emulator.CreateAsync("acts", b => b["compute"]!["scaling"]!["scaleToZeroTimeout"] = 2); // idle after 1 s
        clock.Advance(1.5);
        var running = await emulator.GetAsync("acts");
        Assert.Equal("running", State(running));
        Assert.Equal("2026-11-26T12:00:00.000000000Z", UpdatedAt(running)); // the create, not the boot's end

        clock.Advance(1); // idle since 1.0: scaled to zero at 2.0 by the service
        var idle = await emulator.GetAsync("acts");
        Assert.Equal("scaledToZero", State(idle));
        Assert.Equal("2026-11-26T12:00:00.000000000Z", UpdatedAt(idle));

        Assert.Equal("2026-11-26T12:00:02.500000000Z", UpdatedAt(await emulator.ActAsync("acts", "resume")));
        clock.Advance(1);
        Assert.Equal("2026-11-26T12:00:02.500000000Z", UpdatedAt(await emulator.WaitForStateAsync("acts", "running")));
        clock.Advance(0.25);
        Assert.Equal("2026-11-26T12:00:03.750000000Z", UpdatedAt(await emulator.ActAsync("acts", "pause")));
        clock.Advance(0.25);
        Assert.Equal("2026-11-26T12:00:03.750000000Z", UpdatedAt(await emulator.ActAsync("acts", "pause"))); // a no-op changes nothing
    }

    [Fact]
    public async Task UpdatedAtTransitions_IsTheDefault()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("moves", Pinned);
        clock.Advance(1.5);
        Assert.Equal("2026-11-26T12:00:01.000000000Z", UpdatedAt(await emulator.GetAsync("moves")));
    }

    [Fact]
    public async Task UrlFromRunning_HidesTheUrlWhileABootIsUnderWay_EvenOnResume()
    {
        var (emulator, clock) = await StartManual("--url-from", "running");
        await using var _ = emulator;
        await emulator.CreateAsync("late-url", Pinned);
        clock.Advance(0.5);
        var initializing = await emulator.GetAsync("late-url");
        Assert.Equal("initializing", State(initializing));
        Assert.Null(Url(initializing));
        clock.Advance(0.5);
        var running = await emulator.GetAsync("late-url");
        Assert.Equal($"{emulator.BaseUrl}/endpoints/emulator-user/late-url", Url(running));

        await emulator.ActAsync("late-url", "pause");
        Assert.Null(Url(await emulator.ActAsync("late-url", "resume")));
        clock.Advance(0.5);
        Assert.Null(Url(await emulator.GetAsync("late-url")));
        // The old URL already answers what a booting endpoint answers; the control plane shows it at running.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await Health(emulator, Url(running)!));
        clock.Advance(0.5);
        Assert.Equal(Url(running), Url(await emulator.GetAsync("late-url")));
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, Url(running)!));
    }

    [Fact]
    public async Task UrlFromInitializing_IsTheDefault()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("early-url", Pinned);
        clock.Advance(0.5);
        Assert.Equal($"{emulator.BaseUrl}/endpoints/emulator-user/early-url", Url(await emulator.GetAsync("early-url")));
    }

    [Theory]
    [InlineData(null, 1, 1, null)]
    [InlineData("reset", 1, 1, null)]
    [InlineData("keep", 0, 2, 15)]
    public async Task ResumeScaling_ResetsOrKeepsTheReplicaSettings(string? mode, int min, int max, int? timeout)
    {
        var (emulator, clock) = await StartManual(mode is null ? [] : ["--resume-scaling", mode]);
        await using var _ = emulator;
        await emulator.CreateAsync("scaling", b => b["compute"]!["scaling"]!["maxReplica"] = 2);
        clock.Advance(1);
        await emulator.ActAsync("scaling", "pause");
        var scaling = (await emulator.ActAsync("scaling", "resume"))["compute"]!["scaling"]!;
        Assert.Equal(min, scaling["minReplica"]!.GetValue<int>());
        Assert.Equal(max, scaling["maxReplica"]!.GetValue<int>());
        Assert.Equal(timeout, scaling["scaleToZeroTimeout"]?.GetValue<int>());
    }

    [Theory]
    [InlineData(null, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK)]
    [InlineData("503", HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK)]
    [InlineData("502", HttpStatusCode.BadGateway, HttpStatusCode.BadGateway)]
    public async Task ScaleToZeroStatus_IsWhatAWakingEndpointAnswers_WithAndWithoutAHold(string? mode, HttpStatusCode plain, HttpStatusCode held)
    {
        // Real clock: a held request waits for the boot (0.3 s) to end.
        await using var emulator = await StartAsync(mode is null ? [] : ["--scale-to-zero-status", mode]);
        const string url = "/endpoints/emulator-user/waking";
        await emulator.CreateAsync("waking");
        await emulator.WaitForStateAsync("waking", "running");
        await emulator.ActAsync("waking", "scale-to-zero");
        Assert.Equal(plain, await Health(emulator, url));
        Assert.NotEqual("scaledToZero", State(await emulator.GetAsync("waking"))); // woken either way
        await emulator.ActAsync("waking", "scale-to-zero"); // asleep again, to try a held request
        Assert.Equal(held, await Health(emulator, url, scaleUpTimeout: "20"));
    }

    [Fact]
    public async Task ScaleToZeroStatus502_AppliesToWakingOnly_AndEndsWhenTheReplicaIsUp()
    {
        var (emulator, clock) = await StartManual("--scale-to-zero-status", "502");
        await using var _ = emulator;
        const string url = "/endpoints/emulator-user/old-proxy";
        await emulator.CreateAsync("old-proxy", Pinned);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await Health(emulator, url)); // a first boot is not a wake-up
        clock.Advance(1);
        await emulator.ActAsync("old-proxy", "scale-to-zero");
        Assert.Equal(HttpStatusCode.BadGateway, await Health(emulator, url));
        clock.Advance(0.5);
        Assert.Equal(HttpStatusCode.BadGateway, await Health(emulator, url, scaleUpTimeout: "30")); // not held
        clock.Advance(0.5);
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, url));
    }

    [Fact]
    public async Task UrlSchemeRandom_GivesEachCreateItsOwnUrl_StableAcrossPauseAndResume_AndNothingAnswersAGuess()
    {
        var (emulator, clock) = await StartManual("--url-scheme", "random");
        await using var _ = emulator;
        await emulator.CreateAsync("hidden", Pinned);
        await emulator.CreateAsync("other", Pinned);
        clock.Advance(1);
        var url = Url(await emulator.GetAsync("hidden"))!;
        Assert.Matches($@"^{emulator.BaseUrl}/e/[a-z0-9]{{16}}$", url);
        Assert.NotEqual(url, Url(await emulator.GetAsync("other")));
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, url));
        Assert.Equal(HttpStatusCode.NotFound, await Health(emulator, "/endpoints/emulator-user/hidden"));
        Assert.Equal(HttpStatusCode.NotFound, await Health(emulator, "/e/aaaaaaaaaaaaaaaa"));

        await emulator.ActAsync("hidden", "pause");
        Assert.Equal(HttpStatusCode.BadRequest, await Health(emulator, url)); // paused: "Invalid state", at the same URL
        await emulator.ActAsync("hidden", "resume");
        clock.Advance(1);
        Assert.Equal(url, Url(await emulator.GetAsync("hidden")));
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, url));

        // Deleted and created again: a new URL, and the old one is gone.
        (await emulator.Client.DeleteAsync(EndpointPath("hidden"))).Dispose();
        await emulator.CreateAsync("hidden", Pinned);
        clock.Advance(1);
        Assert.NotEqual(url, Url(await emulator.GetAsync("hidden")));
        Assert.Equal(HttpStatusCode.NotFound, await Health(emulator, url));
    }

    [Fact]
    public async Task QuotaEnforce_RefusesCreateResumeAndUpdateBeyondMaxAccelerators_NamingTheUse()
    {
        // nvidia-a10g allows 4 accelerators: x1 is 1 per replica.
        var (emulator, clock) = await StartManual("--quota", "enforce", "--resume-scaling", "keep");
        await using var _ = emulator;
        await emulator.CreateAsync("three", b => b["compute"]!["scaling"]!["maxReplica"] = 3);
        await emulator.CreateAsync("one");

        async Task<string> Refused(HttpResponseMessage response)
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            return (await ReadObject(response))["error"]!.GetValue<string>();
        }
        var error = await Refused(await emulator.Client.PostAsync("/v2/endpoint/emulator-user", Json(CreateBody("fifth"))));
        Assert.Equal("Out of GPU quota for nvidia-a10g in namespace 'emulator-user': endpoint 'fifth' needs 1 accelerator(s) (maxReplica 1 x 1), " +
            "and 4 of the quota of 4 are in use. Pause or delete another endpoint, lower maxReplica, or ask for more quota.", error);
        Assert.Contains("3 of the quota of 4", await Refused(await emulator.Client.PutAsync(EndpointPath("one"),
            Json(JsonNode.Parse("""{"compute": {"scaling": {"maxReplica": 2}}}""")!))));
        Assert.Equal(1, (await emulator.GetAsync("one"))["compute"]!["scaling"]!["maxReplica"]!.GetValue<int>()); // unchanged

        // Paused endpoints hold no quota: another fits, and the paused one cannot come back.
        clock.Advance(1);
        await emulator.ActAsync("three", "pause");
        await emulator.CreateAsync("fifth", b => b["compute"]!["scaling"]!["maxReplica"] = 2);
        Assert.Contains("needs 3 accelerator(s)", (await emulator.ActAsync("three", "resume", HttpStatusCode.Forbidden))["error"]!.GetValue<string>());
        Assert.Equal("paused", State(await emulator.GetAsync("three")));
        // Other instance types have their own quota; without the switch nothing is refused.
        await emulator.CreateAsync("t4", b => b["compute"]!["instanceType"] = "nvidia-t4");
    }

    [Fact]
    public async Task QuotaIsNotEnforcedByDefault()
    {
        await using var emulator = await StartAsync();
        for (var i = 0; i < 5; i++) await emulator.CreateAsync($"q{i}", b => b["compute"]!["scaling"]!["maxReplica"] = 2);
    }

    [Fact]
    public async Task StaleReads_AnswerTheStateOfNMillisecondsAgo_ForGetAndList_WhileActionsActOnTheTruth()
    {
        var (emulator, clock) = await StartManual("--stale-read-ms", "1500");
        await using var _ = emulator;
        async Task<List<string>> ListStates() => JsonNode.Parse(await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"))!["items"]!
            .AsArray().Select(e => $"{e!["name"]!.GetValue<string>()}:{State(e.AsObject())}").ToList();

        Assert.Equal("pending", State(await emulator.CreateAsync("lag", Pinned)));
        using (var missing = await emulator.Client.GetAsync(EndpointPath("lag")))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode); // created 0 ms ago: not readable yet
        Assert.Empty(await ListStates());
        clock.Advance(1.5);
        Assert.Equal("pending", State(await emulator.GetAsync("lag")));
        clock.Advance(0.3);
        Assert.Equal("initializing", State(await emulator.GetAsync("lag")));
        clock.Advance(2);
        Assert.Equal("running", State(await emulator.GetAsync("lag")));

        var paused = await emulator.ActAsync("lag", "pause"); // the action answers the truth
        Assert.Equal("paused", State(paused));
        clock.Advance(1.4999);
        Assert.Equal("running", State(await emulator.GetAsync("lag")));
        Assert.Equal(["lag:running"], await ListStates());
        Assert.Equal("pending", State(await emulator.ActAsync("lag", "resume"))); // acts on the true (paused) state
        clock.Advance(0.0001);
        Assert.Equal("paused", State(await emulator.GetAsync("lag"))); // a read of "paused" right after our own resume
        clock.Advance(1.5);
        Assert.Equal("pending", State(await emulator.GetAsync("lag")));

        (await emulator.Client.DeleteAsync(EndpointPath("lag"))).Dispose();
        Assert.Equal("pending", State(await emulator.GetAsync("lag"))); // deleted 0 ms ago: still readable
        clock.Advance(1.5);
        using var gone = await emulator.Client.GetAsync(EndpointPath("lag"));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task PessimisticCombination_RunsTheWholeLifecycle()
    {
        var (emulator, clock) = await StartManual("--updated-at", "actions", "--url-from", "running", "--url-scheme", "random", "--stale-read-ms", "1500");
        await using var _ = emulator;
        var created = await emulator.CreateAsync("gloomy", Pinned);
        Assert.Null(Url(created));
        clock.Advance(0.5);
        using (var early = await emulator.Client.GetAsync(EndpointPath("gloomy")))
            Assert.Equal(HttpStatusCode.NotFound, early.StatusCode);
        clock.Advance(1.5); // running since 1.0, readable as of 0.5: initializing, no URL yet
        var seen = await emulator.GetAsync("gloomy");
        Assert.Equal("initializing", State(seen));
        Assert.Null(Url(seen));
        clock.Advance(1);
        var running = await emulator.GetAsync("gloomy");
        Assert.Equal("running", State(running));
        Assert.Equal(UpdatedAt(created), UpdatedAt(running));
        var url = Url(running)!;
        Assert.Matches(@"/e/[a-z0-9]{16}$", url);
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, url));

        var paused = await emulator.ActAsync("gloomy", "pause");
        Assert.Equal("running", State(await emulator.GetAsync("gloomy")));
        clock.Advance(1.5);
        Assert.Equal("paused", State(await emulator.GetAsync("gloomy")));
        Assert.NotEqual(UpdatedAt(created), UpdatedAt(paused));
        await emulator.ActAsync("gloomy", "resume");
        clock.Advance(2.6);
        var back = await emulator.GetAsync("gloomy");
        Assert.Equal("running", State(back));
        Assert.Equal(url, Url(back));
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, url));
    }
}
