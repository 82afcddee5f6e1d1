using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Management.Automation;
using System.Net;
using System.Security;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// Shared plumbing for every MertEndpoint cmdlet: the client, namespace resolution, Ctrl+C cancellation,
    /// error records with stable ids, and a pump that lets background work talk to the pipeline thread.
    /// </summary>
    public abstract class MertCmdlet : PSCmdlet
    {
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly BlockingCollection<Action> _pipelineWork = new BlockingCollection<Action>();
        private readonly Dictionary<string, string> _namespaces = new Dictionary<string, string>(StringComparer.Ordinal);
        private readonly Queue<Task<Action?>> _inFlight = new Queue<Task<Action?>>();
        // The same work, readable from StopProcessing's thread.
        private readonly ConcurrentDictionary<Task, bool> _unfinished = new ConcurrentDictionary<Task, bool>();
        private SemaphoreSlim? _throttle;
        private EndpointClient? _client;

        /// <summary>Service calls in flight at once when many endpoints come down the pipeline.</summary>
        protected virtual int Concurrency => 1;

        /// <summary>The namespace (user or organization). Defaults to MERT_ENDPOINT_NAMESPACE, then the token's user.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(NamespaceCompleter))]
        public virtual string? Namespace { get; set; }

        /// <summary>The Hugging Face token. Defaults to HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the token file.</summary>
        [Parameter]
        public SecureString? Token { get; set; }

        protected CancellationToken StopToken => _stop.Token;

        protected EndpointClient Client => _client ??= CreateClient();

        private EndpointClient CreateClient()
        {
            try
            {
                var explicitToken = Token is null ? null : new NetworkCredential(string.Empty, Token).Password;
                var token = TokenResolver.Resolve(explicitToken);
                var options = EndpointClientOptions.FromEnvironment();
                options.History = SharedHistory();
                return new EndpointClient(token, options);
            }
            catch (EndpointException ex)
            {
                // Nothing can run without a token or with a bad base URL: stop the whole command.
                ThrowTerminatingError(ToErrorRecord(ex, null));
                throw; // unreachable
            }
        }

        protected override void StopProcessing()
        {
            _stop.Cancel();
            // Ctrl+C may land while the pipeline thread is upstream, where nothing of ours waits: let the enqueued work
            // finish its clean-up (a cancelled start pauses what it resumed) before the command counts as stopped.
            Task.WhenAll(_unfinished.Keys).ContinueWith(_ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(35));
        }

        // One history object per file and process, so that "record only changes" holds across commands.
        private static readonly ConcurrentDictionary<string, UsageHistory> Histories = new ConcurrentDictionary<string, UsageHistory>();

        private static UsageHistory SharedHistory() => Histories.GetOrAdd(UsageHistory.DefaultPath(), path => new UsageHistory(path));

        protected override void EndProcessing() => Flush(untilEmpty: true);

        /// <summary>
        /// Starts the service calls for one endpoint without waiting for them, at most <see cref="Concurrency"/> at a
        /// time. The work returns what to do on the pipeline thread (write output or an error); results are written
        /// in input order, as soon as every earlier item has finished. Prompts (ShouldProcess) happen before this.
        /// </summary>
        protected void Enqueue(Func<CancellationToken, Task<Action?>> work)
        {
            _throttle ??= new SemaphoreSlim(Math.Max(1, Concurrency));
            var task = RunThrottled(work);
            _inFlight.Enqueue(task);
            _unfinished.TryAdd(task, true);
            task.ContinueWith(t => _unfinished.TryRemove(t, out _), TaskScheduler.Default);
            Flush(untilEmpty: false);
        }

        /// <summary>Enqueues work on one endpoint; a service error becomes that endpoint's non-terminating error.</summary>
        protected void EnqueueEndpoint(object target, Func<CancellationToken, Task<EndpointInfo?>> work) =>
            Enqueue(async ct =>
            {
                try
                {
                    var endpoint = await work(ct).ConfigureAwait(false);
                    return endpoint == null ? (Action?)null : () => WriteObject(endpoint);
                }
                catch (EndpointException ex)
                {
                    return () => WriteEndpointError(ex, target);
                }
            });

        private async Task<Action?> RunThrottled(Func<CancellationToken, Task<Action?>> work)
        {
            await _throttle!.WaitAsync(StopToken).ConfigureAwait(false);
            try
            {
                return await work(StopToken).ConfigureAwait(false);
            }
            finally
            {
                _throttle.Release();
            }
        }

        /// <summary>Runs what background work posted for the pipeline thread so far.</summary>
        protected void DrainPosted()
        {
            while (_pipelineWork.TryTake(out var posted)) posted();
        }

        private void Flush(bool untilEmpty)
        {
            DrainPosted();
            while (_inFlight.Count > 0 && (untilEmpty || _inFlight.Peek().IsCompleted))
            {
                var head = _inFlight.Dequeue();
                try
                {
                    Await(head)?.Invoke();
                }
                catch (PipelineStoppedException)
                {
                    // Ctrl+C, or a downstream command that has enough (Select-Object -First), which does not call
                    // StopProcessing: cancel the rest, and give it one bounded wait to clean up (a cancelled start
                    // pauses what it resumed).
                    _stop.Cancel();
                    Task.WhenAll(_inFlight).ContinueWith(_ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(35));
                    _inFlight.Clear();
                    throw;
                }
            }
        }

        /// <summary>Resolves the namespace once per command and value; failure ends the command.</summary>
        protected string ResolveNamespace(string? requested)
        {
            var key = requested ?? string.Empty;
            if (_namespaces.TryGetValue(key, out var ns)) return ns;
            try
            {
                ns = Await(Client.ResolveNamespaceAsync(requested, StopToken));
            }
            catch (EndpointException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, requested));
                throw; // unreachable
            }
            WriteVerbose($"Using namespace '{ns}'.");
            return _namespaces[key] = ns;
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
                throw new PipelineStoppedException();
            }
        }

        protected void Await(Task task) => Await(AsTyped(task));

        private static async Task<bool> AsTyped(Task task)
        {
            await task.ConfigureAwait(false);
            return true;
        }

        private void Pump(Task task)
        {
            // A no-op posted on completion wakes the loop at once; the timeout is only a backstop.
            if (!task.IsCompleted) task.ContinueWith(_ => _pipelineWork.Add(() => { }), TaskScheduler.Default);
            while (!task.IsCompleted)
            {
                if (_pipelineWork.TryTake(out var action, 500)) action();
            }
            while (_pipelineWork.TryTake(out var action)) action();
        }

        /// <summary>Queues work for the pipeline thread; safe to call from any thread.</summary>
        protected void PostToPipeline(Action action) => _pipelineWork.Add(action);

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
                WriteEndpointError(ex, name);
                return false;
            }
        }

        /// <summary>Writes a non-terminating error for one endpoint.</summary>
        protected void WriteEndpointError(EndpointException ex, object? target) => WriteError(ToErrorRecord(ex, target));

        internal static ErrorRecord ToErrorRecord(EndpointException ex, object? target)
        {
            return new ErrorRecord(ex, ex.Kind.ToString(), CategoryOf(ex.Kind), target);
        }

        internal static ErrorCategory CategoryOf(EndpointErrorKind kind)
        {
            switch (kind)
            {
                case EndpointErrorKind.TokenNotFound:
                case EndpointErrorKind.Unauthorized: return ErrorCategory.AuthenticationError;
                case EndpointErrorKind.Forbidden: return ErrorCategory.PermissionDenied;
                case EndpointErrorKind.EndpointNotFound: return ErrorCategory.ObjectNotFound;
                case EndpointErrorKind.EndpointAlreadyExists: return ErrorCategory.ResourceExists;
                case EndpointErrorKind.InvalidRequest:
                case EndpointErrorKind.InvalidEndpointName:
                case EndpointErrorKind.InvalidArgument:
                case EndpointErrorKind.InvalidConfiguration: return ErrorCategory.InvalidArgument;
                case EndpointErrorKind.RateLimited: return ErrorCategory.LimitsExceeded;
                case EndpointErrorKind.ServiceUnavailable: return ErrorCategory.ConnectionError;
                case EndpointErrorKind.EndpointFailed:
                case EndpointErrorKind.EndpointNotReady: return ErrorCategory.ResourceUnavailable;
                case EndpointErrorKind.WaitTimeout: return ErrorCategory.OperationTimeout;
                default: return ErrorCategory.NotSpecified;
            }
        }

        /// <summary>Invalid input found before any request: a non-terminating InvalidArgument-class error.</summary>
        protected void WriteArgumentError(string errorId, string message, object? target) =>
            WriteError(new ErrorRecord(new ArgumentException(message), errorId, ErrorCategory.InvalidArgument, target));

        protected static string Describe(string ns, string name) => $"{ns}/{name}";
    }
}
