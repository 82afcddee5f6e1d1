using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint.Recording
{
    /// <summary>One request and its answer as they crossed the wire, before any redaction.</summary>
    public sealed class RecordedExchange
    {
        internal RecordedExchange(int index) => Index = index;

        public int Index { get; }
        /// <summary>When the request was handed to the network (client clock).</summary>
        public DateTimeOffset Sent { get; internal set; }
        /// <summary>Milliseconds from <see cref="Sent"/> to the answer's headers (HAR "wait").</summary>
        public double WaitMs { get; internal set; }
        /// <summary>Milliseconds from the headers to the end of the body (HAR "receive").</summary>
        public double ReceiveMs { get; internal set; }
        public string Method { get; internal set; } = "";
        public Uri Url { get; internal set; } = null!;
        public IReadOnlyList<KeyValuePair<string, string>> RequestHeaders { get; internal set; } = Array.Empty<KeyValuePair<string, string>>();
        public string? RequestContentType { get; internal set; }
        /// <summary>The request body, or null when there was none or it was a stream (not read, so it is not consumed).</summary>
        public byte[]? RequestBody { get; internal set; }
        /// <summary>0 when no answer came (the connection failed or the call was cancelled; see <see cref="Error"/>).</summary>
        public int Status { get; internal set; }
        public string StatusText { get; internal set; } = "";
        public string HttpVersion { get; internal set; } = "HTTP/1.1";
        public IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders { get; internal set; } = Array.Empty<KeyValuePair<string, string>>();
        public string? ResponseContentType { get; internal set; }
        public byte[] ResponseBody { get; internal set; } = Array.Empty<byte>();
        /// <summary>Why no answer came (the exception's type), or null.</summary>
        public string? Error { get; internal set; }
        /// <summary>What the session was doing (create, read, pause, ...): the recorder's current step.</summary>
        public string? Step { get; internal set; }
    }

    /// <summary>
    /// Records every request and answer that passes through it: the seam is <see cref="EndpointClientOptions.Handler"/>
    /// (or <see cref="ClientFactory"/>'s handler), so the client's own retries, probes and checks are all recorded as the
    /// separate attempts they are. Answers are buffered whole before the client reads them, so do not use it for followed
    /// log streams. What it holds is raw (the token included): write it out only through <see cref="HarWriter"/>.
    /// </summary>
    public sealed class RecordingHandler : DelegatingHandler
    {
        private readonly object _gate = new object();
        private readonly List<RecordedExchange> _exchanges = new List<RecordedExchange>();
        private readonly Func<DateTimeOffset> _now;

        /// <summary>Records over the module's own handler (no redirects, decompression, as every real client uses).</summary>
        public RecordingHandler() : this(Transport.CreateHandler()) { }

        public RecordingHandler(HttpMessageHandler inner, Func<DateTimeOffset>? now = null) : base(inner) =>
            _now = now ?? (() => DateTimeOffset.UtcNow);

        /// <summary>The label put on the exchanges that follow (the session's step).</summary>
        public string? Step { get; set; }

        public IReadOnlyList<RecordedExchange> Exchanges
        {
            get { lock (_gate) return _exchanges.ToArray(); }
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            RecordedExchange exchange;
            lock (_gate)
            {
                exchange = new RecordedExchange(_exchanges.Count);
                _exchanges.Add(exchange);
            }
            exchange.Step = Step;
            exchange.Method = request.Method.Method;
            exchange.Url = request.RequestUri!;
            exchange.RequestHeaders = Headers(request.Headers, request.Content?.Headers);
            exchange.RequestContentType = request.Content?.Headers.ContentType?.ToString();
            // Only buffered bodies are read: reading a stream would consume what the request is about to send.
            if (request.Content is ByteArrayContent buffered)
                exchange.RequestBody = await buffered.ReadAsByteArrayAsync().ConfigureAwait(false);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            exchange.Sent = _now();
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                exchange.WaitMs = clock.Elapsed.TotalMilliseconds;
                exchange.Error = ex.GetType().Name;
                throw;
            }
            exchange.WaitMs = clock.Elapsed.TotalMilliseconds;
            exchange.Status = (int)response.StatusCode;
            exchange.StatusText = response.ReasonPhrase ?? "";
            exchange.HttpVersion = "HTTP/" + response.Version.ToString(2);
            try
            {
                if (response.Content != null)
                {
                    await response.Content.LoadIntoBufferAsync().ConfigureAwait(false);
                    exchange.ResponseBody = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                    exchange.ResponseContentType = response.Content.Headers.ContentType?.ToString();
                }
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                exchange.Error = ex.GetType().Name; // the body was cut: the client sees the same failure when it reads it
            }
            exchange.ReceiveMs = clock.Elapsed.TotalMilliseconds - exchange.WaitMs;
            exchange.ResponseHeaders = Headers(response.Headers, response.Content?.Headers);
            return response;
        }

        private static IReadOnlyList<KeyValuePair<string, string>> Headers(System.Net.Http.Headers.HttpHeaders headers,
            System.Net.Http.Headers.HttpHeaders? content)
        {
            IEnumerable<KeyValuePair<string, IEnumerable<string>>> all = headers;
            if (content != null) all = all.Concat(content);
            return all.Select(h => new KeyValuePair<string, string>(h.Key, string.Join(", ", h.Value))).ToArray();
        }
    }
}
