using System;
using System.Collections.Generic;
using System.Management.Automation;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// Base for cmdlets that act on named endpoints: -Name (by position, value or property name) or -InputObject.
    /// Names are validated before any request is sent; wildcards are refused so that a typo never acts on many.
    /// </summary>
    public abstract class EndpointTargetCmdlet : MertCmdlet
    {
        protected const string ByName = "ByName";
        protected const string ByInputObject = "ByInputObject";

        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ByName)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(EndpointNameCompleter))]
        public string[] Name { get; set; } = new string[0];

        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByInputObject)]
        [ValidateNotNull]
        public EndpointInfo? InputObject { get; set; }

        /// <summary>The endpoints named by this pipeline record (piped objects are only identities: their state may be stale); invalid names become errors here.</summary>
        protected IEnumerable<EndpointId> Targets()
        {
            if (InputObject != null)
            {
                yield return new EndpointId(InputObject.Namespace, InputObject.Name);
                yield break;
            }
            foreach (var name in Name)
            {
                if (WildcardPattern.ContainsWildcardCharacters(name))
                {
                    WriteEndpointError(Errors.WildcardNotAllowed(name, MyInvocation.MyCommand.Name), null);
                    continue;
                }
                // "ns/name" is the Hub's usual form: take it apart.
                var id = Qualify(name, Namespace);
                if (id == null || !IsValidName(id.Name!)) continue;
                yield return id;
            }
        }

        /// <summary>Wait options of -Timeout; the wait's progress bar is the reporter's (<see cref="CmdletReporter.Progress"/>).</summary>
        internal static WaitOptions WaitFor(TimeSpan timeout) => new WaitOptions { Timeout = timeout };

        /// <summary>
        /// For a command that starts billing: the hardware and price of <paramref name="target"/> to put in the question
        /// when one is about to be asked (-WhatIf, -Confirm, or a $ConfirmPreference that asks at Medium). One read, only
        /// then; empty when nobody is asked or the endpoint cannot be read (the command itself then says why).
        /// </summary>
        protected string PriceInQuestion(EndpointId target)
        {
            if (!Asking()) return "";
            try
            {
                EndpointInfo endpoint = InputObject?.InstanceType != null && InputObject.Id.Equals(target) ? InputObject
                    : Await(Client.GetAsync(target.Namespace!, target.Name!, StopToken));
                return Errors.PriceNote(endpoint.Instance, Usage.Prices.KnownPrice(Client, endpoint));
            }
            catch (EndpointException)
            {
                return "";
            }
        }

        private bool Asking()
        {
            bool Set(string name, out bool value)
            {
                value = MyInvocation.BoundParameters.TryGetValue(name, out var v) && v is SwitchParameter s && s.IsPresent;
                return MyInvocation.BoundParameters.ContainsKey(name);
            }
            if (Set("WhatIf", out bool whatIf)) return whatIf;
            if (LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("WhatIfPreference"))) return true;
            if (Set("Confirm", out bool confirm)) return confirm;
            return SessionState.PSVariable.GetValue("ConfirmPreference") is ConfirmImpact preference
                && preference != ConfirmImpact.None && preference <= ConfirmImpact.Medium;
        }

        /// <summary>Closes an endpoint's progress bar once its wait is over (any thread).</summary>
        internal void CompleteProgress(EndpointId target) => Reporter.CompleteWait(target);
    }

    /// <summary>A cmdlet that works on many piped endpoints at once, up to -ThrottleLimit.</summary>
    public abstract class FanOutCmdlet : EndpointTargetCmdlet
    {
        /// <summary>Endpoints worked on at once when many come down the pipeline (default 16).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 16;

        protected override int Concurrency => ThrottleLimit;
    }
}
