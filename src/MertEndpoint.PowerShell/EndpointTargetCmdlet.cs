using System;
using System.Collections.Generic;
using System.Management.Automation;

namespace MertEndpoint.PowerShell
{
    /// <summary>One endpoint to act on: its namespace, its name, and its state when the caller piped it in.</summary>
    public readonly struct EndpointTarget
    {
        public EndpointTarget(string ns, string name, EndpointInfo? known)
        {
            Namespace = ns;
            Name = name;
            Known = known;
        }

        public string Namespace { get; }
        public string Name { get; }
        public EndpointInfo? Known { get; }
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
                yield return new EndpointTarget(InputObject.Namespace, InputObject.Name, InputObject);
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
                try
                {
                    EndpointClient.ValidateName(name);
                }
                catch (EndpointException ex)
                {
                    WriteEndpointError(ex, name);
                    continue;
                }
                yield return new EndpointTarget(ResolveNamespace(Namespace), name, null);
            }
        }

        /// <summary>Waits for readiness with a progress bar written from the pipeline thread.</summary>
        protected EndpointInfo WaitReady(EndpointTarget target, EndpointInfo? initial, int timeoutSec)
        {
            var progress = new WaitProgressWriter(target.ToString(), PostToPipeline, WriteProgress);
            try
            {
                return Await(Client.WaitForReadyAsync(target.Namespace, target.Name,
                    new WaitOptions { Timeout = TimeSpan.FromSeconds(timeoutSec), Initial = initial, Progress = progress }, StopToken));
            }
            finally
            {
                if (!StopToken.IsCancellationRequested) progress.Complete();
            }
        }
    }
}
