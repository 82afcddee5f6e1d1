using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>
    /// "Did you mean ...?" for a name that was not found: the namespace's names within edit distance 2 of it, or that
    /// share a prefix of 4 or more characters with it, closest first, at most three. A typo then gets the right name,
    /// not a hint to create a billing endpoint under the typo.
    /// </summary>
    public static class NameSuggestions
    {
        public const int MaxSuggestions = 3;
        private const int MaxDistance = 2;
        private const int MinPrefix = 4;

        /// <summary>The close names among <paramref name="candidates"/> (case-insensitive; the name itself excluded).</summary>
        public static IReadOnlyList<string> Closest(string name, IEnumerable<string> candidates)
        {
            if (string.IsNullOrEmpty(name) || candidates == null) return Array.Empty<string>();
            string wanted = name.ToLowerInvariant();
            return candidates
                .Where(c => !string.IsNullOrEmpty(c) && !string.Equals(c, name, StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .Select(c => (Name: c, Distance: Distance(wanted, c.ToLowerInvariant(), MaxDistance), Prefix: CommonPrefix(wanted, c.ToLowerInvariant())))
                .Where(c => c.Distance <= MaxDistance || c.Prefix >= MinPrefix)
                .OrderBy(c => c.Distance)
                .ThenByDescending(c => c.Prefix)
                .ThenBy(c => c.Name, StringComparer.Ordinal)
                .Take(MaxSuggestions)
                .Select(c => c.Name)
                .ToList();
        }

        /// <summary>
        /// <paramref name="notFound"/> with the close names of its namespace, read with one listing (its pages, bounded by
        /// <paramref name="bound"/>); the error unchanged when the listing fails or nothing is close.
        /// </summary>
        public static async Task<EndpointException> ExplainAsync(EndpointClient client, EndpointException notFound, TimeSpan bound, CancellationToken ct)
        {
            if (notFound.Kind != EndpointErrorKind.EndpointNotFound || notFound.Target is not { Namespace: { } ns, Name: { } name }) return notFound;
            try
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
                limit.CancelAfter(bound);
                var names = (await client.ListAsync(ns, limit.Token).ConfigureAwait(false)).Select(e => e.Name);
                var close = Closest(name, names);
                return close.Count == 0 ? notFound : Errors.NotFoundWithSuggestions(notFound, close);
            }
            catch (Exception ex) when (ex is EndpointException || ex is OperationCanceledException)
            {
                return notFound; // the suggestions are a courtesy: the 404 stays the error
            }
        }

        /// <summary>Levenshtein distance, stopping early once it must exceed <paramref name="limit"/> (then limit + 1).</summary>
        internal static int Distance(string a, string b, int limit)
        {
            if (Math.Abs(a.Length - b.Length) > limit) return limit + 1;
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (int j = 0; j <= b.Length; j++) previous[j] = j;
            for (int i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                int best = current[0];
                for (int j = 1; j <= b.Length; j++)
                {
                    int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                    best = Math.Min(best, current[j]);
                }
                if (best > limit) return limit + 1;
                (previous, current) = (current, previous);
            }
            return Math.Min(previous[b.Length], limit + 1);
        }

        private static int CommonPrefix(string a, string b)
        {
            int n = Math.Min(a.Length, b.Length), i = 0;
            while (i < n && a[i] == b[i]) i++;
            return i;
        }
    }
}
