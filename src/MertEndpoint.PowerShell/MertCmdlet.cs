using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Security;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// Shared plumbing for every MertEndpoint cmdlet: the client, the lifecycle and the usage service; namespace
    /// resolution; Ctrl+C cancellation; error records with stable ids; and the one fan-out engine, which runs
    /// service calls on tasks while everything that writes (output, errors, progress, verbose, prompts) stays on the
    /// pipeline thread.
    /// </summary>
    public abstract class MertCmdlet : PSCmdlet, IDisposable
    {
        /// <summary>How long a stopping command waits for its work to settle (a cancelled start pauses what it resumed).</summary>
        protected virtual TimeSpan SettleBound => TimeSpan.FromSeconds(35);
        private static readonly TimeSpan HistoryFlushBound = TimeSpan.FromSeconds(10);

        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly BlockingCollection<Action> _pipelineWork = new BlockingCollection<Action>();
        private readonly Dictionary<string, string> _namespaces = new Dictionary<string, string>(StringComparer.Ordinal);
        // The fan-out: work in input order, and the same tasks readable from StopProcessing's thread.
        private readonly List<Task<Action?>> _queued = new List<Task<Action?>>();
        private readonly ConcurrentDictionary<Task, bool> _unfinished = new ConcurrentDictionary<Task, bool>();
        private readonly ConcurrentDictionary<string, bool> _historyProblems = new ConcurrentDictionary<string, bool>();
        private Reporter? _historyProblemReporter;
        private EndpointClient? _client;
        private EndpointLifecycle? _lifecycle;

        /// <summary>Service calls in flight at once when many endpoints come down the pipeline.</summary>
        protected virtual int Concurrency => 1;

        /// <summary>True: results are written in input order. False: as each finishes.</summary>
        protected virtual bool OrderedOutput => true;

        /// <summary>The namespace (user or organization). Defaults to MERT_ENDPOINT_NAMESPACE, then the token's user.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(NamespaceCompleter))]
        public virtual string? Namespace { get; set; }

        /// <summary>The Hugging Face token. Defaults to HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the token file.</summary>
        /// <remarks>Virtual so that a command that sends nothing (it reads the usage history only) can leave it out: an override without [Parameter].</remarks>
        [Parameter]
        public virtual SecureString? Token { get; set; }

        protected CancellationToken StopToken => _stop.Token;

        /// <summary>The client of this command: every call tells <see cref="Reporter"/> what it does.</summary>
        protected EndpointClient Client => _client ??= CreateClient().With(Reporter);

        protected EndpointLifecycle Lifecycle => _lifecycle ??= new EndpointLifecycle(Client, Usage, Factory.Memory);

        /// <summary>The lifecycle telling <paramref name="reporter"/> (a step of this command with its own progress bar).</summary>
        internal EndpointLifecycle LifecycleFor(Reporter reporter) => new EndpointLifecycle(Client.With(reporter), Usage, Factory.Memory);

        /// <summary>The one channel through which this command tells the user anything (verbose, warnings, progress, notices, summaries).</summary>
        internal CmdletReporter Reporter => _reporter ??= new CmdletReporter(this);

        private CmdletReporter? _reporter;

        /// <summary>The usage history and prices of this session (one per history file); its long reads show on this command's progress.</summary>
        protected UsageService Usage
        {
            get
            {
                UsageService usage = Factory.Usage;
                if (_watching == null)
                {
                    IDisposable watch = usage.History.Watch(Reporter);
                    if (Interlocked.CompareExchange(ref _watching, watch, null) != null) watch.Dispose();
                }
                return usage;
            }
        }

        private IDisposable? _watching;

        // The thread the engine made this command on, which runs its Begin/Process/End: where it may write at once.
        private readonly int _pipelineThread = Environment.CurrentManagedThreadId;

        /// <summary>True on the thread that may write to the pipeline directly (else post, see <see cref="PostToPipeline"/>).</summary>
        internal bool OnPipelineThread => Environment.CurrentManagedThreadId == _pipelineThread;

        /// <summary>Called by the engine when the pipeline is done with this command, however it ended.</summary>
        public void Dispose()
        {
            Interlocked.Exchange(ref _watching, null)?.Dispose();
            EndHistory();
        }

        /// <summary>From here on a history problem of this command's writes goes to the next command (see <see cref="ReportHistoryProblem"/>).</summary>
        private void EndHistory()
        {
            lock (_historyProblems) _historyEnded = true;
        }

        /// <summary>
        /// Where clients, the clock and the history come from: the runspace's <see cref="ClientFactory"/> when a host that
        /// embeds the cmdlets set one (the in-process tests), else the machine's. Read once per command.
        /// </summary>
        internal ClientFactory Factory => _factory ??= FactoryOf(SessionState);

        private ClientFactory? _factory;

        internal static ClientFactory FactoryOf(SessionState? session) =>
            session?.PSVariable.GetValue(ClientFactory.VariableName) as ClientFactory ?? ClientFactory.Machine;

        private EndpointClient CreateClient()
        {
            try
            {
                var explicitToken = Token is null ? null : new NetworkCredential(string.Empty, Token).Password;
                var token = TokenResolver.Resolve(explicitToken);
                var options = Factory.CreateOptions();
                options.Observer = Usage.ObserverFor(HistoryProblemReporter, inBackground: !WaitsForHistory);
                var client = new EndpointClient(token, options);
                StartDeadline(options.CommandTimeout);
                _sweepAccountMaxAge = options.SweepAccountMaxAge;
                return client;
            }
            catch (EndpointException ex)
            {
                // Nothing can run without a token or with a bad base URL: stop the whole command.
                ThrowTerminatingError(ToErrorRecord(ex, null));
                throw; // unreachable
            }
        }

        protected override void EndProcessing()
        {
            Flush(untilEmpty: true);
            FinishHistory();
            _deadline?.Dispose();
        }

        // ---- the command's deadline ----

        /// <summary>
        /// True for commands that wait on purpose and bound themselves (-Timeout, -MaxDuration, a followed log): the
        /// command deadline (MERT_ENDPOINT_COMMAND_TIMEOUT_SEC) does not apply to them.
        /// </summary>
        protected virtual bool WaitsOnPurpose => false;

        private CancellationTokenSource? _deadline;
        private TimeSpan _deadlineLimit;
        private volatile bool _timedOut;

        /// <summary>
        /// From the first call on, an ordinary command has its deadline: past it, every call still going is cancelled. Not
        /// for a command fed by a pipeline: it takes as long as its input does (`slow-producer | Stop-MertEndpoint` must
        /// go on pausing), and each of its calls stays within its own budget.
        /// </summary>
        private void StartDeadline(TimeSpan limit)
        {
            if (WaitsOnPurpose || MyInvocation.ExpectingInput || limit <= TimeSpan.Zero || _deadline != null) return;
            _deadlineLimit = limit;
            _deadline = Factory.Deadline(limit);
            _deadline.Token.Register(() =>
            {
                _timedOut = true;
                try { _stop.Cancel(); } catch (ObjectDisposedException) { /* the command has ended */ }
            });
        }

        protected override void StopProcessing()
        {
            // Ctrl+C may land while the pipeline thread is upstream, where nothing of ours waits: let the work finish
            // its clean-up before the command counts as stopped.
            CancelAndSettle();
            if (_client != null && WaitsForHistory) Usage.FlushAsync().Wait(HistoryFlushBound);
            else if (_client != null) Usage.LeaveToProcessExit();
            EndHistory(); // stopped: its end is not run, and a later write problem is the next command's to tell
            _deadline?.Dispose(); // stopped: the deadline has nothing left to bound
        }

        /// <summary>True once the command is stopping (Ctrl+C, a stopped pipeline, a failure that ends the rest).</summary>
        internal bool StopRequested => _stop.IsCancellationRequested || Stopping;

        /// <summary>
        /// A line for the user now, from any thread, when the pipeline can no longer be written (the command is
        /// stopping): on the host, or on stderr without one (a thread job, a hosted runspace).
        /// </summary>
        /// <summary>
        /// A MAY STILL BE BILLING line, now, from any thread, when the pipeline can no longer carry it: the host's error
        /// line; any host but the console's (a thread job without -StreamingHost, a hosted runspace) may drop it without a
        /// word, so stderr says it too.
        /// </summary>
        internal void WriteStillBillingNow(string line)
        {
            line = Secrets.Mask(line);
            bool shown = false;
            try
            {
                var ui = Host?.UI;
                if (ui != null)
                {
                    ui.WriteErrorLine(line);
                    shown = Host!.Name == "ConsoleHost";
                }
            }
            catch (Exception) { /* stderr below */ }
            if (shown) return;
            try { Console.Error.WriteLine("MertEndpoint: " + line); Console.Error.Flush(); } catch (Exception) { /* nothing left to tell */ }
        }

        internal void WriteToHostNow(string line, bool warning)
        {
            try
            {
                var ui = Host?.UI;
                if (ui != null)
                {
                    if (warning) ui.WriteWarningLine(line);
                    else ui.WriteLine(line);
                    return;
                }
            }
            catch (Exception) { /* the host is gone: stderr below */ }
            try { Console.Error.WriteLine((warning ? "WARNING: " : "") + line); Console.Error.Flush(); } catch (Exception) { /* nowhere left */ }
        }

        /// <summary>The usage history's write failures: each distinct one becomes one warning at the end of the command.</summary>
        private sealed class HistoryProblems : MertEndpoint.Reporter
        {
            private readonly MertCmdlet _cmdlet;
            public HistoryProblems(MertCmdlet cmdlet) => _cmdlet = cmdlet;
            public override void Warning(string line) => _cmdlet.ReportHistoryProblem(Secrets.Mask(line));
        }

        /// <summary>
        /// False for a command that only reads (<c>Get-MertEndpoint</c>): it never waits for its own history writes, which go
        /// on in the background, or to the spool for the next writer when the process ends first
        /// (<see cref="UsageService.LeaveToProcessExit"/>); a write problem known by its end is said all the same.
        /// </summary>
        protected virtual bool WaitsForHistory => true;

        /// <summary>
        /// Waits for this command's history writes (unless it does not, see <see cref="WaitsForHistory"/>) and says once if
        /// any failed, or if one an earlier command of this session left behind failed after that command had ended.
        /// </summary>
        private void FinishHistory()
        {
            // A command without a client sent no request, so it has no reading of its own to write.
            bool usedHistory = _client != null || _watching != null;
            if (_client != null && !WaitsForHistory) Usage.LeaveToProcessExit();
            else if (_client != null)
            {
                // Pumped: a write that compacts a large history shows its progress meanwhile.
                try { PumpFor(Usage.FlushAsync(StopToken), HistoryFlushBound); }
                catch (OperationCanceledException) { /* cancelled: the writes go on in the background */ }
            }
            List<string> problems;
            lock (_historyProblems)
            {
                // From here on, a problem of this command's writes is the next command's to tell (see ReportHistoryProblem).
                _historyEnded = true;
                problems = _historyProblems.Keys.ToList();
                _historyProblems.Clear();
                if (usedHistory) problems.AddRange(Factory.Usage.TakeUntold());
                // Its own write may not have ended: the session's last write says whether the history can be written.
                if (_client != null && !WaitsForHistory && Factory.Usage.LastWriteProblem is string last) problems.Add(last);
                // One warning per command, however many calls ran into the problem; the rest in verbose.
                problems = problems.Distinct(StringComparer.Ordinal).OrderBy(p => p, StringComparer.Ordinal).ToList();
                _told.UnionWith(problems);
            }
            if (problems.Count > 0) WriteWarning(problems[0]);
            foreach (var more in problems.Skip(1)) WriteVerbose(more);
        }

        private bool _historyEnded;
        private readonly HashSet<string> _told = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>Where the usage history's read and write failures go: one warning at the end of the command.</summary>
        protected Reporter HistoryProblemReporter => _historyProblemReporter ??= new HistoryProblems(this);

        /// <summary>Collects a history problem (any thread); each distinct one becomes one warning at the end of the command.</summary>
        private void ReportHistoryProblem(string problem)
        {
            lock (_historyProblems)
            {
                if (!_historyEnded)
                {
                    _historyProblems.TryAdd(problem, true);
                    return;
                }
                if (_told.Contains(problem)) return; // said already, from the session's last write
            }
            // A write that went on after the command (Get-MertEndpoint's): said by the next command of the session.
            Factory.Usage.KeepUntold(problem);
        }

        /// <summary>True when a history write failed during this command (its cost figures are then incomplete).</summary>
        protected bool HistoryIncomplete => !_historyProblems.IsEmpty;

        // ---- the fan-out engine ----

        /// <summary>
        /// Starts the service calls for one item on a task, once fewer than <see cref="Concurrency"/> are unfinished
        /// (until then the pipeline thread waits, writing what finished). The work returns what to do on the pipeline
        /// thread (write output or an error); that runs in input order or as each finishes (<see cref="OrderedOutput"/>).
        /// Prompts (ShouldProcess) happen before this, on the pipeline thread.
        /// </summary>
        protected void Enqueue(Func<CancellationToken, Task<Action?>> work)
        {
            while (InFlight >= Math.Max(1, Concurrency)) WaitForAny();
            var task = Task.Run(() => work(StopToken));
            _queued.Add(task);
            _unfinished.TryAdd(task, true);
            task.ContinueWith(t => _unfinished.TryRemove(t, out _), TaskScheduler.Default);
            Flush(untilEmpty: false);
        }

        /// <summary>
        /// Counts <paramref name="task"/> (work of this command off the pipeline thread, not enqueued) among the unfinished:
        /// a stop cancels it and waits, at most <see cref="SettleBound"/>, for its clean-up.
        /// </summary>
        protected Task<T> Track<T>(Task<T> task)
        {
            _unfinished.TryAdd(task, true);
            task.ContinueWith(t => _unfinished.TryRemove(t, out _), TaskScheduler.Default);
            return task;
        }

        /// <summary>Enqueues work on one endpoint; a service error becomes that endpoint's non-terminating error.</summary>
        protected void EnqueueEndpoint(EndpointId target, Func<CancellationToken, Task<EndpointInfo?>> work) =>
            Enqueue(async ct =>
            {
                try
                {
                    var endpoint = await work(ct).ConfigureAwait(false);
                    return endpoint == null ? (Action?)null : () => WriteObject(endpoint);
                }
                catch (EndpointException ex)
                {
                    var error = await ExplainAsync(ex, ct).ConfigureAwait(false);
                    return () => WriteEndpointError(error, target);
                }
            });

        /// <summary>A 404 for one name gets the close names of its namespace ("did you mean"): one listing, at most 5 s.</summary>
        protected Task<EndpointException> ExplainAsync(EndpointException ex, CancellationToken ct) =>
            ex.Kind == EndpointErrorKind.EndpointNotFound && ex.Target?.Name is string name && !WildcardPattern.ContainsWildcardCharacters(name)
                ? NameSuggestions.ExplainAsync(Client, ex, TimeSpan.FromSeconds(5), ct)
                : Task.FromResult(ex);

        /// <summary>Work enqueued and not finished yet (pipeline thread only).</summary>
        protected int InFlight => _queued.Count(t => !t.IsCompleted);

        /// <summary>Writes what is ready: in order, the finished head of the queue; otherwise every finished item.</summary>
        private void Flush(bool untilEmpty)
        {
            DrainPosted();
            while (_queued.Count > 0)
            {
                Task<Action?>? next = OrderedOutput
                    ? (untilEmpty || _queued[0].IsCompleted ? _queued[0] : null)
                    : _queued.FirstOrDefault(t => t.IsCompleted);
                if (next == null)
                {
                    if (!untilEmpty) return;
                    WaitForAny();
                    continue;
                }
                _queued.Remove(next);
                Run(next);
            }
        }

        private void WaitForAny()
        {
            var unfinished = _queued.Where(t => !t.IsCompleted).ToArray();
            if (unfinished.Length > 0) Pump(Task.WhenAny(unfinished));
            Flush(untilEmpty: false);
        }

        private void Run(Task<Action?> item)
        {
            try
            {
                Await(item)?.Invoke();
            }
            catch (PipelineStoppedException)
            {
                // Ctrl+C, or a downstream command that has enough (Select-Object -First), which does not call
                // StopProcessing: cancel the rest and let it settle once.
                CancelAndSettle();
                throw;
            }
        }

        /// <summary>
        /// The one stop path: cancels every enqueued call and waits, at most SettleBound, for them to finish their
        /// clean-up. For Ctrl+C, a downstream stop, and a failure that makes the rest pointless.
        /// </summary>
        protected void CancelAndSettle()
        {
            if (!_stop.IsCancellationRequested) _stop.Cancel();
            Task.WhenAll(_unfinished.Keys).ContinueWith(_ => { }, TaskScheduler.Default).Wait(SettleBound);
            _queued.Clear();
        }

        // ---- the pipeline thread ----

        /// <summary>
        /// Resolves the namespace once per command and value; failure ends the command. '*' (every namespace of the
        /// token) is refused here: only the cmdlets that list (Get, Cost) take it, through <see cref="ResolveNamespaces"/>.
        /// </summary>
        protected string ResolveNamespace(string? requested)
        {
            if (requested == "*") ThrowTerminatingError(ToErrorRecord(Errors.NoNamespaceWildcard(MyInvocation.MyCommand.Name), new EndpointId("*", null)));
            var key = requested ?? string.Empty;
            if (_namespaces.TryGetValue(key, out var ns)) return ns;
            try
            {
                ns = Await(Client.ResolveNamespaceAsync(requested, StopToken));
            }
            catch (EndpointException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, requested == null ? null : new EndpointId(requested, null)));
                throw; // unreachable
            }
            WriteVerbose($"Using namespace '{ns}'.");
            return _namespaces[key] = ns;
        }

        /// <summary>
        /// How old the account lookup behind '*' may be (the cache otherwise keeps it an hour in memory, a day on disk):
        /// MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC, default 15 minutes, read with the client's other settings.
        /// </summary>
        private TimeSpan _sweepAccountMaxAge = EndpointClientOptions.DefaultSweepAccountMaxAge;

        /// <summary>The namespace asked for, or for '*' the token's user and every organization it belongs to (whoami, cached).</summary>
        protected IReadOnlyList<string> ResolveNamespaces(string? requested)
        {
            if (requested != "*") return new[] { ResolveNamespace(requested) };
            try
            {
                // A sweep must see an organization joined since the cached answer: at most 15 minutes old by default.
                EndpointClient client = Client;
                var me = Await(client.WhoAmIAsync(_sweepAccountMaxAge, StopToken));
                return new[] { me.Name }.Concat(me.Orgs).Where(n => n.Length > 0).Distinct().ToList();
            }
            catch (EndpointException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, new EndpointId("*", null)));
                throw; // unreachable
            }
        }

        /// <summary>
        /// "ns/name", the Hub's usual form, split into its parts; a plain name gets the -Namespace (or default) one.
        /// A namespace in the name that contradicts -Namespace is an error (written here; null is returned).
        /// </summary>
        protected EndpointId? Qualify(string name, string? requestedNamespace)
        {
            int slash = name.IndexOf('/');
            if (slash < 0) return new EndpointId(ResolveNamespace(requestedNamespace), name);
            string ns = name.Substring(0, slash), bare = name.Substring(slash + 1);
            if (requestedNamespace != null && requestedNamespace != ns)
            {
                WriteEndpointError(Errors.QualifiedNameConflict(name, requestedNamespace), null);
                return null;
            }
            return new EndpointId(ResolveNamespace(ns), bare);
        }

        /// <summary>
        /// Blocks the pipeline thread on <paramref name="task"/> while running the actions that background work
        /// posted with <see cref="PostToPipeline"/> (progress, verbose). Ctrl+C surfaces as PipelineStoppedException.
        /// </summary>
        protected T Await<T>(Task<T> task)
        {
            Pump(task);
            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
            {
                // The command's deadline, not Ctrl+C: the command ends with an error that says so.
                if (_timedOut && !Stopping) ThrowTerminatingError(ToErrorRecord(Errors.CommandTimedOut(MyInvocation.MyCommand.Name, _deadlineLimit), null));
                throw new PipelineStoppedException();
            }
        }

        /// <summary><see cref="Pump"/> for at most <paramref name="bound"/>; then the task goes on without this command.</summary>
        private void PumpFor(Task task, TimeSpan bound)
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            if (!task.IsCompleted) task.ContinueWith(_ => _pipelineWork.Add(() => { }), TaskScheduler.Default);
            while (!task.IsCompleted && waited.Elapsed < bound)
            {
                TimeSpan left = bound - waited.Elapsed;
                if (_pipelineWork.TryTake(out var action, left < TimeSpan.FromMilliseconds(500) ? left : TimeSpan.FromMilliseconds(500))) action();
            }
            DrainPosted();
            if (task.IsCompleted) task.GetAwaiter().GetResult();
        }

        private void Pump(Task task)
        {
            // A no-op posted on completion wakes the loop at once; the timeout is only a backstop.
            if (!task.IsCompleted) task.ContinueWith(_ => _pipelineWork.Add(() => { }), TaskScheduler.Default);
            while (!task.IsCompleted)
            {
                if (_pipelineWork.TryTake(out var action, 500)) action();
            }
            DrainPosted();
        }

        /// <summary>Runs what background work posted for the pipeline thread so far.</summary>
        protected void DrainPosted()
        {
            while (_pipelineWork.TryTake(out var posted)) posted();
        }

        /// <summary>Queues work for the pipeline thread; safe to call from any thread.</summary>
        internal void PostToPipeline(Action action) => _pipelineWork.Add(action);

        // ---- errors ----

        /// <summary>Checks a name before any request is sent; a bad one becomes a non-terminating error.</summary>
        protected bool IsValidName(string name)
        {
            try
            {
                EndpointClient.ValidateName(name);
                return true;
            }
            catch (EndpointException ex)
            {
                WriteEndpointError(ex, null);
                return false;
            }
        }

        /// <summary>Writes a non-terminating error about one endpoint (or namespace, or input) when the error names none.</summary>
        protected void WriteEndpointError(EndpointException ex, object? target) => WriteError(ToErrorRecord(ex, target));

        /// <summary>
        /// A -Since or -Until as UTC, or null when it is out of any meaningful range (before 1970, or more than a year
        /// ahead, such as [datetime]::MaxValue), after writing InvalidPeriod: no later arithmetic on it can overflow.
        /// </summary>
        protected DateTimeOffset? PeriodBound(DateTime? value, string parameter)
        {
            if (value == null) return null;
            var earliest = new DateTimeOffset(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);
            var latest = Factory.Now.AddDays(366);
            DateTime utc = value.Value.ToUniversalTime();
            if (utc < earliest.UtcDateTime || utc > latest.UtcDateTime)
            {
                WriteEndpointError(Errors.PeriodOutOfRange(parameter, value.Value, earliest, latest), null);
                throw new PeriodRefused();
            }
            return new DateTimeOffset(utc);
        }

        /// <summary>
        /// -Since and -Until as a period: -Until defaults to now, -Since to <paramref name="defaultLength"/> before it. False
        /// (after writing InvalidPeriod, or PeriodOutOfRange for a bound out of range) when there is no such period.
        /// </summary>
        protected bool TryPeriod(DateTime? sinceValue, DateTime? untilValue, TimeSpan defaultLength, out DateTimeOffset since, out DateTimeOffset until)
        {
            since = until = default;
            try
            {
                until = PeriodBound(untilValue, "Until") ?? Factory.Now;
                since = PeriodBound(sinceValue, "Since") ?? until - defaultLength;
            }
            catch (PeriodRefused) { return false; }
            if (since < until) return true;
            WriteEndpointError(Errors.InvalidPeriod(since, until), null);
            return false;
        }

        /// <summary>Thrown by <see cref="PeriodBound"/> once its error is written: the command then ends quietly.</summary>
        protected sealed class PeriodRefused : Exception { }

        /// <summary>Ends the command: nothing it was asked can run.</summary>
        protected void ThrowEndpointError(EndpointException ex, object? target) => ThrowTerminatingError(ToErrorRecord(ex, target));

        /// <summary>
        /// A duration given under its name (a TimeSpan; see <see cref="DurationAttribute"/>) or under its old name in its
        /// old unit (a hidden parameter kept so that scripts written for it keep working); both at once is an error.
        /// </summary>
        protected TimeSpan? DurationOf(string name, TimeSpan? value, string oldName, int? oldValue, TimeSpan oldUnit)
        {
            if (oldValue == null) return value;
            if (MyInvocation.BoundParameters.ContainsKey(name)) ThrowEndpointError(Errors.TwoNamesForOneSetting(name, oldName), null);
            return TimeSpan.FromTicks(oldUnit.Ticks * oldValue.Value);
        }

        /// <summary>The same for a duration that always has a value (its default when neither name is given).</summary>
        protected TimeSpan DurationOf(string name, TimeSpan value, string oldName, int? oldValue, TimeSpan oldUnit) =>
            DurationOf(name, (TimeSpan?)value, oldName, oldValue, oldUnit)!.Value;

        /// <summary>Whole minutes of a duration that <see cref="ValidateDurationAttribute"/> checked to be whole minutes.</summary>
        internal static int? Minutes(TimeSpan? span) => span == null ? (int?)null : (int)Math.Round(span.Value.TotalMinutes);

        /// <summary>
        /// The error record of a failure: its kind is the stable id, its target the endpoint's identity (or
        /// <paramref name="target"/> when the error names none). Every record the module writes is made here.
        /// </summary>
        internal static ErrorRecord ToErrorRecord(EndpointException ex, object? target) => Record(ex, ex.Target ?? target);

        /// <summary>The same record about something other than the endpoint the error names (the input file a request sent).</summary>
        internal static ErrorRecord ToErrorRecordFor(EndpointException ex, object target) => Record(ex, target);

        private static ErrorRecord Record(EndpointException ex, object? target)
        {
            var record = new ErrorRecord(ex, ex.Kind.ToString(), CategoryOf(ex.Kind), target);
            // A failure's last log lines go where PowerShell shows them by default, not only in the exception.
            if (Errors.WithEvidence(ex) is string shown) record.ErrorDetails = new ErrorDetails(shown);
            return record;
        }

        internal static ErrorCategory CategoryOf(EndpointErrorKind kind)
        {
            switch (kind)
            {
                case EndpointErrorKind.TokenNotFound:
                case EndpointErrorKind.InvalidToken:
                case EndpointErrorKind.Unauthorized: return ErrorCategory.AuthenticationError;
                case EndpointErrorKind.Forbidden: return ErrorCategory.PermissionDenied;
                case EndpointErrorKind.EndpointNotFound: return ErrorCategory.ObjectNotFound;
                case EndpointErrorKind.EndpointAlreadyExists: return ErrorCategory.ResourceExists;
                case EndpointErrorKind.InvalidRequest:
                case EndpointErrorKind.InvalidEndpointName:
                case EndpointErrorKind.InvalidArgument:
                case EndpointErrorKind.InvalidConfiguration:
                case EndpointErrorKind.WildcardNotAllowed:
                case EndpointErrorKind.NoChange:
                case EndpointErrorKind.InvalidPeriod:
                case EndpointErrorKind.FollowWithUntil:
                case EndpointErrorKind.NothingToSend:
                case EndpointErrorKind.BodyWithFiles:
                case EndpointErrorKind.BodyWithOutDirectory:
                case EndpointErrorKind.InvalidContentType:
                case EndpointErrorKind.InvalidPath:
                case EndpointErrorKind.OutsideBaseDirectory:
                case EndpointErrorKind.InvalidMaxDuration: return ErrorCategory.InvalidArgument;
                case EndpointErrorKind.FileNotFound: return ErrorCategory.ObjectNotFound;
                case EndpointErrorKind.InputReadFailed: return ErrorCategory.ReadError;
                case EndpointErrorKind.OutputWriteFailed:
                case EndpointErrorKind.HistoryNotCompacted: return ErrorCategory.WriteError;
                case EndpointErrorKind.UnexpectedAnswer: return ErrorCategory.InvalidResult;
                case EndpointErrorKind.ConfirmationRequired: return ErrorCategory.InvalidOperation;
                case EndpointErrorKind.EndpointConflict: return ErrorCategory.ResourceBusy;
                case EndpointErrorKind.EndpointNotDeleted:
                case EndpointErrorKind.EndpointNotUpdated: return ErrorCategory.OperationStopped;
                case EndpointErrorKind.MaxDurationExceeded: return ErrorCategory.OperationTimeout;
                case EndpointErrorKind.RateLimited: return ErrorCategory.LimitsExceeded;
                case EndpointErrorKind.ServiceUnavailable: return ErrorCategory.ConnectionError;
                case EndpointErrorKind.EndpointFailed:
                case EndpointErrorKind.EndpointNotReady: return ErrorCategory.ResourceUnavailable;
                case EndpointErrorKind.WaitTimeout: return ErrorCategory.OperationTimeout;
                case EndpointErrorKind.ModelError: return ErrorCategory.InvalidResult;
                case EndpointErrorKind.EndpointStillBilling: return ErrorCategory.OperationStopped;
                case EndpointErrorKind.SetupIncomplete: return ErrorCategory.ResourceUnavailable;
                case EndpointErrorKind.CommandTimedOut: return ErrorCategory.OperationTimeout;
                default: return ErrorCategory.NotSpecified;
            }
        }
    }
}
