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
        /// <summary>Its Timeout bounds the whole start: the calls before the wait (and their retries) as well as the wait.</summary>
        public WaitOptions Wait { get; set; } = new WaitOptions();
        /// <summary>The pause owed when a start this call began fails or is cancelled (see <see cref="EndpointLifecycle.PauseOwedAsync"/>).</summary>
        public OwedPauseOptions OwedPause { get; set; } = new OwedPauseOptions();
    }

    /// <summary>How patiently a pause this module owes is pursued. Input only.</summary>
    public sealed class OwedPauseOptions
    {
        /// <summary>How long to keep trying through rate limiting, 5xx and dropped connections (default 5 minutes).</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);
        /// <summary>Scale to zero instead of pausing.</summary>
        public bool ScaleToZero { get; set; }
        /// <summary>Gives up early (a second Ctrl+C). The caller's own token is usually cancelled already, so it is not used.</summary>
        public CancellationToken Abandon { get; set; }
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
    /// Stateless apart from the client, so one instance serves any number of concurrent starts. It tells the client's
    /// <see cref="EndpointClient.Reporter"/> what it does: each decision (Detail), retry waits and the wait for readiness
    /// (Waiting, Progress), and a cancelled start paused again (Notice: nothing else would tell someone who pressed Ctrl+C).
    /// </summary>
    public sealed class EndpointLifecycle
    {
        // The pause owed after a failed or cancelled start gets its own budget: the caller's token may be cancelled already.
        private static readonly TimeSpan RollbackBudget = TimeSpan.FromSeconds(30);

        /// <summary>How long after its own resume a start takes a paused or scaled-to-zero read for a late answer.</summary>
        public static readonly TimeSpan StaleReadGrace = TimeSpan.FromSeconds(10);

        /// <param name="usage">Where the last known URL of an endpoint comes from (probed while the control plane has none); optional.</param>
        /// <param name="memory">What this session's commands last did to each endpoint; null: one of its own.</param>
        public EndpointLifecycle(EndpointClient client, UsageService? usage = null, LifecycleMemory? memory = null)
        {
            Client = client ?? throw new ArgumentNullException(nameof(client));
            _usage = usage;
            _memory = memory ?? new LifecycleMemory();
        }

        private readonly UsageService? _usage;
        private readonly LifecycleMemory _memory;

        // Late reads and the URL hint: this module's own memory first (written as it acts, so it cannot be switched off),
        // then the usage history for what other processes did.
        private DateTimeOffset Now => Client.TimeProvider.GetUtcNow();
        private bool ChangedByUsWithin(string ns, string name) =>
            _memory.ChangedWithin(Client.ApiBase, ns, name, StaleReadGrace, Now) || _usage?.ChangedByUsWithin(Client.ApiBase, ns, name, StaleReadGrace) == true;
        private bool StoppedByUsWithin(string ns, string name) =>
            _memory.StoppedWithin(Client.ApiBase, ns, name, StaleReadGrace, Now) || _usage?.StoppedByUsWithin(Client.ApiBase, ns, name, StaleReadGrace) == true;
        private void Did(EndpointInfo? e, string ns, string name, bool stopped) => _memory.Changed(Client.ApiBase, ns, name, stopped, Now, e?.Url);

        public EndpointClient Client { get; }

        /// <summary>
        /// Brings one endpoint to ready: creates it when asked and missing, resumes it when paused or scaled to
        /// zero, waits for one already starting, and only probes one already running (one GET, one probe). The wait's
        /// Timeout bounds all of it, the calls before the wait included (a long Retry-After cannot stretch it). A start
        /// this call began that fails, times out or is cancelled is paused again (the owed pause, with its own bound)
        /// unless PauseOnFailure is false; if that pause fails the error is <see cref="EndpointErrorKind.EndpointStillBilling"/>,
        /// for a cancelled start too. Replica settings that the service resets on resume are restored.
        /// </summary>
        public async Task<StartResult> StartAsync(string ns, string name, StartOptions options, CancellationToken ct = default)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            Reporter report = Client.Reporter;
            Action<string> log = report.Detail;
            var id = new EndpointId(ns, name);
            WaitOptions wait = options.Wait ?? new WaitOptions();
            TimeProvider clock = Client.TimeProvider;
            long began = clock.GetTimestamp();
            EndpointInfo? seen = null;
            // Retry waits of the calls below are said as waits and on the progress bar: a long Retry-After is not a hang.
            var waits = new StartWaits(report, $"{id}: ",
                line => new WaitProgress(seen ?? new EndpointInfo { Namespace = ns, Name = name }, clock.GetElapsedTime(began), wait.Timeout, line));
            // The start's calls, told explicitly: their waits go to this start's progress, and a Retry-After past the
            // start's own deadline fails at once.
            long? endsAt = wait.Timeout == Timeout.InfiniteTimeSpan || wait.Timeout < TimeSpan.Zero ? null
                : began + (long)(wait.Timeout.TotalSeconds * clock.TimestampFrequency);
            EndpointClient client = Client.For(waits, endsAt);
            using CancellationTokenSource deadline = wait.Timeout == Timeout.InfiniteTimeSpan ? new CancellationTokenSource()
                : clock.CreateCancellationTokenSource(wait.Timeout < TimeSpan.Zero ? TimeSpan.Zero : wait.Timeout);
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
            // Set before the create or resume is sent: once it may have reached the service, a failure or a
            // cancellation must pause the endpoint (pausing one that never started is a harmless no-op).
            var startedHere = false;
            var wasRunning = false;
            // From the resume or create until this returns, a SIGTERM or SIGHUP pays the pause this start owes.
            IDisposable? owedOnSignal = null;
            try
            {
                EndpointInfo? endpoint;
                try
                {
                    // This module created it a moment ago: a read may not show it yet (an eventually consistent service).
                    endpoint = seen = await ReadinessWaiter.ReadPastLateAnswersAsync(clock, StaleReadGrace, t => client.TryGetAsync(ns, name, t), e => e != null,
                        () => ChangedByUsWithin(ns, name), bounded.Token).ConfigureAwait(false);
                    if (endpoint == null)
                    {
                        if (options.CreateIfMissing == null) throw Errors.NotFoundForStart(ns, name);
                        startedHere = true;
                        owedOnSignal ??= OwedPauses.Register(Client, id);
                        Did(null, ns, name, stopped: false); // before sending: once it may have landed, later reads may be late
                        endpoint = seen = await client.CreateAsync(ns, options.CreateIfMissing, bounded.Token).ConfigureAwait(false);
                        log($"Created {id}; state is '{endpoint.StatusText}'.");
                    }

                    // A booting state read a moment after this module paused it is a late answer (nothing boots a paused
                    // endpoint by itself): it is paused, so resume it.
                    bool lateRead = endpoint.Status is EndpointStatus.Pending or EndpointStatus.Initializing or EndpointStatus.Updating
                        && StoppedByUsWithin(ns, name);
                    switch (lateRead ? EndpointStatus.Paused : endpoint.Status)
                    {
                        case EndpointStatus.Paused:
                        case EndpointStatus.ScaledToZero:
                            var before = endpoint;
                            startedHere = true;
                            owedOnSignal ??= OwedPauses.Register(Client, id);
                            Did(before, ns, name, stopped: false);
                            endpoint = seen = await client.ResumeAsync(ns, name, bounded.Token).ConfigureAwait(false);
                            if (endpoint.Status is EndpointStatus.Paused or EndpointStatus.ScaledToZero)
                            {
                                // Answered, but what it answered (or the read its empty answer needed) still shows it stopped:
                                // send it once more. A resume that did land is answered "already running", which reads it.
                                log($"The resume of {id} was answered, but the endpoint still shows '{endpoint.StatusText}'; sending it again.");
                                endpoint = seen = await client.ResumeAsync(ns, name, bounded.Token).ConfigureAwait(false);
                            }
                            log($"Resumed {id}; state is now '{endpoint.StatusText}'.");
                            endpoint = seen = await RestoreScalingAsync(client, before, endpoint, options.IdleTimeoutMinutes, log, bounded.Token).ConfigureAwait(false);
                            break;
                        case EndpointStatus.Failed:
                        case EndpointStatus.UpdateFailed:
                            throw await Evidence.AttachLogsAsync(Client, Errors.CannotStart(endpoint), bounded.Token).ConfigureAwait(false);
                        case EndpointStatus.Running:
                            if (options.IdleTimeoutMinutes != null)
                                endpoint = seen = await RestoreScalingAsync(client, endpoint, endpoint, options.IdleTimeoutMinutes, log, bounded.Token).ConfigureAwait(false);
                            if (endpoint.Status == EndpointStatus.Running && await client.ProbeHealthAsync(endpoint, bounded.Token).ConfigureAwait(false) == 200)
                            {
                                // Running before this call: a shared endpoint that -KeepIfRunning must leave running.
                                log($"{id} is already running and answers {endpoint.HealthRoute}.");
                                return new StartResult(endpoint, wasRunning: true, startedHere: false);
                            }
                            // Running but not answering: an update, a slow start, or a late read of an endpoint paused a
                            // moment ago. A resume settles it: the service resumes a paused one and says "already running" otherwise.
                            var read = endpoint;
                            startedHere = true; // set before sending, as for any resume
                            owedOnSignal ??= OwedPauses.Register(Client, id);
                            Did(read, ns, name, stopped: false);
                            bool resumed;
                            (endpoint, resumed) = await client.ResumeOrReadAsync(ns, name, bounded.Token).ConfigureAwait(false);
                            seen = endpoint;
                            // Only a resume that set it booting started it; a no-op answer (running, updating) did not.
                            startedHere = resumed && endpoint.Status is EndpointStatus.Pending or EndpointStatus.Initializing;
                            wasRunning = !startedHere;
                            if (startedHere)
                            {
                                log($"{id} read as running but was not answering; resumed it, state is now '{endpoint.StatusText}'.");
                                endpoint = seen = await RestoreScalingAsync(client, read, endpoint, options.IdleTimeoutMinutes, log, bounded.Token).ConfigureAwait(false);
                            }
                            break;
                        default:
                            log($"{id} is '{endpoint.StatusText}'; waiting for it.");
                            if (options.IdleTimeoutMinutes != null)
                                endpoint = seen = await RestoreScalingAsync(client, endpoint, endpoint, options.IdleTimeoutMinutes, log, bounded.Token).ConfigureAwait(false);
                            break;
                    }
                }
                catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    throw Errors.WaitTimeout(ns, name, wait.Timeout, seen, ex, waits.Last);
                }

                if (!options.NoWait)
                {
                    string? hint = endpoint.Url == null ? LastKnownUrl(ns, name) : null;
                    endpoint = await new ReadinessWaiter(client, ns, name, wait, hint, startedHere ? StaleReadGrace : TimeSpan.Zero, began)
                        .RunAsync(endpoint, ct).ConfigureAwait(false);
                }
                _memory.SawUrl(Client.ApiBase, ns, name, endpoint.Url);
                return new StartResult(endpoint, wasRunning, startedHere);
            }
            catch (EndpointException ex) when (startedHere && options.PauseOnFailure && ex.Kind != EndpointErrorKind.EndpointFailed)
            {
                // Timed out, or anything else after the endpoint began to boot (a failed scaling restore, an error
                // while waiting): it must not go on billing. A failed endpoint does not bill.
                throw ex.WithMessage(ex.Message + " " + await RollBackAsync(id, ex.Message, options).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (startedHere && options.PauseOnFailure && ct.IsCancellationRequested)
            {
                // Whoever pressed Ctrl+C hears at once that the pause is going out, and below how it ended.
                report.Notice($"{id}: " + Errors.PausingAfterCancel((options.OwedPause ?? new OwedPauseOptions()).Timeout));
                string outcome = await RollBackAsync(id, "The start was cancelled.", options).ConfigureAwait(false);
                report.Notice($"{id}: the start was cancelled. " + outcome);
                throw;
            }
            catch (Exception ex) when (startedHere && options.PauseOnFailure && !(ex is EndpointException) && !(ex is OperationCanceledException))
            {
                // Anything else after the endpoint began to boot (a bug, a full disk, an overflow): pause first, then report.
                string outcome = await RollBackAsync(id, $"The start failed ({ex.GetType().Name}: {ex.Message}).", options).ConfigureAwait(false);
                report.Notice($"{id}: the start failed; " + outcome);
                throw;
            }
            finally
            {
                owedOnSignal?.Dispose();
            }
        }

        /// <summary>
        /// Pauses (or scales to zero) an endpoint this module owes a stop: after a failed or cancelled start, and at the
        /// end of Use-MertEndpoint. Keeps trying through rate limiting, 5xx and dropped connections, honouring Retry-After
        /// in full, until <see cref="OwedPauseOptions.Timeout"/> or <see cref="OwedPauseOptions.Abandon"/>; says each
        /// retry to the log. Returns the endpoint, or null when it no longer exists (404: nothing to pause). Anything
        /// else ends in <see cref="EndpointErrorKind.EndpointStillBilling"/>, whose message starts with
        /// <paramref name="before"/> and names the command that stops it.
        /// </summary>
        public async Task<EndpointInfo?> PauseOwedAsync(string ns, string name, OwedPauseOptions options, string? before = null)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            var id = new EndpointId(ns, name);
            Reporter report = Client.Reporter.Prefixed($"{id}: ");
            string verb = options.ScaleToZero ? "scale to zero" : "pause";
            TimeSpan bound = options.Timeout < TimeSpan.Zero ? TimeSpan.Zero : options.Timeout;
            // The owed-pause policy, within its own bound: every retry (and Retry-After, in full) in the one executor.
            EndpointClient client = Client.For(report, policy: Client.Settings.Policies.OwedPause.WithBudget(bound));
            try
            {
                Func<EndpointClient, CancellationToken, Task<EndpointInfo>> send = (c, t) => options.ScaleToZero ? c.ScaleToZeroAsync(ns, name, t) : c.PauseAsync(ns, name, t);
                Did(null, ns, name, stopped: true);
                EndpointInfo answer = await send(client, options.Abandon).ConfigureAwait(false);
                return await ReadinessWaiter.ConfirmStoppedAsync(client, id, options.ScaleToZero, answer, send, before, options.Abandon).ConfigureAwait(false);
            }
            catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointStillBilling)
            {
                throw;
            }
            catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound)
            {
                report.Detail(Errors.NothingToPause);
                return null;
            }
            catch (EndpointException ex)
            {
                // 401, 403, 400: trying again cannot help; 429, 5xx: tried until the bound.
                throw Errors.StillBilling(id, verb, before, ex, options.Timeout, ex);
            }
            catch (OperationCanceledException ex) when (options.Abandon.IsCancellationRequested)
            {
                throw Errors.StillBilling(id, verb, before, ex, options.Timeout, ex);
            }
        }

        /// <summary>
        /// Waits until the endpoint is running, has a URL and its health route answers 200 (the state alone has been
        /// seen to turn "running" too early). See <see cref="ReadinessWaiter"/> for the schedule.
        /// </summary>
        public Task<EndpointInfo> WaitForReadyAsync(string ns, string name, WaitOptions? options = null, CancellationToken ct = default) =>
            new ReadinessWaiter(Client, ns, name, options ?? new WaitOptions(), LastKnownUrl(ns, name),
                ChangedByUsWithin(ns, name) ? StaleReadGrace : TimeSpan.Zero).RunAsync(null, ct);

        private string? LastKnownUrl(string ns, string name) => _memory.LastUrl(Client.ApiBase, ns, name) ?? _usage?.LastKnownUrl(Client.ApiBase, ns, name);

        /// <summary>
        /// Stops one endpoint with one call: a pause (or scale to zero) and no read first, since any state the caller
        /// holds may be stale and a skipped pause can leave an endpoint billing. When the service refuses the change
        /// (400, 409, 422: the endpoint is in no state to take it), one GET settles it: an endpoint that bills nothing
        /// (paused, failed, or scaled to zero when that was asked) counts as stopped; anything else is the refusal.
        /// Right after a stop recorded in the usage history, a read that still shows it billing may be a late answer
        /// (an eventually consistent service): it is read again (<see cref="ReadPastLateAnswersAsync"/>).
        /// </summary>
        public async Task<StopResult> StopAsync(string ns, string name, bool scaleToZero = false, CancellationToken ct = default)
        {
            try
            {
                Func<EndpointClient, CancellationToken, Task<EndpointInfo>> send = (c, t) => scaleToZero ? c.ScaleToZeroAsync(ns, name, t) : c.PauseAsync(ns, name, t);
                Did(null, ns, name, stopped: true);
                EndpointInfo endpoint = await send(Client, ct).ConfigureAwait(false);
                EndpointInfo? confirmed = await ReadinessWaiter.ConfirmStoppedAsync(Client, new EndpointId(ns, name), scaleToZero, endpoint, send, null, ct).ConfigureAwait(false);
                return new StopResult(confirmed ?? endpoint, changed: true);
            }
            catch (EndpointException ex) when (ex.StatusCode is 400 or 409 or 422)
            {
                bool Stopped(EndpointInfo e) => e.Status is EndpointStatus.Paused or EndpointStatus.Failed or EndpointStatus.UpdateFailed
                    || (scaleToZero && e.Status == EndpointStatus.ScaledToZero);
                EndpointInfo current = await ReadinessWaiter.ReadPastLateAnswersAsync(Client.TimeProvider, StaleReadGrace, t => Client.GetAsync(ns, name, t), Stopped,
                    () => StoppedByUsWithin(ns, name), ct).ConfigureAwait(false);
                if (!Stopped(current)) throw;
                return new StopResult(current, changed: false);
            }
        }

        /// <summary>
        /// The service resets min and max replicas to 1 on resume: put back what the endpoint had, and with an idle
        /// timeout set min 0 and the scale-to-zero timeout so the service itself stops billing if the caller dies.
        /// </summary>
        private static async Task<EndpointInfo> RestoreScalingAsync(EndpointClient client, EndpointInfo before, EndpointInfo now, int? idleTimeoutMinutes,
            Action<string> log, CancellationToken ct)
        {
            var min = idleTimeoutMinutes != null ? 0 : before.MinReplica;
            var max = Math.Max(1, before.MaxReplica);
            var timeout = idleTimeoutMinutes ?? BillingRules.ScaleToZeroTimeoutFor(min, before.ScaleToZeroTimeout);
            if (now.MinReplica == min && now.MaxReplica == max && (timeout == null || now.ScaleToZeroTimeout == timeout)) return now;
            log($"Setting {now.Id} replicas to {min}-{max}" + (timeout == null ? "." : $" with scale-to-zero after {timeout} idle minutes."));
            return await client.UpdateAsync(now.Namespace, now.Name,
                new EndpointUpdateSpec { MinReplica = min, MaxReplica = max, ScaleToZeroTimeout = timeout }, afterResume: true, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// The owed pause after a failed or cancelled start: a sentence for the error message when it worked (or there was
        /// nothing to pause); throws <see cref="EndpointErrorKind.EndpointStillBilling"/>, carrying <paramref name="failure"/>, when it did not.
        /// </summary>
        private async Task<string> RollBackAsync(EndpointId id, string failure, StartOptions options)
        {
            var owed = options.OwedPause ?? new OwedPauseOptions();
            var pause = new OwedPauseOptions { Timeout = owed.Timeout, Abandon = owed.Abandon };
            return await PauseOwedAsync(id.Namespace!, id.Name!, pause, failure).ConfigureAwait(false) == null
                ? Errors.NothingToPause : Errors.PausedAgain;
        }

        /// <summary>
        /// A start's reporter for its calls: each retry wait is said (prefixed by the endpoint) and shown on the start's
        /// progress; the last one is kept for a timeout's message.
        /// </summary>
        private sealed class StartWaits : Reporter
        {
            private readonly Reporter _inner;
            private readonly string _prefix;
            private readonly Func<string, WaitProgress> _progress;
            private string? _last;

            public StartWaits(Reporter inner, string prefix, Func<string, WaitProgress> progress)
            {
                _inner = inner;
                _prefix = prefix;
                _progress = progress;
            }

            public string? Last => Volatile.Read(ref _last);

            public override void Waiting(string line, TimeSpan wait)
            {
                Volatile.Write(ref _last, line);
                _inner.Waiting(_prefix + line, wait);
                _inner.Progress(_progress(line));
            }

            public override void Detail(string line) => _inner.Detail(line);
            public override void Progress(WaitProgress progress) => _inner.Progress(progress);
            public override void Warning(string line) => _inner.Warning(line);
            public override void Notice(string line) => _inner.Notice(line);
            public override void Summary(string line) => _inner.Summary(line);
        }
    }
}
