using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Security;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>
    /// The usage history as typed objects: each endpoint's state changes in order, or with -ColdStart its cold starts and
    /// their boot times. Reads the history file only: no request, no token.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "MertEndpointHistory", DefaultParameterSetName = "Changes")]
    [OutputType(typeof(EndpointStateChange), ParameterSetName = new[] { "Changes" })]
    [OutputType(typeof(ColdStart), ParameterSetName = new[] { "ColdStart" })]
    public sealed class GetMertEndpointHistory : MertCmdlet
    {
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(EndpointNameCompleter))]
        public string[]? Name { get; set; }

        /// <summary>Only this namespace (wildcards allowed); default MERT_ENDPOINT_NAMESPACE, else every namespace in the history.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(NamespaceCompleter))]
        public override string? Namespace { get; set; }

        /// <summary>Not a parameter here: the history is read from the file, and nothing is sent.</summary>
        public override SecureString? Token { get; set; }

        /// <summary>Start of the period (default: 30 days before -Until).</summary>
        [Parameter]
        public DateTime? Since { get; set; }

        /// <summary>End of the period (default: now).</summary>
        [Parameter]
        public DateTime? Until { get; set; }

        /// <summary>Cold starts and their boot times instead of the state changes.</summary>
        [Parameter(Mandatory = true, ParameterSetName = "ColdStart")]
        public SwitchParameter ColdStart { get; set; }

        private string? _api;

        protected override void BeginProcessing()
        {
            try
            {
                _api = Factory.CreateOptions().ApiBase;
            }
            catch (EndpointException ex)
            {
                ThrowEndpointError(ex, null); // a bad MERT_ENDPOINT_API_URL: nothing to read records of
            }
        }

        protected override void ProcessRecord()
        {
            if (!TryPeriod(Since, Until, System.TimeSpan.FromDays(30), out DateTimeOffset since, out DateTimeOffset until)) return;
            // The default namespace without asking whoami: the environment's, else every namespace the history holds.
            string? ns = Namespace ?? Environment.GetEnvironmentVariable(EndpointClient.NamespaceVariable)?.Trim();
            if (ns?.Length == 0) ns = null;
            var namespacePattern = ns == null ? null : new WildcardPattern(ns, WildcardOptions.IgnoreCase);
            // Each name, or "ns/name" as Get-MertEndpoint takes it (wildcards in either part): a namespace of its own, which
            // must not contradict -Namespace.
            var patterns = new List<(WildcardPattern? Namespace, WildcardPattern Name)>();
            foreach (string n in Name ?? Array.Empty<string>())
            {
                int slash = n.IndexOf('/');
                if (slash < 0) { patterns.Add((namespacePattern, new WildcardPattern(n, WildcardOptions.IgnoreCase))); continue; }
                string qualifier = n.Substring(0, slash);
                if (Namespace != null && !string.Equals(Namespace, qualifier, StringComparison.OrdinalIgnoreCase))
                {
                    WriteEndpointError(Errors.QualifiedNameConflict(n, Namespace), null);
                    continue;
                }
                patterns.Add((new WildcardPattern(qualifier, WildcardOptions.IgnoreCase), new WildcardPattern(n.Substring(slash + 1), WildcardOptions.IgnoreCase)));
            }
            if (Name != null && patterns.Count == 0) return;
            IReadOnlyList<UsageEvent> events;
            try
            {
                // Readings a process handed to the spool as it ended (a Get-MertEndpoint) go into the file first.
                if (Await(Usage.WriteSpooledAsync(HistoryProblemReporter, StopToken)))
                    WriteVerbose($"Wrote the readings waiting in '{Usage.History.Path}.pending' into the usage history first.");
                events = Usage.History.Read();
            }
            catch (EndpointException ex)
            {
                ThrowEndpointError(ex, null);
                return;
            }
            var wanted = events.Where(e => e.Api == _api && (Name == null
                ? namespacePattern == null || namespacePattern.IsMatch(e.Namespace)
                : patterns.Any(p => (p.Namespace == null || p.Namespace.IsMatch(e.Namespace)) && p.Name.IsMatch(e.Name)))).ToList();
            if (wanted.Count == 0) WriteVerbose($"The usage history '{Usage.History.Path}' holds nothing for {string.Join(", ", Name ?? new[] { "*" })} in {ns ?? "any namespace"}.");
            // Without -Until, everything recorded so far: a change recorded just now can be dated a tick after now (after the
            // change before it), or by a writer whose clock runs a little ahead.
            DateTimeOffset upTo = Until == null ? DateTimeOffset.MaxValue : until;
            if (ColdStart) WriteObject(EndpointHistory.ColdStarts(wanted, since, upTo), enumerateCollection: true);
            else WriteObject(EndpointHistory.Changes(wanted, since, upTo), enumerateCollection: true);
        }
    }
}
