using System;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>
    /// One wait for readiness: running, a URL, and the health route answering 200. Two schedules run in one loop:
    /// the health probe every HealthProbeInterval once a URL is known, and a control-plane GET that backs off from
    /// ControlPollInterval to ControlPollMaxInterval (the control plane is rate limited; the data plane is not).
    /// The first time the health route answers while the known state lags, the control plane is asked at once.
    /// Fails at once on failed/updateFailed, and on paused/scaledToZero, which nothing will end.
    /// </summary>
    internal sealed class ReadinessWaiter
    {
        private readonly EndpointClient _client;
        private readonly string _ns, _name;
        private readonly WaitOptions _options;
        private readonly TimeProvider _clock;
        private readonly long _start;
        private static readonly TimeSpan BlindMaxInterval = TimeSpan.FromSeconds(3);
        private readonly string? _hintUrl;
        private readonly TimeSpan _staleGrace;

        /// <param name="hintUrl">A URL to probe while the control plane reports none (the one the endpoint had the last time it ran).</param>
        /// <param name="staleGrace">For this long, a paused or scaled-to-zero read is taken as a late answer from before our own resume;
        /// non-zero also means this module started the endpoint, so a 200 from its own URL is taken as ready while reads lag.</param>
        /// <param name="startedAt">When the command began (a timestamp of the client's clock): the timeout counts from
        /// there, so the calls before the wait share it. Null: from now.</param>
        public ReadinessWaiter(EndpointClient client, string ns, string name, WaitOptions options, string? hintUrl = null,
            TimeSpan staleGrace = default, long? startedAt = null)
        {
            _hintUrl = hintUrl;
            _staleGrace = staleGrace;
            if (string.IsNullOrWhiteSpace(ns)) throw Errors.Empty("Namespace");
            if (string.IsNullOrWhiteSpace(name)) throw Errors.Empty("Name");
            _client = client;
            _ns = ns;
            _name = name;
            _options = options;
            _clock = client.TimeProvider;
            _start = startedAt ?? _clock.GetTimestamp();
        }

        private TimeSpan Elapsed => _clock.GetElapsedTime(_start);

        /// <param name="initial">State the caller already holds (saves the first GET); null reads it.</param>
        public async Task<EndpointInfo> RunAsync(EndpointInfo? initial, CancellationToken ct)
        {
            TimeSpan limit = _options.Timeout, left = limit - Elapsed;
            // The deadline cancels whatever is in flight (a slow GET with its retries included), so the wait ends on time.
            using CancellationTokenSource deadline = limit == Timeout.InfiniteTimeSpan
                ? new CancellationTokenSource()
                : _clock.CreateCancellationTokenSource(left < TimeSpan.Zero ? TimeSpan.Zero : left);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
            EndpointInfo? last = initial;
            try
            {
                return await LoopAsync(initial, e => last = e, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw Errors.WaitTimeout(_ns, _name, limit, last, ex);
            }
        }

        private async Task<EndpointInfo> LoopAsync(EndpointInfo? initial, Action<EndpointInfo> seen, CancellationToken token)
        {
            EndpointInfo? first = initial;
            while (first == null)
            {
                first = await ReadAsync(token).ConfigureAwait(false);
                if (first == null) await _clock.Delay(TimeSpan.FromMilliseconds(500), token).ConfigureAwait(false);
            }
            EndpointInfo info = first;
            seen(info);
            Report(info, Describe(info));
            TimeSpan interval = _options.ControlPollInterval, lastControl = Elapsed;
            TimeSpan nextControl = lastControl + interval, nextProbe = TimeSpan.Zero;
            bool servingSeen = false;
            string? servingUrl = null; // the URL whose health route answered 200 at the last probe
            while (true)
            {
                if (Errors.Hopeless(info) is EndpointException hopeless && !(Elapsed < _staleGrace && hopeless.Kind == EndpointErrorKind.EndpointNotReady))
                    throw await Evidence.AttachLogsAsync(_client, hopeless, token).ConfigureAwait(false);
                // The control plane's URL; before it reports one, the URL the endpoint had before (it keeps it across a pause).
                string? probeUrl = info.Url ?? _hintUrl;
                bool probing = probeUrl != null && (info.Status is EndpointStatus.Running or EndpointStatus.Initializing
                    || (info.Url == null && info.Status is EndpointStatus.Pending or EndpointStatus.Paused or EndpointStatus.ScaledToZero));
                if (probing && Elapsed >= nextProbe)
                {
                    int code = await _client.ProbeAsync(probeUrl!, info.HealthRoute, token).ConfigureAwait(false);
                    servingUrl = code == 200 ? probeUrl : null;
                    if (code == 200 && info.Status == EndpointStatus.Running && info.Url != null) return Ready(info);
                    Report(info, $"{info.StatusText}: {info.HealthRoute}" + (info.Url == null ? " at its previous URL " : " ")
                        + (code == 0 ? "did not answer" : $"answered {code}"));
                    nextProbe = Elapsed + _options.HealthProbeInterval;
                    if (code == 200)
                    {
                        // Serving already, but the state we hold lags. The first time, ask the control plane at
                        // once (readiness is noticed within a probe interval); after that, soon but rate-limited.
                        interval = _options.ControlPollInterval;
                        nextControl = servingSeen ? Min(nextControl, lastControl + interval) : Elapsed;
                        servingSeen = true;
                    }
                }
                if (Elapsed >= nextControl)
                {
                    try
                    {
                        info = await ReadAsync(token).ConfigureAwait(false) ?? info;
                        seen(info);
                        Report(info, Describe(info));
                        // The probe just before this answered 200 at this very URL: no need to wait for another.
                        if (servingUrl != null && info.Status == EndpointStatus.Running && info.Url == servingUrl) return Ready(info);
                        // This module started it, and its own URL answers: the control plane's word lags (it may show the
                        // URL only once running, and an eventually consistent read shows an earlier state). The health
                        // route is the stronger sign: ready now, not one or two polls later.
                        if (servingUrl != null && _staleGrace > TimeSpan.Zero && (info.Url == null || info.Url == servingUrl)
                            && info.Status is EndpointStatus.Pending or EndpointStatus.Initializing or EndpointStatus.Running or EndpointStatus.Paused or EndpointStatus.ScaledToZero)
                        {
                            EndpointInfo serving = info.AsServing(servingUrl);
                            _client.ObservedServing(serving);
                            return Ready(serving);
                        }
                    }
                    catch (EndpointException ex) when (ex.Kind is EndpointErrorKind.ServiceUnavailable or EndpointErrorKind.RateLimited)
                    {
                        // Already retried; a long wait should outlive a short outage of the control plane.
                        Report(info, "control plane unavailable; still waiting");
                    }
                    lastControl = Elapsed;
                    // With no URL to probe, the control plane is the only way to notice readiness: keep it tighter
                    // (at most every 3 s, 20 a minute) than when the health probe watches.
                    TimeSpan ceiling = info.Url == null && _hintUrl == null ? Min(BlindMaxInterval, _options.ControlPollMaxInterval) : _options.ControlPollMaxInterval;
                    interval = Min(TimeSpan.FromTicks((long)(interval.Ticks * 1.5)), ceiling);
                    nextControl = lastControl + interval;
                    continue; // re-check the new state before sleeping
                }
                TimeSpan wait = (probing ? Min(nextControl, nextProbe) : nextControl) - Elapsed;
                if (wait > TimeSpan.Zero) await _clock.Delay(wait, token).ConfigureAwait(false);
            }
        }

        /// <summary>A GET; null for a 404 within the stale grace (a create this module sent a moment ago may not show yet).</summary>
        private async Task<EndpointInfo?> ReadAsync(CancellationToken token)
        {
            try
            {
                return await _client.GetAsync(_ns, _name, token).ConfigureAwait(false);
            }
            catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound && Elapsed < _staleGrace)
            {
                return null;
            }
        }

        private EndpointInfo Ready(EndpointInfo info)
        {
            Report(info, $"ready: {info.HealthRoute} answered 200");
            return info;
        }

        private void Report(EndpointInfo e, string activity) =>
            _client.Reporter.Progress(new WaitProgress(e, Elapsed, _options.Timeout, activity));

        private static string Describe(EndpointInfo e) => e.Status switch
        {
            EndpointStatus.Pending => "pending: waiting to be scheduled",
            EndpointStatus.Initializing => "initializing: starting the container",
            EndpointStatus.Updating => "updating",
            EndpointStatus.Running when e.Url == null => "running: waiting for a URL",
            EndpointStatus.Running => $"running: checking {e.HealthRoute}",
            _ => e.StatusText.Length > 0 ? e.StatusText : "unknown state",
        } + (e.Message != null ? $" ({e.Message})" : "");

        private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

        /// <summary>How often a pause is read back while its answer did not show it done.</summary>
        private static readonly TimeSpan ConfirmInterval = TimeSpan.FromMilliseconds(500);

        /// <summary>Bills nothing any more: what a pause (or scale to zero) must show before it counts as done.</summary>
        internal static bool IsStopped(EndpointStatus status) =>
            status is EndpointStatus.Paused or EndpointStatus.ScaledToZero or EndpointStatus.Failed or EndpointStatus.UpdateFailed;

        /// <summary>
        /// A change is done when a read says so. An answer whose body shows the endpoint stopped counts; any other 2xx
        /// (an empty body, a body still showing it running, a stale 202, a 204) is read back every half second within the
        /// stale-read grace, the change sent again once if a read still shows it billing. Still billing after the grace is
        /// <see cref="EndpointErrorKind.EndpointStillBilling"/>, naming it. Returns what the confirming read showed, or null
        /// when the endpoint no longer exists.
        /// </summary>
        internal static async Task<EndpointInfo?> ConfirmStoppedAsync(EndpointClient client, EndpointId id, bool scaleToZero, EndpointInfo? answer,
            Func<EndpointClient, CancellationToken, Task<EndpointInfo>> send, string? before, CancellationToken ct)
        {
            if (answer != null && answer.Name.Length > 0 && IsStopped(answer.Status)) return answer;
            TimeProvider clock = client.TimeProvider;
            long began = clock.GetTimestamp();
            bool resent = false;
            EndpointInfo? last = null;
            while (true)
            {
                await clock.Delay(ConfirmInterval, ct).ConfigureAwait(false);
                try
                {
                    last = await client.GetAsync(id.Namespace!, id.Name!, ct).ConfigureAwait(false);
                }
                catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound)
                {
                    return null; // deleted: nothing bills
                }
                catch (EndpointException) when (clock.GetElapsedTime(began) < EndpointLifecycle.StaleReadGrace)
                {
                    continue; // a read that failed tells nothing: read again within the grace
                }
                if (IsStopped(last.Status)) return last;
                if (clock.GetElapsedTime(began) >= EndpointLifecycle.StaleReadGrace)
                    throw Errors.NotConfirmedStopped(id, scaleToZero ? "scale to zero" : "pause", last.StatusText, EndpointLifecycle.StaleReadGrace, before);
                if (!resent && BillingRules.Bills(last.Status))
                {
                    resent = true;
                    try { await send(client, ct).ConfigureAwait(false); }
                    catch (EndpointException) { /* refused or failed: the reads that follow say how it ended */ }
                }
            }
        }

        /// <summary>How long after a delete's (or an update's) answer a read may still show the endpoint as it was before
        /// the change is sent once more.</summary>
        private static readonly TimeSpan ResendAfter = TimeSpan.FromSeconds(2);

        /// <summary>
        /// A delete is done when a read says the endpoint is gone (a 404), never because its answer was 2xx: read at once,
        /// then as <see cref="ReadBackAsync"/> does (a 404 to the delete sent again also means gone). Still shown after the
        /// grace: <see cref="Errors.NotConfirmedDeleted"/> (EndpointStillBilling while it bills, else EndpointNotDeleted).
        /// </summary>
        internal static Task ConfirmDeletedAsync(EndpointClient client, EndpointId id, Func<CancellationToken, Task> resend, CancellationToken ct) =>
            ReadBackAsync(client, id, readAtOnce: true, done: e => e == null,
                async t => { await resend(t).ConfigureAwait(false); return null; },
                (shown, resent) => Errors.NotConfirmedDeleted(id, shown, EndpointLifecycle.StaleReadGrace, resent), ct);

        /// <summary>
        /// An update whose answer did not show the scaling it sent (see <see cref="EndpointUpdateSpec.ScalingHeldBy"/>) is
        /// read back as <see cref="ReadBackAsync"/> does. Returns the first endpoint that shows it; still not shown after the
        /// grace: <see cref="EndpointErrorKind.EndpointNotUpdated"/>, naming what the reads show. A 404 is the read's error.
        /// </summary>
        internal static async Task<EndpointInfo> ConfirmUpdatedAsync(EndpointClient client, EndpointId id, EndpointUpdateSpec spec,
            Func<CancellationToken, Task<EndpointInfo>> resend, bool afterResume, CancellationToken ct) =>
            (await ReadBackAsync(client, id, readAtOnce: false, done: e => e != null && spec.ScalingHeldBy(e),
                async t => await resend(t).ConfigureAwait(false),
                (shown, resent) => Errors.NotConfirmedUpdated(id, spec, shown, EndpointLifecycle.StaleReadGrace, resent, afterResume), ct).ConfigureAwait(false))!;

        /// <summary>
        /// The read-back of a change whose answer did not show it done (a delete, an update): reads every half second
        /// within the stale-read grace until <paramref name="done"/> holds for one (a 404 is judged as null; when that is
        /// not done, the 404 is the read's error). A read 2 s or more after the change that still does not show it sends
        /// the change once more; its answer is judged too (null: it showed nothing; a 404 to it is judged as null). Still
        /// not done after the grace: <paramref name="notDone"/> with the last read and whether it was sent again. A read
        /// that fails otherwise is read again within the grace.
        /// </summary>
        private static async Task<EndpointInfo?> ReadBackAsync(EndpointClient client, EndpointId id, bool readAtOnce, Func<EndpointInfo?, bool> done,
            Func<CancellationToken, Task<EndpointInfo?>> resend, Func<EndpointInfo, bool, EndpointException> notDone, CancellationToken ct)
        {
            TimeProvider clock = client.TimeProvider;
            long began = clock.GetTimestamp();
            bool goneIsDone = done(null), resent = false, first = true;
            while (true)
            {
                if (!first || !readAtOnce) await clock.Delay(ConfirmInterval, ct).ConfigureAwait(false);
                first = false;
                EndpointInfo shown;
                try
                {
                    // A 404 that is the change's own success is recorded by the caller, as its change.
                    shown = await client.GetAsync(id.Namespace!, id.Name!, tellGone: !goneIsDone, ct).ConfigureAwait(false);
                }
                catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound && goneIsDone)
                {
                    return null;
                }
                catch (EndpointException ex) when (ex.Kind != EndpointErrorKind.EndpointNotFound && clock.GetElapsedTime(began) < EndpointLifecycle.StaleReadGrace)
                {
                    continue; // a read that failed tells nothing
                }
                if (done(shown)) return shown;
                if (clock.GetElapsedTime(began) >= EndpointLifecycle.StaleReadGrace) throw notDone(shown, resent);
                if (resent || clock.GetElapsedTime(began) < ResendAfter) continue;
                resent = true;
                try
                {
                    EndpointInfo? again = await resend(ct).ConfigureAwait(false);
                    if (again != null && done(again)) return again;
                }
                catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound && goneIsDone)
                {
                    return null;
                }
                catch (EndpointException ex) when (ex.Kind != EndpointErrorKind.EndpointNotFound)
                {
                    /* refused or failed: the reads that follow say how it ended */
                }
            }
        }

        /// <summary>
        /// Reads until <paramref name="settled"/> holds, every half second for at most <paramref name="grace"/>, while
        /// <paramref name="late"/> says an unsettled answer may be a late one (this module's own change a moment ago, as
        /// the usage history records it); otherwise the first answer is the answer. A wait for a state, like the waiter's:
        /// each read is one call under its own request policy.
        /// </summary>
        internal static async Task<T> ReadPastLateAnswersAsync<T>(TimeProvider clock, TimeSpan grace, Func<CancellationToken, Task<T>> read,
            Func<T, bool> settled, Func<bool> late, CancellationToken ct)
        {
            long began = clock.GetTimestamp();
            while (true)
            {
                T answer = await read(ct).ConfigureAwait(false);
                if (settled(answer) || !late() || clock.GetElapsedTime(began) >= grace) return answer;
                await clock.Delay(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
            }
        }
    }
}
