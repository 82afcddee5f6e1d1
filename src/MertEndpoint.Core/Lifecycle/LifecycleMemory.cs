using System;
using System.Collections.Concurrent;

namespace MertEndpoint
{
    /// <summary>
    /// What this module last did to each endpoint, and when, and the last data-plane URL it saw: written synchronously by
    /// start and stop as they act, so late-read handling and the readiness URL hint never depend on the usage history
    /// having been written (a history that cannot be written no longer switches them off). One per
    /// <see cref="ClientFactory"/>: per runspace in a test host, per process otherwise. The usage history still adds what
    /// other processes did, for the rules that look across processes.
    /// </summary>
    public sealed class LifecycleMemory
    {
        private sealed class Entry
        {
            public Entry(bool stopped, DateTimeOffset at, string? url)
            {
                Stopped = stopped;
                At = at;
                Url = url;
            }

            public bool Stopped { get; }
            public DateTimeOffset At { get; }
            public string? Url { get; }
        }

        private readonly ConcurrentDictionary<string, Entry> _entries = new ConcurrentDictionary<string, Entry>(StringComparer.Ordinal);

        private static string Key(string api, string ns, string name) => api + "\n" + ns + "\n" + name;

        /// <summary>This module changed the endpoint at <paramref name="at"/>: a create or resume, or (<paramref name="stopped"/>) a pause or scale to zero.</summary>
        public void Changed(string api, string ns, string name, bool stopped, DateTimeOffset at, string? url = null) =>
            _entries.AddOrUpdate(Key(api, ns, name), _ => new Entry(stopped, at, url), (_, old) => new Entry(stopped, at, url ?? old.Url));

        /// <summary>A URL seen for it (kept across pause and resume, as the service keeps it).</summary>
        public void SawUrl(string api, string ns, string name, string? url)
        {
            if (url == null) return;
            _entries.AddOrUpdate(Key(api, ns, name), _ => new Entry(false, DateTimeOffset.MinValue, url), (_, old) => new Entry(old.Stopped, old.At, url));
        }

        /// <summary>Forgets it (deleted: a new endpoint of the same name has a new URL).</summary>
        public void Forget(string api, string ns, string name) => _entries.TryRemove(Key(api, ns, name), out _);

        public bool ChangedWithin(string api, string ns, string name, TimeSpan within, DateTimeOffset now) =>
            _entries.TryGetValue(Key(api, ns, name), out var e) && e.At != DateTimeOffset.MinValue && now - e.At < within;

        public bool StoppedWithin(string api, string ns, string name, TimeSpan within, DateTimeOffset now) =>
            _entries.TryGetValue(Key(api, ns, name), out var e) && e.Stopped && now - e.At < within;

        public string? LastUrl(string api, string ns, string name) =>
            _entries.TryGetValue(Key(api, ns, name), out var e) ? e.Url : null;
    }
}
