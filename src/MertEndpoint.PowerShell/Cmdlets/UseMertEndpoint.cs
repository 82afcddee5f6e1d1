using System;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using NestedPipeline = System.Management.Automation.PowerShell;

namespace MertEndpoint.PowerShell.Cmdlets
{
    public enum AfterAction
    {
        /// <summary>Pause: billing stops and the endpoint leaves the GPU quota.</summary>
        Pause,
        /// <summary>Scale to zero: billing stops, the URL stays and the next request wakes it.</summary>
        ScaleToZero,
        /// <summary>Leave it running.</summary>
        Leave,
    }

    /// <summary>
    /// Starts an endpoint, runs a script block with it, and stops it afterwards in every case: the block succeeds,
    /// throws, calls exit, runs past -MaxDuration or is stopped with Ctrl+C, or the start fails. The stop is a pause
    /// this command owes: it keeps trying within -OwedPauseTimeout, and if it fails for good the command writes an
    /// EndpointStillBilling error.
    /// </summary>
    [Cmdlet(VerbsOther.Use, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
    [OutputType(typeof(object))]
    public sealed class UseMertEndpoint : EndpointTargetCmdlet
    {
        /// <summary>No command deadline: -Timeout and -MaxDuration bound it.</summary>
        protected override bool WaitsOnPurpose => true;

        private readonly CancellationTokenSource _abandon = new CancellationTokenSource();
        private readonly StillBillingReporter _stillBilling;
        private volatile NestedPipeline? _block;
        private volatile bool _maxDurationReached;
        private volatile bool _endedDownstream; // a command downstream had what it wanted (Select-Object -First)
        private IDisposable? _secondBreak;
        // The endpoint whose block runs now and owes a stop, and that stop once begun: -MaxDuration and Ctrl+C begin it at
        // once, since a block stuck in a call that ignores cancellation may not return for a long time (it bills meanwhile).
        private volatile EndpointId? _owesStop;
        private readonly object _stopGate = new object();
        private Task<EndpointInfo?>? _stopping;
        private CmdletReporter? _stopStep;

        public UseMertEndpoint() => _stillBilling = new StillBillingReporter(this);

        /// <summary>The work. It receives the ready endpoint as its first argument and as $MertEndpoint; $env:HF_ENDPOINT_URL holds its URL for child processes (see <see cref="EndpointUrlVariable"/>).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        public ScriptBlock ScriptBlock { get; set; } = ScriptBlock.Create(string.Empty);

        [Parameter]
        public AfterAction AfterAction { get; set; } = AfterAction.Pause;

        /// <summary>Leave an endpoint running afterwards if it was already running before this command (shared endpoints).</summary>
        [Parameter]
        public SwitchParameter KeepIfRunning { get; set; }

        /// <summary>How long to wait for readiness (default 10 min): a TimeSpan, or seconds.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Duration]
        [ValidateDuration(1, 86400)]
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>-Timeout's old name, in seconds: hidden, kept for scripts written for it.</summary>
        [Parameter(DontShow = true)]
        [ValidateRange(1, 86400)]
        public int? TimeoutSec { get; set; }

        /// <summary>Safety net if this process dies: the service scales to zero after this long idle (whole minutes).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Duration]
        [ValidateDuration(60, 10080 * 60, WholeMinutes = true)]
        public TimeSpan? IdleTimeout { get; set; }

        /// <summary>-IdleTimeout's old name, in minutes: hidden, kept for scripts written for it.</summary>
        [Parameter(DontShow = true)]
        [ValidateRange(1, 10080)]
        public int? IdleTimeoutMinutes { get; set; }

        /// <summary>A cap on the run: the block is stopped after this long and the endpoint stopped.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Duration]
        public TimeSpan? MaxDuration { get; set; }

        /// <summary>How long the stop this command owes keeps trying through rate limiting and outages (default 5 min).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Duration]
        [ValidateDuration(1, 3600)]
        public TimeSpan OwedPauseTimeout { get; set; } = TimeSpan.FromMinutes(5);

        /// <summary>-OwedPauseTimeout's old name, in seconds: hidden, kept for scripts written for it.</summary>
        [Parameter(DontShow = true)]
        [ValidateRange(1, 3600)]
        public int? OwedPauseTimeoutSec { get; set; }

        // The durations of the current input, under whichever name they were given.
        private TimeSpan _timeout;
        private int? _idleMinutes;
        private TimeSpan _owedPause;

        protected override void ProcessRecord()
        {
            if (MaxDuration <= TimeSpan.Zero || MaxDuration > Errors.LongestMaxDuration)
                ThrowEndpointError(Errors.InvalidMaxDuration(MaxDuration), MaxDuration);
            _timeout = DurationOf(nameof(Timeout), Timeout, nameof(TimeoutSec), TimeoutSec, TimeSpan.FromSeconds(1));
            _idleMinutes = Minutes(DurationOf(nameof(IdleTimeout), IdleTimeout, nameof(IdleTimeoutMinutes), IdleTimeoutMinutes, TimeSpan.FromMinutes(1)));
            _owedPause = DurationOf(nameof(OwedPauseTimeout), OwedPauseTimeout, nameof(OwedPauseTimeoutSec), OwedPauseTimeoutSec, TimeSpan.FromSeconds(1));
            try
            {
                foreach (var target in Targets())
                {
                    string price = PriceInQuestion(target);
                    if (!ShouldProcess(target.ToString(), $"Start endpoint{(price.Length == 0 ? "" : $" ({price})")}, run the script block, then {AfterAction}")) continue;
                    UseOne(target);
                }
            }
            finally
            {
                _secondBreak?.Dispose();
            }
        }

        private void UseOne(EndpointId target)
        {
            var options = new StartOptions
            {
                IdleTimeoutMinutes = _idleMinutes,
                Wait = WaitFor(_timeout),
                OwedPause = new OwedPauseOptions { Timeout = _owedPause, Abandon = _abandon.Token },
            };
            // The start owes its pause to a signal from its resume or create until it returns (StartAsync); from then until
            // the stop below has been tried, this command owes it. -KeepIfRunning owes nothing for an endpoint that was
            // running before, so a signal during the start of a shared endpoint never pauses it.
            IDisposable? owed = null;
            long began = Factory.Timestamp();
            var starting = Lifecycle.StartAsync(target.Namespace!, target.Name!, options, StopToken);
            var settled = false; // the start's outcome was handled here (ran the block, or reported its failure)
            try
            {
                StartResult started;
                try
                {
                    started = Await(starting);
                }
                catch (EndpointException ex)
                {
                    // StartAsync already paused a start it began (a failed endpoint does not bill); if it could not, the
                    // error is EndpointStillBilling, which must surface even when Ctrl+C stopped the pipeline.
                    settled = true;
                    var record = ToErrorRecord(ex, target);
                    if (ex.Kind == EndpointErrorKind.EndpointStillBilling && Stopping) _stillBilling.ReportAfterStop(record);
                    ThrowTerminatingError(record);
                    return;
                }
                finally
                {
                    CompleteProgress(target);
                    if (!Stopping) DrainPosted();
                }
                settled = true;
                if (OwesStop(started)) owed = OwedPauses.Register(Client, target, AfterAction == AfterAction.ScaleToZero);
                WarnIfUnattendedWithoutIdleTimeout(started.Endpoint);
                Run(target, started, began);
            }
            finally
            {
                // Ctrl+C can land while the start's progress is still being written, before its outcome was seen here:
                // wait for it, and stop what it started or say that its own pause failed.
                if (!settled) StopIfStarted(target, starting);
                owed?.Dispose();
            }
        }

        private void StopIfStarted(EndpointId target, Task<StartResult> starting)
        {
            try
            {
                starting.Wait(_owedPause + TimeSpan.FromSeconds(35)); // a cancelled start pauses itself; give it the time to
            }
            catch (AggregateException ex)
            {
                // It failed or was cancelled: StartAsync paused what it had started, or says it could not.
                if (ex.InnerException is EndpointException { Kind: EndpointErrorKind.EndpointStillBilling } billing)
                    _stillBilling.ReportAfterStop(ToErrorRecord(billing, target));
                return;
            }
            if (starting.Status == TaskStatus.RanToCompletion) StopAfterwards(target, starting.Result, completed: false, out _);
        }

        private void Run(EndpointId target, StartResult started, long began)
        {
            var outcome = BlockOutcome.Failed;
            int exitCode = 0;
            TimeSpan ready = Factory.Since(began);
            long blockBegan = Factory.Timestamp();
            try
            {
                if (OwesStop(started)) _owesStop = target;
                using (EndpointUrlVariable.Enter(started.Endpoint.Url))
                {
                    try
                    {
                        outcome = RunBlock(started.Endpoint, out exitCode);
                    }
                    catch (PipelineStoppedException) when (!_endedDownstream)
                    {
                        // The caller's stop can reach the block's nested pipeline as this exception rather than as a
                        // Stopped state, before this command's StopProcessing has run: the block was stopped all the same.
                        outcome = BlockOutcome.Stopped;
                        throw;
                    }
                }
            }
            finally
            {
                _owesStop = null;
                TimeSpan blockRan = Factory.Since(blockBegan);
                string after = StopAfterwards(target, started, outcome != BlockOutcome.Failed, out bool stopped);
                Summarize(target, started, ready, BlockEnding(outcome, exitCode, blockRan), after, stopped ? Factory.Since(began) : (TimeSpan?)null,
                    outcome == BlockOutcome.Stopped);
            }
            if (outcome == BlockOutcome.TooLong)
            {
                var stopped = AfterAction != AfterAction.Leave && !(KeepIfRunning && started.WasRunning);
                WriteEndpointError(Errors.MaxDurationExceeded(target, MaxDuration!.Value, stopped), target);
            }
            // The block called exit: the endpoint is stopped, now leave the way it asked.
            if (outcome == BlockOutcome.Exited) InvokeCommand.InvokeScript($"exit {exitCode}");
        }

        private enum BlockOutcome { Failed, Completed, Exited, TooLong, Stopped }

        private string BlockEnding(BlockOutcome outcome, int exitCode, TimeSpan ran)
        {
            string took = Errors.Span(ran);
            if (_endedDownstream) return $"was ended by a command downstream after {took}";
            if (Stopping || StopRequested || outcome == BlockOutcome.Stopped) return $"was stopped after {took}";
            switch (outcome)
            {
                case BlockOutcome.Completed: return $"ran {took}";
                case BlockOutcome.Exited: return $"called exit {exitCode} after {took}";
                case BlockOutcome.TooLong: return $"was stopped at -MaxDuration after {took}";
                default: return $"failed after {took}";
            }
        }

        /// <summary>
        /// The one line that says what the run did (information stream; on the host after Ctrl+C). Billed time runs from
        /// the command's start (the resume, or an endpoint already running) to the confirmed stop. Never throws.
        /// </summary>
        private void Summarize(EndpointId target, StartResult started, TimeSpan ready, string block, string after, TimeSpan? billed, bool blockStopped)
        {
            string line = Errors.UseSummary(target, started.StartedHere, ready, block, after, billed, Usage.Prices.KnownPrice(Client, started.Endpoint));
            // A stop of the caller's pipeline stops the block first and this command only after: the pipeline is going
            // down even if this command has not heard yet, so the line goes to the host now (posted, it could be lost).
            if (blockStopped || StopRequested)
            {
                WriteToHostNow(Secrets.Mask(line), warning: false);
                return;
            }
            try
            {
                Reporter.Summary(line);
                if (!Stopping) DrainPosted();
                else WriteToHostNow(Secrets.Mask(line), warning: false); // the stop came after posting: it is never drained now
            }
            catch (Exception ex) when (ex is PipelineStoppedException || ex is InvalidOperationException)
            {
                WriteToHostNow(Secrets.Mask(line), warning: false); // the pipeline closed under us: the host still hears it
            }
        }

        /// <summary>
        /// Runs the block as a nested pipeline in this runspace so that its output streams out as it comes: a long
        /// job shows results at once and holds none of them. A nested pipeline swallows the block's exit, so the
        /// wrapper notes whether the block returned and $LASTEXITCODE tells the code.
        /// </summary>
        private BlockOutcome RunBlock(EndpointInfo endpoint, out int exitCode)
        {
            exitCode = 0;
            var exited = false;
            var stoppedBlock = false;
            var returned = new PSReference(false);
            // $LASTEXITCODE gets a box of its own, equal in value: if another object is there afterwards and the block was cut
            // short without an error, the block called exit (a break out of it leaves the box in place).
            var lastExitCode = SessionState.PSVariable.GetValue("global:LASTEXITCODE");
            object noExit = lastExitCode is int before ? before : 0;
            SessionState.PSVariable.Set("global:LASTEXITCODE", noExit);
            using (var nested = NestedPipeline.Create(RunspaceMode.CurrentRunspace))
            using (MaxDuration is TimeSpan limit ? new Timer(_ => { _maxDurationReached = true; _block?.BeginStop(null, null); BeginEarlyStop(); }, null, limit, System.Threading.Timeout.InfiniteTimeSpan) : null)
            {
                // A local scope, so the caller's own $block, $endpoint and $MertEndpoint are left alone; $MertEndpoint is this
                // runspace's (parallel runspaces never see each other's). The block also gets the endpoint as its argument.
                nested.AddScript("param($block, $endpoint, $returned) $MertEndpoint = $endpoint; & $block $endpoint; $returned.Value = $true", useLocalScope: true)
                    .AddArgument(ScriptBlock).AddArgument(endpoint).AddArgument(returned);
                var output = new PSDataCollection<PSObject>();
                // A command downstream that has what it wants (Select-Object -First) stops this one by throwing from
                // WriteObject. Thrown inside the nested pipeline it would end the caller's whole script without a word:
                // end the block here, pay the pause (Run's finally), then hand the same exception to this pipeline.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo? downstream = null;
                output.DataAdded += (s, e) =>
                {
                    if (downstream != null) return;
                    try { WriteObject(output[e.Index]); }
                    catch (PipelineStoppedException stop) when (!Stopping)
                    {
                        downstream = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(stop);
                        _endedDownstream = true;
                        throw new PipelineStoppedException();
                    }
                };
                // Errors become this command's errors (-ErrorVariable, -ErrorAction); warnings, verbose and progress
                // of a nested pipeline in this runspace go to the host as the block writes them.
                var errors = nested.Streams.Error;
                errors.DataAdded += (s, e) => WriteError(errors[e.Index]);
                // PowerShell.Stop() on the caller's pipeline (Ctrl+C, Stop-Job, a host stopping it) stops this nested one
                // first and waits for it, before this command's StopProcessing: a block stuck in a call that ignores the
                // stop would hold the pause back for as long as it is stuck. The pause goes out as the block is told to stop.
                nested.InvocationStateChanged += (s, e) =>
                {
                    if (e.InvocationStateInfo.State == PSInvocationState.Stopping) BeginEarlyStop();
                };
                _block = nested;
                try
                {
                    if (!_maxDurationReached) nested.Invoke(null, output);
                    downstream?.Throw();
                    if (_maxDurationReached) return BlockOutcome.TooLong; // a stopped nested pipeline may just return
                }
                catch (Exception) when (downstream != null)
                {
                    downstream.Throw();
                    throw; // unreachable
                }
                catch (PipelineStoppedException) when (_maxDurationReached && !Stopping)
                {
                    return BlockOutcome.TooLong;
                }
                finally
                {
                    _block = null;
                    stoppedBlock = nested.InvocationStateInfo.State == PSInvocationState.Stopped;
                    var after = SessionState.PSVariable.GetValue("global:LASTEXITCODE");
                    if (ReferenceEquals(after, noExit)) SessionState.PSVariable.Set("global:LASTEXITCODE", lastExitCode);
                    else if (!(bool)returned.Value && after is int code)
                    {
                        exited = true;
                        exitCode = code;
                    }
                }
            }
            // Ctrl+C stops the block's nested pipeline before this command hears of it: it returns as if done.
            return exited ? BlockOutcome.Exited : stoppedBlock ? BlockOutcome.Stopped : BlockOutcome.Completed;
        }

        protected override void StopProcessing()
        {
            // A second Ctrl+C gives up the owed stop (the engine calls StopProcessing only once).
            _secondBreak = SecondBreak.Watch(_abandon);
            base.StopProcessing();
            _block?.BeginStop(null, null); // Ctrl+C ends the block; the finally in Run() then stops the endpoint
            BeginEarlyStop();
        }

        private static int _warnedUnattended;

        /// <summary>
        /// Unattended (stdin redirected, or pwsh -NonInteractive) with nothing on the service side to stop the billing should
        /// this process be killed outright: says so once per process, with the command that sets an idle timeout.
        /// </summary>
        private void WarnIfUnattendedWithoutIdleTimeout(EndpointInfo endpoint)
        {
            if (_idleMinutes != null || !(endpoint.MinReplica > 0 || endpoint.ScaleToZeroTimeout == null)) return;
            bool unattended = Console.IsInputRedirected || Array.Exists(Environment.GetCommandLineArgs(),
                a => a.StartsWith("-noni", StringComparison.OrdinalIgnoreCase) && "-noninteractive".StartsWith(a, StringComparison.OrdinalIgnoreCase));
            if (!unattended || Interlocked.Exchange(ref _warnedUnattended, 1) == 1) return;
            WriteWarning(Errors.UnattendedNoIdleTimeout(endpoint));
        }

        private bool OwesStop(StartResult started) => AfterAction != AfterAction.Leave && !(KeepIfRunning && started.WasRunning);

        /// <summary>The block is told to end (-MaxDuration, Ctrl+C): the stop it owes goes out now, not when it returns.</summary>
        /// <summary>How long a block told to stop may take to return before the host hears that the stop is done without it.</summary>
        private static readonly TimeSpan StuckBlockNotice = TimeSpan.FromSeconds(1);

        private void BeginEarlyStop()
        {
            if (!(_owesStop is EndpointId target)) return;
            var block = _block;
            // When the stop is done and the block, told to stop, still has not returned a moment later (a call that ignores
            // being stopped), the user hears it now, not when the block returns (it may never).
            BeginStop(target).ContinueWith(done =>
            {
                if (block == null) return;
                Timer? later = null;
                later = new Timer(_ =>
                {
                    later?.Dispose();
                    if (!ReferenceEquals(_block, block)) return;
                    if (done.Status == TaskStatus.RanToCompletion)
                        WriteToHostNow(Errors.PausedBeforeBlockReturned(target, done.Result, AfterAction == AfterAction.ScaleToZero), warning: true);
                    else if (done.Exception?.InnerException is EndpointException billing)
                        WriteStillBillingNow(billing.Message);
                }, null, StuckBlockNotice, System.Threading.Timeout.InfiniteTimeSpan);
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        /// <summary>The owed stop of <paramref name="target"/>, begun once (any thread); later calls get the same task.</summary>
        private Task<EndpointInfo?> BeginStop(EndpointId target)
        {
            lock (_stopGate)
            {
                if (_stopping != null) return _stopping;
                var step = _stopStep = Reporter.ForStep($"Stopping endpoint {target}", "Pausing");
                var owed = new OwedPauseOptions
                {
                    Timeout = _owedPause,
                    ScaleToZero = AfterAction == AfterAction.ScaleToZero,
                    Abandon = _abandon.Token,
                };
                // StopToken is cancelled after Ctrl+C: the owed stop has its own bound, and must happen in every case.
                return _stopping = LifecycleFor(step).PauseOwedAsync(target.Namespace!, target.Name!, owed);
            }
        }

        /// <summary>Pays the stop owed for <paramref name="target"/>; returns what became of it, for the summary line.</summary>
        private string StopAfterwards(EndpointId target, StartResult started, bool completed, out bool stopped)
        {
            stopped = false;
            if (!OwesStop(started))
            {
                if (completed && !Stopping) WriteVerbose($"Leaving {target} running, as asked.");
                return "left running, as asked";
            }
            var stopping = BeginStop(target);
            var step = _stopStep!;
            try
            {
                EndpointInfo? endpoint;
                try
                {
                    endpoint = Await(stopping);
                    step.CompleteStep();
                }
                catch (PipelineStoppedException)
                {
                    endpoint = stopping.GetAwaiter().GetResult(); // stopping: nothing can be written, but the stop still counts
                }
                if (completed && !Stopping) WriteVerbose(endpoint == null ? $"{target}: {Errors.NothingToPause}" : $"{target} is now {endpoint.StatusText}.");
                stopped = true;
                // A pause is said only once a read confirmed it (PauseOwedAsync); a 404 means nothing is left to bill.
                return endpoint == null ? "it no longer exists" : AfterAction == AfterAction.ScaleToZero ? "scaled to zero" : "paused";
            }
            catch (EndpointException ex)
            {
                _stillBilling.Write(ToErrorRecord(ex, target));
                return "it MAY STILL BE BILLING (see the error)";
            }
            finally
            {
                lock (_stopGate) _stopping = null; // the next endpoint from the pipeline owes its own
            }
        }
    }

    /// <summary>
    /// Writes EndpointStillBilling errors so that they are never lost: as errors (in $Error, catchable, seen by jobs and
    /// hosted runspaces); once the pipeline is stopping (Ctrl+C), when nothing can be written any more, straight into
    /// $Error and onto the host's error output.
    /// </summary>
    internal sealed class StillBillingReporter
    {
        private readonly MertCmdlet _cmdlet;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<ErrorRecord, bool> _unreported =
            new System.Collections.Concurrent.ConcurrentDictionary<ErrorRecord, bool>();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<ErrorRecord, bool> _added =
            new System.Collections.Concurrent.ConcurrentDictionary<ErrorRecord, bool>();

        public StillBillingReporter(MertCmdlet cmdlet) => _cmdlet = cmdlet;

        /// <summary>Notes one from a worker thread, so that <see cref="ReportRest"/> finds it if the pipeline never gets to write it.</summary>
        public ErrorRecord Add(ErrorRecord record)
        {
            _added[record] = true;
            _unreported[record] = true;
            return record;
        }

        /// <summary>On the pipeline thread. One noted with <see cref="Add"/> is written only if ReportRest did not take it.</summary>
        public void Write(ErrorRecord record)
        {
            if (!_unreported.TryRemove(record, out _) && _added.ContainsKey(record)) return;
            try
            {
                _cmdlet.WriteError(record);
            }
            catch (PipelineStoppedException) when (_cmdlet.Stopping)
            {
                ReportAfterStop(record);
                throw;
            }
        }

        /// <summary>After a stop has settled: the ones no one could write.</summary>
        public void ReportRest()
        {
            foreach (var record in _unreported.Keys)
                if (_unreported.TryRemove(record, out _)) ReportAfterStop(record);
        }

        public void ReportAfterStop(ErrorRecord record)
        {
            try
            {
                if (_cmdlet.SessionState.PSVariable.GetValue("global:Error") is System.Collections.ArrayList errors) errors.Insert(0, record);
            }
            catch (Exception) { /* the host line below still says it */ }
            _cmdlet.WriteStillBillingNow(record.Exception.Message);
        }
    }

    /// <summary>Watches for a second Ctrl+C while a stopped command finishes the pause it owes; that one gives the pause up.</summary>
    internal static class SecondBreak
    {
        public static IDisposable Watch(CancellationTokenSource abandon)
        {
            ConsoleCancelEventHandler handler = (s, e) =>
            {
                e.Cancel = true;
                try { abandon.Cancel(); } catch (ObjectDisposedException) { }
            };
            try { Console.CancelKeyPress += handler; }
            catch (Exception) { return new Unwatch(null); } // no console
            return new Unwatch(handler);
        }

        private sealed class Unwatch : IDisposable
        {
            private ConsoleCancelEventHandler? _handler;
            public Unwatch(ConsoleCancelEventHandler? handler) => _handler = handler;

            public void Dispose()
            {
                var handler = Interlocked.Exchange(ref _handler, null);
                if (handler != null) Console.CancelKeyPress -= handler;
            }
        }
    }

    /// <summary>
    /// $env:HF_ENDPOINT_URL for the child processes of Use-MertEndpoint blocks. The environment is one per process while
    /// runspaces run in parallel, so the rule is: it holds the URL while every running block of this process uses the
    /// same endpoint; while blocks with different URLs overlap it is removed (a child cannot tell which one it
    /// belongs to; pass $MertEndpoint.Url to it instead); when the last block ends, the value from before is restored.
    /// </summary>
    internal static class EndpointUrlVariable
    {
        private const string Name = "HF_ENDPOINT_URL";
        private static readonly object Gate = new object();
        private static readonly System.Collections.Generic.List<string?> Active = new System.Collections.Generic.List<string?>();
        private static string? _before;

        public static IDisposable Enter(string? url)
        {
            lock (Gate)
            {
                if (Active.Count == 0) _before = Environment.GetEnvironmentVariable(Name);
                Active.Add(url);
                Apply();
            }
            return new Leave(url);
        }

        private static void Apply()
        {
            string? value = Active.Count == 0 ? _before
                : System.Linq.Enumerable.All(Active, u => u == Active[0]) ? Active[0]
                : null;
            Environment.SetEnvironmentVariable(Name, value);
        }

        private sealed class Leave : IDisposable
        {
            private string? _url;
            private bool _done;

            public Leave(string? url) => _url = url;

            public void Dispose()
            {
                lock (Gate)
                {
                    if (_done) return;
                    _done = true;
                    Active.Remove(_url);
                    _url = null;
                    Apply();
                }
            }
        }
    }
}
