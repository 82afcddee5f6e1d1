using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Waits until endpoints are running and answer their health route; starts nothing.</summary>
    [Cmdlet(VerbsLifecycle.Wait, "MertEndpoint", DefaultParameterSetName = ByName)]
    [OutputType(typeof(EndpointInfo))]
    public sealed class WaitMertEndpoint : EndpointTargetCmdlet
    {
        [Parameter]
        [ValidateRange(1, 86400)]
        public int TimeoutSec { get; set; } = 600;

        protected override void ProcessRecord()
        {
            foreach (var target in Targets())
            {
                try
                {
                    WriteObject(WaitReady(target, null, TimeoutSec));
                }
                catch (EndpointException ex)
                {
                    WriteEndpointError(ex, target.ToString());
                }
            }
        }
    }
}
