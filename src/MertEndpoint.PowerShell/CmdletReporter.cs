using System;
using System.Collections.Concurrent;
using System.Management.Automation;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// The one <see cref="Reporter"/> of a command, made by <see cref="MertCmdlet"/>: everything Core says while the
    /// command runs reaches PowerShell's streams from here, masked (<see cref="Secrets.Mask"/>), and written on the
    /// pipeline thread (lines said on other threads are posted to it). Detail is verbose; a retry wait is verbose, or a
    /// warning from 5 s on (a long Retry-After must not look like a hang); a wait for readiness is one progress bar per
    /// endpoint; a warning is said once per command; a summary goes to the information stream tagged PSHOST, so it shows
    /// by default and <c>-InformationAction Ignore</c> silences it. Once the command is stopping (Ctrl+C, a stopped
    /// pipeline) its streams are closed: a notice or a summary then goes to the host at once, or to stderr.
    /// </summary>
    internal sealed class CmdletReporter : Reporter
    {
        internal static readonly TimeSpan LongWait = TimeSpan.FromSeconds(5);

        private readonly MertCmdlet _cmdlet;
        // A step with its own bar (Use's owed stop, a log read): its lines show on it as well as in verbose.
        private readonly ProgressRecord? _step;
        private readonly Shared _shared;
        private readonly bool _waitsInDetail;

        public CmdletReporter(MertCmdlet cmdlet) : this(cmdlet, null, new Shared(), false) { }

        private CmdletReporter(MertCmdlet cmdlet, ProgressRecord? step, Shared shared, bool waitsInDetail)
        {
            _cmdlet = cmdlet;
            _step = step;
            _shared = shared;
            _waitsInDetail = waitsInDetail;
        }

        /// <summary>This command's reporter for a step shown on its own progress bar (same verbose, warnings and notices).</summary>
        public CmdletReporter ForStep(string activity, string status) =>
            new(_cmdlet, new ProgressRecord(ActivityId(activity), activity, status) { RecordType = ProgressRecordType.Completed }, _shared, _waitsInDetail);

        /// <summary>This command's reporter with every retry wait in verbose (a command whose progress bar already shows it waits).</summary>
        public CmdletReporter WaitsInDetail() => new(_cmdlet, _step, _shared, true);

        public override void Detail(string line)
        {
            line = Secrets.Mask(line);
            _cmdlet.PostToPipeline(() =>
            {
                _cmdlet.WriteVerbose(line);
                ShowOnStep(line);
            });
        }

        public override void Waiting(string line, TimeSpan wait)
        {
            if (_waitsInDetail || wait < LongWait)
            {
                Detail(line);
                return;
            }
            Notice(line);
            line = Secrets.Mask(line);
            _cmdlet.PostToPipeline(() => ShowOnStep(line));
        }

        public override void Progress(WaitProgress progress)
        {
            string target = progress.Endpoint.Id.ToString();
            ProgressRecord record = _shared.Waits.GetOrAdd(target, t => new ProgressRecord(ActivityId(t), $"Waiting for endpoint {t}", "Starting"));
            // Elapsed first, so a narrow bar cuts the service's message, not the clock; no SecondsRemaining: the timeout
            // is a limit, not an estimate.
            string status = Secrets.Mask($"{progress.Elapsed.TotalSeconds:0} s of {progress.Timeout.TotalSeconds:0} s, {progress.Activity}");
            _cmdlet.PostToPipeline(() =>
            {
                if (record.RecordType == ProgressRecordType.Completed) return;
                record.StatusDescription = status;
                _cmdlet.WriteProgress(record);
            });
        }

        public override void Working(string activity, string status, int percent)
        {
            bool over = percent >= 100;
            var record = new ProgressRecord(ActivityId(activity), activity, Secrets.Mask(status))
            {
                PercentComplete = Math.Max(0, Math.Min(100, percent)),
                RecordType = over ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            };
            // Said on the pipeline thread itself (a read the command makes there) it shows now; from a task, at the next pump.
            if (_cmdlet.OnPipelineThread)
            {
                if (!_cmdlet.StopRequested) _cmdlet.WriteProgress(record);
            }
            else _cmdlet.PostToPipeline(() => _cmdlet.WriteProgress(record));
        }

        public override void Warning(string line)
        {
            line = Secrets.Mask(line);
            if (!_shared.Warned.TryAdd(line, true)) return;
            _cmdlet.PostToPipeline(() => _cmdlet.WriteWarning(line));
        }

        public override void Notice(string line)
        {
            line = Secrets.Mask(line);
            if (_cmdlet.StopRequested) _cmdlet.WriteToHostNow(line, warning: true);
            else _cmdlet.PostToPipeline(() =>
            {
                try
                {
                    _cmdlet.WriteWarning(line);
                }
                catch (PipelineStoppedException)
                {
                    _cmdlet.WriteToHostNow(line, warning: true);
                    throw;
                }
            });
        }

        public override void Summary(string line)
        {
            line = Secrets.Mask(line);
            if (_cmdlet.StopRequested)
            {
                _cmdlet.WriteToHostNow(line, warning: false);
                return;
            }
            _cmdlet.PostToPipeline(() =>
            {
                var record = new InformationRecord(new HostInformationMessage { Message = line }, _cmdlet.MyInvocation.MyCommand.Name);
                record.Tags.Add("PSHOST");
                record.Tags.Add("MertEndpoint");
                try
                {
                    _cmdlet.WriteInformation(record);
                }
                catch (PipelineStoppedException)
                {
                    _cmdlet.WriteToHostNow(line, warning: false); // the stop came first: the line is still said
                    throw;
                }
            });
        }

        /// <summary>Closes the wait's progress bar of <paramref name="target"/> (any thread).</summary>
        public void CompleteWait(EndpointId target)
        {
            if (!_shared.Waits.TryRemove(target.ToString(), out var record)) return;
            _cmdlet.PostToPipeline(() =>
            {
                record.RecordType = ProgressRecordType.Completed;
                _cmdlet.WriteProgress(record);
            });
        }

        /// <summary>Closes this step's progress bar if it shows; a later line opens it again. Pipeline thread only.</summary>
        public void CompleteStep()
        {
            if (_step == null || _step.RecordType == ProgressRecordType.Completed) return;
            _step.RecordType = ProgressRecordType.Completed;
            _cmdlet.WriteProgress(_step);
        }

        private void ShowOnStep(string line)
        {
            if (_step == null) return;
            _step.RecordType = ProgressRecordType.Processing;
            _step.StatusDescription = line;
            _cmdlet.WriteProgress(_step);
        }

        /// <summary>Stable across processes (string.GetHashCode is randomized per process): FNV-1a of the text.</summary>
        internal static int ActivityId(string text)
        {
            uint hash = 2166136261;
            foreach (char c in text) hash = (hash ^ c) * 16777619;
            return (int)(hash & 0x3fffffff) + 1;
        }

        private sealed class Shared
        {
            public readonly ConcurrentDictionary<string, ProgressRecord> Waits = new(StringComparer.Ordinal);
            public readonly ConcurrentDictionary<string, bool> Warned = new(StringComparer.Ordinal);
        }
    }
}
