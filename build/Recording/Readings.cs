using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MertEndpoint.Recording;

/// <summary>One reading of the service: the emulator's switch, its value ("unknown" when the recording cannot tell), and why.</summary>
public sealed record Reading(string Switch, string Value, string Evidence)
{
    public override string ToString() => $"{Switch}: {Value}    {Evidence}";
}

/// <summary>
/// What a HAR recording (docs/RECORDING.md) says of each reading the emulator plays both ways (docs/EMULATOR.md,
/// "Readings not confirmed"). It reads the file alone: the rules look at requests and answers, their order and their
/// times, never at the emulator or anything outside the file.
/// </summary>
public static partial class Readings
{
    public const string Unknown = "unknown";

    /// <summary>One HAR entry, reduced to what the rules use. Times are milliseconds from the first entry's start.</summary>
    public sealed record Entry(int Index, double Sent, double Answered, string Method, string Url, string Path, int Status,
        JsonElement? Request, JsonElement? Answer, string AnswerText, IReadOnlyDictionary<string, string> RequestHeaders)
    {
        public string? State => Answer is { ValueKind: JsonValueKind.Object } a && a.TryGetProperty("status", out var s)
            && s.ValueKind == JsonValueKind.Object && s.TryGetProperty("state", out var st) && st.ValueKind == JsonValueKind.String ? st.GetString() : null;

        public JsonElement? Status_(string name) => Answer is { ValueKind: JsonValueKind.Object } a && a.TryGetProperty("status", out var s)
            && s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out var v) ? v : null;

        public string? Url_ => Status_("url") is { ValueKind: JsonValueKind.String } u ? u.GetString() : null;
        public string? UpdatedAt => Status_("updatedAt") is { ValueKind: JsonValueKind.String } u ? u.GetString() : null;

        /// <summary>"#12 +3.412 s".</summary>
        public string At => string.Create(CultureInfo.InvariantCulture, $"#{Index} +{Sent / 1000:0.000} s");
    }

    private enum Kind { Other, Read, Create, Pause, Resume, ScaleToZero, Update, Delete, Metric, Logs, Data }

    public static IReadOnlyList<Reading> FromFile(string path) => FromHar(File.ReadAllText(path));

    public static IReadOnlyList<Reading> FromHar(string har)
    {
        var entries = Parse(har);
        string? name = entries.Select(e => Kind_(e, null) == Kind.Create && e.Request is { } r && r.ValueKind == JsonValueKind.Object
            && r.TryGetProperty("name", out var n) ? n.GetString() : null).FirstOrDefault(n => n != null);
        var kinds = entries.Select(e => Kind_(e, name)).ToArray();
        var s = new Session(entries, kinds, name);
        return
        [
            UpdatedAt(s), UrlFrom(s), UrlScheme(s), ResumeScaling(s), ScaleToZeroStatus(s), Quota(s), StaleReadMs(s), FailedLogs(s), MetricsShape(s),
        ];
    }

    private sealed record Session(IReadOnlyList<Entry> Entries, Kind[] Kinds, string? Name)
    {
        public IEnumerable<Entry> Of(Kind kind) => Entries.Where(e => Kinds[e.Index] == kind);
        public Kind KindOf(Entry e) => Kinds[e.Index];
        public bool IsAction(Entry e) => KindOf(e) is Kind.Create or Kind.Pause or Kind.Resume or Kind.ScaleToZero or Kind.Update or Kind.Delete;
        /// <summary>The endpoint as answered: reads and actions with a 2xx endpoint body.</summary>
        public IEnumerable<Entry> Views => Entries.Where(e => (KindOf(e) == Kind.Read || IsAction(e)) && e.Status is >= 200 and < 300 && e.State != null);
    }

    // ---- the rules ----

    /// <summary>A timed transition (one no request caused) between two reads: does updatedAt move with it?</summary>
    private static Reading UpdatedAt(Session s)
    {
        var reads = s.Of(Kind.Read).Where(e => e.Status == 200 && e.State != null).ToList();
        (Entry A, Entry B)? moved = null, kept = null;
        for (int i = 1; i < reads.Count; i++)
        {
            var (a, b) = (reads[i - 1], reads[i]);
            if (!IsTimed(a.State!, b.State!)) continue;
            if (s.Entries.Skip(a.Index + 1).Take(b.Index - a.Index - 1).Any(s.IsAction)) continue;
            if (a.UpdatedAt == null || b.UpdatedAt == null) continue;
            // Instants, not text: the same stamp may come back with fewer digits ("...53.263079138Z", then "...53.263Z").
            if (Stamp(a.UpdatedAt) is not DateTimeOffset ta || Stamp(b.UpdatedAt) is not DateTimeOffset tb) continue;
            if (tb - ta > StampTolerance) moved ??= (a, b); else if ((tb - ta).Duration() <= StampTolerance) kept ??= (a, b);
        }
        if (moved is var (ma, mb))
            return new("updated-at", "transitions", $"{ma.At} {ma.State} updatedAt {ma.UpdatedAt}; {mb.At} {mb.State} updatedAt {mb.UpdatedAt} (moved with a timed transition)"
                + (kept != null ? $"; but {kept.Value.A.At} -> {kept.Value.B.At} kept it" : ""));
        if (kept is var (ka, kb))
            return new("updated-at", "actions", $"{ka.At} {ka.State} updatedAt {ka.UpdatedAt}; {kb.At} {kb.State} same updatedAt (a timed transition did not move it)");
        return new("updated-at", Unknown, "no two reads in a row show a timed transition (pending/initializing/updating to the next state)");
    }

    /// <summary>How far apart two stamps of the same instant may be: one written to the millisecond, one to the nanosecond.</summary>
    private static readonly TimeSpan StampTolerance = TimeSpan.FromMilliseconds(1);

    /// <summary>An RFC 3339 stamp with any number of fraction digits (.NET reads at most seven).</summary>
    internal static DateTimeOffset? Stamp(string text)
    {
        var m = StampText().Match(text);
        if (!m.Success) return null;
        string fraction = m.Groups["f"].Value;
        string trimmed = m.Groups["s"].Value + (fraction.Length > 0 ? "." + fraction[..Math.Min(7, fraction.Length)] : "") + m.Groups["z"].Value;
        return DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
    }

    [GeneratedRegex(@"^(?<s>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?<f>\d+))?(?<z>Z|[+-]\d\d:\d\d)$")]
    private static partial Regex StampText();

    private static bool IsTimed(string a, string b) => (a, b) is ("pending", "initializing") or ("pending", "running")
        or ("initializing", "running") or ("updating", "running") or ("initializing", "failed") or ("updating", "updateFailed");

    /// <summary>Is the URL shown while initializing?</summary>
    private static Reading UrlFrom(Session s)
    {
        var booting = s.Views.Where(e => e.State == "initializing").ToList();
        if (booting.FirstOrDefault(e => e.Url_ != null) is { } shown)
        {
            var before = s.Views.LastOrDefault(e => e.Index < shown.Index && e.Url_ == null);
            return new("url-from", "initializing", $"{(before != null ? $"{before.At} {before.State} without url; " : "")}{shown.At} initializing with url {shown.Url_}");
        }
        if (booting.Count > 0 && s.Views.FirstOrDefault(e => e.Index > booting[0].Index && e.State == "running" && e.Url_ != null) is { } running)
            return new("url-from", "running", $"{booting[0].At} initializing without url ({booting.Count} reads while initializing, none with one); {running.At} running with url");
        return new("url-from", Unknown, "no answer shows the endpoint initializing");
    }

    /// <summary>Does the URL carry the endpoint's name, or a random id?</summary>
    private static Reading UrlScheme(Session s)
    {
        var create = s.Of(Kind.Create).FirstOrDefault();
        var first = s.Views.FirstOrDefault(e => e.Url_ != null);
        if (s.Name == null || create == null || first == null) return new("url-scheme", Unknown, "no create request and answer with a url");
        // A placeholder inside the host ("<org-1>" for an org named like a part of it) makes the URL unparsable: split the text.
        string[] parts = first.Url_!.Split(['/', '.', ':', '?'], StringSplitOptions.RemoveEmptyEntries);
        bool named = parts.Contains(s.Name);
        var urls = s.Views.Select(e => e.Url_).Where(u => u != null).Distinct().ToList();
        string kept = urls.Count == 1 ? "the same url in every answer" : $"{urls.Count} different urls";
        return new("url-scheme", named ? "path" : "random",
            $"{create.At} create '{s.Name}'; {first.At} url {first.Url_} {(named ? "carries the name" : "does not carry the name")}; {kept}");
    }

    /// <summary>Compare the scaling before the pause with the scaling once the resume shows.</summary>
    private static Reading ResumeScaling(Session s)
    {
        var pause = s.Of(Kind.Pause).FirstOrDefault(e => e.Status is >= 200 and < 300);
        var resume = s.Of(Kind.Resume).FirstOrDefault(e => e.Status is >= 200 and < 300 && pause != null && e.Index > pause.Index);
        if (pause == null || resume == null) return new("resume-scaling", Unknown, "no pause followed by a resume");
        var before = s.Views.LastOrDefault(e => e.Index < pause.Index);
        int next = s.Entries.FirstOrDefault(e => e.Index > resume.Index && s.IsAction(e))?.Index ?? int.MaxValue;
        var after = s.Views.LastOrDefault(e => e.Index > resume.Index && e.Index < next && e.State is not "paused");
        if (before == null || after == null) return new("resume-scaling", Unknown, "no answer before the pause, or none after the resume");
        var (b, a) = (Scaling(before), Scaling(after));
        if (b == a && b != (1, 1, null)) return new("resume-scaling", "keep", $"{before.At} scaling {Show(b)}; {after.At} after the resume {Show(a)}");
        if (a == (1, 1, null) && b != a) return new("resume-scaling", "reset", $"{before.At} scaling {Show(b)}; {after.At} after the resume {Show(a)}");
        return new("resume-scaling", Unknown, $"{before.At} scaling {Show(b)}; {after.At} after the resume {Show(a)}: neither kept nor reset to 1/1");
    }

    private static (int?, int?, int?) Scaling(Entry e)
    {
        if (e.Answer is not { ValueKind: JsonValueKind.Object } a || !a.TryGetProperty("compute", out var c) || c.ValueKind != JsonValueKind.Object
            || !c.TryGetProperty("scaling", out var sc) || sc.ValueKind != JsonValueKind.Object) return (null, null, null);
        int? Int(string n) => sc.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
        return (Int("minReplica"), Int("maxReplica"), Int("scaleToZeroTimeout"));
    }

    private static string Show((int? Min, int? Max, int? Idle) s) => $"min {s.Min?.ToString() ?? "-"} max {s.Max?.ToString() ?? "-"} scaleToZeroTimeout {s.Idle?.ToString() ?? "none"}";

    /// <summary>The first data-plane request after a scale-to-zero, sent without X-Scale-Up-Timeout.</summary>
    private static Reading ScaleToZeroStatus(Session s)
    {
        foreach (var stz in s.Of(Kind.ScaleToZero).Where(e => e.Status is >= 200 and < 300))
        {
            var request = s.Entries.FirstOrDefault(e => e.Index > stz.Index && (s.KindOf(e) == Kind.Data || s.IsAction(e)));
            if (request == null || s.KindOf(request) != Kind.Data || request.RequestHeaders.ContainsKey("x-scale-up-timeout")) continue;
            if (request.Status is 502 or 503)
                return new("scale-to-zero-status", request.Status.ToString(CultureInfo.InvariantCulture),
                    $"{stz.At} scale-to-zero answered {stz.State}; {request.At} {request.Method} {request.Path} answered {request.Status}");
        }
        return new("scale-to-zero-status", Unknown, "no data-plane request without X-Scale-Up-Timeout right after a scale to zero");
    }

    private static Reading Quota(Session s)
    {
        var refused = s.Entries.FirstOrDefault(e => e.Status == 403 && e.AnswerText.Contains("quota", StringComparison.OrdinalIgnoreCase));
        return refused != null
            ? new("quota", "enforce", $"{refused.At} {refused.Method} {refused.Path} answered 403 naming the quota")
            : new("quota", Unknown, "no request went over the quota (the session does not try to)");
    }

    /// <summary>
    /// After each action, reads that still show the state before it are stale. A stale read sent s ms after the action's
    /// answer means a lag above s; the first read showing the action, answered r ms after the action was sent, means a lag
    /// of at most r. The range is the tightest over all actions, widened to whole 100 ms.
    /// </summary>
    private static Reading StaleReadMs(Session s)
    {
        double low = 0, high = double.MaxValue;
        string? lowWhy = null, highWhy = null;
        int actions = 0;
        foreach (var action in s.Entries.Where(e => s.IsAction(e) && e.Status is >= 200 and < 300 && s.KindOf(e) != Kind.ScaleToZero))
        {
            var shows = Shows(s, action);
            if (shows == null) continue;
            int next = s.Entries.FirstOrDefault(e => e.Index > action.Index && s.IsAction(e))?.Index ?? int.MaxValue;
            var before = s.Of(Kind.Read).LastOrDefault(e => e.Index < action.Index);
            if (before != null && shows(before)) continue; // the action changed nothing a read can see
            var reads = s.Of(Kind.Read).Where(e => e.Index > action.Index && e.Index < next && e.Status is 200 or 404).ToList();
            var fresh = reads.FirstOrDefault(shows);
            if (fresh == null) continue;
            actions++;
            foreach (var stale in reads.TakeWhile(r => r != fresh))
                if (stale.Sent - action.Answered > low) (low, lowWhy) = (stale.Sent - action.Answered, $"{action.At} {Name(s, action)}; {stale.At} still showed the state before it");
            if (fresh.Answered - action.Sent < high) (high, highWhy) = (fresh.Answered - action.Sent, $"{action.At} {Name(s, action)}; {fresh.At} first showed it");
        }
        if (actions == 0) return new("stale-read-ms", Unknown, "no read after an action showed what the action changed");
        if (lowWhy == null)
            return new("stale-read-ms", "0", string.Create(CultureInfo.InvariantCulture,
                $"the first read after each of {actions} actions showed it (lag at most {high:0} ms): {highWhy}"));
        if (low > high) return new("stale-read-ms", Unknown, string.Create(CultureInfo.InvariantCulture,
            $"the lag is not steady: above {low:0} ms ({lowWhy}) but at most {high:0} ms ({highWhy})"));
        double from = Math.Floor(low / 100) * 100, to = Math.Ceiling(high / 100) * 100;
        return new("stale-read-ms", string.Create(CultureInfo.InvariantCulture, $"{from:0}-{to:0}"), string.Create(CultureInfo.InvariantCulture,
            $"above {low:0} ms: {lowWhy}; at most {high:0} ms: {highWhy}"));
    }

    private static string Short(Entry e) => Uri.UnescapeDataString(e.Path.Split('/').Last());

    private static string Name(Session s, Entry action) => s.KindOf(action).ToString().ToLowerInvariant();

    /// <summary>Whether a read (200 or 404) shows what <paramref name="action"/> did.</summary>
    private static Func<Entry, bool>? Shows(Session s, Entry action) => s.KindOf(action) switch
    {
        Kind.Create => r => r.Status == 200,
        Kind.Delete => r => r.Status == 404,
        Kind.Pause => r => r.Status == 200 && r.State == "paused",
        Kind.Resume => r => r.Status == 200 && r.State is not null and not "paused",
        Kind.Update when action.Request is { ValueKind: JsonValueKind.Object } sent => r => r.Status == 200 && r.Answer is { } a && Holds(sent, a),
        _ => null,
    };

    /// <summary>Every value in the update's body is in the answer (objects compared field by field).</summary>
    private static bool Holds(JsonElement sent, JsonElement answer)
    {
        if (sent.ValueKind == JsonValueKind.Object)
            return answer.ValueKind == JsonValueKind.Object && sent.EnumerateObject().All(p => answer.TryGetProperty(p.Name, out var v) && Holds(p.Value, v));
        return sent.ValueKind == answer.ValueKind && sent.GetRawText() == answer.GetRawText();
    }

    /// <summary>Logs read while the endpoint was failed: a traceback (keep), or only build lines (build-only).</summary>
    private static Reading FailedLogs(Session s)
    {
        foreach (var logs in s.Of(Kind.Logs).Where(e => e.Status == 200))
        {
            var last = s.Views.LastOrDefault(e => e.Index < logs.Index);
            if (last?.State is not ("failed" or "updateFailed")) continue;
            bool traceback = logs.AnswerText.Contains("Traceback", StringComparison.Ordinal);
            return new("failed-logs", traceback ? "keep" : "build-only", $"{last.At} {last.State}; {logs.At} logs {(traceback ? "hold the traceback" : "hold no container output")}");
        }
        return new("failed-logs", Unknown, "no logs were read while the endpoint was failed (the session does not make it fail)");
    }

    private static Reading MetricsShape(Session s)
    {
        foreach (var m in s.Of(Kind.Metric).Where(e => e.Status == 200 && e.Answer != null))
        {
            var a = m.Answer!.Value;
            if (a.ValueKind == JsonValueKind.Array)
                return new("metrics-shape", "points", $"{m.At} {Short(m)} answered an array of points");
            if (a.ValueKind == JsonValueKind.Object && a.TryGetProperty("timestamps", out _) && a.TryGetProperty("values", out _))
                return new("metrics-shape", "columnar", $"{m.At} {Short(m)} answered timestamps and values");
            return new("metrics-shape", Unknown, $"{m.At} {Short(m)} answered another shape: {Excerpt(a.GetRawText())}");
        }
        return new("metrics-shape", Unknown, "no metric was read");
    }

    private static string Excerpt(string text) => text.Length <= 80 ? text : text[..80] + "...";

    // ---- reading the file ----

    private static Kind Kind_(Entry e, string? name)
    {
        string p = e.Path;
        if (EndpointPath().Match(p) is { Success: true } m)
        {
            string rest = m.Groups["rest"].Value;
            bool ours = name == null || m.Groups["name"].Value == name;
            if (!ours) return Kind.Other;
            return (e.Method, rest) switch
            {
                ("GET", "") => Kind.Read,
                ("PUT", "") => Kind.Update,
                ("DELETE", "") => Kind.Delete,
                ("POST", "/pause") => Kind.Pause,
                ("POST", "/resume") => Kind.Resume,
                ("POST", "/scale-to-zero") => Kind.ScaleToZero,
                ("POST", _) when rest.StartsWith("/metrics/", StringComparison.Ordinal) => Kind.Metric,
                ("GET", "/logs") => Kind.Logs,
                _ => Kind.Other,
            };
        }
        if (e.Method == "POST" && CreatePath().IsMatch(p)) return Kind.Create;
        return e.Path.Contains("/endpoint/", StringComparison.Ordinal) || e.Path.Contains("/api/", StringComparison.Ordinal)
            || e.Path.Contains("/provider/", StringComparison.Ordinal) ? Kind.Other : Kind.Data;
    }

    [GeneratedRegex(@"/endpoint/(?<ns>[^/]+)/(?<name>[^/]+)(?<rest>/.*)?$")]
    private static partial Regex EndpointPath();

    [GeneratedRegex(@"/endpoint/[^/]+/?$")]
    private static partial Regex CreatePath();

    public static IReadOnlyList<Entry> Parse(string har)
    {
        using var doc = JsonDocument.Parse(har);
        var list = new List<Entry>();
        DateTimeOffset? origin = null;
        foreach (var e in doc.RootElement.GetProperty("log").GetProperty("entries").EnumerateArray())
        {
            var started = DateTimeOffset.Parse(e.GetProperty("startedDateTime").GetString()!, CultureInfo.InvariantCulture);
            origin ??= started;
            var timings = e.GetProperty("timings");
            double Timing(string n) => timings.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0 ? v.GetDouble() : 0;
            double sent = (started - origin.Value).TotalMilliseconds + Timing("blocked") + Timing("dns") + Timing("connect") + Timing("ssl");
            double answered = sent + Timing("send") + Timing("wait");
            var request = e.GetProperty("request");
            var response = e.GetProperty("response");
            string url = request.GetProperty("url").GetString()!;
            string? post = request.TryGetProperty("postData", out var pd) && pd.TryGetProperty("text", out var pt) ? pt.GetString() : null;
            string text = response.TryGetProperty("content", out var c) && c.TryGetProperty("text", out var ct) && ct.ValueKind == JsonValueKind.String ? ct.GetString()! : "";
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (request.TryGetProperty("headers", out var hs))
                foreach (var h in hs.EnumerateArray()) headers[h.GetProperty("name").GetString()!] = h.GetProperty("value").GetString() ?? "";
            list.Add(new Entry(list.Count, sent, answered, request.GetProperty("method").GetString()!, url, PathOf(url),
                response.GetProperty("status").GetInt32(), Json(post), Json(text), text, headers));
        }
        return list;
    }

    /// <summary>The path of a URL, also of one a placeholder made unparsable ("http://&lt;ip&gt;:80/...").</summary>
    private static string PathOf(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.AbsolutePath : UrlPath().Match(url) is { Success: true } m ? m.Groups[1].Value : url;

    [GeneratedRegex(@"^[a-z]+://[^/]*(/[^?#]*)")]
    private static partial Regex UrlPath();

    private static JsonElement? Json(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException) { return null; }
    }
}
