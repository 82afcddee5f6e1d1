using System.Globalization;

namespace MertEndpoint.Recording;

/// <summary>What the scripted session creates and how closely it watches.</summary>
public sealed class SessionOptions
{
    /// <summary>Null: the token's own namespace (whoami).</summary>
    public string? Namespace { get; set; }
    public string Repository { get; set; } = "sentence-transformers/all-MiniLM-L6-v2";
    public string Task { get; set; } = "feature-extraction";
    public string Framework { get; set; } = "pytorch";
    public int IdleTimeoutMinutes { get; set; } = 15;
    /// <summary>How long the 100 ms reads go on after each action (long enough for a stale read to show).</summary>
    public TimeSpan FastReads { get; set; } = TimeSpan.FromSeconds(5);
    public TimeSpan FastInterval { get; set; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan SlowInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>The most one wait for a state may take (a first boot of the real service takes minutes).</summary>
    public TimeSpan StateTimeout { get; set; } = TimeSpan.FromMinutes(20);
    /// <summary>The hard deadline of the whole session; the clean-up runs after it.</summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromMinutes(60);
    /// <summary>Scale the endpoint to zero and send one request to wake it (shows the waking status).</summary>
    public bool ScaleToZero { get; set; } = true;
    public string Tag { get; set; } = "mert-recording";
}

/// <summary>What the session will cost, shown before it starts.</summary>
public sealed record Plan(string Namespace, string Name, HardwareInfo Hardware, TimeSpan Expected)
{
    public decimal? ExpectedCost => Hardware.PricePerHour is decimal p ? Math.Round(p * (decimal)Expected.TotalHours, 4) : null;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"create '{Namespace}/{Name}' on {Hardware.Id} ({Hardware.Instance}, {Hardware.Accelerator}) at {(Hardware.PricePerHour is decimal p ? $"${p:0.###}/h" : "an unknown price")}; "
        + $"about {Expected.TotalMinutes:0} min billed, so about {(ExpectedCost is decimal c ? $"${c:0.####}" : "an unknown amount")}");
}

/// <summary>
/// The scripted session of docs/RECORDING.md, through the module's own client: create, watch, probe, pause, resume,
/// update, logs, metrics, replicas, scale to zero and wake, delete. Whatever happens (an error, Ctrl+C, the deadline)
/// it pauses and deletes the endpoint it created, and says so; it never touches another one (a unique name and a tag).
/// </summary>
public sealed class RecordedSession(EndpointClient client, RecordingHandler recorder, SessionOptions options, TextWriter log)
{
    private string _ns = "";
    private string _name = "";

    /// <summary>Whether the session created an endpoint that it could not delete (the caller must say so loudly).</summary>
    public bool LeftBehind { get; private set; }

    public async Task RunAsync(Func<Plan, bool> confirm, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(options.Deadline);
        var t = deadline.Token;
        Step("whoami");
        _ns = await client.ResolveNamespaceAsync(options.Namespace, t);
        Step("catalog");
        var cpu = (await client.GetHardwareAsync(_ns, t))
            .Where(h => h.Accelerator.Equals("cpu", StringComparison.OrdinalIgnoreCase) && h.PricePerHour != null)
            .OrderBy(h => h.PricePerHour).ThenBy(h => h.NumCpus).FirstOrDefault()
            ?? throw new InvalidOperationException("The catalog offers no CPU instance with a price.");
        _name = "mert-rec-" + Guid.NewGuid().ToString("n")[..8];
        // Boots (create, resume, update, wake) of a few minutes each on the real service, plus the reads around them.
        var plan = new Plan(_ns, _name, cpu, TimeSpan.FromMinutes(15));
        if (!confirm(plan)) { log.WriteLine("Not started."); return; }

        bool created = false;
        try
        {
            Step("create");
            created = true; // from here on the endpoint may exist, even if the create's answer is lost
            var spec = new EndpointCreateSpec
            {
                Name = _name, Repository = options.Repository, Task = options.Task, Framework = options.Framework,
                Accelerator = cpu.Accelerator, Vendor = cpu.Vendor, Region = cpu.Region, InstanceType = cpu.InstanceType,
                InstanceSize = cpu.InstanceSize, MinReplica = 0, MaxReplica = 1, ScaleToZeroTimeout = options.IdleTimeoutMinutes,
                Tags = [options.Tag],
            };
            var endpoint = await client.CreateAsync(_ns, spec, t);
            Say($"created {_ns}/{_name} ({endpoint.StatusText})");
            endpoint = await WatchAsync("after create", s => s == "running", t) ?? endpoint;

            Step("probe");
            if (endpoint.Url is string url) await TryAsync("probe", async () => Say($"probe: {await client.ProbeAsync(url, endpoint.HealthRoute, t)}"), t);

            Step("pause");
            await client.PauseAsync(_ns, _name, t);
            await WatchAsync("after pause", s => s == "paused", t);

            Step("resume");
            await client.ResumeAsync(_ns, _name, t);
            endpoint = await WatchAsync("after resume", s => s == "running", t) ?? endpoint;

            // One setting changed (maxReplica), with the idle timeout restored as the module's own start does after a resume
            // (under --resume-scaling reset the resume dropped it, and a scale to zero needs minReplica 0).
            Step("update");
            await client.UpdateAsync(_ns, _name, new EndpointUpdateSpec { MinReplica = 0, MaxReplica = 2, ScaleToZeroTimeout = options.IdleTimeoutMinutes }, t);
            endpoint = await WatchAsync("after update", s => s == "running", t) ?? endpoint;

            Step("logs");
            await TryAsync("logs", async () => Say($"logs: {(await client.GetLogsAsync(_ns, _name, 100, t)).Count} lines"), t);
            Step("metrics");
            var now = DateTimeOffset.UtcNow;
            await TryAsync("metrics", async () => Say($"metrics: {(await client.GetMetricAsync(_ns, _name, "request-count", now.AddMinutes(-30), now, "1m", t)).Points.Count} points"), t);
            Step("replicas");
            await TryAsync("replicas", async () => Say($"replicas: {(await client.GetReplicasAsync(_ns, _name, t)).Count}"), t);

            if (options.ScaleToZero)
            {
                Step("scale-to-zero");
                await TryAsync("scale to zero", async () =>
                {
                    await client.ScaleToZeroAsync(_ns, _name, t);
                    Step("wake");
                    // One request without X-Scale-Up-Timeout: the waking status (503 or 502) is the reading.
                    if (endpoint.Url is string wake) Say($"request while scaled to zero: {await client.ProbeAsync(wake, endpoint.HealthRoute, t)}");
                    await WatchAsync("after the wake-up request", s => s is "running" or "initializing" or "pending", t);
                }, t);
            }

            Step("pause");
            await client.PauseAsync(_ns, _name, t);
            await WatchAsync("after the last pause", s => s == "paused", t);
            Step("delete");
            await client.DeleteAsync(_ns, _name, confirm: false, t); // its own reads follow (step 7), recorded
            created = false;
            await WatchAsync("after delete", null, t);
        }
        finally
        {
            if (created) await CleanUpAsync();
        }
    }

    /// <summary>A step the session can do without: its failure is said and recorded, and the session goes on.</summary>
    private async Task TryAsync(string what, Func<Task> step, CancellationToken ct)
    {
        try { await step(); }
        catch (Exception ex) when (ex is EndpointException or TimeoutException && !ct.IsCancellationRequested)
        {
            Say($"{what} failed, going on: {ex.Message}");
        }
    }

    /// <summary>Pause, then delete, on a fresh deadline of its own: runs after Ctrl+C and after the session's deadline too.</summary>
    private async Task CleanUpAsync()
    {
        Step("clean-up");
        using var own = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            // No read first: a service with stale reads may still answer 404 for an endpoint it just created. Actions act on
            // the endpoint as it is: a 404 to the pause means it does not exist.
            try
            {
                await client.PauseAsync(_ns, _name, own.Token);
                Say($"clean-up: paused {_ns}/{_name}");
            }
            catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound)
            {
                Say($"clean-up: {_ns}/{_name} does not exist (nothing left behind)");
                return;
            }
            catch (EndpointException ex)
            {
                Say($"clean-up: the pause failed ({ex.Message}); deleting anyway");
            }
            await client.DeleteAsync(_ns, _name, confirm: false, own.Token);
            Say($"clean-up: deleted {_ns}/{_name}");
        }
        catch (Exception ex)
        {
            LeftBehind = true;
            Say($"CLEAN-UP FAILED: {_ns}/{_name} may still exist and bill ({ex.Message}). Delete it: Remove-MertEndpoint -Namespace {_ns} -Name {_name}");
        }
    }

    /// <summary>
    /// Reads every 100 ms for <see cref="SessionOptions.FastReads"/>, then every second until <paramref name="done"/> holds
    /// for the state (null: until the endpoint is gone).
    /// </summary>
    private async Task<EndpointInfo?> WatchAsync(string what, Func<string, bool>? done, CancellationToken ct)
    {
        Step("read " + what);
        var fast = System.Diagnostics.Stopwatch.StartNew();
        var whole = System.Diagnostics.Stopwatch.StartNew();
        EndpointInfo? last = null;
        string? seen = null;
        while (true)
        {
            EndpointInfo? read = null;
            bool answered = true;
            try { read = await client.TryGetAsync(_ns, _name, ct); }
            catch (EndpointException ex) { answered = false; Say($"read failed: {ex.Message}"); }
            if (answered)
            {
                string state = read?.StatusText ?? "(not found)";
                if (state != seen) Say($"{what}: {state}{(read?.Url != null ? " " + read.Url : "")}");
                seen = state;
                if (read != null) last = read;
                bool reached = done == null ? read == null : read != null && done(read.StatusText);
                if (reached && fast.Elapsed >= options.FastReads) return last;
            }
            if (whole.Elapsed > options.StateTimeout) throw new TimeoutException($"{_ns}/{_name} did not settle {what} within {options.StateTimeout.TotalMinutes:0} min.");
            await Task.Delay(fast.Elapsed < options.FastReads ? options.FastInterval : options.SlowInterval, ct);
        }
    }

    private void Step(string step) => recorder.Step = step;

    private void Say(string line) => log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {line}"));
}
