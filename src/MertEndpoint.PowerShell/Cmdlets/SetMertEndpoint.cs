using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Changes an endpoint's settings, sending only the settings given.</summary>
    [Cmdlet(VerbsCommon.Set, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
    [OutputType(typeof(EndpointInfo))]
    public sealed class SetMertEndpoint : FanOutCmdlet
    {
        [Parameter] [ValidateRange(0, 100)] public int? MinReplica { get; set; }
        [Parameter] [ValidateRange(1, 100)] public int? MaxReplica { get; set; }

        /// <summary>How long without requests before the service scales to zero (whole minutes; needs min replicas 0).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Duration]
        [ValidateDuration(60, 10080 * 60, WholeMinutes = true)]
        public System.TimeSpan? IdleTimeout { get; set; }

        /// <summary>-IdleTimeout's old name, in minutes: hidden, kept for scripts written for it.</summary>
        [Parameter(DontShow = true)] [ValidateRange(1, 10080)] public int? ScaleToZeroTimeout { get; set; }

        [Parameter] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(HardwareCompleter))] public string? InstanceType { get; set; }
        [Parameter] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(HardwareCompleter))] public string? InstanceSize { get; set; }
        [Parameter] [ValidateNotNullOrEmpty] public string? ImageUrl { get; set; }
        [Parameter] [ValidateRange(1, 65535)] public int? Port { get; set; }
        [Parameter] [ValidatePattern("^/")] public string? HealthRoute { get; set; }
        [Parameter] [ValidateNotNullOrEmpty] public string? Repository { get; set; }
        [Parameter] [ValidateNotNullOrEmpty] public string? Revision { get; set; }
        [Parameter] public Hashtable? Env { get; set; }

        protected override void ProcessRecord()
        {
            EndpointUpdateSpec spec;
            try
            {
                spec = new EndpointUpdateSpec
                {
                    MinReplica = MinReplica, MaxReplica = MaxReplica,
                    ScaleToZeroTimeout = Minutes(DurationOf(nameof(IdleTimeout), IdleTimeout, nameof(ScaleToZeroTimeout), ScaleToZeroTimeout, System.TimeSpan.FromMinutes(1))),
                    InstanceType = InstanceType, InstanceSize = InstanceSize,
                    ImageUrl = ImageUrl, ImagePort = Port, HealthRoute = HealthRoute == null ? null : Inputs.Route(HealthRoute, nameof(HealthRoute)),
                    Repository = Repository, Revision = Revision, Env = CreateParameters.ToDictionary(Env, nameof(Env)),
                };
            }
            catch (EndpointException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, null)); // the same settings go to every endpoint: none can be changed
                return;
            }
            var changes = Changes();
            if (changes.Count == 0)
            {
                WriteEndpointError(Errors.NoChange(), null);
                return;
            }
            foreach (var target in Targets())
            {
                if (!ShouldProcess(target.ToString(), "Update " + string.Join(", ", changes))) continue;
                EnqueueEndpoint(target, async ct => await Client.UpdateAsync(target.Namespace!, target.Name!, spec, ct).ConfigureAwait(false));
            }
        }

        private List<string> Changes()
        {
            var skip = new HashSet<string> { "Name", "InputObject", "Namespace", "Token", "ThrottleLimit" };
            var changes = new List<string>();
            foreach (var key in MyInvocation.BoundParameters.Keys)
            {
                if (skip.Contains(key) || CommonParameters.Contains(key) || OptionalCommonParameters.Contains(key)) continue;
                var value = MyInvocation.BoundParameters[key];
                changes.Add(value is IDictionary ? $"{key} ({((IDictionary)value).Count} entries)" : $"{key}={value}");
            }
            return changes;
        }
    }
}
