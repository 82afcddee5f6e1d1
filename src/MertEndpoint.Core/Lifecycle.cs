using System;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>How to bring an endpoint up.</summary>
    public sealed class StartOptions
    {
        /// <summary>Create the endpoint with this spec when it does not exist; null means a missing endpoint is an error.</summary>
        public EndpointCreateSpec? CreateIfMissing { get; set; }
        /// <summary>Return once the service accepted the resume, without waiting for readiness.</summary>
        public bool NoWait { get; set; }
        /// <summary>Pause an endpoint this call resumed or created when the wait times out or is cancelled.</summary>
        public bool PauseOnFailure { get; set; } = true;
        /// <summary>Set min replicas 0 and this scale-to-zero timeout, so the service stops billing if the caller dies.</summary>
        public int? IdleTimeoutMinutes { get; set; }
        public WaitOptions Wait { get; set; } = new WaitOptions();
        /// <summary>Receives one line per decision (verbose output); may be called from any thread.</summary>
        public Action<string>? Log { get; set; }
    }

    public sealed class StartResult
    {
        internal StartResult(EndpointInfo endpoint, bool wasRunning, bool startedHere)
        {
            Endpoint = endpoint;
            WasRunning = wasRunning;
            StartedHere = startedHere;
        }

        public EndpointInfo Endpoint { get; }
        /// <summary>It was running and answering before this call touched it.</summary>
        public bool WasRunning { get; }
        /// <summary>This call resumed or created it.</summary>
        public bool StartedHere { get; }
    }

    public sealed partial class EndpointClient
    {
        /// <summary>
        /// Brings one endpoint to ready: creates it when asked and missing, resumes it when paused or scaled to
        /// zero, waits for one already starting, and only probes one already running (one GET, one probe). A start
        /// this call began that times out or is cancelled is paused again unless PauseOnFailure is false, and the
        /// error says so. Replica settings that the service resets on resume are restored.
        /// </summary>
        public async Task<StartResult> StartAsync(string ns, string name, StartOptions options, CancellationToken ct = default)
        {
            var log = options.Log ?? (_ => { });
            var label = ns + "/" + name;
            // Set before the create or resume is sent: once it may have reached the service, a failure or a
            // cancellation must pause the endpoint (pausing one that never started is a harmless no-op).
            var startedHere = false;
            var wasRunning = false;
            try
            {
                var endpoint = await TryGetAsync(ns, name, ct).ConfigureAwait(false);
                if (endpoint == null)
                {
                    if (options.CreateIfMissing == null)
                        throw new EndpointException(EndpointErrorKind.EndpointNotFound,
                            $"Endpoint '{name}' was not found in namespace '{ns}'. " +
                            "Check the name with Get-MertEndpoint, or add -CreateIfMissing -ImageUrl <image> to create it.");
                    startedHere = true;
                    endpoint = await CreateAsync(ns, options.CreateIfMissing, ct).ConfigureAwait(false);
                    log($"Created {label}; state is '{endpoint.StatusText}'.");
                }

                switch (endpoint.Status)
                {
                    case EndpointStatus.Paused:
                    case EndpointStatus.ScaledToZero:
                        var before = endpoint;
                        startedHere = true;
                        endpoint = await ResumeAsync(ns, name, ct).ConfigureAwait(false);
                        log($"Resumed {label}; state is now '{endpoint.StatusText}'.");
                        endpoint = await RestoreScalingAsync(ns, name, before, endpoint, options.IdleTimeoutMinutes, log, ct).ConfigureAwait(false);
                        break;
                    case EndpointStatus.Failed:
                    case EndpointStatus.UpdateFailed:
                        throw new EndpointException(EndpointErrorKind.EndpointFailed,
                            $"Endpoint '{name}' in namespace '{ns}' is in state '{endpoint.StatusText}' and cannot be started. " +
                            "Inspect it with Get-MertEndpoint, then delete it and create it again." +
                            (endpoint.Message == null ? string.Empty : " Service said: " + endpoint.Message));
                    case EndpointStatus.Running:
                        // Running before this call: a shared endpoint that -KeepIfRunning must leave running.
                        wasRunning = true;
                        if (options.IdleTimeoutMinutes != null)
                            endpoint = await RestoreScalingAsync(ns, name, endpoint, endpoint, options.IdleTimeoutMinutes, log, ct).ConfigureAwait(false);
                        if (endpoint.Status == EndpointStatus.Running && endpoint.Url != null &&
                            await ProbeHealthAsync(endpoint, ct).ConfigureAwait(false) == 200)
                        {
                            log($"{label} is already running and answers {endpoint.HealthRoute}.");
                            return new StartResult(endpoint, wasRunning: true, startedHere: false);
                        }
                        break; // an update is being applied, or it does not answer yet: wait for it
                    default:
                        log($"{label} is '{endpoint.StatusText}'; waiting for it.");
                        if (options.IdleTimeoutMinutes != null)
                            endpoint = await RestoreScalingAsync(ns, name, endpoint, endpoint, options.IdleTimeoutMinutes, log, ct).ConfigureAwait(false);
                        break;
                }

                if (!options.NoWait)
                {
                    var wait = options.Wait;
                    wait.Initial = endpoint;
                    endpoint = await WaitForReadyAsync(ns, name, wait, ct).ConfigureAwait(false);
                }
                return new StartResult(endpoint, wasRunning, startedHere);
            }
            catch (EndpointException ex) when (startedHere && options.PauseOnFailure && ex.Kind != EndpointErrorKind.EndpointFailed)
            {
                // Timed out, or anything else after the endpoint began to boot (a failed scaling restore, an error
                // while waiting): it must not go on billing. A failed endpoint does not bill.
                throw new EndpointException(ex.Kind, ex.Message + " " + await PauseAfterFailureAsync(ns, name).ConfigureAwait(false), ex);
            }
            catch (OperationCanceledException) when (startedHere && options.PauseOnFailure && ct.IsCancellationRequested)
            {
                await PauseAfterFailureAsync(ns, name).ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>
        /// The service resets min and max replicas to 1 on resume: put back what the endpoint had, and with an idle
        /// timeout set min 0 and the scale-to-zero timeout so the service itself stops billing if the caller dies.
        /// </summary>
        private async Task<EndpointInfo> RestoreScalingAsync(string ns, string name, EndpointInfo before, EndpointInfo now,
            int? idleTimeoutMinutes, Action<string> log, CancellationToken ct)
        {
            var min = idleTimeoutMinutes != null ? 0 : before.MinReplica;
            var max = Math.Max(1, before.MaxReplica);
            var timeout = idleTimeoutMinutes ?? (min == 0 ? before.ScaleToZeroTimeout : null);
            if (now.MinReplica == min && now.MaxReplica == max && (timeout == null || now.ScaleToZeroTimeout == timeout)) return now;
            log($"Setting {ns}/{name} replicas to {min}-{max}" + (timeout == null ? "." : $" with scale-to-zero after {timeout} idle minutes."));
            return await UpdateAsync(ns, name, new EndpointUpdateSpec { MinReplica = min, MaxReplica = max, ScaleToZeroTimeout = timeout }, ct)
                .ConfigureAwait(false);
        }

        /// <summary>Pauses an endpoint whose start failed; returns a sentence for the error message. Never throws.</summary>
        private async Task<string> PauseAfterFailureAsync(string ns, string name)
        {
            // The caller's token may be cancelled already (Ctrl+C): the pause gets its own budget.
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                try
                {
                    await PauseAsync(ns, name, cts.Token).ConfigureAwait(false);
                    return "It was paused again so that it stops billing (use -OnFailure Leave to let it keep booting).";
                }
                catch (Exception ex) when (ex is EndpointException || ex is OperationCanceledException)
                {
                    return $"Pausing it again FAILED, so it may still be billing: run Stop-MertEndpoint -Name {name} -Namespace {ns}. ({ex.Message})";
                }
            }
        }
    }
}
