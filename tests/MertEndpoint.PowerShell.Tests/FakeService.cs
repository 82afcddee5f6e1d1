using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MertEndpoint.PowerShell.Tests;

/// <summary>A request as the fake service saw it, stamped with the fake clock.</summary>
public sealed record Seen(HttpMethod Method, string Host, string Path, string? Body, string? Authorization, DateTimeOffset Time)
{
    public bool Is(string method, string pathEnd) => Method.Method == method && Path.EndsWith(pathEnd, StringComparison.Ordinal);
    public override string ToString() => $"{Method} {Path}";
}

/// <summary>
/// A small in-memory Inference Endpoints service behind an HttpMessageHandler: whoami, list, get, create, pause,
/// resume, scale to zero, delete, and each endpoint's health route. States move on the fake clock (a resume boots for
/// <see cref="BootTime"/>), so nothing here sleeps. Only HTTP is faked: the module's lifecycle runs as it is.
/// <see cref="Intercept"/> answers instead of the service (faults); <see cref="Hold"/> keeps requests waiting.
/// </summary>
public sealed class FakeService : HttpMessageHandler
{
    public const string Token = "hf_inprocSECRET_5tKq8WzY3";
    public const string User = "alice";
    public const string Org = "lab";

    private readonly TimeProvider _clock;
    private readonly object _gate = new();
    private readonly Dictionary<string, Endpoint> _endpoints = new(StringComparer.Ordinal);
    private readonly List<Seen> _requests = [];
    private readonly List<(Func<Seen, bool> Match, TaskCompletionSource Release)> _holds = [];

    public FakeService(TimeProvider clock) => _clock = clock;

    /// <summary>How long a resume or create takes to reach running (fake time).</summary>
    public TimeSpan BootTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Answers instead of the service when it returns a response (any thread).</summary>
    public Func<Seen, HttpResponseMessage?>? Intercept { get; set; }

    /// <summary>When set, every answer carries a Date header: the service's clock, this far from the test's (none by default).</summary>
    public TimeSpan? DateSkew { get; set; }

    public IReadOnlyList<Seen> Requests { get { lock (_gate) return _requests.ToArray(); } }

    /// <summary>The requests that change something (everything but GET).</summary>
    public IReadOnlyList<Seen> Writes => Requests.Where(r => r.Method != HttpMethod.Get).ToList();

    /// <summary>Requests matching <paramref name="match"/> wait (until released or cancelled): the release.</summary>
    public TaskCompletionSource Hold(Func<Seen, bool> match)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate) _holds.Add((match, release));
        return release;
    }

    /// <summary>Requests that are waiting on a hold right now, and the ones a hold let go because they were cancelled.</summary>
    public int Held { get { lock (_gate) return _held; } }
    public int CancelledWhileHeld { get { lock (_gate) return _cancelledWhileHeld; } }
    private int _held, _cancelledWhileHeld;

    /// <summary>Adds an endpoint in <paramref name="state"/>; <paramref name="boot"/> overrides <see cref="BootTime"/> for it.</summary>
    public void Add(string name, string state = "running", string ns = User, TimeSpan? boot = null, int minReplica = 0, int? scaleToZeroTimeout = 15,
        string image = "someone/mert:latest")
    {
        lock (_gate)
            _endpoints[ns + "/" + name] = new Endpoint(ns, name)
            {
                State = state, Boot = boot, MinReplica = minReplica, ScaleToZeroTimeout = scaleToZeroTimeout, Image = image,
                ReadyAt = state is "initializing" or "pending" ? _clock.GetUtcNow() + (boot ?? BootTime) : null,
            };
    }

    /// <summary>The state a read would show now.</summary>
    public string? StateOf(string name, string ns = User)
    {
        lock (_gate) return _endpoints.TryGetValue(ns + "/" + name, out var e) ? Settle(e).State : null;
    }

    /// <summary>Deletes it, as the service would (for intercepts that carry a request out and then lose its answer).</summary>
    public void Remove(string name, string ns = User)
    {
        lock (_gate) _endpoints.Remove(ns + "/" + name);
    }

    /// <summary>The body a read of the endpoint would answer now (for intercepts that answer in its shape).</summary>
    public string BodyOf(string name, string ns = User)
    {
        lock (_gate) return ToJson(Settle(_endpoints[ns + "/" + name])).ToJsonString();
    }

    public bool Exists(string name, string ns = User) { lock (_gate) return _endpoints.ContainsKey(ns + "/" + name); }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var body = request.Content == null ? null : await request.Content.ReadAsStringAsync(ct);
        var seen = new Seen(request.Method, request.RequestUri!.Host, request.RequestUri.AbsolutePath, body,
            request.Headers.Authorization?.ToString(), _clock.GetUtcNow());
        Task? hold;
        lock (_gate)
        {
            _requests.Add(seen);
            hold = _holds.FirstOrDefault(h => h.Match(seen)).Release?.Task;
            if (hold != null) _held++;
        }
        if (hold != null)
        {
            try { await hold.WaitAsync(ct); }
            catch (OperationCanceledException) { lock (_gate) _cancelledWhileHeld++; throw; }
            finally { lock (_gate) _held--; }
        }
        var response = Intercept?.Invoke(seen) ?? Answer(seen);
        response.RequestMessage = request;
        if (DateSkew is TimeSpan skew) response.Headers.Date = _clock.GetUtcNow() + skew;
        return response;
    }

    /// <summary>Carries the request out as the service would (for intercepts that then answer something else).</summary>
    public HttpResponseMessage Serve(Seen r) => Answer(r);

    private HttpResponseMessage Answer(Seen r)
    {
        if (r.Host.EndsWith(".aws.endpoints.huggingface.cloud", StringComparison.Ordinal)) return DataPlane(r); // the control plane is api.endpoints...
        if (r.Authorization != "Bearer " + Token) return Json(401, Error("Invalid credentials in Authorization header"));
        if (r.Path == "/api/whoami-v2")
            return Json(200, $$"""{"name": "{{User}}", "type": "user", "orgs": [{"name": "{{Org}}"}]}""");
        var parts = r.Path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts is ["v2", "provider", _] && r.Method == HttpMethod.Get)
            return Json(200, """
                {"vendors": [{"name": "aws", "regions": [{"name": "us-east-1", "label": "N. Virginia", "computes": [
                  {"id": "aws-us-east-1-nvidia-a10g-x1", "accelerator": "gpu", "instanceType": "nvidia-a10g", "instanceSize": "x1",
                   "architecture": "x86_64", "status": "available", "numAccelerators": 1, "numCpus": 4, "memoryGb": 16,
                   "gpuMemoryGb": 24, "pricePerHour": 1.0}]}]}]}
                """);
        // /v2/endpoint/{ns}[/{name}[/{action}]]
        if (parts.Length < 3 || parts[0] != "v2" || parts[1] != "endpoint") return Json(404, Error("Not found"));
        string ns = parts[2];
        if (ns != User && ns != Org) return Json(401, Error($"Unauthorized namespace {ns}"));
        lock (_gate)
        {
            if (parts.Length == 3)
            {
                if (r.Method == HttpMethod.Get)
                    return Json(200, new JsonObject { ["items"] = new JsonArray(_endpoints.Values.Where(e => e.Ns == ns).OrderBy(e => e.Name, StringComparer.Ordinal)
                        .Select(e => (JsonNode)ToJson(Settle(e))).ToArray()) }.ToJsonString());
                if (r.Method == HttpMethod.Post) return Create(ns, r.Body);
                return Json(405, Error("Method not allowed"));
            }
            string key = ns + "/" + parts[3];
            if (!_endpoints.TryGetValue(key, out var e)) return Json(404, Error($"Endpoint {parts[3]} not found"));
            Settle(e);
            string? action = parts.Length > 4 ? parts[4] : null;
            switch (r.Method.Method, action)
            {
                case ("GET", null):
                    return Json(200, ToJson(e).ToJsonString());
                case ("PUT", null):
                    var scaling = JsonNode.Parse(r.Body ?? "{}")?["compute"]?["scaling"];
                    if (scaling?["minReplica"] is JsonNode min) e.MinReplica = min.GetValue<int>();
                    if (scaling is JsonObject o && o.ContainsKey("scaleToZeroTimeout")) e.ScaleToZeroTimeout = o["scaleToZeroTimeout"]?.GetValue<int>();
                    return Json(200, ToJson(e).ToJsonString());
                case ("DELETE", null):
                    _endpoints.Remove(key);
                    return new HttpResponseMessage(HttpStatusCode.OK);
                case ("POST", "pause"):
                    e.State = "paused"; e.ReadyAt = null;
                    return Json(200, ToJson(e).ToJsonString());
                case ("POST", "scale-to-zero"):
                    if (e.State == "paused") return Json(400, Error("Endpoint is paused"));
                    e.State = "scaledToZero"; e.ReadyAt = null;
                    return Json(200, ToJson(e).ToJsonString());
                case ("POST", "resume"):
                    if (e.State is "running" or "initializing" or "pending") return Json(400, Error("Endpoint is already running"));
                    e.State = "initializing"; e.ReadyAt = _clock.GetUtcNow() + (e.Boot ?? BootTime);
                    return Json(200, ToJson(e).ToJsonString());
                default:
                    return Json(405, Error("Method not allowed"));
            }
        }
    }

    private HttpResponseMessage Create(string ns, string? body)
    {
        var spec = JsonNode.Parse(body ?? "{}")!;
        string name = spec["name"]?.GetValue<string>() ?? "";
        if (_endpoints.ContainsKey(ns + "/" + name)) return Json(409, Error($"Endpoint {name} already exists"));
        string image = spec["model"]?["image"]?["custom"]?["url"]?.GetValue<string>() ?? "";
        var scaling = spec["compute"]?["scaling"];
        var e = new Endpoint(ns, name)
        {
            State = "initializing", Image = image, ReadyAt = _clock.GetUtcNow() + BootTime,
            MinReplica = scaling?["minReplica"]?.GetValue<int>() ?? 0, ScaleToZeroTimeout = scaling?["scaleToZeroTimeout"]?.GetValue<int>(),
        };
        _endpoints[ns + "/" + name] = e;
        return Json(202, ToJson(e).ToJsonString());
    }

    /// <summary>The health route of an endpoint: 200 once running, 503 while it boots.</summary>
    private HttpResponseMessage DataPlane(Seen r)
    {
        string name = r.Host.Split('.')[0];
        lock (_gate)
        {
            var e = _endpoints.Values.FirstOrDefault(x => x.Name == name);
            return new HttpResponseMessage(e != null && Settle(e).State == "running" ? HttpStatusCode.OK : HttpStatusCode.ServiceUnavailable);
        }
    }

    /// <summary>Under the lock: a boot whose time has come is over.</summary>
    private Endpoint Settle(Endpoint e)
    {
        if (e.ReadyAt is DateTimeOffset at && _clock.GetUtcNow() >= at)
        {
            e.State = e.Image.Contains("fail", StringComparison.Ordinal) ? "failed" : "running";
            e.ReadyAt = null;
        }
        return e;
    }

    private static JsonObject ToJson(Endpoint e) => new()
    {
        ["name"] = e.Name, ["type"] = "protected", ["accountId"] = null,
        ["provider"] = new JsonObject { ["vendor"] = "aws", ["region"] = "us-east-1" },
        ["compute"] = new JsonObject
        {
            ["accelerator"] = "gpu", ["instanceType"] = "nvidia-a10g", ["instanceSize"] = "x1",
            ["scaling"] = new JsonObject { ["minReplica"] = e.MinReplica, ["maxReplica"] = 1, ["scaleToZeroTimeout"] = e.ScaleToZeroTimeout },
        },
        ["model"] = new JsonObject
        {
            ["repository"] = "m-a-p/MERT-v1-95M", ["task"] = "feature-extraction", ["framework"] = "custom",
            ["image"] = new JsonObject { ["custom"] = new JsonObject { ["url"] = e.Image, ["healthRoute"] = "/health", ["port"] = 8080 } },
        },
        ["status"] = new JsonObject
        {
            ["createdAt"] = "2026-11-26T12:00:00Z", ["updatedAt"] = "2026-11-26T12:00:00Z", ["state"] = e.State, ["message"] = null,
            ["url"] = $"https://{e.Name}.us-east-1.aws.endpoints.huggingface.cloud",
            ["readyReplica"] = e.State == "running" ? 1 : 0, ["targetReplica"] = e.State is "paused" or "scaledToZero" ? 0 : 1,
        },
    };

    public static string Error(string message) => "{\"error\": " + JsonSerializer.Serialize(message) + "}";

    public static HttpResponseMessage Json(int status, string json) =>
        new((HttpStatusCode)status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private sealed class Endpoint(string ns, string name)
    {
        public string Ns { get; } = ns;
        public string Name { get; } = name;
        public string State { get; set; } = "running";
        public string Image { get; set; } = "";
        public DateTimeOffset? ReadyAt { get; set; }
        public TimeSpan? Boot { get; set; }
        public int MinReplica { get; set; }
        public int? ScaleToZeroTimeout { get; set; }
    }
}
