using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>
    /// Reads an endpoint's logs (<c>GET .../logs</c>, <c>text/plain</c>, one <c>- &lt;time&gt; &lt;line&gt;</c> per line),
    /// once or following new lines. A dropped stream is resumed from the last line seen: the service is asked again from
    /// the start of that line's second (unix seconds, so whole seconds are what it surely understands), and the answer
    /// is passed over up to that very line, so nothing is repeated and nothing is missed. When the service ends a
    /// followed stream, the endpoint's state decides: stopped ends the read, still up asks again.
    /// </summary>
    internal sealed class LogReader
    {
        private static readonly Regex LinePattern = new(@"^(?:- )?(\d{4}-\d\d-\d\dT\S+)\s(.*)$", RegexOptions.CultureInvariant);
        private static readonly TimeSpan Repoll = TimeSpan.FromSeconds(1);

        private readonly EndpointClient _client;
        private readonly Transport _transport;
        private readonly string _ns, _name;
        private readonly LogQuery _query;
        private readonly Action<EndpointLogLine> _onLine;
        private readonly Target _target;

        // The resume point: the last line passed on, and how often each text was passed on at its time (identical
        // lines at one instant do happen), so the resumed answer is passed over up to that very line.
        private (DateTimeOffset Time, string Text)? _last;
        private readonly Dictionary<string, int> _atLastTime = new(StringComparer.Ordinal);
        // While resuming: lines still to pass over, up to and including the n-th repeat of the last line passed on.
        private int? _skipRepeats;

        public LogReader(EndpointClient client, Transport transport, string ns, string name, LogQuery query, Action<EndpointLogLine> onLine)
        {
            _client = client;
            _transport = transport;
            _ns = ns;
            _name = name;
            _query = query;
            _onLine = onLine;
            _target = new Target(query.Follow ? "follow the logs of" : "read the logs of", ns, name);
        }

        /// <summary>
        /// Reads under the log-stream policy, in the one executor: a dropped or refused stream is asked again after the last
        /// line seen; attempts count in a row without a new line; a followed stream the service ended while the endpoint is
        /// up is asked again after the policy's repoll pause. A plain read has the policy's time budget; -Follow has none.
        /// </summary>
        public async Task RunAsync(RequestCall call, CancellationToken ct)
        {
            RequestPolicy policy = _query.Follow ? call.Policy.WithBudget(Timeout.InfiniteTimeSpan) : call.Policy;
            Uri first = Uri();
            await _transport.Executor.RunAsync(call.With(policy), _target, first, (_, t) => OnceAsync(t, ct),
                (kind, ex, attempts) => Errors.LogStreamLost(_target, first, ex, attempts), ct).ConfigureAwait(false);
        }

        /// <summary>One connection: read until the answer ends, and say what that came to.</summary>
        private async Task<Attempt<bool>> OnceAsync(CancellationToken t, CancellationToken ct)
        {
            Uri uri = Uri();
            bool progressed = false;
            try
            {
                using HttpResponseMessage response = await ConnectAsync(uri, t).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    EndpointException error = await _transport.ErrorAsync(response, _target, 1).ConfigureAwait(false);
                    int status = (int)response.StatusCode;
                    return Attempt<bool>.Failed(new Failure(FailureKind.Status, status,
                        n => Errors.FromStatus(_target, status, error.ServiceMessage, error.RequestId, n), error.RetryAfter,
                        notice: (delay, next) => Resumed($"the service answered {status}", delay, next)));
                }
                using Stream stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                await ReadLinesAsync(stream, line => progressed |= Accept(line), t, _transport.Settings.MaxLogLineBytes,
                    () => Errors.LogLineTooLong(_target, _transport.Settings.MaxLogLineBytes)).ConfigureAwait(false);
            }
            catch (Exception ex) when ((RequestExecutor.IsUnanswered(ex) || ex is OperationCanceledException) && !ct.IsCancellationRequested)
            {
                // A dropped connection, or an attempt that got no answer in time.
                FailureKind kind = ex is OperationCanceledException ? FailureKind.Hung : FailureKind.Dropped;
                return Attempt<bool>.Failed(new Failure(kind, 0, n => Errors.LogStreamLost(_target, uri, ex, n), progressed: progressed,
                    notice: (delay, next) => Resumed($"the stream dropped ({ex.Message.TrimEnd('.')})", delay, next)));
            }
            // The service ended the answer: all of it for a plain read, or the stream of a stopped endpoint.
            if (!_query.Follow || !await IsUpAsync(ct).ConfigureAwait(false)) return Attempt<bool>.Done(true);
            return Attempt<bool>.Failed(new Failure(FailureKind.StreamEnded, 0, _ => new InvalidOperationException("unreachable"),
                notice: (_, _) => $"The log stream of {_target.Id} ended while it is still up; asking again."));
        }

        private string Resumed(string why, TimeSpan delay, int next) =>
            $"Reading the logs of {_target.Id}: {why}; resuming after the last line seen in {delay.TotalSeconds:0.0} s (attempt {next}).";

        /// <summary>The first read asks for what the caller asked; a resumed one for everything from the last line's second on.</summary>
        private Uri Uri()
        {
            var q = new List<string>();
            if (_last == null)
            {
                if (_query.Tail is int tail) q.Add("tail=" + tail.ToString(CultureInfo.InvariantCulture));
                if (_query.Since is DateTimeOffset since) q.Add("from=" + since.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                // From the start of the last line's second: it and everything before it in the answer are passed over.
                q.Add("from=" + _last.Value.Time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
                _skipRepeats = _atLastTime[_last.Value.Text];
            }
            // "to" is inclusive at whole seconds: round up so the last second asked for is in.
            if (_query.Until is DateTimeOffset until) q.Add("to=" + CeilSeconds(until).ToString(CultureInfo.InvariantCulture));
            if (_query.Replica != null) q.Add("replica=" + System.Uri.EscapeDataString(_query.Replica));
            if (_query.Follow) q.Add("follow=true");
            return new Uri(_client.LogsUri(_ns, _name) + (q.Count > 0 ? "?" + string.Join("&", q) : ""));
        }

        private static long CeilSeconds(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.FromUnixTimeSeconds(0).UtcTicks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond;

        private async Task<HttpResponseMessage> ConnectAsync(Uri uri, CancellationToken ct)
        {
            // Only the answer's headers are bounded by the attempt timeout: a followed stream is quiet for as long as the endpoint is.
            ClientSettings settings = _transport.Settings;
            using CancellationTokenSource headers = settings.AttemptTimeout > TimeSpan.Zero && settings.AttemptTimeout < TimeSpan.FromDays(1)
                ? settings.Clock.CreateCancellationTokenSource(settings.AttemptTimeout) : new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, headers.Token);
            // A control-plane call: DataRequest gives it the bearer token (the control plane's host) and the user agent.
            using HttpRequestMessage request = _transport.DataRequest(HttpMethod.Get, uri, null, scaleUpTimeout: null);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
            return await _transport.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
        }

        private async Task<bool> IsUpAsync(CancellationToken ct)
        {
            EndpointInfo? e = await _client.TryGetAsync(_ns, _name, ct).ConfigureAwait(false);
            return e != null && e.Status is EndpointStatus.Pending or EndpointStatus.Initializing or EndpointStatus.Running or EndpointStatus.Updating;
        }

        /// <summary>Calls <paramref name="onLine"/> for each complete line; a line cut off by a dropped connection is not one.</summary>
        internal static async Task ReadLinesAsync(Stream stream, Action<string> onLine, CancellationToken ct,
            int maxLineBytes = EndpointClientOptions.DefaultMaxLogLineBytes, Func<Exception>? tooLong = null)
        {
            Decoder decoder = new UTF8Encoding(false).GetDecoder();
            var bytes = new byte[8192];
            var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
            var line = new StringBuilder();
            // Some streams ignore the token once reading: closing them ends the read.
            using (ct.Register(stream.Dispose))
            try
            {
                int read;
                while ((read = await stream.ReadAsync(bytes, 0, bytes.Length, ct).ConfigureAwait(false)) > 0)
                {
                    int count = decoder.GetChars(bytes, 0, read, chars, 0);
                    for (int i = 0; i < count; i++)
                    {
                        if (chars[i] != '\n')
                        {
                            // Characters, not bytes: a UTF-8 character is at least one byte, so the cap in bytes is never exceeded unseen.
                            if (line.Length >= maxLineBytes) throw tooLong?.Invoke() ?? new InvalidDataException($"A log line is longer than {maxLineBytes} bytes.");
                            line.Append(chars[i]);
                            continue;
                        }
                        onLine(line.ToString().TrimEnd('\r'));
                        line.Clear();
                    }
                }
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                throw new OperationCanceledException(ct); // the stream was closed under the read
            }
            ct.ThrowIfCancellationRequested();
            // The answer ended cleanly: a last line without a newline is still a line.
            if (line.Length > 0) onLine(line.ToString().TrimEnd('\r'));
        }

        /// <summary>Parses a line, passes over what a resumed answer repeats, and passes the rest on.</summary>
        private bool Accept(string text)
        {
            if (text.Length == 0) return false;
            (DateTimeOffset? time, string message) = Parse(text);
            // A line without a time belongs to the moment of the line before it.
            var key = (Time: time ?? _last?.Time ?? DateTimeOffset.MinValue, Text: message);
            if (_skipRepeats != null && _last is { } last)
            {
                // The answer starts at the last line's second: everything up to that line (its n-th repeat) was seen;
                // a later time means the last line is gone from the answer, and this one is new.
                if (key.Time <= last.Time)
                {
                    if (key == last && --_skipRepeats == 0) _skipRepeats = null;
                    return false;
                }
                _skipRepeats = null;
            }
            if (_last?.Time != key.Time) _atLastTime.Clear();
            _atLastTime[message] = _atLastTime.TryGetValue(message, out int n) ? n + 1 : 1;
            _last = key;
            _onLine(new EndpointLogLine(_ns, _name, _query.Replica, time, message));
            return true;
        }

        /// <summary><c>- 2026-03-17T16:50:25.779+00:00 text</c> (the dash optional); anything else is all message.</summary>
        internal static (DateTimeOffset? Time, string Message) Parse(string line)
        {
            Match m = LinePattern.Match(line);
            if (m.Success && Json.Timestamp(m.Groups[1].Value) is var t && t != DateTimeOffset.MinValue) return (t, m.Groups[2].Value);
            return (null, line.StartsWith("- ", StringComparison.Ordinal) ? line.Substring(2) : line);
        }
    }
}
