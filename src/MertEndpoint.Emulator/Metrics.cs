using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static MertEndpoint.Emulator.Fields;

namespace MertEndpoint.Emulator;

/// <summary><c>POST /v2/endpoint/{ns}/{name}/metrics/{metric}</c> with <c>{"from", "to", "step"}</c>: one value per
/// step bucket, computed from the data-plane requests the replicas answered. The service's answer shape is
/// not documented, so <c>--metrics-shape</c> offers two plausible ones.</summary>
static partial class Metrics
{
    public static readonly string[] Names =
    [
        "request-count", "median-latency", "p95-latency", "average-latency",
        "success-throughput", "bad-request-throughput", "server-error-throughput",
        "success-rate", "bad-request-rate", "server-error-rate",
        "cpu-usage", "memory-usage", "gpu-usage", "gpu-memory-usage",
    ];

    const int MaxBuckets = 10_000;

    [GeneratedRegex("^([1-9][0-9]{0,6})([smhd])$")]
    private static partial Regex StepPattern();

    public sealed record Query(DateTimeOffset From, DateTimeOffset To, TimeSpan Step, string StepText);

    /// <exception cref="ApiException">400 for an unknown metric or a bad body.</exception>
    public static Query Parse(string metric, JsonObject body)
    {
        if (!Names.Contains(metric))
            throw Http.BadRequest($"Unknown metric '{metric}': expected one of {string.Join(", ", Names)}");
        var from = UnixSeconds(body, "from");
        var to = UnixSeconds(body, "to");
        if (to <= from) throw Http.BadRequest("Field 'to' must be after 'from'");
        var stepText = Str(body, "step", "") ?? "1m";
        var match = StepPattern().Match(stepText);
        if (!match.Success) throw Http.BadRequest($"Field 'step' must be a duration such as '30s', '1m', '5m' or '1h', not '{stepText}'");
        var n = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var step = match.Groups[2].Value switch { "s" => TimeSpan.FromSeconds(n), "m" => TimeSpan.FromMinutes(n), "h" => TimeSpan.FromHours(n), _ => TimeSpan.FromDays(n) };
        if ((to - from) / step > MaxBuckets) throw Http.BadRequest($"Too many points: (to - from) / step must be at most {MaxBuckets}");
        return new Query(from, to, step, stepText);
    }

    static DateTimeOffset UnixSeconds(JsonObject body, string key)
    {
        var value = Field(body, key, "", required: true)!;
        return value is JsonValue v && v.TryGetValue<double>(out var seconds) && double.IsFinite(seconds) && seconds is >= 0 and < 253402300799
            ? DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond))
            : throw Http.BadRequest($"Field '{key}' must be a unix time in seconds");
    }

    /// <summary>Buckets <c>[from + k·step, from + (k+1)·step)</c> while the bucket starts before <c>to</c>; a
    /// request counts in the bucket of the instant its answer was complete. Latencies are milliseconds,
    /// throughputs requests per second, rates and usages percentages; a latency or rate of an empty bucket is null.</summary>
    public static JsonNode Compute(string metric, Query q, IReadOnlyList<ServedRequest> served, IReadOnlyList<(DateTimeOffset At, string State)> history, bool columnar)
    {
        var points = new List<(long Timestamp, double? Value)>();
        for (var start = q.From; start < q.To; start += q.Step)
        {
            var end = start + q.Step;
            var bucket = served.Where(r => r.Time >= start && r.Time < end && r.Time <= q.To).ToList();
            points.Add((start.ToUnixTimeSeconds(), Value(metric, bucket, q.Step, RunningAt(history, start + q.Step / 2))));
        }
        if (columnar)
            return new JsonObject
            {
                ["timestamps"] = new JsonArray(points.Select(p => (JsonNode?)p.Timestamp).ToArray()),
                ["values"] = new JsonArray(points.Select(p => (JsonNode?)p.Value).ToArray()),
            };
        return new JsonArray(points.Select(p => (JsonNode?)new JsonObject { ["timestamp"] = p.Timestamp, ["value"] = p.Value }).ToArray());
    }

    static bool RunningAt(IReadOnlyList<(DateTimeOffset At, string State)> history, DateTimeOffset t) =>
        history.LastOrDefault(h => h.At <= t).State == EndpointState.Running;

    static double? Value(string metric, List<ServedRequest> bucket, TimeSpan step, bool running)
    {
        double? Rate(Func<int, bool> which) => bucket.Count == 0 ? null : Round(100.0 * bucket.Count(r => which(r.Status)) / bucket.Count);
        double Throughput(Func<int, bool> which) => Round(bucket.Count(r => which(r.Status)) / step.TotalSeconds);
        // Synthetic but plausible: an idle baseline while a replica runs, rising with the request rate.
        var perMinute = bucket.Count / step.TotalMinutes;
        double Usage(double idle, double perRequest) => running || bucket.Count > 0 ? Round(Math.Min(99, idle + perRequest * perMinute)) : 0;
        return metric switch
        {
            "request-count" => bucket.Count,
            "median-latency" => Percentile(bucket, 0.5),
            "p95-latency" => Percentile(bucket, 0.95),
            "average-latency" => bucket.Count == 0 ? null : Round(bucket.Average(r => r.Milliseconds)),
            "success-throughput" => Throughput(IsSuccess),
            "bad-request-throughput" => Throughput(IsBadRequest),
            "server-error-throughput" => Throughput(IsServerError),
            "success-rate" => Rate(IsSuccess),
            "bad-request-rate" => Rate(IsBadRequest),
            "server-error-rate" => Rate(IsServerError),
            "cpu-usage" => Usage(2, 0.5),
            "memory-usage" => Usage(35, 0.05),
            "gpu-usage" => Usage(1, 2),
            "gpu-memory-usage" => Usage(42, 0.1),
            _ => throw new ArgumentOutOfRangeException(nameof(metric)),
        };
    }

    static bool IsSuccess(int status) => status is >= 200 and < 400;
    static bool IsBadRequest(int status) => status is >= 400 and < 500;
    static bool IsServerError(int status) => status >= 500;

    /// <summary>Nearest-rank percentile of the latencies, in milliseconds.</summary>
    static double? Percentile(List<ServedRequest> bucket, double p)
    {
        if (bucket.Count == 0) return null;
        var sorted = bucket.Select(r => r.Milliseconds).Order().ToList();
        return Round(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)]);
    }

    static double Round(double value) => Math.Round(value, 6);
}
