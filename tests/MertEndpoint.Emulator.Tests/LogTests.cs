using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

public class LogTests
{
    static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    const string LinePattern = @"^- \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 .+$";

    static async Task<(TestEmulator, ManualClock)> StartManual(params string[] args)
    {
        var clock = new ManualClock(Start);
        return (await StartAsync(clock, ["--boot-seconds", "1", .. args]), clock);
    }

    static Action<JsonObject> Pinned => b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}""");
    static Action<JsonObject> Failing => b => b["model"]!["image"]!["custom"]!["url"] = "someone/will-fail:latest";

    static string Unix(double secondsAfterStart) => (Start.ToUnixTimeMilliseconds() / 1000.0 + secondsAfterStart).ToString(CultureInfo.InvariantCulture);

    static string Text(string line) => line[32..]; // after "- 2026-11-26T12:00:00.200+00:00 "

    [Fact]
    public async Task Logs_TellTheBootAndEachRequest_InTheServiceFormat()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("story", Pinned);
        using (var early = await emulator.Client.GetAsync(emulator.DataUrl("story", "/health")))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode); // answered by the proxy, not a replica
        Assert.Empty(await emulator.LogsAsync("story")); // pending: nothing runs yet
        clock.Advance(1);
        clock.Advance(0.25);
        using (var ok = await emulator.Client.PostAsync(emulator.DataUrl("story", "/embed"), new ByteArrayContent([1, 2, 3])))
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using (var bad = await emulator.Client.PostAsync(emulator.DataUrl("story"), new ByteArrayContent([])))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        var lines = await emulator.LogsAsync("story");
        Assert.All(lines, l => Assert.Matches(LinePattern, l));
        Assert.Equal("- 2026-11-26T12:00:00.200+00:00 Pulling image someone/mert-inference:latest for replica " + (await ReplicaId(emulator, "story")), lines[0]);
        Assert.Equal(
        [
            "Successfully pulled image someone/mert-inference:latest",
            $"Starting container {await ReplicaId(emulator, "story")} (port 8080)",
            "INFO:     Started server process [1]",
            "INFO:     Waiting for application startup.",
            "Loading model m-a-p/MERT-v1-95M",
        ], lines[1..6].Select(Text));
        Assert.StartsWith("- 2026-11-26T12:00:01.000+00:00 INFO:     Application startup complete.", lines[6]);
        Assert.Equal("INFO:     Uvicorn running on http://0.0.0.0:8080 (Press CTRL+C to quit)", Text(lines[7]));
        Assert.Contains("ready", Text(lines[8]));
        Assert.StartsWith("- 2026-11-26T12:00:01.250+00:00 INFO:     10.0.0.1:", lines[9]);
        Assert.Matches("\"POST /embed HTTP/1.1\" 200 OK \\(\\d+\\.\\d ms\\)$", lines[9]);
        Assert.Matches("\"POST / HTTP/1.1\" 400 Bad Request \\(\\d+\\.\\d ms\\)$", lines[10]);
        using (var anonymous = await emulator.Anonymous.GetAsync(emulator.DataUrl("story", "/health")))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode); // the proxy again: no access line
        Assert.Equal(11, (await emulator.LogsAsync("story")).Count);

        // Paused: the container says goodbye, and the lines stay readable.
        await emulator.ActAsync("story", "pause");
        Assert.Equal(["INFO:     Shutting down", "INFO:     Finished server process [1]"], (await emulator.LogsAsync("story"))[^2..].Select(Text));
    }

    static async Task<string> ReplicaId(TestEmulator emulator, string name) =>
        JsonNode.Parse(await emulator.Client.GetStringAsync($"{EndpointPath(name)}/replica"))!["items"]![0]!["id"]!.GetValue<string>();

    [Theory]
    [InlineData(null)]
    [InlineData("keep")]
    public async Task AFailedBoot_LogsAShortTraceback(string? mode)
    {
        var (emulator, clock) = await StartManual(mode is null ? [] : ["--failed-logs", mode]);
        await using var _ = emulator;
        await emulator.CreateAsync("broken", Failing);
        clock.Advance(1);
        Assert.Equal("failed", State(await emulator.GetAsync("broken")));
        var lines = (await emulator.LogsAsync("broken")).Select(Text).ToList();
        var traceback = lines.IndexOf("Traceback (most recent call last):");
        Assert.True(traceback > 0, string.Join('\n', lines));
        Assert.StartsWith("RuntimeError: CUDA error", lines[traceback + 5]);
        Assert.StartsWith("Container exited with code 1", lines[^1]);
        Assert.Equal("failed", JsonNode.Parse(await emulator.Client.GetStringAsync($"{EndpointPath("broken")}/replica"))!["items"]![0]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task FailedLogsBuildOnly_ShowsOnlyTheBuildLinesOfAFailedEndpoint()
    {
        var (emulator, clock) = await StartManual("--failed-logs", "build-only");
        await using var _ = emulator;
        await emulator.CreateAsync("broken", Failing);
        await emulator.CreateAsync("fine", Pinned);
        clock.Advance(1);
        var lines = (await emulator.LogsAsync("broken")).Select(Text).ToList();
        Assert.Equal(4, lines.Count);
        Assert.StartsWith("Pulling image someone/will-fail:latest", lines[0]);
        Assert.StartsWith("Successfully pulled image", lines[1]);
        Assert.StartsWith("Starting container", lines[2]);
        Assert.Equal("Container exited with code 1: image someone/will-fail:latest failed to start", lines[3]);
        // Endpoints that did not fail show their container's lines as usual.
        Assert.Contains("INFO:     Application startup complete.", (await emulator.LogsAsync("fine")).Select(Text));
    }

    [Fact]
    public async Task TailFromToReplicaAndLineMaxLength_SelectLines_AndBadValuesAre400()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("picky", Pinned);
        clock.Advance(1);
        for (var i = 0; i < 5; i++)
        {
            clock.Advance(1); // requests at 2, 3, 4, 5, 6 s
            (await emulator.Client.GetAsync(emulator.DataUrl("picky", $"/health"))).Dispose();
        }
        var all = await emulator.LogsAsync("picky");
        Assert.Equal(all[^2..], await emulator.LogsAsync("picky", "?tail=2"));
        Assert.Empty(await emulator.LogsAsync("picky", "?tail=0"));
        var window = await emulator.LogsAsync("picky", $"?from={Unix(3)}&to={Unix(5)}");
        Assert.Equal(3, window.Count);
        Assert.All(window, l => Assert.Contains("GET /health", l));
        Assert.StartsWith("- 2026-11-26T12:00:03.000+00:00", window[0]);
        Assert.Equal(window[^1..], await emulator.LogsAsync("picky", $"?from={Unix(3)}&to={Unix(5)}&tail=1"));
        Assert.Equal(all, await emulator.LogsAsync("picky", $"?replica={await ReplicaId(emulator, "picky")}"));
        Assert.All(await emulator.LogsAsync("picky", "?line_max_length=10"), l => Assert.Equal(32 + 10, l.Length));

        foreach (var query in new[] { "?tail=-1", "?tail=many", "?from=yesterday", "?follow=maybe", "?line_max_length=1.5" })
        {
            using var bad = await emulator.Client.GetAsync($"{EndpointPath("picky")}/logs{query}");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }
        using var unknown = await emulator.Client.GetAsync($"{EndpointPath("picky")}/logs?replica=picky-000000000-xxxxx");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("Replica 'picky-000000000-xxxxx' not found", (await ReadObject(unknown))["error"]!.GetValue<string>());
        using var nobody = await emulator.Client.GetAsync($"{EndpointPath("nobody")}/logs");
        Assert.Equal(HttpStatusCode.NotFound, nobody.StatusCode);
    }

    /// <summary>Reads a streamed answer line by line until it ends; fails after a generous bound.</summary>
    static async Task<List<string>> ReadUntilEnd(StreamReader reader, List<string> into, Func<string, Task>? onLine = null)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await reader.ReadLineAsync(bound.Token) is { } line)
        {
            into.Add(line);
            if (onLine is not null) await onLine(line);
        }
        return into;
    }

    [Fact]
    public async Task Follow_StreamsNewLinesAsTheyHappen_AndEndsWhenTheEndpointIsPaused()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("live", Pinned);
        await emulator.WaitForStateAsync("live", "running");
        using var response = await emulator.Client.GetAsync($"{EndpointPath("live")}/logs?follow=true&tail=1", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        var lines = new List<string>();
        var requested = false;
        await ReadUntilEnd(reader, lines, async line =>
        {
            if (!requested)
            {
                // The first line (tail=1) arrived: the stream is open. A request made now shows up in it.
                requested = true;
                (await emulator.Client.PostAsync(emulator.DataUrl("live", "/while-following"), new ByteArrayContent([7]))).Dispose();
            }
            else if (line.Contains("POST /while-following"))
                await emulator.ActAsync("live", "pause");
        });
        Assert.All(lines, l => Assert.Matches(LinePattern, l));
        Assert.Contains("ready", lines[0]);
        Assert.Contains(lines, l => l.Contains("\"POST /while-following HTTP/1.1\" 200 OK"));
        Assert.EndsWith("INFO:     Finished server process [1]", lines[^1]);
    }

    [Fact]
    public async Task Follow_EndsWhenTheEndpointIsDeleted()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("doomed", Pinned);
        clock.Advance(1);
        using var response = await emulator.Client.GetAsync($"{EndpointPath("doomed")}/logs?follow=true&tail=1", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Contains("ready", await reader.ReadLineAsync());
        (await emulator.Client.DeleteAsync(EndpointPath("doomed"))).Dispose();
        var rest = await reader.ReadToEndAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.Equal(["INFO:     Shutting down", "INFO:     Finished server process [1]"], rest.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Text));
    }

    [Fact]
    public async Task Sse_SendsOneEventPerLine_FollowsTheBoot_AndEndsWhenItFails()
    {
        await using var emulator = await StartAsync("--boot-seconds", "1");
        await emulator.CreateAsync("sse", Failing);
        using var response = await emulator.Client.GetAsync($"{EndpointPath("sse")}/logs/sse", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var raw = await ReadUntilEnd(reader, []);

        // Events: "id: n", "data: <the line>", a blank line.
        var events = raw.Chunk(3).ToList();
        Assert.All(events, e =>
        {
            Assert.Matches(@"^id: \d+$", e[0]);
            Assert.Matches(LinePattern, e[1]["data: ".Length..]);
            Assert.Equal("", e[2]);
        });
        var data = events.Select(e => Text(e[1]["data: ".Length..])).ToList();
        Assert.StartsWith("Pulling image someone/will-fail:latest", data[0]);
        Assert.Contains("Traceback (most recent call last):", data);
        Assert.StartsWith("Container exited with code 1", data[^1]);
        var ids = events.Select(e => long.Parse(e[0][4..], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Order(), ids);

        // A client that reconnects with Last-Event-ID gets only what came after.
        using var again = new HttpRequestMessage(HttpMethod.Get, $"{EndpointPath("sse")}/logs/sse");
        again.Headers.Add("Last-Event-ID", ids[^3].ToString(CultureInfo.InvariantCulture));
        using var rest = await emulator.Client.SendAsync(again);
        Assert.Equal(2 * 3, (await rest.Content.ReadAsStringAsync()).Split('\n').Length - 1);
    }

    [Fact]
    public async Task Reset_ForgetsLogs_AndFaultsAndTheRequestLogApplyToTheLogRoutes()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("forgotten", Pinned);
        clock.Advance(1);
        var before = await ReplicaId(emulator, "forgotten");
        (await emulator.Anonymous.PostAsync("/_emulator/reset", null)).Dispose();
        await emulator.CreateAsync("forgotten", Pinned);
        clock.Advance(1);
        var lines = await emulator.LogsAsync("forgotten");
        Assert.NotEmpty(lines);
        Assert.DoesNotContain(lines, l => l.Contains(before));

        using (var rule = await emulator.Anonymous.PostAsync("/_emulator/faults", Json(JsonNode.Parse($$"""{"pathPrefix": "{{EndpointPath("forgotten")}}/logs", "status": 503, "count": 1}""")!)))
            Assert.Equal(HttpStatusCode.OK, rule.StatusCode);
        using (var faulted = await emulator.Client.GetAsync($"{EndpointPath("forgotten")}/logs"))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, faulted.StatusCode);
        Assert.Equal(lines, await emulator.LogsAsync("forgotten"));
        var log = (await emulator.AdminAsync("requests"))["requests"]!.AsArray().Select(r => $"{r!["path"]} {r["status"]}").ToList();
        Assert.Equal([$"{EndpointPath("forgotten")}/logs 503", $"{EndpointPath("forgotten")}/logs 200"], log.Where(l => l.Contains("/logs")).TakeLast(2));
    }

    [Fact]
    public async Task CutAfterBytes_DropsAFollowedStreamMidWay()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("cut", Pinned);
        await emulator.WaitForStateAsync("cut", "running");
        using (var rule = await emulator.Anonymous.PostAsync("/_emulator/faults", Json(JsonNode.Parse($$"""{"pathPrefix": "{{EndpointPath("cut")}}/logs", "cutAfterBytes": 100, "count": 1}""")!)))
            Assert.Equal(HttpStatusCode.OK, rule.StatusCode);
        using var response = await emulator.Client.GetAsync($"{EndpointPath("cut")}/logs?follow=true", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var error = await Record.ExceptionAsync(() => stream.CopyToAsync(received, bound.Token));
        Assert.IsAssignableFrom<IOException>(error); // the connection closed before the chunked answer ended
        Assert.Equal(100, received.Length);
        Assert.Equal("running", State(await emulator.GetAsync("cut"))); // the endpoint never stopped: only the stream was cut
    }
}
