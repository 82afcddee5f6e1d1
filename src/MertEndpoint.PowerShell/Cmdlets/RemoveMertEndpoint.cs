using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Deletes endpoints permanently (configuration, logs and metrics). Asks first unless -Force.</summary>
    [Cmdlet(VerbsCommon.Remove, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByName)]
    [OutputType(typeof(void))]
    public sealed class RemoveMertEndpoint : FanOutCmdlet
    {
        /// <summary>Delete without asking. -WhatIf still deletes nothing.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var target in Targets())
            {
                const string action = "Delete endpoint permanently (configuration, logs and metrics are lost; Stop-MertEndpoint only pauses)";
                // -Force skips the prompt, never -WhatIf (given here or through $WhatIfPreference).
                var go = Force && !WhatIfInEffect() || ShouldProcess(target.ToString(), action);
                if (!go) continue;
                EnqueueEndpoint(target, async ct =>
                {
                    await Client.DeleteAsync(target.Namespace, target.Name, ct).ConfigureAwait(false);
                    PostVerbose($"Deleted {target}.");
                    return null;
                });
            }
        }

        private bool WhatIfInEffect() =>
            MyInvocation.BoundParameters.TryGetValue("WhatIf", out var given)
                ? ((SwitchParameter)given).IsPresent
                : LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));
    }
}
