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

        public ReadinessWaiter(EndpointClient client, string ns, string name, WaitOptions options)
        {
            if (string.IsNullOrWhiteSpace(ns)) throw Errors.Empty("Namespace");
            if (string.IsNullOrWhiteSpace(name)) throw Errors.Empty("Name");
            _client = client;
            _ns = ns;
            _name = name;
            _options = options;
            _clock = client.TimeProvider;
            _start = _clock.GetTimestamp();
        }

        private TimeSpan Elapsed => _clock.GetElapsedTime(_start);

        /// <param name="initial">State the caller already holds (saves the first GET); null reads it.</param>
        public async Task<EndpointInfo> RunAsync(EndpointInfo? initial, CancellationToken ct)
        {
            TimeSpan limit = _options.Timeout;
            // The deadline cancels whatever is in flight (a slow GET with its retries included), so the wait ends on time.
            using CancellationTokenSource deadline = limit == Timeout.InfiniteTimeSpan
                ? new CancellationTokenSource()
                : _clock.CreateCancellationTokenSource(limit < TimeSpan.Zero ? TimeSpan.Zero : limit);
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
            EndpointInfo info = initial ?? await _client.GetAsync(_ns, _name, token).ConfigureAwait(false);
            seen(info);
            Report(info, Describe(info));
            TimeSpan interval = _options.ControlPollInterval, lastControl = Elapsed;
            TimeSpan nextControl = lastControl + interval, nextProbe = TimeSpan.Zero;
            bool servingSeen = false, servingNow = false;
            while (true)
            {
                if (Errors.Hopeless(info) is EndpointException hopeless) throw await Evidence.AttachLogsAsync(_client, hopeless, token).ConfigureAwait(false);
                bool probing = info.Url != null && info.Status is EndpointStatus.Running or EndpointStatus.Initializing;
                if (probing && Elapsed >= nextProbe)
                {
                    int code = await _client.ProbeHealthAsync(info, token).ConfigureAwait(false);
                    servingNow = code == 200;
                    if (code == 200 && info.Status == EndpointStatus.Running) return Ready(info);
                    Report(info, $"{info.StatusText}: {info.HealthRoute} " + (code == 0 ? "did not answer" : $"answered {code}"));
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
                        info = await _client.GetAsync(_ns, _name, token).ConfigureAwait(false);
                        seen(info);
                        Report(info, Describe(info));
                        // The probe just before this answered 200: no need to wait for another.
                        if (servingNow && info.Status == EndpointStatus.Running && info.Url != null) return Ready(info);
                    }
                    catch (EndpointException ex) when (ex.Kind is EndpointErrorKind.ServiceUnavailable or EndpointErrorKind.RateLimited)
                    {
                        // Already retried; a long wait should outlive a short outage of the control plane.
                        Report(info, "control plane unavailable; still waiting");
                    }
                    lastControl = Elapsed;
                    interval = Min(TimeSpan.FromTicks((long)(interval.Ticks * 1.5)), _options.ControlPollMaxInterval);
                    nextControl = lastControl + interval;
                    continue; // re-check the new state before sleeping
                }
                TimeSpan wait = (probing ? Min(nextControl, nextProbe) : nextControl) - Elapsed;
                if (wait > TimeSpan.Zero) await _clock.Delay(wait, token).ConfigureAwait(false);
            }
        }

        private EndpointInfo Ready(EndpointInfo info)
        {
            Report(info, $"ready: {info.HealthRoute} answered 200");
            return info;
        }

        private void Report(EndpointInfo e, string activity) =>
            _options.Progress?.Report(new WaitProgress(e, Elapsed, _options.Timeout, activity));

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
    }
}
