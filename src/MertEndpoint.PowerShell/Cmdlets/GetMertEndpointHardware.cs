using System.Linq;
using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Lists the hardware the namespace can use, with price per hour and quota.</summary>
    [Cmdlet(VerbsCommon.Get, "MertEndpointHardware")]
    [OutputType(typeof(HardwareInfo))]
    public sealed class GetMertEndpointHardware : MertCmdlet
    {
        [Parameter] [SupportsWildcards] [ArgumentCompleter(typeof(HardwareCompleter))] public string Vendor { get; set; } = "*";
        [Parameter] [SupportsWildcards] [ArgumentCompleter(typeof(HardwareCompleter))] public string Region { get; set; } = "*";
        [Parameter(Position = 0)] [SupportsWildcards] [ArgumentCompleter(typeof(HardwareCompleter))] public string InstanceType { get; set; } = "*";
        [Parameter] [SupportsWildcards] [ArgumentCompleter(typeof(HardwareCompleter))] public string Accelerator { get; set; } = "*";

        protected override void EndProcessing()
        {
            var ns = ResolveNamespace(Namespace);
            try
            {
                var vendor = new WildcardPattern(Vendor, WildcardOptions.IgnoreCase);
                var region = new WildcardPattern(Region, WildcardOptions.IgnoreCase);
                var type = new WildcardPattern(InstanceType, WildcardOptions.IgnoreCase);
                var accelerator = new WildcardPattern(Accelerator, WildcardOptions.IgnoreCase);
                var rows = Await(Client.GetHardwareAsync(ns, StopToken)).Where(h =>
                    vendor.IsMatch(h.Vendor) && region.IsMatch(h.Region) && type.IsMatch(h.InstanceType) && accelerator.IsMatch(h.Accelerator));
                foreach (var row in rows) WriteObject(row);
            }
            catch (EndpointException ex)
            {
                WriteEndpointError(ex, new EndpointId(ns, null));
            }
            base.EndProcessing();
        }
    }
}
