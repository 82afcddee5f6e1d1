using System;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>How one data-plane request is sent.</summary>
    public sealed class DataPlaneOptions
    {
        /// <summary>Limit for the whole request: waking a scaled-to-zero endpoint, every retry, and the answer. Default 10 minutes.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);
        /// <summary>What is sent, as error messages should name it (a file path, say); null reads "a request".</summary>
        public string? InputName { get; set; }
        /// <summary>Told about retries; called on any thread.</summary>
        public Action<string>? Log { get; set; }
    }

    /// <summary>A successful (2xx) answer from an endpoint's own URL.</summary>
    public sealed class DataPlaneResponse
    {
        internal DataPlaneResponse(int statusCode, string? contentType, byte[] body, string? requestId, TimeSpan duration, long bytesSent, int attempts)
        {
            StatusCode = statusCode;
            ContentType = contentType;
            Body = body;
            RequestId = requestId;
            Duration = duration;
            BytesSent = bytesSent;
            Attempts = attempts;
        }

        public int StatusCode { get; }
        /// <summary>The media type, without parameters (e.g. application/json).</summary>
        public string? ContentType { get; }
        public byte[] Body { get; }
        public string? RequestId { get; }
        /// <summary>From the first attempt to the answer, retries and wake-up included.</summary>
        public TimeSpan Duration { get; }
        /// <summary>Body bytes of the attempt that was answered.</summary>
        public long BytesSent { get; }
        public int Attempts { get; }
    }

    public sealed partial class EndpointClient
    {
        /// <summary>
        /// POSTs to <paramref name="route"/> under the endpoint's URL. A paused, failed or URL-less endpoint is an error
        /// before anything is sent; a scaled-to-zero one is woken by the request. See <see cref="SendDataAsync(Uri, string, Func{HttpContent}, DataPlaneOptions, CancellationToken)"/>.
        /// </summary>
        public Task<DataPlaneResponse> SendDataAsync(EndpointInfo endpoint, string? route, Func<HttpContent> content,
            DataPlaneOptions? options = null, CancellationToken ct = default)
        {
            if (endpoint == null) throw new ArgumentNullException(nameof(endpoint));
            options ??= new DataPlaneOptions();
            var target = new Target($"send {What(options)} to", endpoint.Namespace, endpoint.Name);
            if (endpoint.Status == EndpointStatus.Paused)
                throw new EndpointException(EndpointErrorKind.EndpointNotReady,
                    Errors.Compose(target, $"it is paused, so it has no URL. {StartAdvice(target)}", null, null), target, endpoint: endpoint);
            if (endpoint.Status is EndpointStatus.Failed or EndpointStatus.UpdateFailed)
                throw new EndpointException(EndpointErrorKind.EndpointFailed,
                    Errors.Compose(target, $"it is in state {endpoint.StatusText}. Check its logs; a failed endpoint must be deleted and created again", endpoint.Message, null),
                    target, serviceMessage: endpoint.Message, endpoint: endpoint);
            if (endpoint.Url == null)
                throw new EndpointException(EndpointErrorKind.EndpointNotReady,
                    Errors.Compose(target, $"it has no URL yet (state {endpoint.StatusText}). Wait for it with Wait-MertEndpoint {endpoint.Name} -Namespace {endpoint.Namespace}", null, null),
                    target, endpoint: endpoint);
            return SendDataCoreAsync(DataUri(endpoint.Url, route, target), target, content, options, sendToken: true, ct);
        }

        /// <summary>
        /// POSTs to <paramref name="route"/> under <paramref name="url"/> (an endpoint's URL), with the token as a Bearer
        /// only when the host is a Hugging Face endpoint host or loopback.
        /// <paramref name="content"/> is called once per attempt, so a file body is reopened rather than held in memory.
        /// Sends X-Scale-Up-Timeout so that the proxy holds the request while a scaled-to-zero endpoint wakes;
        /// 503 (waking) is retried until <see cref="DataPlaneOptions.Timeout"/>; 429, 502, 504 and dropped connections
        /// up to MaxRetryAttempts times; other answers are not retried (a 500 is usually this input's fault).
        /// A non-2xx answer becomes an <see cref="EndpointException"/>; a paused endpoint is EndpointNotReady.
        /// </summary>
        public Task<DataPlaneResponse> SendDataAsync(Uri url, string? route, Func<HttpContent> content,
            DataPlaneOptions? options = null, CancellationToken ct = default)
        {
            if (url == null) throw new ArgumentNullException(nameof(url));
            options ??= new DataPlaneOptions();
            var target = new Target($"send {What(options)} to {url.AbsoluteUri.TrimEnd('/')}", null);
            // A URL typed by the user may be anybody's: the token goes only to Hugging Face's endpoint hosts and to
            // loopback (the emulator). A URL the control plane reported (the overload above) always gets it.
            var trusted = url.IsLoopback || url.Host.EndsWith(".endpoints.huggingface.cloud", StringComparison.OrdinalIgnoreCase);
            return SendDataCoreAsync(DataUri(url.AbsoluteUri, route, target), target, content, options, trusted, ct);
        }

        private async Task<DataPlaneResponse> SendDataCoreAsync(Uri uri, Target target, Func<HttpContent> content, DataPlaneOptions o,
            bool sendToken, CancellationToken ct)
        {
            if (content == null) throw new ArgumentNullException(nameof(content));
            TimeProvider clock = Options.TimeProvider;
            long start = clock.GetTimestamp();
            using CancellationTokenSource deadline = clock.CreateCancellationTokenSource(o.Timeout);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
            for (int attempt = 1; ; attempt++)
            {
                TimeSpan remaining = o.Timeout - clock.GetElapsedTime(start);
                HttpResponseMessage? response = null;
                Exception? dropped = null;
                long sent;
                using (HttpRequestMessage request = DataRequest(uri, content(), remaining, sendToken))
                {
                    sent = request.Content!.Headers.ContentLength ?? 0;
                    try
                    {
                        response = await _http.SendAsync(request, linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
                    {
                        throw DataTimeout(target, o, attempt);
                    }
                    catch (Exception ex) when (Resilience.IsTransient(ex) && !ct.IsCancellationRequested)
                    {
                        dropped = ex;
                    }
                }
                TimeSpan delay;
                using (response)
                {
                    if (response != null && response.IsSuccessStatusCode)
                    {
                        byte[] body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                        return new DataPlaneResponse((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body,
                            Header(response, "X-Request-Id"), clock.GetElapsedTime(start), sent, attempt);
                    }
                    int status = response == null ? 0 : (int)response.StatusCode;
                    // A 503 is what a waking endpoint answers, so it alone is retried for as long as the caller allows.
                    bool retry = status is 0 or 429 or 502 or 504 ? attempt <= Options.MaxRetryAttempts : status == 503;
                    delay = Resilience.Delay(Options, attempt - 1, response, Now);
                    if (!retry || delay >= o.Timeout - clock.GetElapsedTime(start))
                        throw response == null
                            ? DataUnreachable(target, uri, dropped!, attempt, clock.GetElapsedTime(start))
                            : await DataErrorAsync(response, target, attempt, clock.GetElapsedTime(start)).ConfigureAwait(false);
                    o.Log?.Invoke($"{What(o)}: " + (response == null ? $"connection dropped ({dropped!.Message.TrimEnd('.')})" : $"{status} {response.ReasonPhrase}")
                        + $"; retrying in {delay.TotalSeconds:0.0} s (attempt {attempt + 1}).");
                }
                try
                {
                    await clock.Delay(delay, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    throw DataTimeout(target, o, attempt);
                }
            }
        }

        private HttpRequestMessage DataRequest(Uri uri, HttpContent content, TimeSpan remaining, bool sendToken)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, uri)
            {
                Content = content ?? throw new InvalidOperationException("The content factory returned null."),
            };
            // DataUri allows only https or loopback, so the token never travels in clear text.
            if (sendToken) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            request.Headers.UserAgent.ParseAdd(UserAgent);
            request.Headers.ExpectContinue = false; // .NET Framework would otherwise wait for a 100 Continue first
            // Asks the proxy to hold the request while a scaled-to-zero endpoint wakes, instead of answering 503 at once.
            int seconds = Math.Max(1, (int)Math.Ceiling(remaining.TotalSeconds));
            request.Headers.TryAddWithoutValidation("X-Scale-Up-Timeout", seconds.ToString(CultureInfo.InvariantCulture));
            return request;
        }

        private static Uri DataUri(string url, string? route, Target target)
        {
            route = string.IsNullOrEmpty(route) ? "/" : route!.StartsWith("/", StringComparison.Ordinal) ? route : "/" + route;
            if (!Uri.TryCreate(url.TrimEnd('/') + route, UriKind.Absolute, out Uri? uri)
                || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
                throw new EndpointException(EndpointErrorKind.InvalidArgument, Errors.Compose(target,
                    $"'{url}' is not an https:// URL (plain http:// is allowed only for loopback hosts, so that the token never travels in clear text)", null, null), target);
            return uri;
        }

        private async Task<EndpointException> DataErrorAsync(HttpResponseMessage response, Target target, int attempts, TimeSpan elapsed)
        {
            string text = response.Content == null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            string? message = Json.ErrorMessage(text) ?? Header(response, "X-Error-Message");
            if (message != null) message = message.Replace(_token, "***");
            string? requestId = Header(response, "X-Request-Id");
            int status = (int)response.StatusCode;
            string answered = $"the endpoint answered {status} ({response.ReasonPhrase})";
            (EndpointErrorKind kind, string what) = status switch
            {
                // The service's proxy answers a paused endpoint's URL with "400 Bad Request: Invalid state".
                400 when message?.IndexOf("Invalid state", StringComparison.OrdinalIgnoreCase) >= 0 =>
                    (EndpointErrorKind.EndpointNotReady, $"the endpoint is paused ({status} Invalid state). {StartAdvice(target)}"),
                400 or 413 or 415 or 422 => (EndpointErrorKind.InvalidRequest, $"{answered}: it rejected this input"),
                401 => (EndpointErrorKind.Unauthorized, $"{answered}. Check the token: set HF_TOKEN or pass -Token"),
                403 => (EndpointErrorKind.Forbidden, $"{answered}. Check that the token may call this endpoint"),
                404 => (EndpointErrorKind.EndpointNotFound, $"{answered}. Check the URL and -Route"),
                429 => (EndpointErrorKind.RateLimited, $"{answered} after {Plural(attempts, "attempt")}. Lower -ThrottleLimit or try again later"),
                503 => (EndpointErrorKind.ServiceUnavailable,
                    $"{answered} for {elapsed.TotalSeconds:0} s ({Plural(attempts, "attempt")}). If it is still waking up, raise -TimeoutSec"),
                >= 500 when attempts > 1 => (EndpointErrorKind.ServiceUnavailable, $"{answered} after {Plural(attempts, "attempt")}. Try again later"),
                >= 500 => (EndpointErrorKind.ServiceUnavailable, $"{answered}: it failed on this input"),
                _ => (EndpointErrorKind.Unknown, answered),
            };
            return new EndpointException(kind, Errors.Compose(target, what, message, requestId), target, status, message, requestId);
        }

        private static EndpointException DataUnreachable(Target target, Uri uri, Exception ex, int attempts, TimeSpan elapsed)
        {
            Exception inner = ex;
            while (inner.InnerException != null) inner = inner.InnerException;
            return new EndpointException(EndpointErrorKind.ServiceUnavailable, Errors.Compose(target,
                $"{uri.Host} could not be reached after {Plural(attempts, "attempt")} in {elapsed.TotalSeconds:0} s ({inner.Message.TrimEnd('.')}). Check the network and the endpoint's state",
                null, null), target, innerException: ex);
        }

        private static EndpointException DataTimeout(Target target, DataPlaneOptions o, int attempts) =>
            new(EndpointErrorKind.WaitTimeout, Errors.Compose(target,
                $"no answer within {o.Timeout.TotalSeconds:0.###} s ({Plural(attempts, "attempt")}). Raise -TimeoutSec for a slow wake-up or a large input",
                null, null), target);

        private static string StartAdvice(Target t)
        {
            string args = t.Name == null ? " <name>" : $" {t.Name}" + (t.Namespace != null ? $" -Namespace {t.Namespace}" : "");
            return $"Start it with Start-MertEndpoint{args}, or run the job inside Use-MertEndpoint{args} {{ ... }}, which starts it and pauses it again afterwards";
        }

        private static string What(DataPlaneOptions o) => o.InputName == null ? "a request" : $"'{o.InputName}'";

        private static string Plural(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
    }
}
