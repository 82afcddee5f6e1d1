using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>
    /// Starts endpoints (resumes paused or scaled-to-zero ones, optionally creates missing ones) and waits until
    /// each really answers its health route.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
    [OutputType(typeof(EndpointInfo))]
    public sealed class StartMertEndpoint : EndpointTargetCmdlet, IDynamicParameters
    {
        private CreateParameters? _create;

        /// <summary>Seconds to wait for readiness (default 600).</summary>
        [Parameter]
        [ValidateRange(1, 86400)]
        public int TimeoutSec { get; set; } = 600;

        /// <summary>Return as soon as the service accepted the resume.</summary>
        [Parameter]
        public SwitchParameter NoWait { get; set; }

        /// <summary>Create the endpoint (with New-MertEndpoint's parameters) when it does not exist.</summary>
        [Parameter(ParameterSetName = ByName)]
        public SwitchParameter CreateIfMissing { get; set; }

        /// <summary>What to do with an endpoint this command started when the start fails or times out.</summary>
        [Parameter]
        public FailureAction OnFailure { get; set; } = FailureAction.Pause;

        /// <summary>Safety net if this process dies: the service scales to zero after this many idle minutes.</summary>
        [Parameter]
        [ValidateRange(1, 10080)]
        public int? IdleTimeoutMinutes { get; set; }

        public object? GetDynamicParameters() => CreateIfMissing ? _create ??= new CreateParameters() : null;

        protected override void ProcessRecord()
        {
            foreach (var target in Targets()) Start(target);
        }

        private void Start(EndpointTarget target)
        {
            try
            {
                var started = StartOne(target, new StartSettings
                {
                    Create = _create, TimeoutSec = TimeoutSec, NoWait = NoWait, OnFailure = OnFailure, IdleTimeoutMinutes = IdleTimeoutMinutes,
                });
                if (started != null) WriteObject(started.Endpoint);
            }
            catch (EndpointException ex)
            {
                WriteEndpointError(ex, target.ToString());
            }
        }
    }
}
