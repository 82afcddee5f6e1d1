using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    public enum FailureAction
    {
        /// <summary>Pause an endpoint that this command resumed or created, so a stuck start stops billing.</summary>
        Pause,
        /// <summary>Leave it as it is (it keeps booting and billing).</summary>
        Leave,
    }

    /// <summary>
    /// Starts endpoints (resumes paused or scaled-to-zero ones, optionally creates missing ones) and waits until
    /// each really answers its health route. Many endpoints are started and waited for concurrently.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
    [OutputType(typeof(EndpointInfo))]
    public sealed class StartMertEndpoint : FanOutCmdlet, IDynamicParameters
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
            foreach (var target in Targets())
            {
                var action = _create == null
                    ? "Start endpoint (resume it if paused; billing starts) and wait until it answers"
                    : $"Start endpoint, creating it if missing ({_create.Describe()}), and wait until it answers";
                if (!ShouldProcess(target.ToString(), action)) continue;
                var options = new StartOptions
                {
                    CreateIfMissing = _create?.ToSpec(target.Name!),
                    NoWait = NoWait,
                    PauseOnFailure = OnFailure == FailureAction.Pause,
                    IdleTimeoutMinutes = IdleTimeoutMinutes,
                    Wait = WaitWithProgress(target, TimeoutSec),
                    Log = PostVerbose,
                };
                EnqueueEndpoint(target, async ct =>
                {
                    try
                    {
                        return (await Lifecycle.StartAsync(target.Namespace!, target.Name!, options, ct).ConfigureAwait(false)).Endpoint;
                    }
                    finally
                    {
                        CompleteProgress(options.Wait);
                    }
                });
            }
        }
    }
}
