using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>
    /// Token lookups (whoami-v2, strictly rate limited on the Hub), cached per token and Hub for a while. Keyed by a
    /// hash, so the token itself is never kept here. Concurrent first callers share one lookup; a failed lookup is
    /// not kept. Owned by whoever builds clients (the module keeps one per session), not by a static.
    /// </summary>
    public sealed class AccountCache
    {
        private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
        private readonly TimeSpan _lifetime;
        private readonly string? _directory;
        private readonly TimeSpan _diskLifetime;

        /// <param name="lifetime">How long an answer is kept in memory; default one hour.</param>
        /// <param name="directory">
        /// Where answers are also kept on disk, one small file per token named by a hash of the token (never the token),
        /// so that a scheduled script's every run does not ask the rate-limited whoami again; null keeps none.
        /// </param>
        /// <param name="diskLifetime">How long an answer on disk is trusted; default one day.</param>
        public AccountCache(TimeSpan? lifetime = null, string? directory = null, TimeSpan? diskLifetime = null)
        {
            _lifetime = lifetime ?? TimeSpan.FromHours(1);
            _directory = directory;
            _diskLifetime = diskLifetime ?? TimeSpan.FromDays(1);
        }

        internal Task<WhoAmI> GetAsync(string token, string hubBase, TimeProvider clock, Func<Task<WhoAmI>> fetch)
        {
            string key = Hash(token + "\n" + hubBase);
            DateTimeOffset now = clock.GetUtcNow();
            while (true)
            {
                Entry entry = _entries.GetOrAdd(key, _ => new Entry(now + _lifetime, () => FromDiskOrFetch(key, now, fetch)));
                if (entry.Expires > now || !entry.Lookup.IsValueCreated || !entry.Lookup.Value.IsCompleted)
                    return Track(key, entry);
                _entries.TryRemove(key, out _); // expired: ask again
            }
        }

        /// <summary>
        /// The account as of at most <paramref name="maxAge"/> ago, for a sweep of every namespace, which must see an
        /// organization joined since the last answer: an older answer (in memory or on disk) is asked again. When asking
        /// fails for any reason but the token being refused (a 429, an outage), the older answer is used and
        /// <paramref name="onStale"/> is told how old it is and why.
        /// </summary>
        internal async Task<WhoAmI> GetFreshAsync(string token, string hubBase, TimeProvider clock, Func<Task<WhoAmI>> fetch,
            TimeSpan maxAge, Action<TimeSpan, EndpointException> onStale)
        {
            string key = Hash(token + "\n" + hubBase);
            DateTimeOffset now = clock.GetUtcNow();
            Answer? known = _entries.TryGetValue(key, out Entry? entry) && entry.Lookup.IsValueCreated
                && entry.Lookup.Value.Status == TaskStatus.RanToCompletion ? entry.Lookup.Value.Result : null;
            string? path = FileOf(key);
            if (known == null && path != null) known = ReadFile(path, now);
            if (known != null && maxAge > TimeSpan.Zero && now - known.At <= maxAge) return known.Me; // zero: always ask
            WhoAmI me;
            try
            {
                me = await fetch().ConfigureAwait(false);
            }
            catch (EndpointException ex) when (known != null && ex.Kind != EndpointErrorKind.Unauthorized && ex.Kind != EndpointErrorKind.Forbidden)
            {
                onStale(now - known.At, ex);
                return known.Me;
            }
            var fresh = new Answer(me, now);
            _entries[key] = new Entry(now + _lifetime, () => Task.FromResult(fresh));
            if (path != null) WriteFile(path, me, now);
            return me;
        }

        private string? FileOf(string key) => _directory == null ? null : Path.Combine(_directory, key.Substring(0, 32) + ".json");

        private async Task<WhoAmI> Track(string key, Entry entry)
        {
            try
            {
                return (await entry.Lookup.Value.ConfigureAwait(false)).Me;
            }
            catch
            {
                // Before anyone sees the failure, so that the next call asks again.
                ((ICollection<KeyValuePair<string, Entry>>)_entries).Remove(new KeyValuePair<string, Entry>(key, entry));
                throw;
            }
        }

        private async Task<Answer> FromDiskOrFetch(string key, DateTimeOffset now, Func<Task<WhoAmI>> fetch)
        {
            string? path = FileOf(key);
            if (path != null && ReadFile(path, now) is Answer cached) return cached;
            WhoAmI me = await fetch().ConfigureAwait(false);
            if (path != null) WriteFile(path, me, now);
            return new Answer(me, now);
        }

        private Answer? ReadFile(string path, DateTimeOffset now)
        {
            try
            {
                if (!File.Exists(path)) return null;
                using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
                JsonElement r = doc.RootElement;
                if (!DateTimeOffset.TryParse(r.Str("at"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset at)
                    || at > now || now - at > _diskLifetime) return null;
                WhoAmI me = Json.ToWhoAmI(r);
                return me.Name.Length > 0 ? new Answer(me, at) : null;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is JsonException)
            {
                return null; // unreadable: ask the Hub
            }
        }

        private static void WriteFile(string path, WhoAmI me, DateTimeOffset now)
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                string json = JsonLine.Of(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("at", now.UtcDateTime.ToString("o", CultureInfo.InvariantCulture));
                    w.WriteString("name", me.Name);
                    w.WriteString("type", me.Type);
                    w.WriteStartArray("orgs");
                    foreach (string org in me.Orgs) w.WriteStringValue(org);
                    w.WriteEndArray();
                    w.WriteEndObject();
                });
                string temp = path + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp";
                File.WriteAllText(temp, json);
                if (File.Exists(path)) File.Replace(temp, path, null);
                else File.Move(temp, path);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // A cache only: the next run asks the Hub again.
            }
        }

        internal static string Hash(string text)
        {
            using var sha = SHA256.Create();
            return BitConverter.ToString(sha.ComputeHash(Encoding.UTF8.GetBytes(text))).Replace("-", "");
        }

        private sealed class Entry
        {
            public Entry(DateTimeOffset expires, Func<Task<Answer>> fetch)
            {
                Expires = expires;
                Lookup = new Lazy<Task<Answer>>(fetch, LazyThreadSafetyMode.ExecutionAndPublication);
            }

            public DateTimeOffset Expires { get; }
            public Lazy<Task<Answer>> Lookup { get; }
        }

        /// <summary>An account and when the Hub gave it.</summary>
        private sealed class Answer
        {
            public Answer(WhoAmI me, DateTimeOffset at)
            {
                Me = me;
                At = at;
            }

            public WhoAmI Me { get; }
            public DateTimeOffset At { get; }
        }
    }
}
