using System;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>How to bring an endpoint up. Input only: the lifecycle reads it and never writes to it.</summary>
    public sealed class StartOptions
    {
        /// <summary>Create the endpoint with this spec when it does not exist; null means a missing endpoint is an error.</summary>
        public EndpointCreateSpec? CreateIfMissing { get; set; }
        /// <summary>Return once the service accepted the resume, without waiting for readiness.</summary>
        public bool NoWait { get; set; }
        /// <summary>Pause an endpoint this call resumed or created when the start fails, times out or is cancelled.</summary>
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
        /// <summary>It was running before this call touched it.</summary>
        public bool WasRunning { get; }
        /// <summary>This call resumed or created it.</summary>
        public bool StartedHere { get; }
    }

    /// <summary>
    /// Start, wait for readiness, and roll back: the policy over an <see cref="EndpointClient"/>'s single calls.
    /// Stateless apart from the client, so one instance serves any number of concurrent starts.
    /// </summary>
    public sealed class EndpointLifecycle
    {
        // The pause owed after a failed or cancelled start gets its own budget: the caller's token may be cancelled already.
        private static readonly TimeSpan RollbackBudget = TimeSpan.FromSeconds(30);

        public EndpointLifecycle(EndpointClient client) => Client = client ?? throw new ArgumentNullException(nameof(client));

        public EndpointClient Client { get; }

        /// <summary>
        /// Brings one endpoint to ready: creates it when asked and missing, resumes it when paused or scaled to
        /// zero, waits for one already starting, and only probes one already running (one GET, one probe). A start
        /// this call began that fails, times out or is cancelled is paused again unless PauseOnFailure is false,
        /// and the error says so. Replica settings that the service resets on resume are restored.
        /// </summary>
        public async Task<StartResult> StartAsync(string ns, string name, StartOptions options, CancellationToken ct = default)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            var log = options.Log ?? (_ => { });
            var id = new EndpointId(ns, name);
            // Set before the create or resume is sent: once it may have reached the service, a failure or a
            // cancellation must pause the endpoint (pausing one that never started is a harmless no-op).
            var startedHere = false;
            var wasRunning = false;
            try
            {
                var endpoint = await Client.TryGetAsync(ns, name, ct).ConfigureAwait(false);
                if (endpoint == null)
                {
                    if (options.CreateIfMissing == null) throw Errors.NotFoundForStart(ns, name);
                    startedHere = true;
                    endpoint = await Client.CreateAsync(ns, options.CreateIfMissing, ct).ConfigureAwait(false);
                    log($"Created {id}; state is '{endpoint.StatusText}'.");
                }

                switch (endpoint.Status)
                {
                    case EndpointStatus.Paused:
                    case EndpointStatus.ScaledToZero:
                        var before = endpoint;
                        startedHere = true;
                        endpoint = await Client.ResumeAsync(ns, name, ct).ConfigureAwait(false);
                        log($"Resumed {id}; state is now '{endpoint.StatusText}'.");
                        endpoint = await RestoreScalingAsync(before, endpoint, options.IdleTimeoutMinutes, log, ct).ConfigureAwait(false);
                        break;
                    case EndpointStatus.Failed:
                    case EndpointStatus.UpdateFailed:
                        throw await Evidence.AttachLogsAsync(Client, Errors.CannotStart(endpoint), ct).ConfigureAwait(false);
                    case EndpointStatus.Running:
                        // Running before this call: a shared endpoint that -KeepIfRunning must leave running.
                        wasRunning = true;
                        if (options.IdleTimeoutMinutes != null)
                            endpoint = await RestoreScalingAsync(endpoint, endpoint, options.IdleTimeoutMinutes, log, ct).ConfigureAwait(false);
                        if (endpoint.Status == EndpointStatus.Running && await Client.ProbeHealthAsync(endpoint, ct).ConfigureAwait(false) == 200)
                        {
                            log($"{id} is already running and answers {endpoint.HealthRoute}.");
                            return new StartResult(endpoint, wasRunning: true, startedHere: false);
                        }
                        break; // an update is being applied, or it does not answer yet: wait for it
                    default:
                        log($"{id} is '{endpoint.StatusText}'; waiting for it.");
                        if (options.IdleTimeoutMinutes != null)
                            endpoint = await RestoreScalingAsync(endpoint, endpoint, options.IdleTimeoutMinutes, log, ct).ConfigureAwait(false);
                        break;
                }

                if (!options.NoWait)
                    endpoint = await new ReadinessWaiter(Client, ns, name, options.Wait ?? new WaitOptions()).RunAsync(endpoint, ct).ConfigureAwait(false);
                return new StartResult(endpoint, wasRunning, startedHere);
            }
            catch (EndpointException ex) when (startedHere && options.PauseOnFailure && ex.Kind != EndpointErrorKind.EndpointFailed)
            {
                // Timed out, or anything else after the endpoint began to boot (a failed scaling restore, an error
                // while waiting): it must not go on billing. A failed endpoint does not bill.
                throw ex.WithMessage(ex.Message + " " + await RollBackAsync(id).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (startedHere && options.PauseOnFailure && ct.IsCancellationRequested)
            {
                log($"{id}: the start was cancelled; " + await RollBackAsync(id).ConfigureAwait(false));
                throw;
            }
        }

        /// <summary>
        /// Waits until the endpoint is running, has a URL and its health route answers 200 (the state alone has been
        /// seen to turn "running" too early). See <see cref="ReadinessWaiter"/> for the schedule.
        /// </summary>
        public Task<EndpointInfo> WaitForReadyAsync(string ns, string name, WaitOptions? options = null, CancellationToken ct = default) =>
            new ReadinessWaiter(Client, ns, name, options ?? new WaitOptions()).RunAsync(null, ct);

        /// <summary>
        /// The service resets min and max replicas to 1 on resume: put back what the endpoint had, and with an idle
        /// timeout set min 0 and the scale-to-zero timeout so the service itself stops billing if the caller dies.
        /// </summary>
        private async Task<EndpointInfo> RestoreScalingAsync(EndpointInfo before, EndpointInfo now, int? idleTimeoutMinutes,
            Action<string> log, CancellationToken ct)
        {
            var min = idleTimeoutMinutes != null ? 0 : before.MinReplica;
            var max = Math.Max(1, before.MaxReplica);
            var timeout = idleTimeoutMinutes ?? (min == 0 ? before.ScaleToZeroTimeout : null);
            if (now.MinReplica == min && now.MaxReplica == max && (timeout == null || now.ScaleToZeroTimeout == timeout)) return now;
            log($"Setting {now.Id} replicas to {min}-{max}" + (timeout == null ? "." : $" with scale-to-zero after {timeout} idle minutes."));
            return await Client.UpdateAsync(now.Namespace, now.Name,
                new EndpointUpdateSpec { MinReplica = min, MaxReplica = max, ScaleToZeroTimeout = timeout }, ct).ConfigureAwait(false);
        }

        /// <summary>Pauses an endpoint whose start failed; returns a sentence for the error message. Never throws.</summary>
        private async Task<string> RollBackAsync(EndpointId id)
        {
            using var budget = new CancellationTokenSource(RollbackBudget);
            try
            {
                await Client.PauseAsync(id.Namespace!, id.Name!, budget.Token).ConfigureAwait(false);
                return Errors.PausedAgain;
            }
            catch (Exception ex) when (ex is EndpointException || ex is OperationCanceledException)
            {
                return Errors.PauseFailed(id, ex);
            }
        }
    }
}
