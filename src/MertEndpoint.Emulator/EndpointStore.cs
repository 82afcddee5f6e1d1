using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MertEndpoint.Emulator;

static class EndpointState
{
    public const string Pending = "pending", Initializing = "initializing", Updating = "updating", UpdateFailed = "updateFailed",
        Running = "running", Paused = "paused", Failed = "failed", ScaledToZero = "scaledToZero";

    public static string Message(string state) => state switch
    {
        Pending => "Endpoint waiting to be scheduled",
        Initializing => "Endpoint is initializing",
        Updating => "Endpoint is updating",
        UpdateFailed => "Endpoint update failed: the new image did not start",
        Running => "Endpoint is ready",
        Paused => "Endpoint is paused",
        Failed => "Endpoint failed to start: the image did not start",
        ScaledToZero => "Endpoint is scaled to zero",
        _ => state,
    };
}

/// <summary>One endpoint as stored (and persisted). Only timestamps are stored; the current state is
/// derived from them by <see cref="EndpointStore"/> at read time, so it is exact at any instant.</summary>
sealed class EndpointRecord
{
    public string Namespace { get; set; } = "";
    [JsonIgnore] public EndpointSpec Spec { get; set; } = null!;
    [JsonPropertyName("spec")]
    public JsonObject SpecJson { get => Spec.ToJson(forResponse: false); set => Spec = EndpointSpec.Parse(value); }
    public string State { get; set; } = EndpointState.Pending;
    public DateTimeOffset StateSince { get; set; }
    /// <summary>Start of the current boot, wake or update; its end is <c>BootStarted + boot-seconds</c>.</summary>
    public DateTimeOffset BootStarted { get; set; }
    /// <summary>Where the current boot ends: running, or failed/updateFailed for a failing image.</summary>
    public string BootTarget { get; set; } = EndpointState.Running;
    /// <summary>Set once the endpoint first got a URL; the URL is hidden before that.</summary>
    public bool Provisioned { get; set; }
    public DateTimeOffset LastRequest { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public bool Deleted { get; set; }
    public Meter Meter { get; set; } = new();
    /// <summary>Data-plane responses by status code, for open-metrics.</summary>
    public SortedDictionary<int, long> Requests { get; set; } = [];
    /// <summary>The last rendered response and the base URL it was rendered for; cleared on every change.
    /// Reads far outnumber changes, and rendering is most of a GET's cost.</summary>
    [JsonIgnore] public (string BaseUrl, string Json)? Rendered { get; set; }
}

/// <summary>What the data plane needs to know about an endpoint, copied out of the lock.</summary>
readonly record struct DataPlaneView(string State, string Type, string HealthRoute, string Repository, string? Task);

/// <summary>All endpoints, one lock. Every operation takes the lock, brings the touched endpoints up to
/// "now" (<see cref="Advance"/>), acts, persists if it changed something, and renders, so parallel
/// clients never see a half-made change.</summary>
sealed class EndpointStore
{
    const int DefaultIdleMinutes = 60; // the UI default, for minReplica 0 without scaleToZeroTimeout
    static readonly JsonSerializerOptions FileJson = new() { WriteIndented = true };

    readonly Lock _gate = new();
    readonly List<EndpointRecord> _records = [];
    readonly EmulatorOptions _options;
    readonly TimeProvider _time;
    readonly TimeSpan _boot, _minute;
    readonly JsonObject _user;

    public EndpointStore(EmulatorOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _boot = TimeSpan.FromSeconds(options.BootSeconds);
        _minute = TimeSpan.FromSeconds(options.SecondsPerMinute);
        _user = new JsonObject { ["id"] = UserId(options.User), ["name"] = options.User };
        if (options.StateFile is { } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            if (File.Exists(path)) Load(path);
        }
    }

    /// <summary>A stable 24-hex id for a user or org name, shaped like the Hub's ids.</summary>
    public static string UserId(string name) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..24];

    DateTimeOffset Now => _time.GetUtcNow();

    public string List(string ns, string baseUrl)
    {
        lock (_gate)
        {
            var now = Now;
            return $"{{\"items\":[{string.Join(',', Live(ns).Select(e => Render(Advance(e, now), baseUrl)))}]}}";
        }
    }

    public string Get(string ns, string name, string baseUrl)
    {
        lock (_gate) return Render(Advance(Find(ns, name), Now), baseUrl);
    }

    public string Create(string ns, EndpointSpec spec, string baseUrl)
    {
        lock (_gate)
        {
            if (Live(ns).Any(e => e.Spec.Name == spec.Name))
                throw new ApiException(409, $"An endpoint named '{spec.Name}' already exists in namespace '{ns}'");
            var now = Now;
            var e = new EndpointRecord { Namespace = ns, Spec = spec, CreatedAt = now, LastRequest = now, Meter = new() { BilledUntil = now } };
            StartBoot(e, now);
            _records.Add(e);
            Save();
            return Render(e, baseUrl);
        }
    }

    public string Update(string ns, string name, JsonObject patch, string baseUrl) => Act(ns, name, baseUrl, (e, now) =>
    {
        e.Spec = e.Spec.Merge(patch);
        e.UpdatedAt = now;
        var fails = e.Spec.ImageFails;
        switch (e.State)
        {
            case EndpointState.Running or EndpointState.Updating or EndpointState.UpdateFailed:
                e.BootStarted = now;
                e.BootTarget = fails ? EndpointState.UpdateFailed : EndpointState.Running;
                Enter(e, EndpointState.Updating, now);
                break;
            case EndpointState.Pending or EndpointState.Initializing:
                e.BootTarget = fails ? EndpointState.Failed : EndpointState.Running; // the boot in progress picks up the new image
                break;
            // paused, scaledToZero, failed: the change applies at the next start.
        }
    });

    public void Delete(string ns, string name)
    {
        lock (_gate)
        {
            var e = Advance(Find(ns, name), Now);
            e.Deleted = true; // kept for the billing report
            Save();
        }
    }

    public string Pause(string ns, string name, string baseUrl) => Act(ns, name, baseUrl, (e, now) =>
    {
        // Pausing a paused endpoint is a no-op; a failed one has nothing running to stop.
        if (e.State is not (EndpointState.Paused or EndpointState.Failed)) Enter(e, EndpointState.Paused, now);
    });

    public string Resume(string ns, string name, string baseUrl) => Act(ns, name, baseUrl, (e, now) =>
    {
        switch (e.State)
        {
            case EndpointState.Running:
                throw Http.BadRequest($"Endpoint '{e.Spec.Name}' is already running");
            case EndpointState.Failed:
                throw Http.BadRequest($"Endpoint '{e.Spec.Name}' has failed and cannot be resumed: delete it and create it again");
            case EndpointState.UpdateFailed:
                throw Http.BadRequest($"Endpoint '{e.Spec.Name}' failed to update and cannot be resumed: update it with a working image, or delete it");
            case EndpointState.Paused:
                // As the service does: the previous scaling is lost (scaleToZeroTimeout too, as it is only valid with minReplica 0).
                e.Spec = e.Spec with { MinReplica = 1, MaxReplica = 1, ScaleToZeroTimeout = null };
                StartBoot(e, now);
                break;
            case EndpointState.ScaledToZero:
                StartBoot(e, now);
                break;
            // pending, initializing, updating: already on its way up.
        }
    });

    public string ScaleToZero(string ns, string name, string baseUrl) => Act(ns, name, baseUrl, (e, now) =>
    {
        switch (e.State)
        {
            case EndpointState.Paused:
                throw Http.BadRequest($"Endpoint '{e.Spec.Name}' is paused: resume it before scaling it to zero");
            case EndpointState.Failed or EndpointState.UpdateFailed:
                throw Http.BadRequest($"Endpoint '{e.Spec.Name}' is in state {e.State} and cannot be scaled to zero");
            case not EndpointState.ScaledToZero:
                Enter(e, EndpointState.ScaledToZero, now);
                break;
        }
    });

    public string OpenMetrics(string ns, string name)
    {
        lock (_gate)
        {
            var e = Find(ns, name);
            var text = new StringBuilder()
                .Append("# HELP http_requests Requests answered by the endpoint's data plane, by status code.\n")
                .Append("# TYPE http_requests counter\n");
            foreach (var (status, count) in e.Requests)
                text.Append($"http_requests{{replica_id=\"{e.Spec.Name}-emulator-0\",status_code=\"{status}\"}} {count}\n");
            return text.Append("# EOF\n").ToString();
        }
    }

    /// <summary>Accelerators held per instance type in a namespace: scaled-to-zero endpoints count
    /// toward quota, paused (and failed) ones do not.</summary>
    public Dictionary<string, int> UsedAccelerators(string ns)
    {
        lock (_gate)
        {
            var now = Now;
            return Live(ns).Select(e => Advance(e, now))
                .Where(e => e.State is not (EndpointState.Paused or EndpointState.Failed))
                .GroupBy(e => e.Spec.InstanceType)
                .ToDictionary(g => g.Key, g => g.Sum(e => e.Spec.MaxReplica * (e.Spec.Compute?.NumAccelerators ?? 0)));
        }
    }

    public DataPlaneView? Peek(string ns, string name)
    {
        lock (_gate)
            return Live(ns).FirstOrDefault(e => e.Spec.Name == name) is { } e ? View(Advance(e, Now)) : null;
    }

    /// <summary>A data-plane request arrived: it resets the idle timer and wakes a scaled-to-zero endpoint.</summary>
    public DataPlaneView Touch(string ns, string name)
    {
        lock (_gate)
        {
            var now = Now;
            var e = Advance(Find(ns, name), now);
            e.LastRequest = now;
            if (e.State == EndpointState.ScaledToZero)
            {
                StartBoot(e, now);
                Save();
            }
            return View(e);
        }
    }

    public void CountRequest(string ns, string name, int status)
    {
        lock (_gate)
            if (Live(ns).FirstOrDefault(e => e.Spec.Name == name) is { } e)
                e.Requests[status] = e.Requests.GetValueOrDefault(status) + 1;
    }

    public JsonObject BillingReport()
    {
        lock (_gate)
        {
            var now = Now;
            foreach (var e in _records.Where(e => !e.Deleted)) Advance(e, now);
            return Billing.Report(_records);
        }
    }

    public void Reset()
    {
        lock (_gate)
        {
            _records.Clear();
            Save();
        }
    }

    string Act(string ns, string name, string baseUrl, Action<EndpointRecord, DateTimeOffset> action)
    {
        lock (_gate)
        {
            var now = Now;
            var e = Advance(Find(ns, name), now);
            action(e, now);
            e.Rendered = null;
            Save();
            return Render(e, baseUrl);
        }
    }

    IEnumerable<EndpointRecord> Live(string ns) => _records.Where(e => !e.Deleted && e.Namespace == ns);

    EndpointRecord Find(string ns, string name) => Live(ns).FirstOrDefault(e => e.Spec.Name == name)
        ?? throw new ApiException(404, $"Endpoint '{name}' not found in namespace '{ns}'");

    static DataPlaneView View(EndpointRecord e) => new(e.State, e.Spec.Type, e.Spec.HealthRoute, e.Spec.Repository, e.Spec.Task);

    // ---- the state machine ----

    void StartBoot(EndpointRecord e, DateTimeOffset now)
    {
        e.BootStarted = now;
        e.BootTarget = e.Spec.ImageFails ? EndpointState.Failed : EndpointState.Running;
        Enter(e, EndpointState.Pending, now);
    }

    static void Enter(EndpointRecord e, string state, DateTimeOffset at)
    {
        Billing.Accrue(e, at);
        e.Rendered = null;
        e.State = state;
        e.StateSince = at;
        e.UpdatedAt = at;
        if (state is EndpointState.Initializing or EndpointState.ScaledToZero) e.Provisioned = true;
    }

    /// <summary>The next timed transition, if any: boot phases (20% pending, 80% initializing), the end
    /// of an update, and the idle scale-to-zero of a running endpoint with minReplica 0.</summary>
    (DateTimeOffset At, string State)? Next(EndpointRecord e) => e.State switch
    {
        EndpointState.Pending => (e.BootStarted + _boot * 0.2, EndpointState.Initializing),
        EndpointState.Initializing or EndpointState.Updating => (e.BootStarted + _boot, e.BootTarget),
        EndpointState.Running when e.Spec.MinReplica == 0 =>
            ((e.LastRequest > e.StateSince ? e.LastRequest : e.StateSince) + _minute * (e.Spec.ScaleToZeroTimeout ?? DefaultIdleMinutes),
             EndpointState.ScaledToZero),
        _ => null,
    };

    /// <summary>Applies every transition due by <paramref name="now"/> at its exact time, billing each span.</summary>
    EndpointRecord Advance(EndpointRecord e, DateTimeOffset now)
    {
        while (Next(e) is { } next && next.At <= now) Enter(e, next.State, next.At);
        Billing.Accrue(e, now);
        return e;
    }

    string Render(EndpointRecord e, string baseUrl)
    {
        if (e.Rendered is { } cached && cached.BaseUrl == baseUrl) return cached.Json;
        var json = e.Spec.ToJson(forResponse: true);
        json.Insert(4, "healthRoute", e.Spec.HealthRoute); // after provider, as the service orders it
        var up = e.State is EndpointState.Pending or EndpointState.Initializing or EndpointState.Running or EndpointState.Updating;
        json["status"] = new JsonObject
        {
            ["createdAt"] = Http.Timestamp(e.CreatedAt),
            ["createdBy"] = _user.DeepClone(),
            ["updatedAt"] = Http.Timestamp(e.UpdatedAt),
            ["updatedBy"] = _user.DeepClone(),
            ["private"] = null,
            ["state"] = e.State,
            ["message"] = EndpointState.Message(e.State),
            ["url"] = e.Provisioned && e.State is not (EndpointState.Paused or EndpointState.Failed)
                ? $"{baseUrl}/endpoints/{Uri.EscapeDataString(e.Namespace)}/{e.Spec.Name}" : null,
            ["readyReplica"] = e.State == EndpointState.Running ? e.Spec.Replicas : 0,
            ["targetReplica"] = up ? e.Spec.Replicas : 0,
        };
        e.Rendered = (baseUrl, Http.Serialize(json));
        return e.Rendered.Value.Json;
    }

    // ---- persistence ----

    sealed record StateFile(List<EndpointRecord> Endpoints);

    /// <summary>Called under the lock after every change: write a temp file beside the target, then
    /// rename over it, so a crash leaves either the old or the new file, never half of one.</summary>
    void Save()
    {
        if (_options.StateFile is not { } path) return;
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllText(temp, JsonSerializer.Serialize(new StateFile(_records), FileJson));
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    void Load(string path)
    {
        try
        {
            var state = JsonSerializer.Deserialize<StateFile>(File.ReadAllText(path), FileJson);
            _records.AddRange(state?.Endpoints ?? []);
        }
        catch (Exception e) when (e is JsonException or ApiException or NotSupportedException)
        {
            throw new InvalidOperationException($"State file '{path}' cannot be read: {e.Message}", e);
        }
    }
}
