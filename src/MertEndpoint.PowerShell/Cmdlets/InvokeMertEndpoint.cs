using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>What Invoke-MertEndpoint got back for one input.</summary>
    public sealed class InvokeResult
    {
        internal InvokeResult(string? inputPath, string? outputPath, DataPlaneResponse response, object? parsed)
        {
            InputPath = inputPath;
            OutputPath = outputPath;
            StatusCode = response.StatusCode;
            Duration = response.Duration;
            BytesSent = response.BytesSent;
            Response = parsed;
        }

        /// <summary>The file sent; null for -Body.</summary>
        public string? InputPath { get; }
        /// <summary>Where the answer was written (-OutDirectory); null otherwise.</summary>
        public string? OutputPath { get; }
        public int StatusCode { get; }
        /// <summary>From the first attempt to the answer, a wake-up and retries included.</summary>
        public TimeSpan Duration { get; }
        /// <summary>Duration in seconds (rounded to the millisecond): the table's Seconds column, so Where-Object Seconds -gt 1 works.</summary>
        public double Seconds => Math.Round(Duration.TotalSeconds, 3);
        public long BytesSent { get; }
        /// <summary>
        /// The answer as ConvertFrom-Json would give it, its text with -Raw or when it is not JSON, and null with
        /// -OutDirectory: the answer is then only in the file, so a long run does not hold every answer in memory.
        /// A JSON object or array answer turns back into compact JSON wherever it becomes text (Export-Csv, "$r").
        /// </summary>
        public object? Response { get; }
    }
}

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>
    /// Sends files (streamed from disk) or a JSON body to a running endpoint, several at once, waking a scaled-to-zero
    /// endpoint on the way. With -OutDirectory each answer is written atomically next to its input's relative path and
    /// inputs already answered are skipped, so a rerun after a crash or Ctrl+C does only what is left.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByName)]
    [OutputType(typeof(InvokeResult))]
    public sealed class InvokeMertEndpoint : MertCmdlet
    {
        /// <summary>No command deadline: -Timeout bounds each request; a run of many files takes as long as it takes.</summary>
        protected override bool WaitsOnPurpose => true;

        private const string ByName = "ByName", ByInputObject = "ByInputObject", ByUrl = "ByUrl";
        private const int ActivityId = 0x4d455254;
        private static readonly StringComparison PathComparison =
            Path.DirectorySeparatorChar == '\\' ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

        private readonly Stopwatch _elapsed = Stopwatch.StartNew();
        private EndpointInfo? _endpoint;
        private string _target = "";
        private string? _outDir, _baseDir;
        private long _nextProgressMs;
        private int _seen, _done, _failed, _skipped;
        private int? _total;

        [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(EndpointNameCompleter))]
        public string Name { get; set; } = "";

        /// <summary>Not bound from the pipeline here: piped objects are files.</summary>
        [Parameter(ParameterSetName = ByName)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(NamespaceCompleter))]
        public override string? Namespace { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = ByInputObject)]
        [ValidateNotNull]
        public EndpointInfo? InputObject { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = ByUrl)]
        [ValidateNotNull]
        public Uri? Url { get; set; }

        /// <summary>Binds Get-ChildItem output by property name (PSPath, FullName) and strings by value; taken literally.</summary>
        [Parameter(Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName", "PSPath", "LiteralPath")]
        [ValidateNotNullOrEmpty]
        public string[]? InFile { get; set; }

        [Parameter]
        [ValidateNotNull]
        public object? Body { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Route { get; set; } = "/";

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ContentType { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? OutDirectory { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? BaseDirectory { get; set; }

        [Parameter]
        public SwitchParameter Force { get; set; }

        [Parameter]
        public SwitchParameter Raw { get; set; }

        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        protected override int Concurrency => ThrottleLimit;

        /// <summary>Answers come out as they finish: a slow file never holds back the others.</summary>
        protected override bool OrderedOutput => false;

        /// <summary>How long each request may take in all (default 10 min): a TimeSpan, or seconds. Not bound from the
        /// pipeline: piped objects are files.</summary>
        [Parameter]
        [Duration]
        [ValidateDuration(1, 86400)]
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>-Timeout's old name, in seconds: hidden, kept for scripts written for it.</summary>
        [Parameter(DontShow = true)]
        [ValidateRange(1, 86400)]
        public int? TimeoutSec { get; set; }

        private TimeSpan _timeout;

        protected override void BeginProcessing()
        {
            _timeout = DurationOf(nameof(Timeout), Timeout, nameof(TimeoutSec), TimeoutSec, TimeSpan.FromSeconds(1));
            if (Body != null && (InFile != null || MyInvocation.ExpectingInput))
                ThrowEndpointError(Errors.BodyWithFiles(), null);
            if (Body == null && InFile == null && !MyInvocation.ExpectingInput)
                ThrowEndpointError(Errors.NothingToSend(), null);
            if (Body != null && OutDirectory != null)
                ThrowEndpointError(Errors.BodyWithOutDirectory(), null);
            if (ContentType != null && !MediaTypeHeaderValue.TryParse(ContentType, out _))
                ThrowEndpointError(Errors.InvalidContentType(ContentType), ContentType);
            if (OutDirectory != null)
            {
                try
                {
                    _outDir = FileSystemPath(OutDirectory);
                    _baseDir = FileSystemPath(BaseDirectory ?? SessionState.Path.CurrentFileSystemLocation.ProviderPath)
                        .TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
                }
                catch (Exception ex) when (IsBadPath(ex))
                {
                    ThrowEndpointError(Errors.InvalidPath("-OutDirectory or -BaseDirectory", ex), null);
                }
            }
            _ = Client; // a missing token ends the command here, on the pipeline thread
            _endpoint = ResolveEndpoint();
            _target = _endpoint?.ToString() ?? Url!.AbsoluteUri;
            if (!MyInvocation.ExpectingInput) _total = Body != null ? 1 : InFile!.Length;
        }

        protected override void ProcessRecord()
        {
            if (Body != null)
            {
                _seen++;
                byte[] json;
                try
                {
                    json = Encoding.UTF8.GetBytes((Body as PSObject)?.BaseObject as string ?? Body as string ?? ToJson(Body));
                }
                catch (EndpointException ex)
                {
                    ThrowTerminatingError(ToErrorRecord(ex, null));
                    return;
                }
                var type = ContentType ?? "application/json";
                if (ShouldProcess("-Body", $"Send {json.Length} bytes of {type} to {_target}"))
                    Start(new Item(null, null, "-Body", () => Content(new ByteArrayContent(json), type)));
            }
            foreach (var path in InFile ?? new string[0])
            {
                _seen++;
                Consider(path);
            }
            DrainPosted();
            ReportProgress(force: false);
        }

        protected override void EndProcessing()
        {
            _total = _seen;
            ReportProgress(force: true);
            base.EndProcessing(); // writes every remaining result
            WriteProgress(new ProgressRecord(ActivityId, Activity, "Done") { RecordType = ProgressRecordType.Completed });
            Reporter.Summary(Errors.InvokeSummary(_done, _failed, _skipped, _elapsed.Elapsed, stopped: false));
            DrainPosted();
        }

        protected override void StopProcessing()
        {
            base.StopProcessing(); // the sends in flight end or are cancelled: the counts are final
            Reporter.Summary(Errors.InvokeSummary(_done, _failed, _skipped, _elapsed.Elapsed, stopped: true));
        }

        private EndpointInfo? ResolveEndpoint()
        {
            if (ParameterSetName == ByUrl) return null;
            if (InputObject?.Url != null) return InputObject; // Use-MertEndpoint hands over a ready endpoint: no need to ask again
            try
            {
                if (InputObject != null) return Await(Client.GetAsync(InputObject.Namespace, InputObject.Name, StopToken));
                EndpointClient.ValidateName(Name);
                return Await(Client.GetAsync(ResolveNamespace(Namespace), Name, StopToken));
            }
            catch (EndpointException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, InputObject != null ? new EndpointId(InputObject.Namespace, InputObject.Name) : new EndpointId(Namespace, Name)));
                throw; // unreachable
            }
        }

        /// <summary>Checks one input on the pipeline thread, then starts its request unless its answer already exists.</summary>
        private void Consider(string path)
        {
            string full;
            try
            {
                full = FileSystemPath(path);
            }
            catch (Exception ex) when (IsBadPath(ex))
            {
                Fail(ToErrorRecord(Errors.InvalidPath($"Could not send '{path}'", ex), path));
                return;
            }
            if (Directory.Exists(full))
            {
                WriteVerbose($"Skipping '{full}': it is a directory.");
                _skipped++;
                return;
            }
            if (!File.Exists(full))
            {
                Fail(ToErrorRecord(Errors.FileNotFound(full), full));
                return;
            }
            string? output = null;
            if (_outDir != null)
            {
                string prefix = _baseDir + Path.DirectorySeparatorChar;
                if (!full.StartsWith(prefix, PathComparison))
                {
                    Fail(ToErrorRecord(Errors.OutsideBaseDirectory(full, _baseDir!), full));
                    return;
                }
                output = Path.Combine(_outDir, full.Substring(prefix.Length) + ".json");
                if (!Force && File.Exists(output))
                {
                    WriteVerbose($"Skipping '{full}': '{output}' exists (-Force sends it again).");
                    _skipped++;
                    return;
                }
            }
            if (!ShouldProcess(full, $"Send to {_target}"))
            {
                _skipped++;
                return;
            }
            string type = ContentType ?? ContentTypeOf(full);
            Start(new Item(full, output, full, () => Content(new StreamContent(
                new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan), 81920), type)));
        }

        /// <summary>Starts a request on the shared fan-out (at most ThrottleLimit in flight); its outcome is written as it finishes.</summary>
        private void Start(Item item) => Enqueue(async ct =>
        {
            var outcome = await SendAsync(item, ct).ConfigureAwait(false);
            return () => Write(outcome);
        });

        /// <summary>On the pipeline thread: one request's result or error.</summary>
        private void Write(Outcome outcome)
        {
            if (outcome.Fatal)
            {
                // The same failure awaits every other input (paused endpoint, bad token, output folder unwritable):
                // stop instead of repeating it.
                CancelAndSettle();
                ThrowTerminatingError(outcome.Error!);
            }
            if (outcome.Error != null)
            {
                _failed++;
                WriteError(outcome.Error);
            }
            else
            {
                _done++;
                WriteObject(outcome.Result);
            }
            ReportProgress(force: false);
        }

        /// <summary>
        /// The client for the requests: their retry waits (a waking endpoint's 503s, for many files at once) stay in
        /// verbose; the progress bar already says the command is waiting.
        /// </summary>
        private EndpointClient DataClient => _dataClient ??= Client.With(Reporter.WaitsInDetail());

        private EndpointClient? _dataClient;

        /// <summary>Runs on a worker thread: no Write* here, only the outcome (and verbose lines posted to the pipeline).</summary>
        private async Task<Outcome> SendAsync(Item item, CancellationToken ct)
        {
            var options = new DataPlaneOptions
            {
                Timeout = _timeout,
                InputName = item.Name,
            };
            DataPlaneResponse response;
            try
            {
                response = _endpoint != null
                    ? await DataClient.SendDataAsync(_endpoint, Route, item.Content, options, ct).ConfigureAwait(false)
                    : await DataClient.SendDataAsync(Url!, Route, item.Content, options, ct).ConfigureAwait(false);
            }
            catch (EndpointException ex)
            {
                // The file is what failed; an error about the endpoint itself names the endpoint.
                return new Outcome(item.Path != null && !IsFatal(ex.Kind) ? ToErrorRecordFor(ex, item.Path) : ToErrorRecord(ex, null), IsFatal(ex.Kind));
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return new Outcome(ToErrorRecord(Errors.InputReadFailed(item.Name, ex), item.Path), fatal: false);
            }
            if (item.OutputPath == null)
                return new Outcome(new InvokeResult(item.Path, null, response, Raw ? Text(response) : Parse(response)));
            // What is saved as <input>.json must be JSON: an HTML page or a cut body saved here would be skipped on every rerun.
            if (NotJson(response) is string why)
                return new Outcome(ToErrorRecordFor(Errors.UnexpectedAnswer(item.Name, response.StatusCode, response.ContentType, why), item.Path!), fatal: false);
            try
            {
                await WriteAtomicallyAsync(item.OutputPath, response.Body, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // The same folder awaits every other answer: stop at the first failure rather than compute answers to throw away.
                return new Outcome(ToErrorRecord(Errors.OutputWriteFailed(item.Name, item.OutputPath, ex), item.Path), fatal: true);
            }
            return new Outcome(new InvokeResult(item.Path, item.OutputPath, response, null));
        }

        /// <summary>A temp file in the same folder, flushed to disk, then renamed: the output is whole or absent, never half-written.</summary>
        private static async Task WriteAtomicallyAsync(string path, byte[] body, CancellationToken ct)
        {
            var dir = Path.GetDirectoryName(path)!;
            Directory.CreateDirectory(dir);
            var temp = Path.Combine(dir, $"{Path.GetFileName(path)}.{Guid.NewGuid().ToString("N").Substring(0, 8)}.tmp");
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
                {
                    await stream.WriteAsync(body, 0, body.Length, ct).ConfigureAwait(false);
                    stream.Flush(flushToDisk: true);
                }
                try
                {
                    File.Move(temp, path);
                }
                catch (IOException) when (File.Exists(path))
                {
                    File.Replace(temp, path, null); // -Force: replace in one step, the old answer stays until then
                }
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }

        private void ReportProgress(bool force)
        {
            // Host progress rendering is slow (Windows PowerShell especially): a few updates a second are plenty.
            var now = _elapsed.ElapsedMilliseconds;
            if (!force && now < _nextProgressMs) return;
            _nextProgressMs = now + 250;
            int finished = _done + _failed + _skipped, sent = _done + _failed;
            var counts = $"{_done} done, {_failed} failed, {_skipped} skipped";
            // A fresh record each time: a host may keep the ones it was given.
            var record = new ProgressRecord(ActivityId, Activity, $"{counts} so far (more input coming); {InFlight} in flight");
            if (_total is int total && total > 0)
            {
                record.StatusDescription = $"{counts} of {total}; {InFlight} in flight";
                record.PercentComplete = Math.Min(100, finished * 100 / total);
                record.SecondsRemaining = sent == 0 ? -1 : (int)(now / 1000.0 / sent * (total - finished));
            }
            WriteProgress(record);
        }

        private string Activity => $"Sending to {_target}";

        private void Fail(ErrorRecord error)
        {
            _failed++;
            WriteError(error);
        }

        /// <summary>A literal path (no wildcards) against the current location, made absolute and normalized.</summary>
        private string FileSystemPath(string path)
        {
            var resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
            if (provider.Name != "FileSystem")
                throw new NotSupportedException(Errors.NotFileSystemPath(path));
            return Path.GetFullPath(resolved);
        }

        private static bool IsBadPath(Exception ex) =>
            ex is ArgumentException || ex is NotSupportedException || ex is SessionStateException || ex is IOException;

        private const int BodyDepthLimit = 100; // ConvertTo-Json's own maximum

        /// <summary>The body as JSON; one deeper than ConvertTo-Json can go is an error, never sent cut (it only warns).</summary>
        private static string ToJson(object body)
        {
            var results = ScriptBlock.Create(
                $"param($o) $j = ConvertTo-Json -InputObject $o -Depth {BodyDepthLimit} -Compress -WarningAction SilentlyContinue -WarningVariable cut; ,@($j, $cut.Count)")
                .Invoke(new[] { body });
            var pair = (object[])results[0].BaseObject;
            if (Convert.ToInt32(pair[1]) > 0) throw Errors.BodyTooDeep(BodyDepthLimit);
            return pair[0]?.ToString() ?? "null";
        }

        private static bool IsFatal(EndpointErrorKind kind)
        {
            switch (kind)
            {
                // These depend on the input or on the moment: the other inputs carry on.
                case EndpointErrorKind.InvalidRequest:
                case EndpointErrorKind.ModelError:
                case EndpointErrorKind.RateLimited:
                case EndpointErrorKind.ServiceUnavailable:
                case EndpointErrorKind.WaitTimeout:
                case EndpointErrorKind.Unknown:
                    return false;
                default:
                    return true;
            }
        }

        private static HttpContent Content(HttpContent content, string contentType)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            return content;
        }

        internal static string ContentTypeOf(string path)
        {
            switch (Path.GetExtension(path).ToLowerInvariant())
            {
                case ".wav": return "audio/wav";
                case ".flac": return "audio/flac";
                case ".mp3": return "audio/mpeg";
                case ".ogg": return "audio/ogg";
                case ".m4a": return "audio/mp4";
                case ".json": return "application/json";
                default: return "application/octet-stream";
            }
        }

        private static string Text(DataPlaneResponse response) => Encoding.UTF8.GetString(response.Body);

        /// <summary>Why an answer is not the JSON document -OutDirectory saves, or null when it is.</summary>
        private static string? NotJson(DataPlaneResponse response)
        {
            if (response.ContentType != null && response.ContentType.IndexOf("json", StringComparison.OrdinalIgnoreCase) < 0)
                return $"the model answered {response.ContentType}, not JSON";
            if (response.Body.Length == 0) return "the body is empty";
            try
            {
                using var doc = JsonDocument.Parse(response.Body);
                return null;
            }
            catch (JsonException ex)
            {
                return $"the body is not whole JSON ({response.Body.Length} bytes; {ex.Message.Split('.')[0]})";
            }
        }

        /// <summary>JSON as ConvertFrom-Json shapes it (objects become PSObjects with note properties); anything else as text.</summary>
        private static object? Parse(DataPlaneResponse response)
        {
            if (response.ContentType != null && response.ContentType.IndexOf("json", StringComparison.OrdinalIgnoreCase) < 0) return Text(response);
            try
            {
                using var doc = JsonDocument.Parse(response.Body);
                return AsText(ToPowerShell(doc.RootElement));
            }
            catch (JsonException)
            {
                return Text(response);
            }
        }

        private static readonly System.Reflection.MethodInfo JsonTextMethod = typeof(InvokeMertEndpoint).GetMethod(nameof(JsonText))!;

        /// <summary>
        /// An object or array answer gets a ToString that writes it back as compact JSON, so that Export-Csv, string
        /// expansion and a table cell show the answer itself rather than "@{layers=System.Object[]}" or "System.Object[]".
        /// It is written from the objects as they are now, so a changed answer is written as changed.
        /// </summary>
        private static object? AsText(object? parsed)
        {
            if (parsed is not PSObject && parsed is not object[]) return parsed;
            PSObject pso = parsed as PSObject ?? new PSObject(parsed);
            pso.Members.Add(new PSCodeMethod("ToString", JsonTextMethod));
            return pso;
        }

        /// <summary>The compact JSON of a parsed answer (the ToString of Response; public only for PowerShell to call).</summary>
        public static string JsonText(PSObject instance)
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
                WriteJson(writer, instance, 0);
            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        private static void WriteJson(Utf8JsonWriter writer, object? value, int depth)
        {
            if (depth > 64) { writer.WriteStringValue(value?.ToString()); return; }
            if (value is PSObject pso && pso.BaseObject is not PSCustomObject) value = pso.BaseObject;
            switch (value)
            {
                case null: writer.WriteNullValue(); break;
                case string text: writer.WriteStringValue(text); break;
                case bool flag: writer.WriteBooleanValue(flag); break;
                case long whole: writer.WriteNumberValue(whole); break;
                case int small: writer.WriteNumberValue(small); break;
                case double real when !double.IsNaN(real) && !double.IsInfinity(real): writer.WriteNumberValue(real); break;
                case decimal exact: writer.WriteNumberValue(exact); break;
                case PSObject obj:
                    writer.WriteStartObject();
                    foreach (PSPropertyInfo p in obj.Properties)
                    {
                        writer.WritePropertyName(p.Name);
                        WriteJson(writer, p.Value, depth + 1);
                    }
                    writer.WriteEndObject();
                    break;
                case System.Collections.IEnumerable list:
                    writer.WriteStartArray();
                    foreach (object? item in list) WriteJson(writer, item, depth + 1);
                    writer.WriteEndArray();
                    break;
                default: writer.WriteStringValue(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            }
        }

        private static object? ToPowerShell(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    var obj = new PSObject();
                    foreach (var p in e.EnumerateObject())
                    {
                        obj.Properties.Remove(p.Name); // PowerShell names are case-insensitive: the last one wins
                        obj.Properties.Add(new PSNoteProperty(p.Name, ToPowerShell(p.Value)));
                    }
                    return obj;
                case JsonValueKind.Array: return e.EnumerateArray().Select(ToPowerShell).ToArray();
                case JsonValueKind.String: return e.GetString();
                case JsonValueKind.Number: return e.TryGetInt64(out var l) ? l : (object)e.GetDouble();
                case JsonValueKind.True: return true;
                case JsonValueKind.False: return false;
                default: return null;
            }
        }

        private sealed class Item
        {
            public Item(string? path, string? outputPath, string name, Func<HttpContent> content)
            {
                Path = path;
                OutputPath = outputPath;
                Name = name;
                Content = content;
            }

            public string? Path { get; }
            public string? OutputPath { get; }
            /// <summary>How messages name it.</summary>
            public string Name { get; }
            /// <summary>Called once per attempt, so a retried file is opened afresh.</summary>
            public Func<HttpContent> Content { get; }
        }

        private sealed class Outcome
        {
            public Outcome(InvokeResult result) => Result = result;

            public Outcome(ErrorRecord error, bool fatal)
            {
                Error = error;
                Fatal = fatal;
            }

            public InvokeResult? Result { get; }
            public ErrorRecord? Error { get; }
            public bool Fatal { get; }
        }
    }
}
