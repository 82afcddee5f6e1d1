using System.Net;
using System.Text;
using System.Text.Json;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

/// <summary>Logs, metrics, replicas and failure evidence against a scripted handler that sees whole URLs.</summary>
public class InsightTests
{
    private readonly TestClock _clock = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    /// <summary>Answers by a routing function; records each request's method, path with query, and body.</summary>
    private sealed class Router(Func<HttpRequestMessage, string?, HttpResponseMessage> route) : HttpMessageHandler
    {
        public List<(HttpMethod Method, string PathAndQuery, string? Body)> Seen { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var body = request.Content == null ? null : await request.Content.ReadAsStringAsync(ct);
            lock (Seen) Seen.Add((request.Method, request.RequestUri!.PathAndQuery, body));
            return route(request, body);
        }
    }

    /// <summary>Gives its bytes, then fails like a connection cut mid-answer.</summary>
    private sealed class CutStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = base.Read(buffer, offset, count);
            return n > 0 ? n : throw new IOException("The response ended prematurely.");
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            Task.FromResult(Read(buffer, offset, count));
    }

    private static HttpResponseMessage Text(string text, bool cut = false) => new(HttpStatusCode.OK)
    {
        Content = cut ? new StreamContent(new CutStream(Encoding.UTF8.GetBytes(text))) : new StringContent(text, Encoding.UTF8, "text/plain"),
    };

    private static HttpResponseMessage JsonAnswer(string json, int status = 200) => Respond.Make(status, json);

    private EndpointClient ClientFor(HttpMessageHandler handler) => new(Token, new EndpointClientOptions
    {
        TimeProvider = _clock, Handler = handler, ApiBaseUri = new Uri("https://api.example/v2"), HubBaseUri = new Uri("https://hub.example"),
        RetryAfterGate = new RetryAfterGate(),
    });

    private static string Line(int second, int ms, string text) => $"- 2026-11-29T12:00:{second:00}.{ms:000}+00:00 {text}\n";

    // ---- log lines ----

    [Theory]
    [InlineData("- 2026-03-17T16:50:25.779+00:00 INFO: ready", "2026-03-17T16:50:25.779+00:00", "INFO: ready")]
    [InlineData("2026-03-17T16:50:25.779123456Z Traceback (most recent call last):", "2026-03-17T16:50:25.7791234+00:00", "Traceback (most recent call last):")]
    [InlineData("- plain text without a time", null, "plain text without a time")]
    [InlineData("  File \"/app/server.py\", line 14", null, "  File \"/app/server.py\", line 14")]
    public void Parses_a_log_line(string line, string? time, string message)
    {
        var (t, m) = LogReader.Parse(line);
        Assert.Equal(time == null ? null : DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture), t);
        Assert.Equal(message, m);
    }

    [Fact]
    public async Task Reads_the_tail_as_typed_lines_and_asks_for_text()
    {
        var router = new Router((_, _) => Text(Line(1, 0, "a") + Line(2, 500, "b") + "- 2026-11-29T12:00:03.000+00:00 c")); // no final newline
        var lines = await ClientFor(router).GetLogsAsync(Ns, "mert", 3);

        Assert.Equal(["a", "b", "c"], lines.Select(l => l.Message));
        Assert.All(lines, l => Assert.Equal((Ns, "mert"), (l.Namespace, l.Name)));
        Assert.Equal(new DateTimeOffset(2026, 11, 29, 12, 0, 2, 500, TimeSpan.Zero), lines[1].Time);
        Assert.Equal("b", lines[1].ToString()); // what Select-String matches
        Assert.Equal("/v2/endpoint/alice/mert/logs?tail=3", Assert.Single(router.Seen).PathAndQuery);
    }

    [Fact]
    public async Task A_dropped_stream_resumes_after_the_last_line_without_repeats_or_gaps()
    {
        // The first answer is cut in the middle of "d". The resumed one starts at the second of "c" (12:00:02), so it
        // repeats "x" (an older line of that second that the tail never showed), "b2" twice and "c", then goes on.
        var first = Line(1, 0, "a") + Line(2, 100, "b2") + Line(2, 100, "b2") + Line(2, 300, "c") + "- 2026-11-29T12:00:0";
        var second = Line(2, 0, "x") + Line(2, 100, "b2") + Line(2, 100, "b2") + Line(2, 300, "c") + Line(3, 0, "d") + Line(3, 0, "e");
        var answers = new Queue<HttpResponseMessage>([Text(first, cut: true), Text(second)]);
        var router = new Router((_, _) => answers.Dequeue());
        var seen = new List<string>();
        var log = new Lines();

        await _clock.Drive(ClientFor(router).With(log).ReadLogsAsync(Ns, "mert", new LogQuery { Tail = 4 }, l => seen.Add(l.Message)),
            TimeSpan.FromSeconds(1));

        Assert.Equal(["a", "b2", "b2", "c", "d", "e"], seen);
        Assert.Equal(["/v2/endpoint/alice/mert/logs?tail=4", "/v2/endpoint/alice/mert/logs?from=" + new DateTimeOffset(2026, 11, 29, 12, 0, 2, TimeSpan.Zero).ToUnixTimeSeconds()],
            router.Seen.Select(s => s.PathAndQuery));
        Assert.Contains(log.Of("waiting"), m => m.Contains("dropped") && m.Contains("resuming"));
    }

    [Fact]
    public async Task Follow_ends_when_the_service_ends_the_stream_of_a_stopped_endpoint()
    {
        var router = new Router((request, _) => request.RequestUri!.AbsolutePath.EndsWith("/logs")
            ? Text(Line(1, 0, "INFO:     Shutting down"))
            : JsonAnswer(Endpoint(state: "paused", url: null)));
        var seen = new List<EndpointLogLine>();

        await ClientFor(router).ReadLogsAsync(Ns, "mert", new LogQuery { Tail = 1, Follow = true, Replica = "mert-abc" }, seen.Add);

        Assert.Equal("mert-abc", Assert.Single(seen).Replica);
        Assert.Equal(["/v2/endpoint/alice/mert/logs?tail=1&replica=mert-abc&follow=true", "/v2/endpoint/alice/mert"],
            router.Seen.Select(s => s.PathAndQuery));
    }

    [Fact]
    public async Task Follow_asks_again_when_the_stream_ends_while_the_endpoint_runs()
    {
        var logs = new Queue<HttpResponseMessage>([Text(Line(1, 0, "a")), Text(Line(1, 0, "a") + Line(4, 0, "b"))]);
        var states = new Queue<string>(["running", "paused"]);
        var router = new Router((request, _) => request.RequestUri!.AbsolutePath.EndsWith("/logs")
            ? logs.Dequeue() : JsonAnswer(Endpoint(state: states.Dequeue())));
        var seen = new List<string>();

        await _clock.Drive(ClientFor(router).ReadLogsAsync(Ns, "mert", new LogQuery { Follow = true }, l => seen.Add(l.Message)));

        Assert.Equal(["a", "b"], seen);
        Assert.Equal(4, router.Seen.Count);
    }

    [Fact]
    public async Task A_refused_log_read_is_the_service_error()
    {
        var router = new Router((_, _) => JsonAnswer(Respond.Error("no access to logs"), 403));
        var ex = await Assert.ThrowsAsync<EndpointException>(() => ClientFor(router).GetLogsAsync(Ns, "mert", 5));
        Assert.Equal(EndpointErrorKind.Forbidden, ex.Kind);
        Assert.Contains("read the logs of endpoint 'mert'", ex.Message);
    }

    // ---- metrics ----

    public static TheoryData<string> KnownShapes => new()
    {
        """[{"timestamp": 1795953600, "value": 2}, {"timestamp": 1795953660, "value": null}, {"timestamp": 1795953720, "value": 5}]""",
        """{"timestamps": [1795953600, 1795953660, 1795953720], "values": [2, null, 5]}""",
        """[[1795953600000, "2"], [1795953660000, null], [1795953720000, "5"]]""",
        """{"data": [{"time": "2026-11-29T12:00:00Z", "value": 2}, {"time": "2026-11-29T12:01:00Z", "value": null}, {"time": "2026-11-29T12:02:00Z", "value": 5}]}""",
        """{"data": {"result": [{"metric": {"endpoint": "mert"}, "values": [[1795953600, "2"], [1795953660, "NaN"], [1795953720, "5"]]}]}}""",
    };

    [Theory]
    [MemberData(nameof(KnownShapes))]
    public async Task Reads_every_known_metric_shape(string answer)
    {
        var router = new Router((_, _) => JsonAnswer(answer));
        var since = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

        var series = await ClientFor(router).GetMetricAsync(Ns, "mert", "request-count", since, since.AddMinutes(3).AddMilliseconds(1), "1m");

        Assert.True(series.Understood);
        Assert.Equal([since, since.AddMinutes(1), since.AddMinutes(2)], series.Points.Select(p => p.Time!.Value));
        Assert.Equal([2, null, 5], series.Points.Select(p => p.Value));
        Assert.All(series.Points, p => Assert.Equal(("request-count", "mert", Ns), (p.Metric, p.Name, p.Namespace)));
        var (method, path, body) = Assert.Single(router.Seen);
        Assert.Equal((HttpMethod.Post, "/v2/endpoint/alice/mert/metrics/request-count"), (method, path));
        using var sent = JsonDocument.Parse(body!);
        Assert.Equal(since.ToUnixTimeSeconds(), sent.RootElement.GetProperty("from").GetInt64());
        Assert.Equal(since.ToUnixTimeSeconds() + 181, sent.RootElement.GetProperty("to").GetInt64()); // rounded up, never cut short
        Assert.Equal("1m", sent.RootElement.GetProperty("step").GetString());
    }

    [Theory]
    [InlineData("""{"series": {"weird": [1, 2]}}""", 1)]
    [InlineData("""[{"bucket": "a", "n": 1}, {"bucket": "b", "n": 2}]""", 2)]
    public async Task An_unknown_shape_comes_back_raw_never_empty(string answer, int points)
    {
        var router = new Router((_, _) => JsonAnswer(answer));
        var series = await ClientFor(router).GetMetricAsync(Ns, "mert", "gpu-usage", _clock.GetUtcNow().AddHours(-1), _clock.GetUtcNow(), "5m");

        Assert.False(series.Understood);
        Assert.Equal(points, series.Points.Count);
        Assert.All(series.Points, p => Assert.False(string.IsNullOrEmpty(p.Raw)));
        Assert.Contains("weird", string.Join("", series.Points.Select(p => p.Raw)) + (points == 2 ? "weird" : ""));
    }

    [Fact]
    public void Summary_totals_and_percentiles_of_the_step_values()
    {
        var points = new double?[] { 1, null, 3, 2, 10 }.Select(v => new MetricPoint { Metric = "request-count", Value = v }).ToList();
        var s = MetricReader.Summarize(Ns, "mert", "request-count", _clock.GetUtcNow().AddHours(-1), _clock.GetUtcNow(), points);

        Assert.Equal((5, 4), (s.Points, s.PointsWithValue));
        Assert.Equal(16, s.Total);
        Assert.Equal(4, s.Average);
        Assert.Equal((1d, 2d, 10d, 10d), (s.Minimum!.Value, s.P50!.Value, s.P95!.Value, s.Maximum!.Value));
    }

    [Theory]
    [InlineData("request-count")]
    [InlineData("error-count")]
    public void Summary_totals_a_count(string metric)
    {
        var points = new double?[] { 40, null, 60 }.Select(v => new MetricPoint { Metric = metric, Value = v }).ToList();
        var s = MetricReader.Summarize(Ns, "mert", metric, _clock.GetUtcNow().AddHours(-1), _clock.GetUtcNow(), points);

        Assert.Equal(100, s.Total);
        Assert.Equal(50, s.Average);
    }

    [Theory]
    [InlineData("success-rate")]
    [InlineData("server-error-rate")]
    [InlineData("median-latency")]
    [InlineData("p95-latency")]
    [InlineData("average-latency")]
    [InlineData("success-throughput")]
    [InlineData("gpu-usage")]
    [InlineData("memory-usage")]
    public void Summary_leaves_the_total_empty_for_what_does_not_add_up(string metric)
    {
        // The newcomer's trial: a success rate of 94.6 and 94.567 "totalled" 189.167.
        var points = new double?[] { 94.6, 94.567 }.Select(v => new MetricPoint { Metric = metric, Value = v }).ToList();
        var s = MetricReader.Summarize(Ns, "mert", metric, _clock.GetUtcNow().AddHours(-1), _clock.GetUtcNow(), points);

        Assert.Null(s.Total);
        Assert.Equal((94.567, 94.6), (s.Minimum!.Value, s.Maximum!.Value));
        Assert.Equal(2, s.PointsWithValue);
    }

    [Theory]
    [InlineData(1, "1m")]
    [InlineData(24, "5m")]
    [InlineData(30 * 24, "1h")]
    [InlineData(365 * 24, "1d")]
    public void Default_step_keeps_the_period_within_a_thousand_points(int hours, string step) =>
        Assert.Equal(step, MetricReader.DefaultStep(TimeSpan.FromHours(hours)));

    [Fact]
    public async Task A_bad_step_or_period_is_refused_before_any_request()
    {
        var router = new Router((_, _) => throw new InvalidOperationException("no request expected"));
        var client = ClientFor(router);
        var now = _clock.GetUtcNow();
        Assert.Equal(EndpointErrorKind.InvalidArgument, (await Assert.ThrowsAsync<EndpointException>(() => client.GetMetricAsync(Ns, "mert", "request-count", now.AddHours(-1), now, "1 minute"))).Kind);
        // The same id as the cmdlets' own check of -Since and -Until: one InvalidPeriod.
        Assert.Equal(EndpointErrorKind.InvalidPeriod, (await Assert.ThrowsAsync<EndpointException>(() => client.GetMetricAsync(Ns, "mert", "request-count", now, now, "1m"))).Kind);
        Assert.Empty(router.Seen);
    }

    // ---- requests in the cost report ----

    private List<EndpointCost> Costs(params string[] names) => names.Select(n => new EndpointCost
    {
        Namespace = Ns, Name = n, Since = _clock.GetUtcNow().AddDays(-1), Until = _clock.GetUtcNow(), EstimatedCost = 0.5m,
    }).ToList();

    [Fact]
    public async Task Requests_and_cost_per_1000_come_from_request_count()
    {
        var router = new Router((request, _) => request.RequestUri!.AbsolutePath switch
        {
            var p when p.Contains("/gone/") => JsonAnswer(Respond.Error("not found"), 404),
            var p when p.Contains("/idle/") => JsonAnswer("""[{"timestamp": 1795953600, "value": 0}]"""),
            _ => JsonAnswer("""[{"timestamp": 1795953600, "value": 150}, {"timestamp": 1795957200, "value": null}, {"timestamp": 1795960800, "value": 100}]"""),
        });
        var costs = Costs("busy", "gone", "idle");

        var warnings = await RequestCounts.AddAsync(ClientFor(router), costs);

        Assert.Empty(warnings);
        Assert.Equal([250L, null, 0L], costs.Select(c => c.Requests));
        Assert.Equal([2m, null, null], costs.Select(c => c.CostPer1000Requests)); // 0.5 USD for 250 requests; none for 0
        Assert.All(router.Seen, s => Assert.Contains("\"step\":\"5m\"", s.Body)); // a day in at most 1,000 points
    }

    [Fact]
    public async Task Refused_metrics_leave_the_rows_empty_with_one_warning()
    {
        var router = new Router((_, _) => JsonAnswer(Respond.Error("metrics need a Team plan"), 403));
        var costs = Costs("a", "b", "c");

        var warnings = await RequestCounts.AddAsync(ClientFor(router), costs);

        Assert.Contains("metrics need a Team plan", Assert.Single(warnings));
        Assert.All(costs, c => Assert.Null(c.Requests));
        Assert.Single(router.Seen); // the namespace's answer is the same for every endpoint: asked once
    }

    // ---- replicas ----

    [Fact]
    public async Task Reads_replicas()
    {
        var router = new Router((_, _) => JsonAnswer("""
            {"items": [{"id": "mert-7d9f-abcde", "state": "running", "startedAt": "2026-11-29T11:59:00Z", "readyAt": "2026-11-29T11:59:30.5Z", "failedAt": null},
                       {"id": "mert-7d9f-fghij", "state": "initializing", "startedAt": "2026-11-29T11:59:50Z"}]}
            """));
        var replicas = await ClientFor(router).GetReplicasAsync(Ns, "mert");

        Assert.Equal(["mert-7d9f-abcde", "mert-7d9f-fghij"], replicas.Select(r => r.Replica));
        Assert.Equal(["running", "initializing"], replicas.Select(r => r.State));
        Assert.Equal(new DateTimeOffset(2026, 11, 29, 11, 59, 30, 500, TimeSpan.Zero), replicas[0].ReadyAt);
        Assert.Null(replicas[1].ReadyAt);
        Assert.All(replicas, r => Assert.Equal(("mert", Ns), (r.Name, r.Namespace)));
        Assert.Equal("/v2/endpoint/alice/mert/replica", Assert.Single(router.Seen).PathAndQuery);
    }

    // ---- a failure brings its evidence ----

    [Fact]
    public async Task A_wait_that_ends_in_failed_carries_the_last_20_log_lines()
    {
        var lines = string.Concat(Enumerable.Range(0, 20).Select(i => Line(i, 0, i == 19 ? "RuntimeError: CUDA error" : $"line {i}")));
        var router = new Router((request, _) => request.RequestUri!.AbsolutePath.EndsWith("/logs")
            ? Text(lines) : JsonAnswer(Endpoint(state: "failed", url: null, message: "the image did not start")));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => new EndpointLifecycle(ClientFor(router)).WaitForReadyAsync(Ns, "mert"));

        Assert.Equal(EndpointErrorKind.EndpointFailed, ex.Kind);
        Assert.Equal(20, ex.LogTail!.Count);
        Assert.Contains(router.Seen, s => s.PathAndQuery == "/v2/endpoint/alice/mert/logs?tail=20");
        var shown = Errors.WithEvidence(ex)!;
        Assert.StartsWith(ex.Message, shown);
        Assert.Contains("Last 20 log lines of endpoint 'mert' in namespace 'alice':", shown);
        Assert.EndsWith("RuntimeError: CUDA error", shown);
    }

    [Fact]
    public async Task A_start_of_a_failed_endpoint_says_why_its_logs_are_missing()
    {
        var router = new Router((request, _) => request.RequestUri!.AbsolutePath.EndsWith("/logs")
            ? JsonAnswer(Respond.Error("logs are not available"), 404) : JsonAnswer(Endpoint(state: "failed", url: null)));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => new EndpointLifecycle(ClientFor(router)).StartAsync(Ns, "mert", new StartOptions()));

        Assert.Equal(EndpointErrorKind.EndpointFailed, ex.Kind);
        Assert.Null(ex.LogTail);
        Assert.Contains("logs are not available", ex.LogTailProblem);
        Assert.Contains("could not be read", Errors.WithEvidence(ex));
    }

    [Fact]
    public void Errors_without_evidence_show_their_own_message()
    {
        Assert.Null(Errors.WithEvidence(new EndpointException(EndpointErrorKind.WaitTimeout, "slow")));
    }

    // ---- any model ----

    [Fact]
    public void Create_body_writes_the_image_union()
    {
        static JsonElement Image(EndpointCreateSpec spec) => JsonDocument.Parse(Json.CreateBody(spec)).RootElement.GetProperty("model").GetProperty("image");

        Assert.Equal("{}", Image(new EndpointCreateSpec { Name = "a" }).GetProperty("huggingface").GetRawText());
        Assert.Equal("{}", Image(new EndpointCreateSpec { Name = "a", Container = "tgi" }).GetProperty("tgi").GetRawText());
        Assert.Equal("ghcr.io/x/vllm:1", Image(new EndpointCreateSpec { Name = "a", Container = "vLLM", ImageUrl = "ghcr.io/x/vllm:1" })
            .GetProperty("vLLM").GetProperty("url").GetString());
        var custom = Image(new EndpointCreateSpec
        {
            Name = "a", ImageUrl = "private/mert:1", RegistryCredential = new NetworkCredential("robot", "registry-pass-123"),
        }).GetProperty("custom");
        Assert.Equal(("private/mert:1", 8080, "/health"), (custom.GetProperty("url").GetString(), custom.GetProperty("port").GetInt32(), custom.GetProperty("healthRoute").GetString()));
        Assert.Equal(("robot", "registry-pass-123"), (custom.GetProperty("credentials").GetProperty("username").GetString(), custom.GetProperty("credentials").GetProperty("password").GetString()));
    }

    [Fact]
    public void Create_body_refuses_a_custom_container_without_an_image_and_credentials_without_one()
    {
        Assert.Equal(EndpointErrorKind.InvalidArgument,
            Assert.Throws<EndpointException>(() => Json.CreateBody(new EndpointCreateSpec { Name = "a", Container = "custom" })).Kind);
        var ex = Assert.Throws<EndpointException>(() => Json.CreateBody(new EndpointCreateSpec
        {
            Name = "a", Container = "tgi", RegistryCredential = new NetworkCredential("robot", "registry-pass-123"),
        }));
        Assert.DoesNotContain("registry-pass-123", ex.Message);
    }
}
