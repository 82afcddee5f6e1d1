using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
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
        // Per factory (the machine's, or the one a host that embeds the cmdlets gave its runspace), so that runspaces
        // with fakes of their own never see each other's values.
        private static readonly ConditionalWeakTable<ClientFactory, ConcurrentDictionary<string, (DateTimeOffset At, string[] Values)>> Caches =
            new ConditionalWeakTable<ClientFactory, ConcurrentDictionary<string, (DateTimeOffset, string[])>>();

        /// <summary>
        /// The cached values for <paramref name="key"/>, fetched again when older than <paramref name="maxAge"/>.
        /// The key is combined with the control plane, so the emulator's values never show against a real account.
        /// </summary>
        public static string[] Get(string key, TimeSpan maxAge, Func<EndpointClient, CancellationToken, Task<IEnumerable<string>>> fetch)
        {
            var factory = CurrentFactory();
            var cache = Caches.GetValue(factory, _ => new ConcurrentDictionary<string, (DateTimeOffset, string[])>(StringComparer.Ordinal));
            key = Environment.GetEnvironmentVariable("MERT_ENDPOINT_API_URL") + "|" + Environment.GetEnvironmentVariable("HF_ENDPOINT") + "|" + key;
            if (cache.TryGetValue(key, out var hit) && factory.Now - hit.At < maxAge) return hit.Values;
            try
            {
                var token = TokenResolver.TryResolve(null, out _);
                if (token == null) return new string[0];
                using (var cts = new CancellationTokenSource(FetchTimeout))
                {
                    var client = new EndpointClient(token, factory.CreateOptions()); // the session's whoami cache: Tab costs no extra lookup
                    var values = fetch(client, cts.Token).GetAwaiter().GetResult()
                        .Where(v => !string.IsNullOrEmpty(v)).Distinct(StringComparer.OrdinalIgnoreCase)
                        .OrderBy(v => v, StringComparer.OrdinalIgnoreCase).ToArray();
                    cache[key] = (factory.Now, values);
                    return values;
                }
            }
            catch (Exception)
            {
                return new string[0];
            }
        }

        /// <summary>Completion runs on the pipeline thread of the runspace it completes for: that runspace's factory, else the machine's.</summary>
        private static ClientFactory CurrentFactory()
        {
            try
            {
                return Runspace.DefaultRunspace?.SessionStateProxy.PSVariable.GetValue(ClientFactory.VariableName) as ClientFactory ?? ClientFactory.Machine;
            }
            catch (Exception)
            {
                return ClientFactory.Machine;
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
