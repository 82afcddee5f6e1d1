using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Polly;
using Polly.Timeout;

namespace MertEndpoint
{
    /// <summary>
    /// The times before which each host asked not to be sent anything (its last Retry-After), for a whole process:
    /// explicit state shared by every client that is given the same gate (<see cref="Process"/> by default), so a
    /// fan-out of a hundred stops sends one request into a rate limit, not a hundred. Tests give each client its own.
    /// </summary>
    public sealed class RetryAfterGate
    {
        private readonly ConcurrentDictionary<string, DateTimeOffset> _notBefore = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>The gate every client of this process shares unless its options name another.</summary>
        public static RetryAfterGate Process { get; } = new();

        /// <summary>When <paramref name="host"/> may be sent to again; null when it may be now.</summary>
        public DateTimeOffset? NotBefore(string host, DateTimeOffset now) =>
            _notBefore.TryGetValue(host, out DateTimeOffset until) && until > now ? until : null;

        /// <summary>Holds <paramref name="host"/> until <paramref name="until"/>; a later hold wins, an earlier one changes nothing.</summary>
        public void Hold(string host, DateTimeOffset until) =>
            _notBefore.AddOrUpdate(host, until, (_, before) => until > before ? until : before);

        /// <summary>Forgets every hold: for a test whose emulator forgot the faults that set them.</summary>
        public void Clear() => _notBefore.Clear();
    }

    /// <summary>What one attempt came to: a value, or a failure the policy may try again.</summary>
    internal readonly struct Attempt<T>
    {
        private Attempt(T value, Failure? failure)
        {
            Value = value;
            Failure = failure;
        }

        public T Value { get; }
        public Failure? Failure { get; }

        public static Attempt<T> Done(T value) => new(value, null);
        public static Attempt<T> Failed(Failure failure) => new(default!, failure);
    }

    /// <summary>One failed attempt: its kind, and the error the call ends in when it is not tried again.</summary>
    internal sealed class Failure
    {
        public Failure(FailureKind kind, int status, Func<int, Exception> error, TimeSpan? retryAfter = null, bool progressed = false,
            Func<TimeSpan, int, string>? notice = null)
        {
            Kind = kind;
            Status = status;
            Error = error;
            RetryAfter = retryAfter;
            Progressed = progressed;
            Notice = notice;
        }

        public FailureKind Kind { get; }
        /// <summary>The HTTP status, 0 when there was no answer.</summary>
        public int Status { get; }
        /// <summary>The error to throw, given the number of attempts made.</summary>
        public Func<int, Exception> Error { get; }
        public TimeSpan? RetryAfter { get; }
        /// <summary>The attempt delivered something before it failed (a stream's lines): the count of attempts starts again.</summary>
        public bool Progressed { get; }
        /// <summary>The line said before the wait (given the wait and the next attempt's number); null: the standard one.</summary>
        public Func<TimeSpan, int, string>? Notice { get; }
    }

    /// <summary>
    /// Runs one call under its <see cref="RequestPolicy"/>: the only place in Core that tries a request again or waits
    /// between tries. Before every attempt it honours the host's <see cref="RetryAfterGate"/>; each attempt gets the
    /// policy's timeout (a Polly timeout strategy: what Polly does well, cancelling a hung attempt on the client's
    /// clock); the whole call gets the policy's time budget. A wait that does not fit what is left ends the call at
    /// once: with <see cref="EndpointErrorKind.RateLimited"/> naming the time when the server asked for it, else with
    /// the last failure's error.
    /// </summary>
    internal sealed class RequestExecutor
    {
        private static readonly TimeSpan MinTimeout = TimeSpan.FromMilliseconds(10);
        private static readonly Random SharedJitter = new();
        private readonly ClientSettings _settings;
        // One per attempt timeout, built once: concurrent first callers (the prebuild and the first call) share one build.
        private readonly ConcurrentDictionary<TimeSpan, Lazy<ResiliencePipeline>> _timeouts = new();

        public RequestExecutor(ClientSettings settings) => _settings = settings;

        /// <summary>
        /// Builds the attempt-timeout pipeline <paramref name="policy"/>'s calls will use, on a thread-pool thread, so a
        /// fresh process's first call finds it built (about 13 ms there, mostly the JIT of Polly's generic code) while the
        /// command still resolves its namespace; a call that comes first builds it itself, once.
        /// </summary>
        internal void Prebuild(RequestPolicy policy)
        {
            if (!UsesPipeline(policy)) return;
            TimeSpan timeout = policy.AttemptTimeout;
            Task.Run(() => Pipeline(timeout));
        }

        private static bool UsesPipeline(RequestPolicy policy) =>
            !(policy.AttemptTimeoutCoversHeadersOnly || policy.AttemptTimeout <= TimeSpan.Zero || policy.AttemptTimeout > TimeSpan.FromDays(1));

        private ResiliencePipeline Pipeline(TimeSpan timeout) =>
            _timeouts.GetOrAdd(timeout, t => new Lazy<ResiliencePipeline>(() => new ResiliencePipelineBuilder { TimeProvider = Clock }
                .AddTimeout(t < MinTimeout ? MinTimeout : t).Build())).Value;

        private TimeProvider Clock => _settings.Clock;

        public async Task<T> RunAsync<T>(RequestCall call, Target target, Uri uri, Func<int, CancellationToken, Task<Attempt<T>>> attempt,
            Func<FailureKind, Exception, int, Exception> unanswered, CancellationToken ct)
        {
            RequestPolicy policy = call.Policy;
            long began = Clock.GetTimestamp();
            bool bounded = policy.TimeBudget != Timeout.InfiniteTimeSpan;
            using CancellationTokenSource budget = bounded
                ? Clock.CreateCancellationTokenSource(policy.TimeBudget < TimeSpan.Zero ? TimeSpan.Zero : policy.TimeBudget)
                : new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, budget.Token);
            string host = uri.Authority; // host, and port when not the default one: each emulator is its own host
            int attempts = 0, streak = 0;

            // What is left of the budget, and of the caller's own deadline (for the waits the server asks for).
            TimeSpan Left() => bounded ? policy.TimeBudget - Clock.GetElapsedTime(began) : Timeout.InfiniteTimeSpan;
            TimeSpan CallerLeft()
            {
                TimeSpan left = Left();
                if (call.EndsAt is long endsAt)
                {
                    TimeSpan caller = TimeSpan.FromTicks((long)((endsAt - Clock.GetTimestamp()) * ((double)TimeSpan.TicksPerSecond / Clock.TimestampFrequency)));
                    if (left == Timeout.InfiniteTimeSpan || caller < left) left = caller;
                }
                return left;
            }
            bool Fits(TimeSpan wait, TimeSpan left) => left == Timeout.InfiniteTimeSpan || wait < left;

            while (true)
            {
                // Never send before the host said: wait when that fits, else say at once when to try again.
                if (policy.HonoursRetryAfter && _settings.Gate.NotBefore(host, Clock.GetUtcNow()) is DateTimeOffset until)
                {
                    TimeSpan wait = until - Clock.GetUtcNow();
                    if (!Fits(wait, CallerLeft())) throw Errors.RateLimitedUntil(target, host, until, wait, attempts, CallerLeft());
                    Say(call, Errors.GateNotice(host, until, wait), wait);
                    try
                    {
                        await Clock.Delay(wait, linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested && budget.IsCancellationRequested)
                    {
                        // It fitted when planned, but the thread stalled (a loaded machine) and the budget ran out first.
                        throw Errors.RateLimitedUntil(target, host, until, wait, attempts, TimeSpan.Zero);
                    }
                }

                attempts++;
                streak++;
                Attempt<T> outcome;
                try
                {
                    outcome = await Once(policy, attempt, attempts, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    throw;
                }
                catch (OperationCanceledException ex) when (budget.IsCancellationRequested)
                {
                    // The budget ran out during an attempt: it is the last one.
                    throw unanswered(FailureKind.Hung, new TimeoutException($"no answer within the budget of {Errors.Duration(policy.TimeBudget)}", ex), attempts);
                }
                catch (Exception ex) when (IsUnanswered(ex))
                {
                    FailureKind kind = ex is TimeoutRejectedException ? FailureKind.Hung : FailureKind.Dropped;
                    Exception cause = ex is TimeoutRejectedException ? new TimeoutException($"no answer within {Errors.Duration(policy.AttemptTimeout)}", ex) : ex;
                    outcome = Attempt<T>.Failed(new Failure(kind, 0, n => unanswered(kind, cause, n)));
                }
                if (outcome.Failure is not Failure failure) return outcome.Value;

                if (failure.RetryAfter is TimeSpan asked && asked > TimeSpan.Zero)
                    _settings.Gate.Hold(host, Clock.GetUtcNow() + asked);
                if (failure.Progressed || failure.Kind == FailureKind.StreamEnded) streak = 1;
                if (!policy.Retries(failure.Kind, failure.Status) || streak >= policy.AttemptsFor(failure.Kind, failure.Status))
                    throw failure.Error(attempts);

                TimeSpan delay;
                if (failure.Kind == FailureKind.StreamEnded) delay = policy.StreamRepoll!.Value;
                else if (failure.RetryAfter is TimeSpan ra && policy.HonoursRetryAfter)
                {
                    delay = ra < TimeSpan.Zero ? TimeSpan.Zero : ra;
                    TimeSpan callerLeft = CallerLeft();
                    if (!Fits(delay, callerLeft))
                        throw failure.Status == 429
                            ? Errors.RateLimitedUntil(target, host, Clock.GetUtcNow() + delay, delay, attempts, callerLeft)
                            : failure.Error(attempts);
                }
                else delay = policy.Backoff(streak - 1, Jitter());
                if (!Fits(delay, Left())) throw failure.Error(attempts);

                Say(call, failure.Notice?.Invoke(delay, attempts + 1)
                    ?? Errors.RetryNotice(failure.Status == 0 ? null : failure.Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        failure.RetryAfter, delay, attempts + 1, policy.AttemptsFor(failure.Kind, failure.Status) + attempts - streak), delay);
                try
                {
                    await Clock.Delay(delay, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested && budget.IsCancellationRequested)
                {
                    // The wait fitted the budget when planned, but the thread stalled (a loaded machine) and the budget ran
                    // out first: the last failure is the answer, as when the wait would not have fitted.
                    throw failure.Error(attempts);
                }
            }
        }

        /// <summary>One attempt under the policy's per-attempt timeout (none when it bounds only the headers).</summary>
        private Task<Attempt<T>> Once<T>(RequestPolicy policy, Func<int, CancellationToken, Task<Attempt<T>>> attempt, int number, CancellationToken ct)
        {
            if (!UsesPipeline(policy)) return attempt(number, ct);
            ResiliencePipeline pipeline = Pipeline(policy.AttemptTimeout);
            return pipeline.ExecuteAsync(async token => await attempt(number, token).ConfigureAwait(false), ct).AsTask();
        }

        /// <summary>A dropped connection or an abandoned attempt: the request may or may not have been processed.</summary>
        public static bool IsUnanswered(Exception ex) => ex is HttpRequestException or IOException or TimeoutRejectedException;

        private double Jitter()
        {
            if (_settings.Jitter is Func<double> fixedJitter) return fixedJitter();
            lock (SharedJitter) return 0.5 + SharedJitter.NextDouble() * 0.5;
        }

        private void Say(RequestCall call, string line, TimeSpan wait)
        {
            call.Reporter.Waiting(Secrets.Mask(line), wait);
        }

        /// <summary>The server's Retry-After on an answer, as a wait from <paramref name="now"/>.</summary>
        internal static TimeSpan? RetryAfter(HttpResponseMessage? response, DateTimeOffset now)
        {
            var header = response?.Headers.RetryAfter;
            if (header?.Delta is TimeSpan delta) return delta;
            if (header?.Date is DateTimeOffset date) return date - now;
            return null;
        }
    }
}
