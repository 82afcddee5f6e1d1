using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Gets endpoints: one by name, several by wildcard, or the whole namespace.</summary>
    [Cmdlet(VerbsCommon.Get, "MertEndpoint")]
    [OutputType(typeof(EndpointInfo))]
    public sealed class GetMertEndpoint : MertCmdlet
    {
        private readonly Dictionary<string, IReadOnlyList<EndpointInfo>> _listings = new Dictionary<string, IReadOnlyList<EndpointInfo>>();

        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(EndpointNameCompleter))]
        public string[]? Name { get; set; }

        /// <summary>Only endpoints in one of these states.</summary>
        [Parameter]
        public EndpointStatus[]? Status { get; set; }

        protected override void ProcessRecord()
        {
            var ns = ResolveNamespace(Namespace);
            if (Name == null || Name.Length == 0)
            {
                foreach (var endpoint in List(ns)) Emit(endpoint);
                return;
            }

            foreach (var name in Name)
            {
                if (WildcardPattern.ContainsWildcardCharacters(name))
                {
                    var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                    foreach (var endpoint in List(ns).Where(e => pattern.IsMatch(e.Name))) Emit(endpoint);
                    continue;
                }
                try
                {
                    EndpointClient.ValidateName(name);
                    Emit(Await(Client.GetAsync(ns, name, StopToken)));
                }
                catch (EndpointException ex)
                {
                    WriteEndpointError(ex, name);
                }
            }
        }

        private IEnumerable<EndpointInfo> List(string ns)
        {
            if (_listings.TryGetValue(ns, out var items)) return items;
            try
            {
                items = Await(Client.ListAsync(ns, StopToken));
            }
            catch (EndpointException ex)
            {
                WriteEndpointError(ex, ns);
                items = new EndpointInfo[0];
            }
            return _listings[ns] = items;
        }

        private void Emit(EndpointInfo endpoint)
        {
            if (Status == null || Status.Contains(endpoint.Status)) WriteObject(endpoint);
        }
    }
}
