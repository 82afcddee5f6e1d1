using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Waits until endpoints are running and answer their health route; starts nothing.</summary>
    [Cmdlet(VerbsLifecycle.Wait, "MertEndpoint", DefaultParameterSetName = ByName)]
    [OutputType(typeof(EndpointInfo))]
    public sealed class WaitMertEndpoint : FanOutCmdlet
    {
        /// <summary>No command deadline: -TimeoutSec bounds the wait.</summary>
        protected override bool WaitsOnPurpose => true;

        [Parameter]
        [ValidateRange(1, 86400)]
        public int TimeoutSec { get; set; } = 600;

        protected override void ProcessRecord()
        {
            foreach (var target in Targets())
            {
                var options = WaitFor(TimeoutSec);
                EnqueueEndpoint(target, async ct =>
                {
                    try
                    {
                        return await Lifecycle.WaitForReadyAsync(target.Namespace!, target.Name!, options, ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        CompleteProgress(target);
                    }
                });
            }
        }
    }
}
