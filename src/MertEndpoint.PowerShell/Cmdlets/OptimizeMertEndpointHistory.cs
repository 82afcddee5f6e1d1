using System;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using System.Security;
using System.Threading.Tasks;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>
    /// Compacts the usage history now when it is due (-Force: whatever its size and state): repeated states and records
    /// older than the retention that no later period needs are dropped. Every command that writes compacts a due file of up
    /// to 64 MiB on its own; a larger one only a command that reads it whole, so a scheduled guard runs this at its end.
    /// Reads and writes the file only: no request, no token.
    /// </summary>
    [Cmdlet(VerbsCommon.Optimize, "MertEndpointHistory", SupportsShouldProcess = true)]
    [OutputType(typeof(HistoryCompaction))]
    public sealed class OptimizeMertEndpointHistory : MertCmdlet
    {
        /// <summary>Compact even when not due, or while another compaction's file lies beside the history.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Not a parameter here: the history holds every namespace.</summary>
        public override string? Namespace { get; set; }

        /// <summary>Not a parameter here: nothing is sent.</summary>
        public override SecureString? Token { get; set; }

        protected override void EndProcessing()
        {
            UsageHistory history = Usage.History;
            string? why;
            long length;
            try
            {
                // Readings a process handed to the spool as it ended go into the file first, so the compaction keeps them.
                if (Await(Usage.WriteSpooledAsync(HistoryProblemReporter, StopToken)))
                    WriteVerbose($"Wrote the readings waiting in '{history.Path}.pending' into the usage history first.");
                why = history.WhyNotCompact(Force, out length);
            }
            catch (EndpointException ex)
            {
                ThrowEndpointError(ex, null);
                return;
            }
            if (why != null)
            {
                WriteVerbose($"Did not compact the usage history '{history.Path}': {why}.");
                WriteObject(new HistoryCompaction { Path = history.Path, Reason = why, SizeBefore = length, SizeAfter = length, KeptSince = history.KeptSince });
                base.EndProcessing();
                return;
            }
            string retention = history.Retention is TimeSpan keep
                ? $"records older than {keep.TotalDays.ToString("0.##", CultureInfo.InvariantCulture)} days ({UsageHistory.RetentionVariable}) that no later period needs"
                : $"no record for age ({UsageHistory.RetentionVariable} is 0)";
            if (!ShouldProcess(history.Path, $"Compact the usage history ({(length / 1e6).ToString("0.#", CultureInfo.InvariantCulture)} MB): drop repeated states and {retention}"))
                return;
            HistoryCompaction result;
            try
            {
                // Off the pipeline thread, so its progress shows and Ctrl+C ends it (before the rename; the old file stays).
                result = Await(Task.Run(() => history.CompactNowAsync(StopToken)));
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
            base.EndProcessing();
        }
    }
}
