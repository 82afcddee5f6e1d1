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
    /// <summary>The random part of the data-plane URL under <c>--url-scheme random</c>; kept across pause and resume.</summary>
    public string UrlId { get; set; } = "";
    public string State { get; set; } = EndpointState.Pending;
    public DateTimeOffset StateSince { get; set; }
    /// <summary>Start of the current boot, wake or update; its end is <c>BootStarted + boot-seconds</c>.</summary>
    public DateTimeOffset BootStarted { get; set; }
    /// <summary>Where the current boot ends: running, or failed/updateFailed for a failing image.</summary>
    public string BootTarget { get; set; } = EndpointState.Running;
    /// <summary>The current boot started from <c>scaledToZero</c>: the data plane answers as a waking endpoint.</summary>
    public bool Waking { get; set; }
    /// <summary>Set once the endpoint first got a URL; the URL is hidden before that.</summary>
    public bool Provisioned { get; set; }
    public DateTimeOffset LastRequest { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public bool Deleted { get; set; }
    public DateTimeOffset? DeletedAt { get; set; }
    public Meter Meter { get; set; } = new();
    /// <summary>Data-plane responses by status code, for open-metrics.</summary>
    public SortedDictionary<int, long> Requests { get; set; } = [];
    /// <summary>The replicas now up (booting, serving, or failed); stopped ones leave only their log lines.</summary>
    public List<Replica> Replicas { get; set; } = [];

    // Kept in memory only: forgotten on restart and on /_emulator/reset.
    [JsonIgnore] public List<LogLine> Logs { get; } = [];
    [JsonIgnore] public long NextLogSeq { get; set; } = 1;
    [JsonIgnore] public List<ServedRequest> Served { get; } = [];
    /// <summary>Data-plane arrivals in the last service minute, for the load rule.</summary>
    [JsonIgnore] public Queue<DateTimeOffset> Arrivals { get; } = new();
    /// <summary>What really happened, at its exact time: every change of state or of the replicas up, and the deletion
    /// (<c>GET /_emulator/changes</c>, and the metrics' running spans).</summary>
    [JsonIgnore] public List<TrueChange> History { get; } = [];
    [JsonIgnore] public List<Snapshot> Snapshots { get; } = [];
    [JsonIgnore] public int NextReplica { get; set; }
    /// <summary>The last rendered response and the base URL it was rendered for; cleared on every change.
    /// Reads far outnumber changes, and rendering is most of a GET's cost.</summary>
    [JsonIgnore] public (string BaseUrl, string Json)? Rendered { get; set; }

    public int ExtraReplicas => Replicas.Count(r => r.Extra);

    /// <summary>Replicas billed while the endpoint is in a billed state.</summary>
    public int BilledReplicas => Spec.Replicas + ExtraReplicas;
}

/// <summary>What a control-plane read shows of an endpoint at one instant (<c>--stale-read-ms</c> keeps a few).</summary>
/// <summary>One true change: the state entered, or the replicas up (a read's target count) changed, at its exact time.</summary>
sealed record TrueChange(DateTimeOffset At, string State, int Replicas);

sealed record Snapshot(DateTimeOffset At, string State, EndpointSpec Spec, DateTimeOffset UpdatedAt, bool UrlShown, int ReadyReplica, int TargetReplica);

/// <summary>What the data plane needs to know about an endpoint, copied out of the lock.</summary>
readonly record struct DataPlaneView(string State, string Type, string HealthRoute, string Repository, string? Task, bool Waking);

/// <summary>A log query: <c>tail</c>, <c>from</c>/<c>to</c> (inclusive), <c>replica</c>, <c>line_max_length</c>.</summary>
sealed record LogQuery(int? Tail, DateTimeOffset? From, DateTimeOffset? To, string? Replica, int? LineMaxLength);

/// <summary>All endpoints, one lock. Every operation takes the lock, brings the touched endpoints up to
/// "now" (<see cref="Advance"/>), acts, persists if it changed something, and renders, so parallel
/// clients never see a half-made change.</summary>
sealed class EndpointStore
{
    const int DefaultIdleMinutes = 60; // the UI default, for minReplica 0 without scaleToZeroTimeout
    const int MaxLogLines = 20_000, MaxServed = 200_000, MaxHistory = 10_000; // per endpoint, so a long run cannot exhaust memory
    static readonly JsonSerializerOptions FileJson = new() { WriteIndented = true };

    readonly Lock _gate = new();
    readonly List<EndpointRecord> _records = [];
    readonly EmulatorOptions _options;
    readonly TimeProvider _time;
    readonly TimeSpan _boot, _minute, _stale;
    readonly JsonObject _user;

    public EndpointStore(EmulatorOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _boot = TimeSpan.FromSeconds(options.BootSeconds);
        _minute = TimeSpan.FromSeconds(options.SecondsPerMinute);
        _stale = TimeSpan.FromMilliseconds(options.StaleReadMs);
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

    // ---- control plane ----

    /// <summary>A namespace's listing: all of it, or under <c>--list-page-size</c> page <paramref name="page"/> (from 1) and whether more follow.</summary>
    public (string Json, bool More) List(string ns, string baseUrl, int page = 1)
    {
        lock (_gate)
        {
            var now = Now;
            var all = Readable(ns, now).ToList();
            int size = _options.ListPageSize;
            var shown = size > 0 ? all.Skip((int)Math.Min(int.MaxValue, (long)(page - 1) * size)).Take(size) : all;
            var items = shown.Select(r => r.Snapshot is { } s ? Render(r.Record, s, baseUrl) : Render(r.Record, baseUrl));
            return ($"{{\"items\":[{string.Join(',', items)}]}}", size > 0 && (long)page * size < all.Count);
        }
    }

    public string Get(string ns, string name, string baseUrl)
    {
        lock (_gate)
        {
            var now = Now;
            if (_stale <= TimeSpan.Zero) return Render(Advance(Find(ns, name), now), baseUrl);
            var (e, snapshot) = Readable(ns, now).FirstOrDefault(r => r.Record.Spec.Name == name);
            return e is null ? throw NotFound(ns, name) : Render(e, snapshot!, baseUrl);
        }
    }

    /// <summary>The endpoints a read shows: the live ones, or under <c>--stale-read-ms</c> each as it was that
    /// long ago (one created since is not there yet; one deleted since still is).</summary>
    IEnumerable<(EndpointRecord Record, Snapshot? Snapshot)> Readable(string ns, DateTimeOffset now)
    {
        if (_stale <= TimeSpan.Zero)
        {
            foreach (var e in Live(ns)) yield return (Advance(e, now), null);
            yield break;
        }
        var asOf = now - _stale;
        foreach (var e in _records.Where(e => e.Namespace == ns && (!e.Deleted || e.DeletedAt > asOf)))
        {
            if (!e.Deleted) Advance(e, now);
            // Loaded from a state file: no history, so the present is all there is.
            var snapshot = e.Snapshots.Count == 0 ? Capture(e, now) : e.Snapshots.LastOrDefault(s => s.At <= asOf);
            if (snapshot is not null) yield return (e, snapshot);
        }
    }

    public string Create(string ns, EndpointSpec spec, string baseUrl)
    {
        lock (_gate)
        {
            if (Live(ns).Any(e => e.Spec.Name == spec.Name))
                throw new ApiException(409, $"An endpoint named '{spec.Name}' already exists in namespace '{ns}'");
            var now = Now;
            EnsureQuota(ns, spec, null, now);
            var e = new EndpointRecord
            {
                Namespace = ns, Spec = spec, CreatedAt = now, UpdatedAt = now, LastRequest = now, Meter = new() { BilledUntil = now },
                UrlId = Replica.RandomText(16, "abcdefghijklmnopqrstuvwxyz0123456789"),
            };
            StartBoot(e, now, byUser: true);
            _records.Add(e);
            Changed(e, now);
            Save();
            return Render(e, baseUrl);
        }
    }

    public string Update(string ns, string name, JsonObject patch, string baseUrl) => Act(ns, name, baseUrl, (e, now) =>
    {
        var spec = e.Spec.Merge(patch);
        if (HoldsQuota(e.State)) EnsureQuota(ns, spec, e, now);
        e.Spec = spec;
        e.UpdatedAt = now;
        var fails = e.Spec.ImageFails;
        switch (e.State)
        {
            case EndpointState.Running or EndpointState.Updating or EndpointState.UpdateFailed:
                // New replicas replace the old ones.
                StopReplicas(e, now, _ => true);
                AddReplicas(e, now, e.Spec.Replicas);
                e.BootStarted = now;
                e.BootTarget = fails ? EndpointState.UpdateFailed : EndpointState.Running;
                e.Waking = false;
                Enter(e, EndpointState.Updating, now, byUser: true);
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
            var now = Now;
            var e = Advance(Find(ns, name), now);
            StopReplicas(e, now, _ => true);
            e.Deleted = true; // kept for the billing report, without the secrets it no longer needs
            e.DeletedAt = now;
            e.History.Add(new TrueChange(now, "deleted", 0));
            e.Spec = e.Spec.Scrubbed();
            e.Rendered = null;
            Save();
        }
    }

    public string Pause(string ns, string name, string baseUrl) => Act(ns, name, baseUrl, (e, now) =>
    {
        // Pausing a paused endpoint is a no-op; a failed one has nothing running to stop.
        if (e.State is EndpointState.Paused or EndpointState.Failed) return;
        StopReplicas(e, now, _ => true);
        Enter(e, EndpointState.Paused, now, byUser: true);
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
                // --resume-scaling reset: the previous scaling is lost (scaleToZeroTimeout too, as it is only valid with minReplica 0).
                var spec = _options.ResumeKeepsScaling ? e.Spec : e.Spec with { MinReplica = 1, MaxReplica = 1, ScaleToZeroTimeout = null };
                EnsureQuota(ns, spec, e, now);
                e.Spec = spec;
                StartBoot(e, now, byUser: true);
                break;
            case EndpointState.ScaledToZero:
                StartBoot(e, now, byUser: true);
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
                StopReplicas(e, now, _ => true);
                Enter(e, EndpointState.ScaledToZero, now, byUser: true);
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

    // ---- quota ----

    /// <summary>Scaled-to-zero endpoints count toward quota, paused (and failed) ones do not.</summary>
    static bool HoldsQuota(string state) => state is not (EndpointState.Paused or EndpointState.Failed);

    /// <summary>What an endpoint reserves: <c>maxReplica</c> × accelerators per replica.</summary>
    static int Reserved(EndpointSpec spec) => spec.MaxReplica * (spec.Compute?.NumAccelerators ?? 0);

    /// <summary>Accelerators held per instance type in a namespace.</summary>
    public Dictionary<string, int> UsedAccelerators(string ns)
    {
        lock (_gate)
        {
            var now = Now;
            return Live(ns).Select(e => Advance(e, now)).Where(e => HoldsQuota(e.State))
                .GroupBy(e => e.Spec.InstanceType)
                .ToDictionary(g => g.Key, g => g.Sum(e => Reserved(e.Spec)));
        }
    }

    /// <summary>Under <c>--quota enforce</c>, a start or change beyond the catalog's maxAccelerators is a 403
    /// naming the quota and its use, as the service's "out of GPU quota" is.</summary>
    void EnsureQuota(string ns, EndpointSpec spec, EndpointRecord? self, DateTimeOffset now)
    {
        if (!_options.EnforceQuota || spec.Compute is not { } compute) return;
        var used = Live(ns).Where(e => e != self).Select(e => Advance(e, now))
            .Where(e => HoldsQuota(e.State) && e.Spec.InstanceType == spec.InstanceType)
            .Sum(e => Reserved(e.Spec));
        var needed = Reserved(spec);
        if (used + needed > compute.MaxAccelerators)
            throw new ApiException(403,
                $"Out of {compute.Accelerator.ToUpperInvariant()} quota for {spec.InstanceType} in namespace '{ns}': endpoint '{spec.Name}' needs {needed} " +
                $"accelerator(s) (maxReplica {spec.MaxReplica} x {compute.NumAccelerators}), and {used} of the quota of {compute.MaxAccelerators} are in use. " +
                "Pause or delete another endpoint, lower maxReplica, or ask for more quota.");
    }

    // ---- data plane ----

    public DataPlaneView? Peek(string ns, string name)
    {
        lock (_gate)
            return Live(ns).FirstOrDefault(e => e.Spec.Name == name) is { } e ? View(Advance(e, Now)) : null;
    }

    /// <summary>The endpoint a random data-plane URL belongs to.</summary>
    public (string Namespace, string Name)? ResolveUrlId(string id)
    {
        lock (_gate)
            return _records.FirstOrDefault(e => !e.Deleted && e.UrlId == id) is { } e ? (e.Namespace, e.Spec.Name) : null;
    }

    /// <summary>A data-plane request arrived: it resets the idle timer, wakes a scaled-to-zero endpoint, and
    /// counts toward the load rule: above <c>--scale-up-requests</c> per replica in the last service minute,
    /// one more replica starts (up to maxReplica).</summary>
    public DataPlaneView Touch(string ns, string name)
    {
        lock (_gate)
        {
            var now = Now;
            var e = Advance(Find(ns, name), now);
            e.LastRequest = now;
            if (e.State == EndpointState.ScaledToZero)
            {
                StartBoot(e, now, byUser: false);
                Save();
            }
            else if (e.State == EndpointState.Running)
            {
                while (e.Arrivals.TryPeek(out var oldest) && oldest <= now - _minute) e.Arrivals.Dequeue();
                e.Arrivals.Enqueue(now);
                var replicas = e.BilledReplicas;
                if (replicas < e.Spec.MaxReplica && e.Arrivals.Count > _options.ScaleUpRequests * replicas)
                {
                    foreach (var replica in AddReplicas(e, now, 1, extra: true)) replica.ReadyDue = now + _boot * 0.8;
                    Changed(e, now);
                }
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

    /// <summary>A replica answered a request: one access line on a serving replica (round robin), and a point for the metrics.</summary>
    /// <param name="at">When the replica took the request: its access line and its metrics point carry that time, not the
    /// moment this runs (after the answer went out, when a test's clock may have moved on).</param>
    public void Served(string ns, string name, string method, string path, int status, double milliseconds, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (Live(ns).FirstOrDefault(e => e.Spec.Name == name) is not { } e) return;
            Advance(e, Now);
            var serving = e.Replicas.Where(r => r.ReadyAt is not null && r.FailedAt is null).ToList();
            var replica = serving.Count > 0 ? serving[e.NextReplica++ % serving.Count].Id : e.Replicas.FirstOrDefault()?.Id ?? "";
            Log(e, at, replica, ContainerScript.Access(method, path, status, milliseconds));
            e.Served.Add(new ServedRequest(at, status, milliseconds));
            Trim(e.Served, MaxServed);
        }
    }

    // ---- logs, replicas, metrics ----

    /// <summary>The record itself, for a streamed answer that must notice a delete while it runs.</summary>
    public EndpointRecord Record(string ns, string name)
    {
        lock (_gate) return Find(ns, name);
    }

    /// <summary>Lines after <paramref name="afterSeq"/> that the query selects, whether more may come (the
    /// replica, or any replica when none is named, is still up), and the cursor to ask for the next ones.</summary>
    public (List<LogLine> Lines, bool More, long Cursor) Logs(EndpointRecord e, LogQuery query, long afterSeq)
    {
        lock (_gate)
        {
            var now = Now;
            if (!e.Deleted) Advance(e, now);
            if (query.Replica is { } id && !e.Replicas.Any(r => r.Id == id) && !e.Logs.Any(l => l.Replica == id))
                throw new ApiException(404, $"Replica '{id}' not found for endpoint '{e.Spec.Name}' in namespace '{e.Namespace}'");
            // --failed-logs build-only: a failed endpoint has no container logs, only its build lines.
            var buildOnly = _options.FailedLogsBuildOnly && e.State is EndpointState.Failed or EndpointState.UpdateFailed;
            IEnumerable<LogLine> lines = e.Logs.Where(l => l.Seq > afterSeq && (!buildOnly || l.Build) && (query.Replica is null || l.Replica == query.Replica)
                && (query.From is not { } from || l.Time >= from) && (query.To is not { } to || l.Time <= to));
            var selected = lines.ToList();
            if (query.Tail is { } tail && selected.Count > tail) selected.RemoveRange(0, selected.Count - tail);
            var more = !e.Deleted && (query.Replica is { } replica
                ? e.Replicas.Any(r => r.Id == replica && r.FailedAt is null)
                : e.State is EndpointState.Pending or EndpointState.Initializing or EndpointState.Running or EndpointState.Updating);
            return (selected, more, Math.Max(afterSeq, e.NextLogSeq - 1));
        }
    }

    public JsonObject ReplicaList(string ns, string name)
    {
        lock (_gate)
        {
            var e = Advance(Find(ns, name), Now);
            return new JsonObject { ["items"] = new JsonArray(e.Replicas.Select(r => (JsonNode)r.ToJson()).ToArray()) };
        }
    }

    /// <summary>The served requests and state history of one endpoint, copied out of the lock for <see cref="Metrics"/>.</summary>
    public (List<ServedRequest> Served, List<(DateTimeOffset At, string State)> History) MetricInputs(string ns, string name)
    {
        lock (_gate)
        {
            var e = Advance(Find(ns, name), Now);
            return (e.Served.ToList(), e.History.Count > 0 ? e.History.Select(h => (h.At, h.State)).ToList() : [(e.StateSince, e.State)]);
        }
    }

    // ---- admin ----

    public JsonObject BillingReport()
    {
        lock (_gate)
        {
            var now = Now;
            foreach (var e in _records.Where(e => !e.Deleted)) Advance(e, now);
            return Billing.Report(_records);
        }
    }

    /// <summary>The <c>GET /_emulator/changes</c> document: each endpoint's true changes, oldest first, so that a test
    /// can hold every bound the module gives against the truth.</summary>
    public JsonObject ChangesReport()
    {
        lock (_gate)
        {
            var now = Now;
            foreach (var e in _records.Where(e => !e.Deleted)) Advance(e, now);
            return new JsonObject
            {
                ["endpoints"] = new JsonArray(_records.Select(e => (JsonNode)new JsonObject
                {
                    ["namespace"] = e.Namespace,
                    ["name"] = e.Spec.Name,
                    ["deleted"] = e.Deleted,
                    ["changes"] = new JsonArray(e.History.Select(h => (JsonNode)new JsonObject
                    {
                        ["time"] = Http.Timestamp(h.At), ["state"] = h.State, ["replicas"] = h.Replicas,
                    }).ToArray()),
                }).ToArray()),
            };
        }
    }

    /// <summary>Test set-up: moves an endpoint's service stamps (createdAt, updatedAt) and/or its replicas' start times
    /// back by <paramref name="by"/>, as if that had happened earlier. The state machine and the meter are untouched.</summary>
    public JsonObject Backdate(string ns, string name, TimeSpan by, bool stamps, bool replicas)
    {
        lock (_gate)
        {
            var e = Advance(Find(ns, name), Now);
            if (stamps)
            {
                e.CreatedAt -= by;
                e.UpdatedAt -= by;
            }
            if (replicas)
                foreach (var r in e.Replicas)
                {
                    r.StartedAt -= by;
                    if (r.InitializedAt is { } initialized) r.InitializedAt = initialized - by;
                    if (r.ReadyAt is { } ready) r.ReadyAt = ready - by;
                }
            Changed(e, Now);
            Save();
            return new JsonObject
            {
                ["createdAt"] = Http.Timestamp(e.CreatedAt), ["updatedAt"] = Http.Timestamp(e.UpdatedAt),
                ["replicas"] = new JsonArray(e.Replicas.Select(r => (JsonNode)r.ToJson()).ToArray()),
            };
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
            Changed(e, now);
            Save();
            return Render(e, baseUrl);
        }
    }

    IEnumerable<EndpointRecord> Live(string ns) => _records.Where(e => !e.Deleted && e.Namespace == ns);

    EndpointRecord Find(string ns, string name) => Live(ns).FirstOrDefault(e => e.Spec.Name == name) ?? throw NotFound(ns, name);

    static ApiException NotFound(string ns, string name) => new(404, $"Endpoint '{name}' not found in namespace '{ns}'");

    static DataPlaneView View(EndpointRecord e) => new(e.State, e.Spec.Type, e.Spec.HealthRoute, e.Spec.Repository, e.Spec.Task, e.Waking);

    // ---- the state machine ----

    void StartBoot(EndpointRecord e, DateTimeOffset now, bool byUser)
    {
        e.Waking = e.State == EndpointState.ScaledToZero;
        StopReplicas(e, now, _ => true);
        AddReplicas(e, now, e.Spec.Replicas);
        e.BootStarted = now;
        e.BootTarget = e.Spec.ImageFails ? EndpointState.Failed : EndpointState.Running;
        Enter(e, EndpointState.Pending, now, byUser);
    }

    /// <param name="byUser">A user's request caused it; under <c>--updated-at actions</c> only these stamp updatedAt.</param>
    void Enter(EndpointRecord e, string state, DateTimeOffset at, bool byUser)
    {
        Billing.Accrue(e, at);
        e.State = state;
        e.StateSince = at;
        if (byUser || !_options.UpdatedAtOnActionsOnly) e.UpdatedAt = at;
        if (state == (_options.UrlFromRunning ? EndpointState.Running : EndpointState.Initializing) || state == EndpointState.ScaledToZero && !_options.UrlFromRunning)
            e.Provisioned = true;
        switch (state)
        {
            case EndpointState.Initializing or EndpointState.Updating:
                foreach (var r in e.Replicas.Where(r => r.InitializedAt is null)) StartContainer(e, r, at);
                break;
            case EndpointState.Running:
                e.Waking = false;
                foreach (var r in e.Replicas.Where(r => r.ReadyAt is null)) MarkReady(e, r, at);
                break;
            case EndpointState.Failed or EndpointState.UpdateFailed:
                e.Waking = false;
                foreach (var r in e.Replicas.Where(r => r.FailedAt is null))
                {
                    r.FailedAt = at;
                    foreach (var (text, build) in ContainerScript.Failure(e.Spec)) Log(e, at, r.Id, text, build);
                }
                break;
        }
        Changed(e, at);
    }

    List<Replica> AddReplicas(EndpointRecord e, DateTimeOffset at, int count, bool extra = false)
    {
        Billing.Accrue(e, at);
        var added = Enumerable.Range(0, count).Select(_ => new Replica { Id = Replica.NewId(e.Spec.Name), StartedAt = at, Extra = extra }).ToList();
        e.Replicas.AddRange(added);
        // An extra replica joins a running endpoint: its container starts at once.
        if (extra) foreach (var r in added) StartContainer(e, r, at);
        return added;
    }

    void StartContainer(EndpointRecord e, Replica r, DateTimeOffset at)
    {
        r.InitializedAt = at;
        foreach (var (text, build) in ContainerScript.Start(e.Spec, r.Id)) Log(e, at, r.Id, text, build);
    }

    void MarkReady(EndpointRecord e, Replica r, DateTimeOffset at)
    {
        r.ReadyAt = at;
        foreach (var (text, build) in ContainerScript.Ready(e.Spec)) Log(e, at, r.Id, text, build);
    }

    void StopReplicas(EndpointRecord e, DateTimeOffset at, Func<Replica, bool> which)
    {
        Billing.Accrue(e, at);
        foreach (var r in e.Replicas.Where(which).ToList())
        {
            if (r.FailedAt is null && r.InitializedAt is not null)
                foreach (var (text, build) in ContainerScript.Stop()) Log(e, at, r.Id, text, build);
            e.Replicas.Remove(r);
        }
        e.Arrivals.Clear();
    }

    static void Log(EndpointRecord e, DateTimeOffset at, string replica, string text, bool build = false)
    {
        e.Logs.Add(new LogLine(e.NextLogSeq++, at, replica, text, build));
        Trim(e.Logs, MaxLogLines);
    }

    /// <summary>Keeps the newest <paramref name="max"/> items, trimming in batches (a tenth over the limit) so a
    /// busy endpoint does not shift the whole list on every request.</summary>
    static void Trim<T>(List<T> list, int max)
    {
        if (list.Count > max + max / 10) list.RemoveRange(0, list.Count - max);
    }

    enum Event { Initialize, EndBoot, IdleScaleToZero, ExtraReady, ScaleDown }

    /// <summary>The next timed event, if any: boot phases (20% pending, 80% initializing), the end of an update,
    /// an extra replica's boot, the scale-down of extra replicas one service minute after the last request,
    /// and the idle scale-to-zero of a running endpoint with minReplica 0.</summary>
    (DateTimeOffset At, Event Event)? Next(EndpointRecord e)
    {
        switch (e.State)
        {
            case EndpointState.Pending:
                return (e.BootStarted + _boot * 0.2, Event.Initialize);
            case EndpointState.Initializing or EndpointState.Updating:
                return (e.BootStarted + _boot, Event.EndBoot);
            case EndpointState.Running:
                (DateTimeOffset, Event)? next = null;
                void Consider(DateTimeOffset at, Event ev)
                {
                    if (next is not { } n || at < n.Item1) next = (at, ev);
                }
                var idleSince = e.LastRequest > e.StateSince ? e.LastRequest : e.StateSince;
                foreach (var r in e.Replicas.Where(r => r.Extra && r.ReadyAt is null)) Consider(r.ReadyDue, Event.ExtraReady);
                if (e.ExtraReplicas > 0) Consider(idleSince + _minute, Event.ScaleDown);
                if (e.Spec.MinReplica == 0) Consider(idleSince + _minute * (e.Spec.ScaleToZeroTimeout ?? DefaultIdleMinutes), Event.IdleScaleToZero);
                return next;
            default:
                return null;
        }
    }

    /// <summary>Applies every event due by <paramref name="now"/> at its exact time, billing each span.</summary>
    EndpointRecord Advance(EndpointRecord e, DateTimeOffset now)
    {
        while (Next(e) is { } next && next.At <= now)
        {
            switch (next.Event)
            {
                case Event.Initialize:
                    Enter(e, EndpointState.Initializing, next.At, byUser: false);
                    break;
                case Event.EndBoot:
                    Enter(e, e.BootTarget, next.At, byUser: false);
                    break;
                case Event.IdleScaleToZero:
                    StopReplicas(e, next.At, _ => true);
                    Enter(e, EndpointState.ScaledToZero, next.At, byUser: false);
                    break;
                case Event.ExtraReady:
                    var replica = e.Replicas.Where(r => r.Extra && r.ReadyAt is null).MinBy(r => r.ReadyDue)!;
                    Billing.Accrue(e, next.At);
                    MarkReady(e, replica, next.At);
                    Changed(e, next.At);
                    break;
                case Event.ScaleDown:
                    StopReplicas(e, next.At, r => r.Extra);
                    Changed(e, next.At);
                    break;
            }
        }
        Billing.Accrue(e, now);
        return e;
    }

    /// <summary>Called after every change: drops the cached rendering and, under <c>--stale-read-ms</c>,
    /// records what a read shows from <paramref name="at"/> on (keeping only what reads can still ask for).</summary>
    void Changed(EndpointRecord e, DateTimeOffset at)
    {
        e.Rendered = null;
        var replicas = Capture(e, at).TargetReplica;
        if (e.History.Count == 0 || e.History[^1].State != e.State || e.History[^1].Replicas != replicas)
        {
            e.History.Add(new TrueChange(at, e.State, replicas));
            Trim(e.History, MaxHistory);
        }
        if (_stale <= TimeSpan.Zero) return;
        e.Snapshots.Add(Capture(e, at));
        var horizon = Now - _stale;
        while (e.Snapshots.Count > 1 && e.Snapshots[1].At <= horizon) e.Snapshots.RemoveAt(0);
    }

    Snapshot Capture(EndpointRecord e, DateTimeOffset at)
    {
        var up = e.State is EndpointState.Pending or EndpointState.Initializing or EndpointState.Running or EndpointState.Updating;
        // --url-from running: no URL while a boot is under way, even one the endpoint had before.
        var urlShown = e.Provisioned && e.State is not (EndpointState.Paused or EndpointState.Failed)
            && !(_options.UrlFromRunning && e.State is EndpointState.Pending or EndpointState.Initializing);
        var ready = e.State == EndpointState.Running ? e.Spec.Replicas + e.Replicas.Count(r => r.Extra && r.ReadyAt is not null) : 0;
        return new Snapshot(at, e.State, e.Spec, e.UpdatedAt, urlShown, ready, up ? e.BilledReplicas : 0);
    }

    string Render(EndpointRecord e, string baseUrl)
    {
        if (e.Rendered is { } cached && cached.BaseUrl == baseUrl) return cached.Json;
        var json = Render(e, Capture(e, Now), baseUrl);
        e.Rendered = (baseUrl, json);
        return json;
    }

    string Render(EndpointRecord e, Snapshot s, string baseUrl)
    {
        var json = s.Spec.ToJson(forResponse: true);
        json.Insert(4, "healthRoute", s.Spec.HealthRoute); // after provider, as the service orders it
        json["status"] = new JsonObject
        {
            ["createdAt"] = Http.Timestamp(e.CreatedAt),
            ["createdBy"] = _user.DeepClone(),
            ["updatedAt"] = Http.Timestamp(s.UpdatedAt),
            ["updatedBy"] = _user.DeepClone(),
            ["private"] = null,
            ["state"] = s.State,
            ["message"] = EndpointState.Message(s.State),
            ["url"] = s.UrlShown ? DataPlaneUrl(e, baseUrl) : null,
            ["readyReplica"] = s.ReadyReplica,
            ["targetReplica"] = s.TargetReplica,
        };
        return Http.Serialize(json);
    }

    string DataPlaneUrl(EndpointRecord e, string baseUrl) => _options.RandomUrls
        ? $"{baseUrl}/e/{e.UrlId}"
        : $"{baseUrl}/endpoints/{Uri.EscapeDataString(e.Namespace)}/{e.Spec.Name}";

    // ---- persistence ----

    sealed record StateFile(List<EndpointRecord> Endpoints);

    /// <summary>Called under the lock after every change: write a temp file beside the target (owner-only: it
    /// holds the endpoints' secrets), then rename over it, so a crash leaves either the old or the new file.</summary>
    void Save()
    {
        if (_options.StateFile is not { } path) return;
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temp, options))
                JsonSerializer.Serialize(stream, new StateFile(_records), FileJson);
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
            // Files written before random URLs existed.
            foreach (var e in _records.Where(e => e.UrlId.Length == 0)) e.UrlId = Replica.RandomText(16, "abcdefghijklmnopqrstuvwxyz0123456789");
        }
        catch (Exception e) when (e is JsonException or ApiException or NotSupportedException)
        {
            throw new InvalidOperationException($"State file '{path}' cannot be read: {e.Message}", e);
        }
    }
}
