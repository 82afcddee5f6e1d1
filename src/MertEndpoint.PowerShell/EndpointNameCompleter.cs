using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// Tab completion for -Name: the namespace's endpoint names, wildcard-aware, cached for a minute so that
    /// repeated Tab presses cost no requests. Completion never throws and gives up after a few seconds.
    /// </summary>
    public sealed class EndpointNameCompleter : IArgumentCompleter
    {
        private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
        private static readonly ConcurrentDictionary<string, (DateTime At, string[] Names)> Cache =
            new ConcurrentDictionary<string, (DateTime, string[])>();

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var requestedNamespace = fakeBoundParameters["Namespace"] as string;
            var pattern = new WildcardPattern(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
            return Names(requestedNamespace)
                .Where(pattern.IsMatch)
                .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
        }

        private static string[] Names(string? requestedNamespace)
        {
            // Keyed by control plane too, so the emulator's names never show against a real account.
            var key = Environment.GetEnvironmentVariable("MERT_ENDPOINT_API_URL") + "|" + requestedNamespace;
            if (Cache.TryGetValue(key, out var hit) && DateTime.UtcNow - hit.At < CacheFor) return hit.Names;
            try
            {
                var token = TokenResolver.TryResolve(null, out _);
                if (token == null) return new string[0];
                using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3)))
                {
                    var options = EndpointClientOptions.FromEnvironment();
                    options.Accounts = ModuleState.Accounts; // the session's whoami cache: Tab costs no extra lookup
                    var client = new EndpointClient(token, options);
                    var ns = client.ResolveNamespaceAsync(requestedNamespace, cts.Token).GetAwaiter().GetResult();
                    var names = client.ListAsync(ns, cts.Token).GetAwaiter().GetResult().Select(e => e.Name).OrderBy(n => n).ToArray();
                    Cache[key] = (DateTime.UtcNow, names);
                    return names;
                }
            }
            catch (Exception)
            {
                return new string[0]; // completion must never break the prompt
            }
        }
    }
}
