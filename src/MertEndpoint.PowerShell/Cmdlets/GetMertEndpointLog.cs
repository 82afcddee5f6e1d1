using System;
using System.Management.Automation;
using System.Threading.Tasks;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>
    /// An endpoint's logs as typed lines; -Follow streams new ones until the endpoint stops or Ctrl+C, resuming a
    /// dropped stream after the last line seen.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "MertEndpointLog", DefaultParameterSetName = ByName)]
    [OutputType(typeof(EndpointLogLine))]
    public sealed class GetMertEndpointLog : EndpointTargetCmdlet
    {
        /// <summary>No command deadline: -Follow streams until the endpoint stops or Ctrl+C.</summary>
        protected override bool WaitsOnPurpose => Follow;

        private const int DefaultTail = 50; // what the service's web UI shows

        /// <summary>The last N lines (default 50, or all lines in the period when -Since or -Until is given).</summary>
        [Parameter]
        [ValidateRange(1, 100000)]
        public int Tail { get; set; } = DefaultTail;

        [Parameter]
        public DateTime? Since { get; set; }

        [Parameter]
        public DateTime? Until { get; set; }

        /// <summary>One replica's lines only (see Get-MertEndpointReplica).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? Replica { get; set; }

        /// <summary>Keep writing new lines until the endpoint stops (paused, scaled to zero, failed) or Ctrl+C.</summary>
        [Parameter]
        public SwitchParameter Follow { get; set; }

        protected override void ProcessRecord()
        {
            if (Follow && Until != null)
            {
                WriteEndpointError(Errors.FollowWithUntil(), null);
                return;
            }
            DateTimeOffset? since, until;
            try
            {
                since = PeriodBound(Since, nameof(Since));
                until = PeriodBound(Until, nameof(Until));
            }
            catch (PeriodRefused) { return; }
            if (since >= until)
            {
                WriteEndpointError(Errors.InvalidPeriod(since!.Value, until!.Value), null);
                return;
            }
            bool tailGiven = MyInvocation.BoundParameters.ContainsKey(nameof(Tail));
            foreach (var target in Targets())
            {
                // A dropped stream asked again is said in verbose and on the read's own progress bar, closed by the next line.
                var step = Reporter.ForStep($"Logs of {target}", "reading").WaitsInDetail();
                var query = new LogQuery
                {
                    Tail = tailGiven || (since == null && until == null) ? Tail : (int?)null,
                    Since = since,
                    Until = until,
                    Replica = Replica,
                    Follow = Follow,
                };
                try
                {
                    Await(Finished(Client.With(step).ReadLogsAsync(target.Namespace!, target.Name!, query, line => PostToPipeline(() =>
                    {
                        step.CompleteStep();
                        WriteObject(line);
                    }), StopToken)));
                }
                catch (EndpointException ex)
                {
                    WriteEndpointError(ex, target);
                }
                catch (PipelineStoppedException)
                {
                    // Ctrl+C, or enough for a downstream Select-Object -First: stop reading.
                    CancelAndSettle();
                    throw;
                }
                finally
                {
                    step.CompleteStep();
                }
            }
        }

        private static async Task<bool> Finished(Task task)
        {
            await task.ConfigureAwait(false);
            return true;
        }
    }
}
