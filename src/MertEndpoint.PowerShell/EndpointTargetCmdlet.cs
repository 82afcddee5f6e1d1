using System;
using System.Collections.Generic;
using System.Management.Automation;

namespace MertEndpoint.PowerShell
{
    /// <summary>One endpoint to act on: its namespace and name (piped objects are read again: they may be stale).</summary>
    public readonly struct EndpointTarget
    {
        public EndpointTarget(string ns, string name)
        {
            Namespace = ns;
            Name = name;
        }

        public string Namespace { get; }
        public string Name { get; }
        public override string ToString() => Namespace + "/" + Name;
    }

    /// <summary>
    /// Base for cmdlets that act on named endpoints: -Name (by position, value or property name) or -InputObject.
    /// Names are validated before any request is sent; wildcards are refused so that a typo never acts on many.
    /// </summary>
    public abstract partial class EndpointTargetCmdlet : MertCmdlet
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

        /// <summary>The endpoints named by this pipeline record; invalid names become errors here.</summary>
        protected IEnumerable<EndpointTarget> Targets()
        {
            if (InputObject != null)
            {
                yield return new EndpointTarget(InputObject.Namespace, InputObject.Name);
                yield break;
            }
            foreach (var name in Name)
            {
                if (WildcardPattern.ContainsWildcardCharacters(name))
                {
                    WriteArgumentError("WildcardNotAllowed",
                        $"'{name}' contains wildcard characters; {MyInvocation.MyCommand.Name} acts on exact names only. " +
                        $"To act on several endpoints, pipe them: Get-MertEndpoint '{name}' | {MyInvocation.MyCommand.Name}", name);
                    continue;
                }
                if (!IsValidName(name)) continue;
                yield return new EndpointTarget(ResolveNamespace(Namespace), name);
            }
        }

        /// <summary>Wait options whose progress becomes a progress bar written from the pipeline thread.</summary>
        internal WaitOptions WaitWithProgress(EndpointTarget target, int timeoutSec) => new WaitOptions
        {
            Timeout = TimeSpan.FromSeconds(timeoutSec),
            Progress = new WaitProgressWriter(target.ToString(), PostToPipeline, WriteProgress),
        };

        /// <summary>Closes an endpoint's progress bar once its wait is over.</summary>
        internal void CompleteProgress(WaitOptions options)
        {
            if (options.Progress is WaitProgressWriter writer) PostToPipeline(writer.Complete);
        }

        /// <summary>A verbose line from any thread.</summary>
        internal void PostVerbose(string message) => PostToPipeline(() => WriteVerbose(message));
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
