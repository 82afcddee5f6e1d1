using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// Tab completion for -Namespace: the token's user and its organizations (whoami-v2, cached for ten minutes),
    /// and '*' where the command takes it (Get-MertEndpoint).
    /// </summary>
    public sealed class NamespaceCompleter : IArgumentCompleter
    {
        private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(10);

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var namespaces = CompletionCache.Get("namespaces", CacheFor, async (client, ct) =>
            {
                var me = await client.WhoAmIAsync(ct).ConfigureAwait(false);
                return new[] { me.Name }.Concat(me.Orgs);
            });
            var results = CompletionCache.Complete(namespaces, wordToComplete);
            if (string.Equals(commandName, "Get-MertEndpoint", StringComparison.OrdinalIgnoreCase) && wordToComplete.Trim('\'', '"').Length == 0)
                results = results.Concat(new[] { new CompletionResult("'*'", "*", CompletionResultType.ParameterValue, "every namespace: yours and your organizations'") });
            return results;
        }
    }
}
