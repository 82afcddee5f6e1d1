using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>
    /// Billed time and estimated spend per endpoint, from the usage history this module keeps; deleted endpoints are marked
    /// (Deleted), and spend left out in the token's other namespaces is said in one warning.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "MertEndpointCost")]
    [OutputType(typeof(EndpointCost))]
    public sealed class GetMertEndpointCost : MertCmdlet
    {
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(EndpointNameCompleter))]
        public string[]? Name { get; set; }

        /// <summary>Start of the period (default: 30 days ago).</summary>
        [Parameter]
        public DateTime? Since { get; set; }

        /// <summary>The namespace, or '*' for the token's user and every organization it belongs to.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public override string? Namespace { get; set; }

        /// <summary>End of the period (default: now).</summary>
        [Parameter]
        public DateTime? Until { get; set; }

        protected override void ProcessRecord()
        {
            if (!TryPeriod(Since, Until, System.TimeSpan.FromDays(30), out DateTimeOffset since, out DateTimeOffset until)) return;
            var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
            var reported = ResolveNamespaces(Namespace);
            foreach (var ns in reported)
            {
                try
                {
                    var costs = Await(Usage.GetCostAsync(Client, ns, since, until, StopToken))
                        .Where(c => patterns == null || patterns.Any(p => p.IsMatch(c.Name))).OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
                    // The states seen just now could not be recorded: the figures miss them, so say so before giving them.
                    if (HistoryIncomplete) WriteWarning(Errors.CostIncomplete(Factory.HistoryPath));
                    if (Usage.History.KeptSince is DateTimeOffset kept && since < kept && !_retentionTold)
                    {
                        _retentionTold = true;
                        WriteWarning(Errors.CostBeforeRetention(Factory.HistoryPath, kept, since));
                    }
                    foreach (var warning in Await(RequestCounts.AddAsync(Client, costs, StopToken))) WriteWarning(warning);
                    WriteObject(costs, enumerateCollection: true);
                }
                catch (EndpointException ex) when (Namespace == "*" && (ex.Kind == EndpointErrorKind.Unauthorized || ex.Kind == EndpointErrorKind.Forbidden))
                {
                    WriteWarning(Errors.SkippedNamespace(ns, ex));
                }
                catch (EndpointException ex)
                {
                    WriteEndpointError(ex, new EndpointId(ns, null));
                }
            }
            TellLeftOut(reported, patterns, since, until);
        }

        private bool _leftOutTold, _retentionTold;

        /// <summary>
        /// Without -Namespace '*': one warning per command when the history has billed time in the period (for the names
        /// asked for) in namespaces the token can see that the report left out, naming them and how to include them.
        /// Quiet when it cannot tell (the history or whoami unreadable: the report itself says what matters).
        /// </summary>
        private void TellLeftOut(IReadOnlyList<string> reported, List<WildcardPattern>? patterns, DateTimeOffset since, DateTimeOffset until)
        {
            if (Namespace == "*" || _leftOutTold) return;
            _leftOutTold = true;
            try
            {
                var skip = new HashSet<string>(reported, StringComparer.OrdinalIgnoreCase);
                var elsewhere = Usage.BilledBetween(Client.ApiBase, n => !skip.Contains(n), since, until)
                    .Where(c => c.BilledTime > TimeSpan.Zero && (patterns == null || patterns.Any(p => p.IsMatch(c.Name))))
                    .Select(c => c.Namespace).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
                if (elsewhere.Count == 0) return;
                var me = Await(Client.WhoAmIAsync(StopToken));
                var visible = new HashSet<string>(new[] { me.Name }.Concat(me.Orgs), StringComparer.OrdinalIgnoreCase);
                var leftOut = elsewhere.Where(visible.Contains).OrderBy(n => n, StringComparer.Ordinal).ToList();
                if (leftOut.Count > 0) WriteWarning(Errors.CostLeftOutNamespaces(leftOut, reported));
            }
            catch (EndpointException)
            {
                // Nothing to add: the report stands as it is.
            }
        }
    }
}
