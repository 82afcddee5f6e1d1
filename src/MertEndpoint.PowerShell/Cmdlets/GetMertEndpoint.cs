using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Gets endpoints: one by name, several by wildcard, or whole namespaces (-Namespace '*' for all of yours).</summary>
    [Cmdlet(VerbsCommon.Get, "MertEndpoint")]
    [OutputType(typeof(EndpointInfo))]
    public sealed class GetMertEndpoint : MertCmdlet
    {
        private readonly Dictionary<string, Task<IReadOnlyList<EndpointInfo>>> _listings = new Dictionary<string, Task<IReadOnlyList<EndpointInfo>>>();

        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(EndpointNameCompleter))]
        public string[]? Name { get; set; }

        /// <summary>The namespace, or '*' for the token's user and every organization it belongs to.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(NamespaceCompleter))]
        public override string? Namespace { get; set; }

        /// <summary>Only endpoints in one of these states.</summary>
        [Parameter]
        public EndpointStatus[]? Status { get; set; }

        /// <summary>
        /// Only endpoints that have been billing (initializing, running or updating) for longer than this: the scheduled
        /// guard. An endpoint whose streak is not proven that long has its replica list read (its oldest replica's start).
        /// </summary>
        [Parameter]
        [Duration]
        public TimeSpan? BilledLongerThan { get; set; }

        /// <summary>Requests in flight at once (default 16).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 16;

        protected override int Concurrency => ThrottleLimit;

        // A read: its sightings are written in the background (issue 22: Get-MertEndpoint never waits for its own write).
        protected override bool WaitsForHistory => false;

        protected override void BeginProcessing()
        {
            if (BilledLongerThan < TimeSpan.Zero) ThrowEndpointError(Errors.NegativeDuration(nameof(BilledLongerThan), BilledLongerThan.Value), BilledLongerThan);
            base.BeginProcessing();
        }

        protected override void ProcessRecord()
        {
            var all = Namespace == "*";
            if (!all && Name != null && Name.Any(n => n.IndexOf('/') > 0 && !WildcardPattern.ContainsWildcardCharacters(n)))
            {
                // "ns/name": one endpoint each, in its own namespace.
                foreach (var qualified in Name)
                {
                    var id = Qualify(qualified, Namespace);
                    if (id == null || !IsValidName(id.Name!)) continue;
                    EnqueueEndpoint(id, async ct =>
                        Keep((await Usage.WithBillingAsync(Client, new[] { await Client.GetAsync(id.Namespace!, id.Name!, ct).ConfigureAwait(false) }, ct, fetchPrices: false, historyProblems: HistoryProblemReporter, proveLongerThan: BilledLongerThan).ConfigureAwait(false))[0]));
                }
                return;
            }
            foreach (var ns in ResolveNamespaces(Namespace))
            {
                if (Name == null || Name.Length == 0)
                {
                    EnqueueListing(ns, _ => true, all);
                    continue;
                }
                foreach (var name in Name)
                {
                    if (WildcardPattern.ContainsWildcardCharacters(name))
                    {
                        var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                        EnqueueListing(ns, e => pattern.IsMatch(e.Name), all);
                        continue;
                    }
                    if (!IsValidName(name)) continue;
                    // Across all namespaces the name is matched in each listing, like a wildcard: found nowhere is no error.
                    if (all) EnqueueListing(ns, e => string.Equals(e.Name, name, StringComparison.Ordinal), all);
                    else EnqueueEndpoint(new EndpointId(ns, name), async ct =>
                        Keep((await Usage.WithBillingAsync(Client, new[] { await Client.GetAsync(ns, name, ct).ConfigureAwait(false) }, ct, fetchPrices: false, historyProblems: HistoryProblemReporter, proveLongerThan: BilledLongerThan).ConfigureAwait(false))[0]));
                }
            }
        }

        private void EnqueueListing(string ns, Func<EndpointInfo, bool> filter, bool quietOnDenied)
        {
            if (!_listings.TryGetValue(ns, out var listing)) _listings[ns] = listing = Client.ListAsync(ns, StopToken);
            Enqueue(async ct =>
            {
                try
                {
                    var matches = (await listing.ConfigureAwait(false)).Where(filter).ToList();
                    var items = (await Usage.WithBillingAsync(Client, matches, ct, fetchPrices: false, historyProblems: HistoryProblemReporter, proveLongerThan: BilledLongerThan).ConfigureAwait(false)).Where(e => Keep(e) != null).ToList();
                    return () => { foreach (var e in items) WriteObject(e); };
                }
                catch (EndpointException ex) when (quietOnDenied && ex.Kind == EndpointErrorKind.Unauthorized)
                {
                    // An organization without billing or access answers 401: skip it rather than fail the sweep. A 403 is
                    // a namespace the token should see and cannot: an error, so a sweep never passes it off as empty.
                    return () => WriteWarning(Errors.SkippedNamespace(ns, ex));
                }
                catch (EndpointException ex)
                {
                    return () => WriteEndpointError(ex, new EndpointId(ns, null));
                }
            });
        }

        private EndpointInfo? Keep(EndpointInfo endpoint)
        {
            if (Status != null && !Status.Contains(endpoint.Status)) return null;
            if (BilledLongerThan == null) return endpoint;
            return endpoint.BilledFor > BilledLongerThan.Value ? endpoint : null;
        }
    }
}
