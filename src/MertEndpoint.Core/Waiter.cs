using System;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    public sealed partial class EndpointClient
    {
        /// <summary>
        /// Waits until the endpoint is running, has a URL and its health route answers 200 (the state alone has
        /// been seen to turn "running" too early). Two schedules run in one loop: the health probe every
        /// HealthProbeInterval once a URL is known, and a control-plane GET that backs off from
        /// ControlPollInterval to ControlPollMaxInterval (the control plane is rate limited; the data plane is not).
        /// Fails at once on failed/updateFailed, and on paused/scaledToZero, which nothing will end.
        /// </summary>
        public async Task<EndpointInfo> WaitForReadyAsync(string ns, string name, WaitOptions options, CancellationToken ct = default)
        {
            options ??= new WaitOptions();
            RequireNs(ns); RequireName(name);
            TimeProvider clock = Options.TimeProvider;
            long start = clock.GetTimestamp();
            TimeSpan Elapsed() => clock.GetElapsedTime(start);
            void Report(EndpointInfo e, string activity) =>
                options.Progress?.Report(new WaitProgress(e, Elapsed(), options.Timeout, activity));

            // The deadline cancels whatever is in flight (a slow GET with its retries included), so the wait ends on time.
            using CancellationTokenSource deadline = options.Timeout == Timeout.InfiniteTimeSpan
                ? new CancellationTokenSource()
                : clock.CreateCancellationTokenSource(options.Timeout < TimeSpan.Zero ? TimeSpan.Zero : options.Timeout);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
            CancellationToken token = linked.Token;
            EndpointInfo? last = options.Initial;
            try
            {
                EndpointInfo info = last ??= await GetAsync(ns, name, token).ConfigureAwait(false);
                Report(info, Describe(info));
                TimeSpan interval = options.ControlPollInterval, lastControl = Elapsed();
                TimeSpan nextControl = lastControl + interval, nextProbe = TimeSpan.Zero;
                bool servingSeen = false, servingNow = false;
                while (true)
                {
                    ThrowIfHopeless(info);
                    bool probing = info.Url != null && info.Status is EndpointStatus.Running or EndpointStatus.Initializing;
                    if (probing && Elapsed() >= nextProbe)
                    {
                        int code = await ProbeHealthAsync(info, token).ConfigureAwait(false);
                        servingNow = code == 200;
                        if (code == 200 && info.Status == EndpointStatus.Running)
                        {
                            Report(info, $"ready: {info.HealthRoute} answered 200");
                            return info;
                        }
                        Report(info, $"{info.StatusText}: {info.HealthRoute} " + (code == 0 ? "did not answer" : $"answered {code}"));
                        nextProbe = Elapsed() + options.HealthProbeInterval;
                        if (code == 200)
                        {
                            // Serving already, but the state we hold lags. The first time, ask the control plane at
                            // once (readiness is noticed within a probe interval); after that, soon but rate-limited.
                            interval = options.ControlPollInterval;
                            nextControl = servingSeen ? Min(nextControl, lastControl + interval) : Elapsed();
                            servingSeen = true;
                        }
                    }
                    if (Elapsed() >= nextControl)
                    {
                        try
                        {
                            info = last = await GetAsync(ns, name, token).ConfigureAwait(false);
                            Report(info, Describe(info));
                            if (servingNow && info.Status == EndpointStatus.Running && info.Url != null)
                            {
                                // The probe just before this answered 200: no need to wait for another.
                                Report(info, $"ready: {info.HealthRoute} answered 200");
                                return info;
                            }
                        }
                        catch (EndpointException ex) when (ex.Kind is EndpointErrorKind.ServiceUnavailable or EndpointErrorKind.RateLimited)
                        {
                            // Already retried; a long wait should outlive a short outage of the control plane.
                            Report(info, "control plane unavailable; still waiting");
                        }
                        lastControl = Elapsed();
                        interval = Min(TimeSpan.FromTicks((long)(interval.Ticks * 1.5)), options.ControlPollMaxInterval);
                        nextControl = lastControl + interval;
                        continue; // re-check the new state before sleeping
                    }
                    TimeSpan wait = (probing ? Min(nextControl, nextProbe) : nextControl) - Elapsed();
                    if (wait > TimeSpan.Zero) await clock.Delay(wait, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                string state = last == null ? "no state seen yet"
                    : $"last state {last.StatusText}" + (last.Message != null ? $": {last.Message}" : "");
                throw new EndpointException(EndpointErrorKind.WaitTimeout,
                    $"Endpoint '{name}' in namespace '{ns}' was not ready after {Duration(options.Timeout)} ({state}). "
                    + "It may still become ready: run Wait-MertEndpoint again, or allow longer with -TimeoutSec.",
                    new Target("wait for", ns, name), endpoint: last, innerException: ex);
            }
        }

        private static void ThrowIfHopeless(EndpointInfo e)
        {
            string? problem = e.Status switch
            {
                EndpointStatus.Failed => "failed and will not become ready. Check its logs in the Hugging Face UI, then delete it and create it again",
                EndpointStatus.UpdateFailed => "failed to apply its last update (state updateFailed). Fix the settings with Set-MertEndpoint, or delete it and create it again",
                EndpointStatus.Paused => $"is paused; nothing will start it, so waiting cannot succeed. Run Start-MertEndpoint -Name {e.Name} -Namespace {e.Namespace}",
                EndpointStatus.ScaledToZero => $"is scaled to zero; nothing will start it, so waiting cannot succeed. Run Start-MertEndpoint -Name {e.Name} -Namespace {e.Namespace}",
                _ => null,
            };
            if (problem == null) return;
            bool failed = e.Status is EndpointStatus.Failed or EndpointStatus.UpdateFailed;
            throw new EndpointException(failed ? EndpointErrorKind.EndpointFailed : EndpointErrorKind.EndpointNotReady,
                $"Endpoint '{e.Name}' in namespace '{e.Namespace}' {problem}." + Errors.Tail(failed ? e.Message : null, null),
                new Target("wait for", e.Namespace, e.Name), serviceMessage: failed ? e.Message : null, endpoint: e);
        }

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

        private static string Duration(TimeSpan t) =>
            t.TotalMinutes >= 1 && t.Seconds == 0 ? $"{t.TotalMinutes:0} min" : $"{t.TotalSeconds:0.#} s";
    }
}
