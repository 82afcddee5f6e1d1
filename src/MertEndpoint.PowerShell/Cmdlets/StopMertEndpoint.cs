using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Pauses endpoints (billing stops), or scales them to zero with -ScaleToZero: one call each. Idempotent.</summary>
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
                    // One call, never skipped because of a piped object's state: that state may be stale.
                    StopResult result;
                    // While the pause is out, a SIGTERM or SIGHUP sends it once more at once and says how it ended.
                    using (OwedPauses.Register(Client, target, ScaleToZero))
                    try
                    {
                        result = await Lifecycle.StopAsync(target.Namespace!, target.Name!, ScaleToZero, ct).ConfigureAwait(false);
                    }
                    catch (System.OperationCanceledException) when (StopRequested)
                    {
                        // Ctrl+C (or a command downstream) abandoned it: the request may or may not have landed. Said at once.
                        WriteStillBillingNow(Errors.StopAbandoned(target, ScaleToZero));
                        throw;
                    }
                    if (ScaleToZero && !result.Changed && result.Endpoint.StatusText == "paused") Reporter.Warning(Errors.ScaleToZeroOfPaused(target));
                    else Reporter.Detail(result.Changed ? $"{target} is now {result.Endpoint.StatusText}."
                        : $"{target} is already {result.Endpoint.StatusText}; nothing to do.");
                    return PassThru ? result.Endpoint : null;
                });
            }
        }
    }
}
