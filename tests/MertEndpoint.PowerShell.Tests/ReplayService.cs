using System.Net;
using System.Text;
using MertEndpoint.Recording;

namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// A recording of build.ps1 Record (docs/RECORDING.md) played back as the service, for one endpoint. The session is cut
/// into its actions (create, pause, resume, update, scale to zero, delete), each with its own answer and the reads that
/// followed it. An action the module sends moves the replay to the next recorded action of that kind and answers what the
/// service answered; a read answers the current action's reads in order, the last one again once they run out; the
/// data plane answers what the session's probe got; whoami and the catalog their first answer. Anything the recording cannot answer is a 501, kept in
/// <see cref="Unanswered"/>. The recording's user becomes <see cref="FakeService.User"/>. One answer is changed: an update's
/// scaling is the scaling the request sent (the session's update sent other replicas than a module's start puts back, and
/// the module takes an update as done only when the endpoint shows what it sent).
/// </summary>
public sealed class ReplayService : HttpMessageHandler
{
    private sealed record Answer(int Status, string Body);
    private sealed record Segment(string Kind, Answer Answer, List<Answer> Reads);

    private readonly object _gate = new();
    private readonly List<Segment> _segments = [];
    private readonly Dictionary<string, Answer> _otherReads = new(StringComparer.Ordinal);
    private readonly Answer _probe;
    private readonly string _name;
    private int _current, _read;

    public ReplayService(string har, string startAfter, int occurrence = 1)
    {
        var entries = Readings.Parse(har.Replace("<user>", FakeService.User, StringComparison.Ordinal)
            .Replace("%3Cuser%3E", FakeService.User, StringComparison.OrdinalIgnoreCase));
        var create = entries.First(e => e.Method == "POST" && e.Request is { } r && r.TryGetProperty("name", out _));
        _name = create.Request!.Value.GetProperty("name").GetString()!;
        _probe = Of(entries.First(e => e.Path.EndsWith("/" + _name + "/health", StringComparison.Ordinal) && e.Status == 200));
        foreach (var e in entries)
        {
            if (KindOf(e.Method, e.Path) is { } kind) _segments.Add(new Segment(kind, Of(e), []));
            else if (e.Method == "GET" && IsRead(e.Path)) { if (_segments.Count > 0) _segments[^1].Reads.Add(Of(e)); }
            else if (e.Method == "GET" && e.Path.StartsWith("/api/", StringComparison.Ordinal) || e.Path.StartsWith("/v2/provider/", StringComparison.Ordinal))
                _otherReads.TryAdd(e.Path, Of(e)); // whoami, the catalog: their first answer
        }
        _current = _segments.Select((s, i) => (s, i)).Where(x => x.s.Kind == startAfter).Skip(occurrence - 1).First().i;
        _read = int.MaxValue; // at rest: the last read of that action
    }

    /// <summary>The endpoint's name in the recording.</summary>
    public string Name => _name;

    public List<string> Unanswered { get; } = [];

    /// <summary>The actions replayed, in order.</summary>
    public List<string> Actions { get; } = [];

    private static Answer Of(Readings.Entry e) => new(e.Status, e.AnswerText);

    private bool IsRead(string path) => path.EndsWith("/v2/endpoint/" + FakeService.User + "/" + _name, StringComparison.Ordinal);

    private string? KindOf(string method, string path)
    {
        string endpoint = "/v2/endpoint/" + FakeService.User + "/" + _name;
        if (method == "POST" && path == "/v2/endpoint/" + FakeService.User) return "create";
        if (method == "PUT" && path == endpoint) return "update";
        if (method == "DELETE" && path == endpoint) return "delete";
        if (method != "POST" || !path.StartsWith(endpoint + "/", StringComparison.Ordinal)) return null;
        string action = path[(endpoint.Length + 1)..];
        return action is "pause" or "resume" or "scale-to-zero" ? action : null;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        string? sent = request.Content == null ? null : await request.Content.ReadAsStringAsync(ct);
        string path = request.RequestUri!.AbsolutePath;
        string method = request.Method.Method;
        Answer? answer = null;
        lock (_gate)
        {
            if (method == "GET" && _otherReads.TryGetValue(path, out var other)) answer = other;
            else if (method == "GET" && IsRead(path))
            {
                var reads = _segments[_current].Reads;
                answer = reads.Count == 0 ? _segments[_current].Answer : reads[Math.Min(_read, reads.Count - 1)];
                if (_read < int.MaxValue) _read++;
            }
            else if (KindOf(method, path) is { } kind)
            {
                int next = _segments.FindIndex(_current + 1, s => s.Kind == kind);
                if (next >= 0)
                {
                    _current = next;
                    _read = 0;
                    answer = _segments[next].Answer;
                    if (kind == "update") answer = WithScalingSent(answer, sent);
                    Actions.Add(kind);
                }
            }
            else if (method == "GET" && path.EndsWith("/" + _name + "/health", StringComparison.Ordinal)) answer = _probe;
            if (answer == null) Unanswered.Add($"{method} {path}");
        }
        var response = answer == null
            ? new HttpResponseMessage(HttpStatusCode.NotImplemented) { Content = new StringContent("{\"error\": \"not in the recording\"}", Encoding.UTF8, "application/json") }
            : new HttpResponseMessage((HttpStatusCode)answer.Status) { Content = new StringContent(answer.Body, Encoding.UTF8, "application/json") };
        response.RequestMessage = request;
        return response;
    }

    /// <summary>The recorded answer with compute.scaling's fields set to those the update sent.</summary>
    private static Answer WithScalingSent(Answer recorded, string? sent)
    {
        if (sent == null || System.Text.Json.Nodes.JsonNode.Parse(sent)?["compute"]?["scaling"] is not System.Text.Json.Nodes.JsonObject scaling) return recorded;
        var body = System.Text.Json.Nodes.JsonNode.Parse(recorded.Body)!.AsObject();
        if (body["compute"]?["scaling"] is not System.Text.Json.Nodes.JsonObject answered) return recorded;
        foreach (var (key, value) in scaling) answered[key] = value?.DeepClone();
        return recorded with { Body = body.ToJsonString() };
    }
}
