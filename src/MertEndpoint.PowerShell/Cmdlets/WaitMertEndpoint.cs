using System;
using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Waits until endpoints are running and answer their health route; starts nothing.</summary>
    [Cmdlet(VerbsLifecycle.Wait, "MertEndpoint", DefaultParameterSetName = ByName)]
    [OutputType(typeof(EndpointInfo))]
    public sealed class WaitMertEndpoint : FanOutCmdlet
    {
        /// <summary>No command deadline: -Timeout bounds the wait.</summary>
        protected override bool WaitsOnPurpose => true;

        /// <summary>How long to wait (default 10 min): a TimeSpan, or seconds.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Duration]
        [ValidateDuration(1, 86400)]
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>-Timeout's old name, in seconds: hidden, kept for scripts written for it.</summary>
        [Parameter(DontShow = true)]
        [ValidateRange(1, 86400)]
        public int? TimeoutSec { get; set; }

        protected override void ProcessRecord()
        {
            var options = WaitFor(DurationOf(nameof(Timeout), Timeout, nameof(TimeoutSec), TimeoutSec, TimeSpan.FromSeconds(1)));
            foreach (var target in Targets())
            {
                EnqueueEndpoint(target, async ct =>
                {
                    try
                    {
                        return await Lifecycle.WaitForReadyAsync(target.Namespace!, target.Name!, options, ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        CompleteProgress(target);
                    }
                });
            }
        }
    }
}
