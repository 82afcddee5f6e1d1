using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// Tab completion for -Name: the namespace's endpoint names, wildcard-aware, cached for a minute so that
    /// repeated Tab presses cost no requests. Completion never throws and gives up after a few seconds.
    /// </summary>
    public sealed class EndpointNameCompleter : IArgumentCompleter
    {
        private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var requestedNamespace = CompletionCache.BoundNamespace(fakeBoundParameters);
            var names = CompletionCache.Get("names|" + requestedNamespace, CacheFor, async (client, ct) =>
            {
                var ns = await client.ResolveNamespaceAsync(requestedNamespace, ct).ConfigureAwait(false);
                return (await client.ListAsync(ns, ct).ConfigureAwait(false)).Select(e => e.Name);
            });
            return CompletionCache.Complete(names, wordToComplete);
        }
    }
}
