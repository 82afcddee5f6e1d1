using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Polly;

namespace MertEndpoint
{
    /// <summary>
    /// HTTP for the client: one shared connection pool, the bearer token, the retry pipelines, and turning answers into
    /// values or <see cref="EndpointException"/>s. Knows nothing of endpoints.
    /// </summary>
    internal sealed class Transport
    {
        private static readonly string UserAgent = "MertEndpoint/" + typeof(Transport).Assembly.GetName().Version?.ToString(3);

        // Infinite: each attempt gets its own timeout from the pipeline, and long waits are ours to bound.
        private static readonly Lazy<HttpClient> SharedHttp = new(() => new HttpClient(CreateHandler()) { Timeout = Timeout.InfiniteTimeSpan });

        private readonly string _token;
        private readonly ResiliencePipeline<HttpResponseMessage> _retrying, _once;

        public Transport(string token, ClientSettings settings)
        {
            _token = token;
            Settings = settings;
            Http = settings.Handler == null ? SharedHttp.Value
                : new HttpClient(settings.Handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
            _retrying = Resilience.Build(settings, retry: true);
            _once = Resilience.Build(settings, retry: false);
        }

        /// <summary>Creates the process-wide connection pool every real client shares (part of the import warm-up).</summary>
        internal static void WarmUpShared() => _ = SharedHttp.Value;

        public ClientSettings Settings { get; }
        public HttpClient Http { get; }
        public DateTimeOffset Now => Settings.Clock.GetUtcNow();

        /// <summary>
        /// A retried call: transient failures are retried, then mapped to <see cref="EndpointException"/>. A success whose
        /// body cannot be read (an HTML page from a proxy, truncated JSON) is treated like a 5xx: retried when the call
        /// is a GET (safe to repeat), else reported with an excerpt of the body.
        /// </summary>
        public async Task<T> SendAsync<T>(HttpMethod method, Uri uri, string? body, Target target, Func<JsonElement, T> map, CancellationToken ct)
        {
            for (int round = 0; ; round++)
            {
                try
                {
                    return await SendOnceRetriedAsync(method, uri, body, target, map, ct).ConfigureAwait(false);
                }
                catch (UnreadableAnswer) when (method == HttpMethod.Get && round < Settings.MaxRetryAttempts)
                {
                    await Settings.Clock.Delay(Resilience.Delay(Settings, round, null, Now), ct).ConfigureAwait(false);
                }
                catch (UnreadableAnswer unreadable)
                {
                    throw unreadable.Error;
                }
            }
        }

        private async Task<T> SendOnceRetriedAsync<T>(HttpMethod method, Uri uri, string? body, Target target, Func<JsonElement, T> map, CancellationToken ct)
        {
            int attempts = 0;
            HttpResponseMessage response;
            try
            {
                response = await _retrying.ExecuteAsync(t => { attempts++; return SendOnceAsync(method, uri, body, t); }, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (Resilience.IsTransient(ex) && !ct.IsCancellationRequested)
            {
                throw Errors.Unreachable(target, uri, ex, attempts, Settings.AttemptTimeout);
            }
            using (response)
            {
                if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, target, attempts).ConfigureAwait(false);
                return await ReadAsync(response, target, map).ConfigureAwait(false);
            }
        }

        /// <summary>One attempt with the per-attempt timeout and no retry (for calls that are not safe to repeat).</summary>
        public ValueTask<HttpResponseMessage> SendOnceWithTimeoutAsync(HttpMethod method, Uri uri, string? body, CancellationToken ct) =>
            _once.ExecuteAsync(t => SendOnceAsync(method, uri, body, t), ct);

        /// <summary>One attempt, on a fresh request (a sent HttpRequestMessage cannot be sent again).</summary>
        private async ValueTask<HttpResponseMessage> SendOnceAsync(HttpMethod method, Uri uri, string? body, CancellationToken ct)
        {
            using var request = new HttpRequestMessage(method, uri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            request.Headers.UserAgent.ParseAdd(UserAgent);
            if (body != null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                request.Headers.ExpectContinue = false; // .NET Framework would otherwise wait for a 100 Continue first
            }
            return await Http.SendAsync(request, ct).ConfigureAwait(false);
        }

        /// <summary>Maps a successful answer; one that cannot be read throws <see cref="UnreadableAnswer"/>.</summary>
        public static async Task<T> ReadAsync<T>(HttpResponseMessage response, Target target, Func<JsonElement, T> map)
        {
            string text = response.Content == null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            try
            {
                using JsonDocument doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(text) ? "{}" : text);
                return map(doc.RootElement);
            }
            catch (Exception ex) when (ex is JsonException || ex is InvalidOperationException || ex is FormatException)
            {
                throw new UnreadableAnswer(Errors.UnexpectedBody(target, (int)response.StatusCode,
                    response.Content?.Headers.ContentType?.MediaType, Json.Excerpt(text), Header(response, "X-Request-Id"), ex));
            }
        }

        /// <summary>A 2xx whose body could not be read: retried like a 5xx where that is safe.</summary>
        internal sealed class UnreadableAnswer : Exception
        {
            public UnreadableAnswer(EndpointException error) : base(error.Message, error) => Error = error;
            public EndpointException Error { get; }
        }

        public async Task<EndpointException> ErrorAsync(HttpResponseMessage response, Target target, int attempts)
        {
            (string? message, string? requestId) = await ServiceWordsAsync(response).ConfigureAwait(false);
            EndpointException error = Errors.FromStatus(target, (int)response.StatusCode, message, requestId, attempts);
            error.RetryAfter = Resilience.RetryAfter(response, Now);
            return error;
        }

        /// <summary>Turns <see cref="UnreadableAnswer"/> into its error, for callers that read answers themselves.</summary>
        public static async Task<T> Unwrap<T>(Task<T> reading)
        {
            try { return await reading.ConfigureAwait(false); }
            catch (UnreadableAnswer unreadable) { throw unreadable.Error; }
        }

        /// <summary>The service's message and request id of a failed answer, with the token masked.</summary>
        public async Task<(string? Message, string? RequestId)> ServiceWordsAsync(HttpResponseMessage response)
        {
            string text = response.Content == null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            string? message = Json.ErrorMessage(text) ?? Header(response, "X-Error-Message");
            // An HTML page (a proxy's, or the Hub's rate-limit page) says little, but its text beats nothing.
            if (message == null && text.TrimStart().StartsWith("<", StringComparison.Ordinal) && Json.Excerpt(text) is string excerpt)
                message = "an HTML page: " + excerpt;
            // Belt and braces: should the service ever echo the token, it still must not reach the user's screen.
            if (message != null) message = message.Replace(_token, "***");
            return (message, Header(response, "X-Request-Id"));
        }

        /// <summary>A data-plane request; the token goes only where <paramref name="sendToken"/> allows.</summary>
        public HttpRequestMessage DataRequest(HttpMethod method, Uri uri, HttpContent? content, bool sendToken, TimeSpan? scaleUpTimeout)
        {
            var request = new HttpRequestMessage(method, uri) { Content = content };
            if (sendToken) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            request.Headers.UserAgent.ParseAdd(UserAgent);
            if (content != null) request.Headers.ExpectContinue = false;
            if (scaleUpTimeout is TimeSpan remaining)
            {
                // Asks the proxy to hold the request while a scaled-to-zero endpoint wakes, instead of answering 503 at once.
                int seconds = Math.Max(1, (int)Math.Ceiling(remaining.TotalSeconds));
                request.Headers.TryAddWithoutValidation("X-Scale-Up-Timeout", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            return request;
        }

        public static string? Header(HttpResponseMessage response, string name) =>
            response.Headers.TryGetValues(name, out IEnumerable<string>? values) ? string.Join(", ", values) : null;

        private static HttpClientHandler CreateHandler()
        {
            var handler = new HttpClientHandler { AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate };
            // .NET Framework (Windows PowerShell) allows 2 connections per host by default; .NET Core has no limit.
            try { if (handler.MaxConnectionsPerServer < 16) handler.MaxConnectionsPerServer = 16; }
            catch (PlatformNotSupportedException) { /* keep the platform's default */ }
            return handler;
        }
    }
}
