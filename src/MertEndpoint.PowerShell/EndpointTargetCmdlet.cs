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

        /// <summary>Wait options of -TimeoutSec; the wait's progress bar is the reporter's (<see cref="CmdletReporter.Progress"/>).</summary>
        internal static WaitOptions WaitFor(int timeoutSec) => new WaitOptions { Timeout = TimeSpan.FromSeconds(timeoutSec) };

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
