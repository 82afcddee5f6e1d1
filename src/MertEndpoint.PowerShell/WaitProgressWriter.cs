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
            var status = $"{value.Endpoint.StatusText}: {value.Activity} ({value.Elapsed.TotalSeconds:0}s of {value.Timeout.TotalSeconds:0}s)";
            _post(() =>
            {
                _record.StatusDescription = status;
                _record.SecondsRemaining = (int)Math.Max(0, (value.Timeout - value.Elapsed).TotalSeconds);
                _write(_record);
            });
        }

        public void Complete()
        {
            _record.RecordType = ProgressRecordType.Completed;
            _write(_record);
        }

        private static int ActivityId(string target) => (target.GetHashCode() & 0x3fffffff) + 1;
    }
}
