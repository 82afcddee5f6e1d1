using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using System.IO;

namespace MertEndpoint
{
    /// <summary>
    /// HTTP for the client: one shared connection pool, the bearer token (only where <see cref="TokenDestinations"/>
    /// allows), the size caps on answers, and turning answers into values or <see cref="EndpointException"/>s. Every
    /// call runs in the one <see cref="RequestExecutor"/> under the policy its caller passes. Knows nothing of endpoints.
    /// </summary>
    internal sealed class Transport
    {
        private static readonly string UserAgent = "MertEndpoint/" + typeof(Transport).Assembly.GetName().Version?.ToString(3);

        // Infinite: each attempt gets its own timeout from the executor, and long waits are ours to bound.
        private static readonly Lazy<HttpClient> SharedHttp = new(() => new HttpClient(CreateHandler()) { Timeout = Timeout.InfiniteTimeSpan });

        private readonly string _token;

        public Transport(string token, ClientSettings settings)
        {
            _token = token;
            Settings = settings;
            Http = settings.Handler == null ? SharedHttp.Value
                : new HttpClient(settings.Handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
            Executor = new RequestExecutor(settings);
            Secrets.Register(token);
        }

        /// <summary>Creates the process-wide connection pool every real client shares (part of the import warm-up).</summary>
        internal static void WarmUpShared() => _ = SharedHttp.Value;

        public ClientSettings Settings { get; }
        public HttpClient Http { get; }
        public RequestExecutor Executor { get; }
        public DateTimeOffset Now => Settings.Clock.GetUtcNow();

        // This clock less the control plane's, from the last answer's Date header, in ticks; long.MinValue before any.
        private long _aheadTicks = long.MinValue;

        /// <summary>
        /// How far this machine's clock runs ahead of the control plane's (negative: behind), from the last answer that
        /// carried a Date header: whole seconds (a server may cache it for a second), so within a couple of seconds. Null before any did.
        /// </summary>
        public TimeSpan? ClockAhead => Interlocked.Read(ref _aheadTicks) is long t && t != long.MinValue ? TimeSpan.FromTicks(t) : null;

        private void NoteDate(HttpResponseMessage response)
        {
            if (response.Headers.Date is DateTimeOffset date) Interlocked.Exchange(ref _aheadTicks, (Now - date).Ticks);
        }

        /// <summary>
        /// One control-plane call under <paramref name="call"/>'s policy: each attempt is a fresh request, its answer read
        /// up to <see cref="ClientSettings.MaxAnswerBytes"/> and mapped. A success whose body cannot be read (an HTML page
        /// from a proxy, truncated JSON) is a failure the policy tries again only where that is safe.
        /// </summary>
        public Task<T> SendAsync<T>(HttpMethod method, Uri uri, string? body, Target target, Func<JsonElement, T> map, RequestCall call, CancellationToken ct) =>
            SendAsync(method, uri, body, target, (e, _) => map(e), call, ct);

        /// <summary>As above, with the answer's headers beside its body (a listing's <c>Link</c> to its next page).</summary>
        public Task<T> SendAsync<T>(HttpMethod method, Uri uri, string? body, Target target, Func<JsonElement, HttpResponseMessage, T> map, RequestCall call,
            CancellationToken ct) =>
            Executor.RunAsync(call, target, uri, async (_, t) =>
            {
                using HttpResponseMessage response = await SendOnceAsync(method, uri, body, t).ConfigureAwait(false);
                NoteDate(response);
                return await OutcomeAsync(response, target, e => map(e, response)).ConfigureAwait(false);
            }, (kind, ex, attempts) => Errors.Unreachable(target, uri, ex, attempts, Settings.AttemptTimeout), ct);

        /// <summary>What one answer comes to: its value, or a failure carrying the error it would end in.</summary>
        public async Task<Attempt<T>> OutcomeAsync<T>(HttpResponseMessage response, Target target, Func<JsonElement, T> map)
        {
            if (!response.IsSuccessStatusCode)
            {
                EndpointException error = await ErrorAsync(response, target, 1).ConfigureAwait(false);
                int status = (int)response.StatusCode;
                (string? message, string? requestId) = (error.ServiceMessage, error.RequestId);
                return Attempt<T>.Failed(new Failure(FailureKind.Status, status,
                    n => WithRetryAfter(Errors.FromStatus(target, status, message, requestId, n), error.RetryAfter), error.RetryAfter));
            }
            try
            {
                return Attempt<T>.Done(await ReadAsync(response, target, map).ConfigureAwait(false));
            }
            catch (UnreadableAnswer unreadable)
            {
                return Attempt<T>.Failed(new Failure(FailureKind.Unreadable, (int)response.StatusCode, _ => unreadable.Error));
            }
        }

        private static EndpointException WithRetryAfter(EndpointException error, TimeSpan? retryAfter)
        {
            error.RetryAfter = retryAfter;
            return error;
        }

        /// <summary>One attempt, on a fresh request (a sent HttpRequestMessage cannot be sent again).</summary>
        public async Task<HttpResponseMessage> SendOnceAsync(HttpMethod method, Uri uri, string? body, CancellationToken ct,
            HttpCompletionOption completion = HttpCompletionOption.ResponseHeadersRead, string accept = "application/json")
        {
            using var request = new HttpRequestMessage(method, uri);
            Authorize(request);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
            request.Headers.UserAgent.ParseAdd(UserAgent);
            if (body != null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                request.Headers.ExpectContinue = false; // .NET Framework would otherwise wait for a 100 Continue first
            }
            return await Http.SendAsync(request, completion, ct).ConfigureAwait(false);
        }

        /// <summary>The one place the token is put on a request: only where <see cref="TokenDestinations"/> allows.</summary>
        private void Authorize(HttpRequestMessage request)
        {
            if (request.RequestUri is Uri uri && Settings.TokenDestinations.Allows(uri))
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }

        /// <summary>Whether requests to <paramref name="uri"/> carry the token.</summary>
        public bool SendsTokenTo(Uri uri) => Settings.TokenDestinations.Allows(uri);

        /// <summary>
        /// Reads a body up to <paramref name="cap"/> bytes, streaming (a declared length over the cap fails before reading):
        /// a larger one throws <see cref="EndpointErrorKind.AnswerTooLarge"/>-style InvalidRequest naming the cap and its setting.
        /// </summary>
        public static async Task<byte[]> ReadCappedAsync(HttpContent? content, long cap, Target target, string setting, CancellationToken ct = default)
        {
            if (content == null) return Array.Empty<byte>();
            if (content.Headers.ContentLength is long declared && declared > cap) throw Errors.AnswerTooLarge(target, cap, setting);
            using Stream stream = await content.ReadAsStreamAsync().ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, 0, chunk.Length, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > cap) throw Errors.AnswerTooLarge(target, cap, setting);
                buffer.Write(chunk, 0, read);
            }
            return buffer.ToArray();
        }

        private async Task<string> ReadTextAsync(HttpResponseMessage response, Target target)
        {
            byte[] bytes = await ReadCappedAsync(response.Content, Settings.MaxAnswerBytes, target, nameof(EndpointClientOptions.MaxAnswerBytes)).ConfigureAwait(false);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Maps a successful answer; one that cannot be read throws <see cref="UnreadableAnswer"/>.</summary>
        public async Task<T> ReadAsync<T>(HttpResponseMessage response, Target target, Func<JsonElement, T> map)
        {
            string text = await ReadTextAsync(response, target).ConfigureAwait(false);
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
            error.RetryAfter = RequestExecutor.RetryAfter(response, Now);
            return error;
        }

        /// <summary>The service's message and request id of a failed answer, with the token masked.</summary>
        public async Task<(string? Message, string? RequestId)> ServiceWordsAsync(HttpResponseMessage response)
        {
            string text;
            try { text = Encoding.UTF8.GetString(await ReadCappedAsync(response.Content, 64 * 1024, default, "error body").ConfigureAwait(false)); }
            catch (EndpointException) { text = ""; } // an error body over 64 KiB says nothing worth its size
            string? message = Json.ErrorMessage(text) ?? Header(response, "X-Error-Message");
            // An HTML page (a proxy's, or the Hub's rate-limit page) says little, but its text beats nothing.
            if (message == null && text.TrimStart().StartsWith("<", StringComparison.Ordinal) && Json.Excerpt(text) is string excerpt)
                message = "an HTML page: " + excerpt;
            // Should the service ever echo the token or a credential, it still must not reach the user's screen.
            if (message != null) message = Secrets.Mask(message.Replace(_token, Secrets.Masked));
            return (message, Header(response, "X-Request-Id"));
        }

        /// <summary>A data-plane request; the token goes only where <see cref="TokenDestinations"/> allows.</summary>
        public HttpRequestMessage DataRequest(HttpMethod method, Uri uri, HttpContent? content, TimeSpan? scaleUpTimeout)
        {
            var request = new HttpRequestMessage(method, uri) { Content = content };
            Authorize(request);
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

        internal static HttpClientHandler CreateHandler()
        {
            // No redirects: a token-bearing request must not follow one to another host. Both .NET Framework's handler
            // (HttpWebRequest clears a header-set Authorization on auto-redirect) and .NET's drop the header today, but
            // re-authentication with handler credentials, proxies and platform quirks vary: not following is one rule we own.
            var handler = new HttpClientHandler
            {
                AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
                AllowAutoRedirect = false,
            };
            // .NET Framework (Windows PowerShell) allows 2 connections per host by default; .NET Core has no limit.
            try { if (handler.MaxConnectionsPerServer < 16) handler.MaxConnectionsPerServer = 16; }
            catch (PlatformNotSupportedException) { /* keep the platform's default */ }
            return handler;
        }
    }
}
