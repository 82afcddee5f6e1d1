using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// Tab completion for -Vendor, -Region, -Accelerator, -InstanceType and -InstanceSize from the namespace's provider catalog
    /// (cached for ten minutes: it changes rarely). Values already typed narrow the rest: after -InstanceType
    /// nvidia-a10g, -InstanceSize offers only that instance's sizes.
    /// </summary>
    public sealed class HardwareCompleter : IArgumentCompleter
    {
        private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(10);
        private static readonly string[] Fields = { "Vendor", "Region", "Accelerator", "InstanceType", "InstanceSize" };

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            if (!Fields.Contains(parameterName, StringComparer.OrdinalIgnoreCase)) return Enumerable.Empty<CompletionResult>();
            var requestedNamespace = CompletionCache.BoundNamespace(fakeBoundParameters);
            // One cached row per offer, "vendor|region|accelerator|type|size", so every field and filter shares one request.
            var rows = CompletionCache.Get("catalog|" + requestedNamespace, CacheFor, async (client, ct) =>
            {
                var ns = await client.ResolveNamespaceAsync(requestedNamespace, ct).ConfigureAwait(false);
                return (await client.GetHardwareAsync(ns, ct).ConfigureAwait(false))
                    .Select(h => string.Join("|", h.Vendor, h.Region, h.Accelerator, h.InstanceType, h.InstanceSize));
            });
            var field = Array.FindIndex(Fields, f => string.Equals(f, parameterName, StringComparison.OrdinalIgnoreCase));
            var values = rows.Select(r => r.Split('|')).Where(r => r.Length == Fields.Length && Matches(r, fakeBoundParameters, field))
                .Select(r => r[field]).Distinct(StringComparer.OrdinalIgnoreCase);
            return CompletionCache.Complete(values, wordToComplete);
        }

        // The other catalog fields already on the command line (wildcards allowed) narrow the offers.
        private static bool Matches(string[] row, IDictionary bound, int except)
        {
            for (var i = 0; i < Fields.Length; i++)
            {
                if (i == except || !(bound[Fields[i]] is string given) || given.Length == 0) continue;
                if (!new WildcardPattern(given, WildcardOptions.IgnoreCase).IsMatch(row[i])) return false;
            }
            return true;
        }
    }
}
