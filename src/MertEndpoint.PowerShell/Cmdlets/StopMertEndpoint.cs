using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Pauses endpoints (billing stops), or scales them to zero with -ScaleToZero. Idempotent.</summary>
    [Cmdlet(VerbsLifecycle.Stop, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
    [OutputType(typeof(EndpointInfo))]
    public sealed class StopMertEndpoint : FanOutCmdlet
    {
        /// <summary>Scale to zero instead of pausing: the URL stays and a request wakes it (still counts toward quota).</summary>
        [Parameter]
        public SwitchParameter ScaleToZero { get; set; }

        /// <summary>Output the endpoint after the change.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var target in Targets())
            {
                if (!ShouldProcess(target.ToString(), ScaleToZero ? "Scale endpoint to zero" : "Pause endpoint (billing stops)")) continue;
                EnqueueEndpoint(target, async ct =>
                {
                    // Always read the current state: a piped object may be stale, and a paused endpoint then costs no write.
                    var endpoint = await Client.GetAsync(target.Namespace!, target.Name!, ct).ConfigureAwait(false);
                    var wanted = ScaleToZero ? EndpointStatus.ScaledToZero : EndpointStatus.Paused;
                    if (endpoint.Status == wanted || endpoint.Status == EndpointStatus.Paused)
                    {
                        PostVerbose($"{target} is already {endpoint.StatusText}; nothing to do.");
                    }
                    else
                    {
                        endpoint = await (ScaleToZero
                            ? Client.ScaleToZeroAsync(target.Namespace!, target.Name!, ct)
                            : Client.PauseAsync(target.Namespace!, target.Name!, ct)).ConfigureAwait(false);
                        PostVerbose($"{target} is now {endpoint.StatusText}.");
                    }
                    return PassThru ? endpoint : null;
                });
            }
        }
    }
}
