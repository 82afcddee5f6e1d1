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

    public sealed class StopResult
    {
        internal StopResult(EndpointInfo endpoint, bool changed)
        {
            Endpoint = endpoint;
            Changed = changed;
        }

        public EndpointInfo Endpoint { get; }
        /// <summary>False when the service refused the change because the endpoint already billed nothing.</summary>
        public bool Changed { get; }
    }

    /// <summary>
    /// Start, wait for readiness, and roll back: the policy over an <see cref="EndpointClient"/>'s single calls.
    /// Stateless apart from the client, so one instance serves any number of concurrent starts.
    /// </summary>
    public sealed class EndpointLifecycle
    {
        // The pause owed after a failed or cancelled start gets its own budget: the caller's token may be cancelled already.
        private static readonly TimeSpan RollbackBudget = TimeSpan.FromSeconds(30);

        /// <summary>How long after its own resume a start takes a paused or scaled-to-zero read for a late answer.</summary>
        public static readonly TimeSpan StaleReadGrace = TimeSpan.FromSeconds(10);

        /// <param name="usage">Where the last known URL of an endpoint comes from (probed while the control plane has none); optional.</param>
        public EndpointLifecycle(EndpointClient client, UsageService? usage = null)
        {
            Client = client ?? throw new ArgumentNullException(nameof(client));
            _usage = usage;
        }

        private readonly UsageService? _usage;

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
                // This module created it a moment ago: a read may not show it yet (an eventually consistent service).
                for (long since = Client.TimeProvider.GetTimestamp(); endpoint == null
                     && _usage?.ChangedByUsWithin(Client.ApiBase, ns, name, StaleReadGrace) == true
                     && Client.TimeProvider.GetElapsedTime(since) < StaleReadGrace;)
                {
                    await Client.TimeProvider.Delay(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
                    endpoint = await Client.TryGetAsync(ns, name, ct).ConfigureAwait(false);
                }
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
                        throw Errors.CannotStart(endpoint);
                    case EndpointStatus.Running:
                        if (options.IdleTimeoutMinutes != null)
                            endpoint = await RestoreScalingAsync(endpoint, endpoint, options.IdleTimeoutMinutes, log, ct).ConfigureAwait(false);
                        if (endpoint.Status == EndpointStatus.Running && await Client.ProbeHealthAsync(endpoint, ct).ConfigureAwait(false) == 200)
                        {
                            // Running before this call: a shared endpoint that -KeepIfRunning must leave running.
                            log($"{id} is already running and answers {endpoint.HealthRoute}.");
                            return new StartResult(endpoint, wasRunning: true, startedHere: false);
                        }
                        // Running but not answering: an update, a slow start, or a late read of an endpoint paused a moment
                        // ago. A resume settles it: the service resumes a paused one and says "already running" otherwise.
                        var read = endpoint;
                        startedHere = true; // set before sending, as for any resume
                        bool resumed;
                        (endpoint, resumed) = await Client.ResumeOrReadAsync(ns, name, ct).ConfigureAwait(false);
                        // Only a resume that set it booting started it; a no-op answer (running, updating) did not.
                        startedHere = resumed && endpoint.Status is EndpointStatus.Pending or EndpointStatus.Initializing;
                        wasRunning = !startedHere;
                        if (startedHere)
                        {
                            log($"{id} read as running but was not answering; resumed it, state is now '{endpoint.StatusText}'.");
                            endpoint = await RestoreScalingAsync(read, endpoint, options.IdleTimeoutMinutes, log, ct).ConfigureAwait(false);
                        }
                        break;
                    default:
                        log($"{id} is '{endpoint.StatusText}'; waiting for it.");
                        if (options.IdleTimeoutMinutes != null)
                            endpoint = await RestoreScalingAsync(endpoint, endpoint, options.IdleTimeoutMinutes, log, ct).ConfigureAwait(false);
                        break;
                }

                if (!options.NoWait)
                {
                    string? hint = endpoint.Url == null ? LastKnownUrl(ns, name) : null;
                    endpoint = await new ReadinessWaiter(Client, ns, name, options.Wait ?? new WaitOptions(), hint,
                        startedHere ? StaleReadGrace : TimeSpan.Zero).RunAsync(endpoint, ct).ConfigureAwait(false);
                }
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
            new ReadinessWaiter(Client, ns, name, options ?? new WaitOptions(), LastKnownUrl(ns, name),
                _usage?.ChangedByUsWithin(Client.ApiBase, ns, name, StaleReadGrace) == true ? StaleReadGrace : TimeSpan.Zero).RunAsync(null, ct);

        private string? LastKnownUrl(string ns, string name) => _usage?.LastKnownUrl(Client.ApiBase, ns, name);

        /// <summary>
        /// Stops one endpoint with one call: a pause (or scale to zero) and no read first, since any state the caller
        /// holds may be stale and a skipped pause can leave an endpoint billing. When the service refuses the change
        /// (400, 409, 422: the endpoint is in no state to take it), one GET settles it: an endpoint that bills nothing
        /// (paused, failed, or scaled to zero when that was asked) counts as stopped; anything else is the refusal.
        /// </summary>
        public async Task<StopResult> StopAsync(string ns, string name, bool scaleToZero = false, CancellationToken ct = default)
        {
            try
            {
                EndpointInfo endpoint = await (scaleToZero ? Client.ScaleToZeroAsync(ns, name, ct) : Client.PauseAsync(ns, name, ct)).ConfigureAwait(false);
                return new StopResult(endpoint, changed: true);
            }
            catch (EndpointException ex) when (ex.StatusCode is 400 or 409 or 422)
            {
                EndpointInfo current = await Client.GetAsync(ns, name, ct).ConfigureAwait(false);
                bool stopped = current.Status is EndpointStatus.Paused or EndpointStatus.Failed or EndpointStatus.UpdateFailed
                    || (scaleToZero && current.Status == EndpointStatus.ScaledToZero);
                if (!stopped) throw;
                return new StopResult(current, changed: false);
            }
        }

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
