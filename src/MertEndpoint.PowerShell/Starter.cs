using System;
using System.Management.Automation;
using System.Threading;

namespace MertEndpoint.PowerShell
{
    public enum FailureAction
    {
        /// <summary>Pause an endpoint that this command resumed or created, so a stuck start stops billing.</summary>
        Pause,
        /// <summary>Leave it as it is (it keeps booting and billing).</summary>
        Leave,
    }

    internal sealed class StartSettings
    {
        public CreateParameters? Create { get; set; }
        public int TimeoutSec { get; set; } = 600;
        public bool NoWait { get; set; }
        public FailureAction OnFailure { get; set; } = FailureAction.Pause;
        public int? IdleTimeoutMinutes { get; set; }
    }

    internal sealed class StartResult
    {
        public StartResult(EndpointInfo endpoint, bool wasRunning, bool startedHere)
        {
            Endpoint = endpoint;
            WasRunning = wasRunning;
            StartedHere = startedHere;
        }

        public EndpointInfo Endpoint { get; }
        /// <summary>It was running and answering before this command touched it.</summary>
        public bool WasRunning { get; }
        /// <summary>This command resumed or created it.</summary>
        public bool StartedHere { get; }
    }

    public abstract partial class EndpointTargetCmdlet
    {
        /// <summary>
        /// Brings one endpoint to ready: creates it when asked and missing, resumes it when paused or scaled to
        /// zero, waits for one already starting, and only probes one already running. A start this command began
        /// that times out or is cancelled is paused again (unless OnFailure is Leave). Returns null when the user
        /// declined the ShouldProcess prompt. Throws EndpointException.
        /// </summary>
        internal StartResult? StartOne(EndpointTarget target, StartSettings settings)
        {
            var label = target.ToString();
            var startedHere = false;
            try
            {
                // Always read the current state: a piped object may be stale.
                var endpoint = Await(Client.TryGetAsync(target.Namespace, target.Name, StopToken));
                if (endpoint == null)
                {
                    if (settings.Create == null)
                        throw new EndpointException(EndpointErrorKind.EndpointNotFound,
                            $"Endpoint '{target.Name}' was not found in namespace '{target.Namespace}'. " +
                            "Check the name with Get-MertEndpoint, or add -CreateIfMissing -ImageUrl <image> to create it.");
                    if (!ShouldProcess(label, $"Create endpoint ({settings.Create.Describe()}) and wait until it is ready")) return null;
                    endpoint = Await(Client.CreateAsync(target.Namespace, settings.Create.ToSpec(target.Name), StopToken));
                    startedHere = true;
                }

                switch (endpoint.Status)
                {
                    case EndpointStatus.Paused:
                    case EndpointStatus.ScaledToZero:
                        if (!ShouldProcess(label, "Resume endpoint (billing starts)")) return null;
                        var before = endpoint;
                        endpoint = Await(Client.ResumeAsync(target.Namespace, target.Name, StopToken));
                        startedHere = true;
                        WriteVerbose($"Resumed {label}; state is now '{endpoint.StatusText}'.");
                        endpoint = RestoreScaling(target, before, endpoint, settings.IdleTimeoutMinutes);
                        break;
                    case EndpointStatus.Failed:
                    case EndpointStatus.UpdateFailed:
                        throw new EndpointException(EndpointErrorKind.EndpointFailed,
                            $"Endpoint '{target.Name}' in namespace '{target.Namespace}' is in state '{endpoint.StatusText}' and cannot be started. " +
                            "Inspect it with Get-MertEndpoint, then delete it and create it again." +
                            (endpoint.Message == null ? string.Empty : " Service said: " + endpoint.Message));
                    case EndpointStatus.Running:
                        if (endpoint.Url != null && Await(Client.ProbeHealthAsync(endpoint, StopToken)) == 200)
                        {
                            WriteVerbose($"{label} is already running and answers {endpoint.HealthRoute}.");
                            if (settings.IdleTimeoutMinutes != null)
                                endpoint = RestoreScaling(target, endpoint, endpoint, settings.IdleTimeoutMinutes);
                            return new StartResult(endpoint, wasRunning: true, startedHere: false);
                        }
                        break;
                    default:
                        WriteVerbose($"{label} is '{endpoint.StatusText}'; waiting for it.");
                        if (startedHere && settings.IdleTimeoutMinutes == null) break;
                        endpoint = RestoreScaling(target, endpoint, endpoint, settings.IdleTimeoutMinutes);
                        break;
                }

                if (!settings.NoWait) endpoint = WaitReady(target, endpoint, settings.TimeoutSec);
                return new StartResult(endpoint, wasRunning: false, startedHere: startedHere);
            }
            catch (EndpointException ex) when (startedHere && ex.Kind == EndpointErrorKind.WaitTimeout && settings.OnFailure == FailureAction.Pause)
            {
                throw new EndpointException(ex.Kind, ex.Message + " " + PauseAfterFailure(target), ex);
            }
            catch (PipelineStoppedException) when (startedHere && settings.OnFailure == FailureAction.Pause)
            {
                PauseAfterFailure(target);
                throw;
            }
        }

        /// <summary>
        /// The service resets min and max replicas to 1 on resume; put back what the endpoint had, and with an idle
        /// timeout set min 0 and the scale-to-zero timeout so the service itself stops billing if this process dies.
        /// </summary>
        private EndpointInfo RestoreScaling(EndpointTarget target, EndpointInfo before, EndpointInfo now, int? idleTimeoutMinutes)
        {
            var min = idleTimeoutMinutes != null ? 0 : before.MinReplica;
            var max = Math.Max(1, before.MaxReplica);
            var timeout = idleTimeoutMinutes ?? (min == 0 ? before.ScaleToZeroTimeout : null);
            if (now.MinReplica == min && now.MaxReplica == max && (timeout == null || now.ScaleToZeroTimeout == timeout)) return now;
            WriteVerbose($"Setting {target} replicas to {min}-{max}" + (timeout == null ? "." : $" with scale-to-zero after {timeout} idle minutes."));
            return Await(Client.UpdateAsync(target.Namespace, target.Name,
                new EndpointUpdateSpec { MinReplica = min, MaxReplica = max, ScaleToZeroTimeout = timeout }, StopToken));
        }

        /// <summary>Pauses an endpoint whose start this command began; returns a sentence for the error message.</summary>
        internal string PauseAfterFailure(EndpointTarget target)
        {
            // Ctrl+C has already cancelled StopToken: the pause gets its own budget.
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                try
                {
                    Client.PauseAsync(target.Namespace, target.Name, cts.Token).GetAwaiter().GetResult();
                    return "It was paused again so that it stops billing (use -OnFailure Leave to let it keep booting).";
                }
                catch (Exception ex) when (ex is EndpointException || ex is OperationCanceledException)
                {
                    return $"Pausing it again FAILED, so it may still be billing: run Stop-MertEndpoint -Name {target.Name} -Namespace {target.Namespace}. ({ex.Message})";
                }
            }
        }
    }
}
