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
    /// throws, or is stopped with Ctrl+C, or the start fails.
    /// </summary>
    [Cmdlet(VerbsOther.Use, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
    [OutputType(typeof(object))]
    public sealed class UseMertEndpoint : EndpointTargetCmdlet
    {
        private volatile NestedPipeline? _block;

        /// <summary>The work. It receives the ready endpoint as its first argument and as $MertEndpoint; $env:HF_ENDPOINT_URL holds its URL for child processes (see <see cref="EndpointUrlVariable"/>).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        public ScriptBlock ScriptBlock { get; set; } = ScriptBlock.Create(string.Empty);

        [Parameter]
        public AfterAction AfterAction { get; set; } = AfterAction.Pause;

        /// <summary>Leave an endpoint running afterwards if it was already running before this command (shared endpoints).</summary>
        [Parameter]
        public SwitchParameter KeepIfRunning { get; set; }

        [Parameter]
        [ValidateRange(1, 86400)]
        public int TimeoutSec { get; set; } = 600;

        /// <summary>Safety net if this process dies: the service scales to zero after this many idle minutes.</summary>
        [Parameter]
        [ValidateRange(1, 10080)]
        public int? IdleTimeoutMinutes { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var target in Targets())
            {
                if (!ShouldProcess(target.ToString(), $"Start endpoint, run the script block, then {AfterAction}")) continue;
                var options = new StartOptions
                {
                    IdleTimeoutMinutes = IdleTimeoutMinutes,
                    Wait = WaitWithProgress(target, TimeoutSec),
                    Log = PostVerbose,
                };
                var starting = Lifecycle.StartAsync(target.Namespace!, target.Name!, options, StopToken);
                var ran = false;
                try
                {
                    StartResult started;
                    try
                    {
                        started = Await(starting);
                    }
                    catch (EndpointException ex)
                    {
                        // StartAsync already paused a start it began; a failed endpoint does not bill.
                        ThrowTerminatingError(ToErrorRecord(ex, target));
                        return;
                    }
                    finally
                    {
                        CompleteProgress(options.Wait);
                        DrainPosted();
                    }
                    ran = true;
                    Run(target, started);
                }
                finally
                {
                    // Ctrl+C can land after the start succeeded but before the block began (while progress was
                    // still being written): Run() never got to stop it, so stop it here.
                    if (!ran) StopIfStarted(target, starting);
                }
            }
        }

        private void StopIfStarted(EndpointId target, Task<StartResult> starting)
        {
            try
            {
                starting.Wait(TimeSpan.FromSeconds(35)); // a cancelled start pauses itself; give it the time to
            }
            catch (AggregateException)
            {
                return; // it failed or was cancelled: StartAsync paused what it had started
            }
            if (starting.Status == TaskStatus.RanToCompletion) StopAfterwards(target, starting.Result, completed: false);
        }

        private void Run(EndpointId target, StartResult started)
        {
            var completed = false;
            try
            {
                using (EndpointUrlVariable.Enter(started.Endpoint.Url))
                    RunBlock(started.Endpoint);
                completed = true;
            }
            finally
            {
                StopAfterwards(target, started, completed);
            }
        }

        /// <summary>
        /// Runs the block as a nested pipeline in this runspace so that its output streams out as it comes: a long
        /// job shows results at once and holds none of them.
        /// </summary>
        private void RunBlock(EndpointInfo endpoint)
        {
            using (var nested = NestedPipeline.Create(RunspaceMode.CurrentRunspace))
            {
                // A local scope, so the caller's own $block, $endpoint and $MertEndpoint are left alone; $MertEndpoint is this
                // runspace's (parallel runspaces never see each other's). The block also gets the endpoint as its argument.
                nested.AddScript("param($block, $endpoint) $MertEndpoint = $endpoint; & $block $endpoint", useLocalScope: true).AddArgument(ScriptBlock).AddArgument(endpoint);
                var output = new PSDataCollection<PSObject>();
                output.DataAdded += (s, e) => WriteObject(output[e.Index]);
                // Errors become this command's errors (-ErrorVariable, -ErrorAction); warnings, verbose and progress
                // of a nested pipeline in this runspace go to the host as the block writes them.
                var errors = nested.Streams.Error;
                errors.DataAdded += (s, e) => WriteError(errors[e.Index]);
                _block = nested;
                try
                {
                    nested.Invoke(null, output);
                }
                finally
                {
                    _block = null;
                }
            }
        }

        protected override void StopProcessing()
        {
            base.StopProcessing();
            _block?.BeginStop(null, null); // Ctrl+C ends the block; the finally in Run() then stops the endpoint
        }

        private void StopAfterwards(EndpointId target, StartResult started, bool completed)
        {
            if (AfterAction == AfterAction.Leave || (KeepIfRunning && started.WasRunning))
            {
                if (completed) WriteVerbose($"Leaving {target} running, as asked.");
                return;
            }
            // StopToken is cancelled after Ctrl+C, so the stop gets its own budget; it must happen in every case.
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                try
                {
                    var task = AfterAction == AfterAction.ScaleToZero
                        ? Client.ScaleToZeroAsync(target.Namespace!, target.Name!, cts.Token)
                        : Client.PauseAsync(target.Namespace!, target.Name!, cts.Token);
                    var endpoint = task.GetAwaiter().GetResult();
                    if (completed) WriteVerbose($"{target} is now {endpoint.StatusText}.");
                }
                catch (Exception ex) when (ex is EndpointException || ex is OperationCanceledException)
                {
                    var message = Errors.StopFailed(target, ex);
                    if (completed)
                    {
                        WriteError(ToErrorRecord(new EndpointException(EndpointErrorKind.ServiceUnavailable, message, ex), target));
                        return;
                    }
                    // The block's own exception is on its way out (or the pipeline is stopping): shout on the host
                    // without replacing it.
                    try { Host.UI.WriteErrorLine(message); } catch (Exception) { Console.Error.WriteLine(message); }
                }
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
