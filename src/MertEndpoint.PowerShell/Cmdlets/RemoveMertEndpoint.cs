using System.Management.Automation;
using System.Management.Automation.Host;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>
    /// Deletes endpoints permanently (configuration, logs and metrics). Asks first: ShouldProcess (so -WhatIf, -Confirm,
    /// verbose and transcripts work), then a second question unless -Force or -Confirm:$false, the way Az's Remove
    /// cmdlets do.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
    [OutputType(typeof(void))]
    public sealed class RemoveMertEndpoint : FanOutCmdlet
    {
        private bool _yesToAll, _noToAll;

        /// <summary>Delete without the extra question. -WhatIf still deletes nothing, and -Confirm still asks.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var target in Targets())
            {
                const string action = "Delete endpoint permanently (configuration, logs and metrics are lost; Stop-MertEndpoint only pauses)";
                if (!ShouldProcess(target.ToString(), action) || !Confirmed(target)) continue;
                EnqueueEndpoint(target, async ct =>
                {
                    try
                    {
                        await Client.DeleteAsync(target.Namespace!, target.Name!, ct).ConfigureAwait(false);
                    }
                    catch (System.OperationCanceledException) when (StopRequested)
                    {
                        WriteStillBillingNow(Errors.DeleteAbandoned(target)); // it may not have landed: said at once
                        throw;
                    }
                    Reporter.Detail($"Deleted {target}.");
                    return null;
                });
            }
        }

        /// <summary>The second question, skipped by -Force, by -Confirm (ShouldProcess asked already) and by -Confirm:$false.</summary>
        private bool Confirmed(EndpointId target)
        {
            if (Force || MyInvocation.BoundParameters.ContainsKey("Confirm")) return true;
            try
            {
                return ShouldContinue($"Delete endpoint {target} permanently? Its configuration, logs and metrics cannot be recovered.",
                    "Confirm deletion", ref _yesToAll, ref _noToAll);
            }
            catch (HostException ex)
            {
                ThrowNoPrompt(target, ex);
            }
            catch (PSInvalidOperationException ex)
            {
                ThrowNoPrompt(target, ex);
            }
            return false;
        }

        private void ThrowNoPrompt(EndpointId target, System.Exception inner) =>
            ThrowEndpointError(Errors.ConfirmationRequired(target, MyInvocation.MyCommand.Name, inner), target);
    }
}
