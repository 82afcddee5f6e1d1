using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;

namespace MertEndpoint
{
    /// <summary>One observed state of an endpoint, as kept in the usage history.</summary>
    public sealed class UsageEvent
    {
        public DateTimeOffset Time { get; internal set; }
        /// <summary>The control-plane base the endpoint lives behind, so an emulator's endpoints never mix with real ones.</summary>
        public string Api { get; internal set; } = "";
        public string Namespace { get; internal set; } = "";
        public string Name { get; internal set; } = "";
        public string State { get; internal set; } = "";
        public int Replicas { get; internal set; }
        public string? Vendor { get; internal set; }
        public string? Region { get; internal set; }
        public string? InstanceType { get; internal set; }
        public string? InstanceSize { get; internal set; }

        /// <summary>The service bills initializing and running time, per replica.</summary>
        public bool IsBilled => State == "initializing" || State == "running";
    }

    /// <summary>Billed time and estimated spend of one endpoint over a period.</summary>
    public sealed class EndpointCost
    {
        public string Namespace { get; internal set; } = "";
        public string Name { get; internal set; } = "";
        public DateTimeOffset Since { get; internal set; }
        public DateTimeOffset Until { get; internal set; }
        /// <summary>Replica-time billed in the period.</summary>
        public TimeSpan BilledTime { get; internal set; }
        public string? InstanceType { get; internal set; }
        public string? InstanceSize { get; internal set; }
        /// <summary>USD per replica-hour; null when neither the catalog nor the built-in list knows the instance.</summary>
        public decimal? PricePerHour { get; internal set; }
        /// <summary>"catalog" (live pricePerHour) or "built-in list price" (fallback).</summary>
        public string? PriceSource { get; internal set; }
        public decimal? EstimatedCost { get; internal set; }
        /// <summary>The last observed state bills; the period runs to Until.</summary>
        public bool CurrentlyBilling { get; internal set; }
        /// <summary>Start of the current billed streak, when it is billing.</summary>
        public DateTimeOffset? BilledSince { get; internal set; }
        public override string ToString() => $"{Namespace}/{Name}";
    }

    /// <summary>
    /// An append-only JSON-lines file of observed endpoint states, written whenever the module sees or causes a
    /// state change, and read back to compute billed time. Safe when several processes write at once (each write
    /// holds an exclusive lock for one short append), tolerant of a torn line (every record starts on a fresh line
    /// and unreadable lines are skipped), and it never holds the token.
    /// </summary>
    public sealed class UsageHistory
    {
        private readonly ConcurrentDictionary<string, (string State, int Replicas, DateTimeOffset Time)> _last =
            new ConcurrentDictionary<string, (string, int, DateTimeOffset)>(StringComparer.Ordinal);
        private readonly TimeProvider _time;
        private volatile Parsed? _parsed;

        /// <summary>On the system clock. The cmdlets use this one: naming a TimeProvider (Microsoft.Bcl.TimeProvider) from
        /// the cmdlet assembly would need that assembly in PowerShell's default load context, not our private one.</summary>
        public UsageHistory(string path) : this(path, null) { }

        public UsageHistory(string path, TimeProvider? timeProvider)
        {
            Path = path;
            _time = timeProvider ?? TimeProvider.System;
        }

        public string Path { get; }

        /// <summary>MERT_ENDPOINT_HISTORY_PATH, else usage.jsonl in the platform's per-user data directory.</summary>
        public static string DefaultPath()
        {
            var explicitPath = Environment.GetEnvironmentVariable("MERT_ENDPOINT_HISTORY_PATH");
            if (!string.IsNullOrWhiteSpace(explicitPath)) return explicitPath!;
            var localAppData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            if (string.IsNullOrEmpty(localAppData))
            {
                var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
                localAppData = !string.IsNullOrEmpty(xdg) ? xdg! :
                    System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
            }
            return System.IO.Path.Combine(localAppData, "MertEndpoint", "usage.jsonl");
        }

        /// <summary>
        /// Records an observed endpoint when its state or replica count differs from the last one this process saw.
        /// The event time is the service's updatedAt when that falls between the previous event and now (the
        /// service stamps state changes), else the moment of observation. Failures to write never break a call.
        /// </summary>
        internal void Observe(string api, EndpointInfo e)
        {
            var now = _time.GetUtcNow();
            var key = api + "|" + e.Namespace + "|" + e.Name;
            var replicas = e.TargetReplica;
            var known = _last.TryGetValue(key, out var last);
            if (known && last.State == e.StatusText && last.Replicas == replicas) return;
            var time = known && e.UpdatedAt > last.Time && e.UpdatedAt <= now ? e.UpdatedAt
                : !known && e.UpdatedAt <= now && e.UpdatedAt > DateTimeOffset.MinValue ? e.UpdatedAt
                : now;
            _last[key] = (e.StatusText, replicas, time);
            Append(new UsageEvent
            {
                Time = time, Api = api, Namespace = e.Namespace, Name = e.Name, State = e.StatusText, Replicas = replicas,
                Vendor = e.Vendor, Region = e.Region, InstanceType = e.InstanceType, InstanceSize = e.InstanceSize,
            });
        }

        /// <summary>Records that an endpoint was deleted: it bills no more.</summary>
        internal void ObserveDeleted(string api, string ns, string name)
        {
            _last.TryRemove(api + "|" + ns + "|" + name, out _);
            Append(new UsageEvent { Time = _time.GetUtcNow(), Api = api, Namespace = ns, Name = name, State = "deleted" });
        }

        private void Append(UsageEvent e)
        {
            var line = "\n" + JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["t"] = e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'"),
                ["api"] = e.Api, ["ns"] = e.Namespace, ["name"] = e.Name, ["state"] = e.State, ["replicas"] = e.Replicas,
                ["vendor"] = e.Vendor, ["region"] = e.Region, ["type"] = e.InstanceType, ["size"] = e.InstanceSize,
            });
            var bytes = Encoding.UTF8.GetBytes(line);
            try
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
                WithRetry(() =>
                {
                    using (var stream = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None))
                    {
                        stream.Seek(0, SeekOrigin.End);
                        stream.Write(bytes, 0, bytes.Length);
                    }
                    return true;
                });
            }
            catch (Exception)
            {
                // The history is a convenience for cost reports: a bad path or a read-only disk must never stop a
                // pause or a start.
            }
        }

        /// <summary>Every readable event, oldest first; torn or foreign lines are skipped.</summary>
        public IReadOnlyList<UsageEvent> Read()
        {
            string text;
            FileInfo file;
            try
            {
                file = new FileInfo(Path);
                if (!file.Exists) return Array.Empty<UsageEvent>();
                // Every Get-MertEndpoint reads the history: parse it again only when it has changed.
                var cached = _parsed;
                if (cached != null && cached.Length == file.Length && cached.Written == file.LastWriteTimeUtc) return cached.Events;
                text = WithRetry(() =>
                {
                    using (var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
                    using (var reader = new StreamReader(stream, Encoding.UTF8))
                        return reader.ReadToEnd();
                });
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                throw new EndpointException(EndpointErrorKind.InvalidConfiguration,
                    $"Could not read the usage history '{Path}': {ex.Message}. Check the file, or point MERT_ENDPOINT_HISTORY_PATH elsewhere.", ex);
            }
            var events = new List<UsageEvent>();
            foreach (var line in text.Split('\n'))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    using (var doc = JsonDocument.Parse(line))
                    {
                        var r = doc.RootElement;
                        events.Add(new UsageEvent
                        {
                            Time = DateTimeOffset.Parse(r.GetProperty("t").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                            Api = r.GetProperty("api").GetString() ?? "",
                            Namespace = r.GetProperty("ns").GetString() ?? "",
                            Name = r.GetProperty("name").GetString() ?? "",
                            State = r.GetProperty("state").GetString() ?? "",
                            Replicas = r.GetProperty("replicas").GetInt32(),
                            Vendor = OptionalString(r, "vendor"), Region = OptionalString(r, "region"),
                            InstanceType = OptionalString(r, "type"), InstanceSize = OptionalString(r, "size"),
                        });
                    }
                }
                catch (Exception ex) when (ex is JsonException || ex is FormatException || ex is KeyNotFoundException || ex is InvalidOperationException)
                {
                    // A torn last line (a process died mid-write) or a foreign line: skip it.
                }
            }
            var sorted = events.OrderBy(e => e.Time).ToList();
            _parsed = new Parsed(file.Length, file.LastWriteTimeUtc, sorted);
            return sorted;
        }

        private sealed class Parsed
        {
            public Parsed(long length, DateTime written, IReadOnlyList<UsageEvent> events)
            {
                Length = length;
                Written = written;
                Events = events;
            }

            public long Length { get; }
            public DateTime Written { get; }
            public IReadOnlyList<UsageEvent> Events { get; }
        }

        /// <summary>
        /// Billed replica-time per endpoint between since and until: each billed event counts until the next event of
        /// the same endpoint, and the last one until 'until' (it is still billing as far as anyone saw).
        /// </summary>
        public static IReadOnlyList<EndpointCost> Summarize(IEnumerable<UsageEvent> events, DateTimeOffset since, DateTimeOffset until)
        {
            var costs = new List<EndpointCost>();
            foreach (var group in events.GroupBy(e => (e.Namespace, e.Name)))
            {
                var list = group.OrderBy(e => e.Time).ToList();
                var billed = TimeSpan.Zero;
                DateTimeOffset? streak = null;
                for (var i = 0; i < list.Count; i++)
                {
                    var e = list[i];
                    // An update keeps the replicas up: the streak (what the guard measures) goes on through it.
                    if (!e.IsBilled) { if (e.State != "updating") streak = null; continue; }
                    streak ??= e.Time;
                    var end = i + 1 < list.Count ? list[i + 1].Time : until;
                    var from = e.Time < since ? since : e.Time;
                    var to = end > until ? until : end;
                    if (to > from) billed += TimeSpan.FromTicks((to - from).Ticks * Math.Max(1, e.Replicas));
                }
                if (list[0].Time > until) continue; // it did not exist yet in the period
                var lastEvent = list[list.Count - 1];
                costs.Add(new EndpointCost
                {
                    Namespace = group.Key.Namespace, Name = group.Key.Name, Since = since, Until = until, BilledTime = billed,
                    InstanceType = lastEvent.InstanceType ?? list.LastOrDefault(e => e.InstanceType != null)?.InstanceType,
                    InstanceSize = lastEvent.InstanceSize ?? list.LastOrDefault(e => e.InstanceSize != null)?.InstanceSize,
                    CurrentlyBilling = lastEvent.IsBilled,
                    BilledSince = lastEvent.IsBilled ? streak : null,
                });
            }
            return costs;
        }

        private static string? OptionalString(JsonElement r, string name) =>
            r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        private static T WithRetry<T>(Func<T> action)
        {
            // Another process holds the lock for one short append: wait a little and try again.
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    return action();
                }
                catch (IOException) when (attempt < 50)
                {
                    Thread.Sleep(10 + attempt * 2);
                }
            }
        }
    }
}
