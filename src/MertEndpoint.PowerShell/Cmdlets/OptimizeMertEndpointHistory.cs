using System;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using System.Security;
using System.Threading.Tasks;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>
    /// Compacts the usage history now when it is due (-Force: whatever its size, unless another compaction is under way):
    /// repeated states and records older than the retention that no later period needs are dropped. Every command that
    /// writes compacts a due file of up to 64 MiB on its own; a larger one only this command, which the scheduled guard
    /// runs at its end. Reads and writes the file only: no request, no token.
    /// </summary>
    [Cmdlet(VerbsCommon.Optimize, "MertEndpointHistory", SupportsShouldProcess = true)]
    [OutputType(typeof(HistoryCompaction))]
    public sealed class OptimizeMertEndpointHistory : MertCmdlet
    {
        /// <summary>Compact even when not due, or while a compaction cut off within the hour left its file beside the history.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Not a parameter here: the history holds every namespace.</summary>
        public override string? Namespace { get; set; }

        /// <summary>Not a parameter here: nothing is sent.</summary>
        public override SecureString? Token { get; set; }

        protected override void EndProcessing()
        {
            Compact();
            base.EndProcessing();
        }

        private void Compact()
        {
            UsageHistory history = Usage.History;
            // Off the pipeline thread, so a first reading of a file without its index shows its progress and Ctrl+C ends it.
            (string? Why, long Length) due;
            try
            {
                due = Await(Track(Task.Run(() => (history.WhyNotCompact(Force, out long length), length))));
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                ThrowEndpointError(Errors.HistoryNotCompacted(history.Path, ex), null);
                return;
            }
            if (due.Why != null)
            {
                WriteVerbose($"Did not compact the usage history '{history.Path}': {due.Why}.");
                WriteObject(new HistoryCompaction { Path = history.Path, Reason = due.Why, SizeBefore = due.Length, SizeAfter = due.Length, KeptSince = history.KeptSince });
                return;
            }
            string retention = history.Retention is TimeSpan keep
                ? $"records older than {keep.TotalDays.ToString("0.##", CultureInfo.InvariantCulture)} days ({UsageHistory.RetentionVariable}) that no later period needs"
                : $"no record for age ({UsageHistory.RetentionVariable} is 0)";
            if (!ShouldProcess(history.Path, $"Compact the usage history ({(due.Length / 1e6).ToString("0.#", CultureInfo.InvariantCulture)} MB): drop repeated states and {retention}"))
                return;
            HistoryCompaction result;
            try
            {
                // Readings a process handed to the spool as it ended go into the file first, so the compaction keeps them;
                // that write compacts nothing (this command does, once, and says what it did).
                using (history.WritesLeaveCompaction())
                    if (Await(Usage.WriteSpooledAsync(HistoryProblemReporter, StopToken)))
                        WriteVerbose($"Wrote the readings waiting in '{history.Path}.pending' into the usage history first.");
                // Tracked: Ctrl+C waits (a bounded time) for it to delete its new file before the command counts as stopped.
                result = Await(Track(Task.Run(() => history.CompactNowAsync(StopToken))));
            }
            catch (EndpointException ex)
            {
                ThrowEndpointError(ex, null);
                return;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is TimeoutException)
            {
                ThrowEndpointError(Errors.HistoryNotCompacted(history.Path, ex), null);
                return;
            }
            WriteVerbose(result.Compacted
                ? $"Compacted '{result.Path}' in {result.Duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s: {result.RecordsBefore} records to {result.RecordsAfter}, {result.SizeBefore} bytes to {result.SizeAfter}."
                : $"Did not compact '{result.Path}': {result.Reason}.");
            WriteObject(result);
        }
    }
}
