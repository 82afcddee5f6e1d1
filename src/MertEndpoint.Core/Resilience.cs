using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace MertEndpoint
{
    /// <summary>Retry and timeout policy for control-plane calls.</summary>
    internal static class Resilience
    {
        private static readonly Random Jitter = new();
        private static readonly TimeSpan MinTimeout = TimeSpan.FromMilliseconds(10);

        /// <summary>
        /// Retry (outer) around a per-attempt timeout (inner), so a hung attempt is abandoned and retried.
        /// Only for calls that are safe to repeat; create has its own loop in <see cref="EndpointClient.CreateAsync"/>.
        /// </summary>
        public static ResiliencePipeline<HttpResponseMessage> Build(ClientSettings o, bool retry)
        {
            var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = o.Clock };
            if (retry && o.MaxRetryAttempts > 0)
            {
                builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
                {
                    MaxRetryAttempts = o.MaxRetryAttempts,
                    ShouldHandle = args => new ValueTask<bool>(CallScope.Current?.SingleAttempt != true &&
                        (args.Outcome.Exception is { } ex ? IsTransient(ex) : IsTransient(args.Outcome.Result!.StatusCode))),
                    DelayGenerator = args => new ValueTask<TimeSpan?>(
                        Delay(o, args.AttemptNumber, args.Outcome.Result, o.Clock.GetUtcNow())),
                    OnRetry = args =>
                    {
                        // A wait of 30 s on a Retry-After must say so, or the command looks hung: to the operation's scope
                        // (a start or stop says it on its progress), else to whoever made the client.
                        string line = Errors.RetryNotice(args.Outcome.Result is { } r ? $"{(int)r.StatusCode}" : null,
                            RetryAfter(args.Outcome.Result, o.Clock.GetUtcNow()), args.RetryDelay, args.AttemptNumber + 2, o.MaxRetryAttempts + 1);
                        if (CallScope.Current?.Log is { } log) log(line);
                        else o.RetryNotice?.Invoke(line, args.RetryDelay);
                        return default;
                    },
                });
            }
            // Zero, negative (Infinite) or absurdly long means no per-attempt limit; Polly accepts 10 ms .. 1 day.
            TimeSpan timeout = o.AttemptTimeout;
            if (timeout > TimeSpan.Zero && timeout <= TimeSpan.FromDays(1))
                builder.AddTimeout(timeout < MinTimeout ? MinTimeout : timeout);
            return builder.Build();
        }

        public static bool IsTransient(HttpStatusCode status) =>
            (int)status is 429 or 500 or 502 or 503 or 504;

        /// <summary>A dropped connection or an abandoned attempt: the request may or may not have been processed.</summary>
        public static bool IsTransient(Exception ex) =>
            ex is HttpRequestException or IOException or TimeoutRejectedException;

        /// <summary>
        /// Delay before retry number <paramref name="attempt"/> + 1 (0-based): the server's Retry-After when it
        /// sent one, else exponential backoff with jitter; never more than MaxRetryDelay.
        /// </summary>
        public static TimeSpan Delay(ClientSettings o, int attempt, HttpResponseMessage? response, DateTimeOffset now)
        {
            TimeSpan? retryAfter = RetryAfter(response, now);
            TimeSpan delay;
            if (retryAfter is TimeSpan ra)
            {
                delay = ra;
            }
            else
            {
                double exponential = o.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
                double capped = Math.Min(exponential, o.MaxRetryDelay.TotalMilliseconds);
                double factor;
                lock (Jitter) factor = 0.5 + Jitter.NextDouble() * 0.5; // "equal jitter": half fixed, half random
                delay = TimeSpan.FromMilliseconds(capped * factor);
            }
            return delay > o.MaxRetryDelay ? o.MaxRetryDelay : delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
        }

        internal static TimeSpan? RetryAfter(HttpResponseMessage? response, DateTimeOffset now)
        {
            var header = response?.Headers.RetryAfter;
            if (header?.Delta is TimeSpan delta) return delta;
            if (header?.Date is DateTimeOffset date) return date - now;
            return null;
        }
    }
}
