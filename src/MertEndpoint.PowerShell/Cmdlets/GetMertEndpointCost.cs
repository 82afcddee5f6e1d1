using System;
using System.Linq;
using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Billed time and estimated spend per endpoint, from the usage history this module keeps.</summary>
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
            DateTimeOffset until, since;
            try
            {
                until = PeriodBound(Until, nameof(Until)) ?? Factory.Now;
                since = PeriodBound(Since, nameof(Since)) ?? until.AddDays(-30);
            }
            catch (PeriodRefused) { return; }
            if (since >= until)
            {
                WriteEndpointError(Errors.InvalidPeriod(since, until), null);
                return;
            }
            var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
            foreach (var ns in ResolveNamespaces(Namespace))
            {
                try
                {
                    var costs = Await(Usage.GetCostAsync(Client, ns, since, until, StopToken))
                        .Where(c => patterns == null || patterns.Any(p => p.IsMatch(c.Name))).OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
                    // The states seen just now could not be recorded: the figures miss them, so say so before giving them.
                    if (HistoryIncomplete) WriteWarning(Errors.CostIncomplete(Factory.HistoryPath));
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
        }
    }
}
