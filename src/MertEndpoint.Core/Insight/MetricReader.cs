using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MertEndpoint
{
    /// <summary>
    /// Reads a metric answer, whose shape the service does not document. Understood: a list of points
    /// (<c>[{"timestamp", "value"}]</c>, or <c>[[t, v]]</c> pairs), columns (<c>{"timestamps": [...], "values": [...]}</c>),
    /// either one inside a wrapper object (<c>data</c>, <c>result</c>, ...). Anything else comes back raw, never empty.
    /// </summary>
    internal static class MetricReader
    {
        private static readonly string[] TimeKeys = { "timestamp", "time", "t", "x", "date" };
        private static readonly string[] ValueKeys = { "value", "v", "y", "count" };
        private static readonly string[] TimeColumns = { "timestamps", "times", "time", "x" };
        private static readonly string[] ValueColumns = { "values", "value", "y", "data" };
        private static readonly string[] Wrappers = { "data", "result", "results", "series", "points", "items", "values" };
        private static readonly Regex StepPattern = new("^([1-9][0-9]{0,6})([smhd])$", RegexOptions.CultureInvariant);

        /// <summary>The metric names the service's 2023 description lists.</summary>
        public static readonly string[] Known =
        {
            "request-count", "median-latency", "p95-latency", "average-latency", "success-throughput", "bad-request-throughput",
            "server-error-throughput", "success-rate", "bad-request-rate", "server-error-rate", "cpu-usage", "memory-usage",
            "gpu-usage", "gpu-memory-usage",
        };

        public static MetricSeries Read(JsonElement root, string ns, string name, string metric)
        {
            MetricPoint Point(DateTimeOffset? t, double? v, string? raw = null) =>
                new() { Namespace = ns, Name = name, Metric = metric, Time = t, Value = v, Raw = raw };
            if (TryRead(root, 0) is List<(DateTimeOffset, double?)> points)
                return new MetricSeries(points.Select(p => Point(p.Item1, p.Item2)).ToArray(), understood: true);
            IEnumerable<JsonElement> raw = root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0 ? root.EnumerateArray() : new[] { root };
            return new MetricSeries(raw.Select(e => Point(null, null, e.GetRawText())).ToArray(), understood: false);
        }

        private static List<(DateTimeOffset, double?)>? TryRead(JsonElement e, int depth)
        {
            if (depth > 5) return null;
            if (e.ValueKind == JsonValueKind.Array)
            {
                // One series wrapped in a list, as Prometheus-style answers are: [{"metric": {...}, "values": [[t, v], ...]}].
                if (e.GetArrayLength() == 1 && e[0].ValueKind == JsonValueKind.Object && FromObject(e[0]).Item3 == false)
                    return TryRead(e[0], depth + 1);
                var points = new List<(DateTimeOffset, double?)>();
                foreach (JsonElement item in e.EnumerateArray())
                {
                    (DateTimeOffset? t, double? v, bool ok) = item.ValueKind switch
                    {
                        JsonValueKind.Object => FromObject(item),
                        JsonValueKind.Array when item.GetArrayLength() == 2 => FromPair(item),
                        _ => (null, null, false),
                    };
                    if (!ok || t == null) return null;
                    points.Add((t.Value, v));
                }
                return points;
            }
            if (e.ValueKind != JsonValueKind.Object) return null;
            JsonElement? times = First(e, TimeColumns, JsonValueKind.Array), values = First(e, ValueColumns, JsonValueKind.Array);
            if (times != null && values != null && times.Value.GetArrayLength() == values.Value.GetArrayLength())
            {
                var points = new List<(DateTimeOffset, double?)>();
                foreach ((JsonElement t, JsonElement v) in times.Value.EnumerateArray().Zip(values.Value.EnumerateArray(), (t, v) => (t, v)))
                {
                    if (Time(t) is not DateTimeOffset time || !TryValue(v, out double? value)) return null;
                    points.Add((time, value));
                }
                return points;
            }
            foreach (string key in Wrappers)
                if (e.Prop(key) is JsonElement inner && TryRead(inner, depth + 1) is { } found) return found;
            return null;
        }

        private static (DateTimeOffset?, double?, bool) FromObject(JsonElement o)
        {
            JsonElement? t = First(o, TimeKeys, null), v = First(o, ValueKeys, null);
            if (t == null || v == null || !TryValue(v.Value, out double? value)) return (null, null, false);
            return (Time(t.Value), value, true);
        }

        private static (DateTimeOffset?, double?, bool) FromPair(JsonElement pair)
        {
            JsonElement t = pair[0], v = pair[1];
            return TryValue(v, out double? value) ? (Time(t), value, true) : (null, null, false);
        }

        private static JsonElement? First(JsonElement o, string[] keys, JsonValueKind? kind)
        {
            foreach (string key in keys)
                if (o.Prop(key) is JsonElement v && (kind == null || v.ValueKind == kind)) return v;
            return null;
        }

        /// <summary>Unix seconds (or milliseconds, when too large for seconds), as a number or text, or an ISO 8601 text.</summary>
        internal static DateTimeOffset? Time(JsonElement t)
        {
            double seconds;
            if (t.ValueKind == JsonValueKind.Number) seconds = t.GetDouble();
            else if (t.ValueKind == JsonValueKind.String && double.TryParse(t.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double s)) seconds = s;
            else if (t.ValueKind == JsonValueKind.String && Json.Timestamp(t.GetString()) is var parsed && parsed != DateTimeOffset.MinValue) return parsed;
            else return null;
            if (double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds < 0) return null;
            if (seconds > 1e11) seconds /= 1000; // milliseconds: 1e11 s would be the year 5138
            return seconds < 253402300799 ? DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000)) : null;
        }

        private static bool TryValue(JsonElement v, out double? value)
        {
            value = null;
            switch (v.ValueKind)
            {
                case JsonValueKind.Null: return true;
                case JsonValueKind.Number: value = v.GetDouble(); return true;
                case JsonValueKind.String:
                    string text = v.GetString() ?? "";
                    if (text.Equals("NaN", StringComparison.OrdinalIgnoreCase)) return true;
                    if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return false;
                    value = d;
                    return true;
                default: return false;
            }
        }

        /// <summary>
        /// A metric whose step values are counts of something in the step (request-count): only these add up to a total.
        /// Rates, throughputs, latencies and usages are null there, a sum of them meaning nothing.
        /// </summary>
        public static bool IsCount(string metric) => metric.EndsWith("-count", StringComparison.OrdinalIgnoreCase);

        /// <summary>The total (counts only) and the spread of the step values; null figures when no step had a value.</summary>
        public static MetricSummary Summarize(string ns, string name, string metric, DateTimeOffset since, DateTimeOffset until,
            IReadOnlyList<MetricPoint> points)
        {
            var values = points.Where(p => p.Value != null).Select(p => p.Value!.Value).OrderBy(v => v).ToList();
            double? Rank(double p) => values.Count == 0 ? null : values[Math.Min(values.Count - 1, Math.Max(0, (int)Math.Ceiling(p * values.Count) - 1))];
            return new MetricSummary
            {
                Namespace = ns, Name = name, Metric = metric, Since = since, Until = until,
                Points = points.Count, PointsWithValue = values.Count,
                Total = values.Count == 0 || !IsCount(metric) ? null : values.Sum(),
                Average = values.Count == 0 ? null : values.Average(),
                Minimum = values.Count == 0 ? null : values[0],
                P50 = Rank(0.5), P95 = Rank(0.95),
                Maximum = values.Count == 0 ? null : values[values.Count - 1],
            };
        }

        public static bool IsStep(string? step) => step != null && StepPattern.IsMatch(step);

        /// <summary>The smallest of 1m, 5m, 15m, 1h, 6h, 1d that keeps the period within 1,000 steps.</summary>
        public static string DefaultStep(TimeSpan period)
        {
            foreach ((string text, TimeSpan step) in new[] { ("1m", TimeSpan.FromMinutes(1)), ("5m", TimeSpan.FromMinutes(5)),
                ("15m", TimeSpan.FromMinutes(15)), ("1h", TimeSpan.FromHours(1)), ("6h", TimeSpan.FromHours(6)) })
                if (period.Ticks / step.Ticks <= 1000) return text;
            return "1d";
        }
    }
}
