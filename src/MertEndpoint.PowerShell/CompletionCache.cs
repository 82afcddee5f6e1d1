using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// What every argument completer shares: values fetched with the environment's token, cached per process for a
    /// while so that repeated Tab presses cost no requests, a few seconds at most per fetch, and never an exception
    /// (completion must not break the prompt).
    /// </summary>
    internal static class CompletionCache
    {
        private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(3);
        private static readonly ConcurrentDictionary<string, (DateTime At, string[] Values)> Cache =
            new ConcurrentDictionary<string, (DateTime, string[])>();

        /// <summary>
        /// The cached values for <paramref name="key"/>, fetched again when older than <paramref name="maxAge"/>.
        /// The key is combined with the control plane, so the emulator's values never show against a real account.
        /// </summary>
        public static string[] Get(string key, TimeSpan maxAge, Func<EndpointClient, CancellationToken, Task<IEnumerable<string>>> fetch)
        {
            key = Environment.GetEnvironmentVariable("MERT_ENDPOINT_API_URL") + "|" + Environment.GetEnvironmentVariable("HF_ENDPOINT") + "|" + key;
            if (Cache.TryGetValue(key, out var hit) && DateTime.UtcNow - hit.At < maxAge) return hit.Values;
            try
            {
                var token = TokenResolver.TryResolve(null, out _);
                if (token == null) return new string[0];
                using (var cts = new CancellationTokenSource(FetchTimeout))
                {
                    var options = EndpointClientOptions.FromEnvironment();
                    options.Accounts = ModuleState.Accounts; // the session's whoami cache: Tab costs no extra lookup
                    var client = new EndpointClient(token, options);
                    var values = fetch(client, cts.Token).GetAwaiter().GetResult()
                        .Where(v => !string.IsNullOrEmpty(v)).Distinct(StringComparer.OrdinalIgnoreCase)
                        .OrderBy(v => v, StringComparer.OrdinalIgnoreCase).ToArray();
                    Cache[key] = (DateTime.UtcNow, values);
                    return values;
                }
            }
            catch (Exception)
            {
                return new string[0];
            }
        }

        /// <summary>The -Namespace already typed on the command line, if any (a literal, not a variable).</summary>
        public static string? BoundNamespace(IDictionary fakeBoundParameters) =>
            fakeBoundParameters["Namespace"] as string is { } ns && ns != "*" ? ns : null;

        /// <summary>Values starting with the word typed so far (wildcards allowed), as completion results.</summary>
        public static IEnumerable<CompletionResult> Complete(IEnumerable<string> values, string wordToComplete)
        {
            var pattern = new WildcardPattern(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
            return values.Where(pattern.IsMatch).Select(v => new CompletionResult(v, v, CompletionResultType.ParameterValue, v));
        }
    }
}
