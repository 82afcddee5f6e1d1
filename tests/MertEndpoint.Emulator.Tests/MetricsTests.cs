using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

public class MetricsTests
{
    static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    static readonly long From = Start.ToUnixTimeSeconds();

    static Action<JsonObject> Pinned => b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}""");

    static async Task<JsonNode> Metric(TestEmulator emulator, string name, string metric, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await emulator.Client.PostAsync($"{EndpointPath(name)}/metrics/{metric}", Json(JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(body))!));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{metric}: {response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    static List<double?> Values(JsonNode points) => points.AsArray().Select(p => p!["value"]?.GetValue<double>()).ToList();

    /// <summary>Two minutes of traffic on a manual clock: 3 good requests in the first, then 2 good, a 400 and a 404.</summary>
    static async Task<(TestEmulator, ManualClock)> StartWithTraffic(params string[] args)
    {
        var clock = new ManualClock(Start);
        var emulator = await StartAsync(clock, ["--boot-seconds", "1", .. args]);
        await emulator.CreateAsync("counted", Pinned);
        clock.Advance(10);
        async Task Send(HttpStatusCode expected, string path = "/", byte[]? body = null)
        {
            using var response = body is null
                ? await emulator.Client.GetAsync(emulator.DataUrl("counted", path))
                : await emulator.Client.PostAsync(emulator.DataUrl("counted", path), new ByteArrayContent(body));
            Assert.Equal(expected, response.StatusCode);
        }
        for (var i = 0; i < 3; i++) await Send(HttpStatusCode.OK, body: [(byte)i]);
        clock.Advance(60);
        await Send(HttpStatusCode.OK, "/health");
        await Send(HttpStatusCode.OK, body: [9]);
        await Send(HttpStatusCode.BadRequest, body: []);
        await Send(HttpStatusCode.NotFound, "/missing");
        clock.Advance(100);
        return (emulator, clock);
    }

    [Fact]
    public async Task RequestCountAndRates_PerStep_ComeFromTheRequestsServed()
    {
        var (emulator, _) = await StartWithTraffic();
        await using var _e = emulator;
        var window = new { from = From, to = From + 180, step = "1m" };
        var counts = await Metric(emulator, "counted", "request-count", window);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($$"""
            [{"timestamp": {{From}}, "value": 3}, {"timestamp": {{From + 60}}, "value": 4}, {"timestamp": {{From + 120}}, "value": 0}]
            """), counts), counts.ToJsonString());
        Assert.Equal([100, 50, null], Values(await Metric(emulator, "counted", "success-rate", window)));
        Assert.Equal([0, 50, null], Values(await Metric(emulator, "counted", "bad-request-rate", window)));
        Assert.Equal([0, 0, null], Values(await Metric(emulator, "counted", "server-error-rate", window)));
        Assert.Equal([0.05, 0.0333, 0], Values(await Metric(emulator, "counted", "success-throughput", window)).Select(v => Math.Round(v!.Value, 4)));
        Assert.Equal([7.0], Values(await Metric(emulator, "counted", "request-count", new { from = From, to = From + 180, step = "1h" })));
        Assert.Equal(18, (await Metric(emulator, "counted", "request-count", new { from = From, to = From + 180, step = "10s" })).AsArray().Count);
        // Time-synthetic usage: zero before the endpoint existed, some while it runs.
        var gpu = Values(await Metric(emulator, "counted", "gpu-usage", new { from = From - 120, to = From + 120, step = "1m" }));
        Assert.Equal([0, 0], gpu[..2]);
        Assert.All(gpu[2..], v => Assert.InRange(v!.Value, 0.5, 99));
    }

    [Fact]
    public async Task ColumnarShape_CarriesTheSameNumbers()
    {
        var (emulator, _) = await StartWithTraffic("--metrics-shape", "columnar");
        await using var _e = emulator;
        var counts = await Metric(emulator, "counted", "request-count", new { from = From, to = From + 120, step = "1m" });
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($$"""{"timestamps": [{{From}}, {{From + 60}}], "values": [3, 4]}"""), counts), counts.ToJsonString());
    }

    [Fact]
    public async Task Latencies_MatchTheDurationsInTheAccessLines()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("timed", Pinned);
        await emulator.WaitForStateAsync("timed", "running");
        for (var i = 0; i < 20; i++)
            (await emulator.Client.PostAsync(emulator.DataUrl("timed"), new GeneratedContent(256 * 1024 * (i % 4 + 1)))).Dispose();
        var durations = (await emulator.LogsAsync("timed")).Select(l => Regex.Match(l, @"\((\d+\.\d) ms\)$")).Where(m => m.Success)
            .Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Order().ToList();
        Assert.Equal(20, durations.Count);

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var window = new { from = now - 3600, to = now + 60, step = "1d" };
        Assert.Equal(20, Values(await Metric(emulator, "timed", "request-count", window)).Single());
        // Nearest rank over the same requests; the access lines round to 0.1 ms.
        Assert.Equal(durations[9], Values(await Metric(emulator, "timed", "median-latency", window)).Single()!.Value, 0.051);
        Assert.Equal(durations[18], Values(await Metric(emulator, "timed", "p95-latency", window)).Single()!.Value, 0.051);
        Assert.Equal(durations.Average(), Values(await Metric(emulator, "timed", "average-latency", window)).Single()!.Value, 0.051);
    }

    [Fact]
    public async Task EveryListedMetric_Answers_AndBadQueriesGetClearErrors()
    {
        var (emulator, _) = await StartWithTraffic();
        await using var _e = emulator;
        string[] names = ["request-count", "median-latency", "p95-latency", "average-latency", "success-throughput", "bad-request-throughput",
            "server-error-throughput", "success-rate", "bad-request-rate", "server-error-rate", "cpu-usage", "memory-usage", "gpu-usage", "gpu-memory-usage"];
        foreach (var name in names)
            Assert.Equal(2, (await Metric(emulator, "counted", name, new { from = From, to = From + 120, step = "1m" })).AsArray().Count);

        var unknown = (await Metric(emulator, "counted", "tokens-per-second", new { from = From, to = From + 60, step = "1m" }, HttpStatusCode.BadRequest))["error"]!.GetValue<string>();
        Assert.Equal($"Unknown metric 'tokens-per-second': expected one of {string.Join(", ", names)}", unknown);
        foreach (var (body, error) in new (object, string)[]
                 {
                     (new { to = From + 60, step = "1m" }, "'from'"),
                     (new { from = "today", to = From + 60, step = "1m" }, "'from'"),
                     (new { from = From, to = From, step = "1m" }, "'to' must be after"),
                     (new { from = From, to = From + 60, step = "a minute" }, "'step'"),
                     (new { from = From, to = From + 86400 * 30, step = "1s" }, "Too many points"),
                 })
            Assert.Contains(error, (await Metric(emulator, "counted", "request-count", body, HttpStatusCode.BadRequest))["error"]!.GetValue<string>());
        Assert.Contains("not found", (await Metric(emulator, "nobody", "request-count", new { from = From, to = From + 60, step = "1m" }, HttpStatusCode.NotFound))["error"]!.GetValue<string>());
    }
}
