using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;
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

        /// <param name="lifetime">How long an answer is kept; default one hour.</param>
        public AccountCache(TimeSpan? lifetime = null) => _lifetime = lifetime ?? TimeSpan.FromHours(1);

        internal Task<WhoAmI> GetAsync(string token, string hubBase, TimeProvider clock, Func<Task<WhoAmI>> fetch)
        {
            string key = Hash(token + "\n" + hubBase);
            DateTimeOffset now = clock.GetUtcNow();
            while (true)
            {
                Entry entry = _entries.GetOrAdd(key, _ => new Entry(now + _lifetime, fetch));
                if (entry.Expires > now || !entry.Lookup.IsValueCreated || !entry.Lookup.Value.IsCompleted)
                    return Track(key, entry);
                _entries.TryRemove(key, out _); // expired: ask again
            }
        }

        private async Task<WhoAmI> Track(string key, Entry entry)
        {
            try
            {
                return await entry.Lookup.Value.ConfigureAwait(false);
            }
            catch
            {
                // Before anyone sees the failure, so that the next call asks again.
                ((ICollection<KeyValuePair<string, Entry>>)_entries).Remove(new KeyValuePair<string, Entry>(key, entry));
                throw;
            }
        }

        internal static string Hash(string text)
        {
            using var sha = SHA256.Create();
            return BitConverter.ToString(sha.ComputeHash(Encoding.UTF8.GetBytes(text))).Replace("-", "");
        }

        private sealed class Entry
        {
            public Entry(DateTimeOffset expires, Func<Task<WhoAmI>> fetch)
            {
                Expires = expires;
                Lookup = new Lazy<Task<WhoAmI>>(fetch, LazyThreadSafetyMode.ExecutionAndPublication);
            }

            public DateTimeOffset Expires { get; }
            public Lazy<Task<WhoAmI>> Lookup { get; }
        }
    }
}
