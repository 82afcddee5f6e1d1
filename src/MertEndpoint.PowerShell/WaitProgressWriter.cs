using System;
using System.Management.Automation;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// Turns the waiter's progress reports (raised on background threads) into progress records written on the
    /// pipeline thread, one activity per endpoint, and closes the bar with a Completed record.
    /// </summary>
    internal sealed class WaitProgressWriter : IProgress<WaitProgress>
    {
        private readonly Action<Action> _post;
        private readonly Action<ProgressRecord> _write;
        private readonly ProgressRecord _record;

        public WaitProgressWriter(string target, Action<Action> post, Action<ProgressRecord> write)
        {
            _post = post;
            _write = write;
            _record = new ProgressRecord(ActivityId(target), $"Waiting for endpoint {target}", "Starting");
        }

        public void Report(WaitProgress value)
        {
            // Elapsed first, so a narrow progress bar cuts the service's message, not the clock; the activity
            // already starts with the state ("initializing: starting the container").
            var status = $"{value.Elapsed.TotalSeconds:0} s of {value.Timeout.TotalSeconds:0} s, {value.Activity}";
            _post(() =>
            {
                _record.StatusDescription = status; // no SecondsRemaining: the timeout is a limit, not an estimate
                _write(_record);
            });
        }

        public void Complete()
        {
            _record.RecordType = ProgressRecordType.Completed;
            _write(_record);
        }

        /// <summary>Stable across processes (string.GetHashCode is randomized per process): FNV-1a of the target.</summary>
        internal static int ActivityId(string target)
        {
            uint hash = 2166136261;
            foreach (char c in target) hash = (hash ^ c) * 16777619;
            return (int)(hash & 0x3fffffff) + 1;
        }
    }
}
