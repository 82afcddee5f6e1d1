using System;
using System.Management.Automation;
using System.Threading;

namespace MertEndpoint.PowerShell.Cmdlets
{
    public enum FailureAction
    {
        /// <summary>Pause an endpoint that this command resumed or created, so a stuck start stops billing.</summary>
        Pause,
        /// <summary>Leave it as it is (it keeps booting and billing).</summary>
        Leave,
    }

    /// <summary>
    /// Starts endpoints (resumes paused or scaled-to-zero ones, optionally creates missing ones) and waits until
    /// each really answers its health route. Many endpoints are started and waited for concurrently.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
    [OutputType(typeof(EndpointInfo))]
    public sealed class StartMertEndpoint : FanOutCmdlet, IDynamicParameters
    {
        /// <summary>No command deadline: -Timeout bounds the wait.</summary>
        protected override bool WaitsOnPurpose => true;

        private readonly CancellationTokenSource _abandon = new CancellationTokenSource();
        private readonly StillBillingReporter _stillBilling;
        private CreateParameters? _create;

        public StartMertEndpoint() => _stillBilling = new StillBillingReporter(this);

        /// <summary>How long to wait for readiness (default 10 min): a TimeSpan, or seconds.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Duration]
        [ValidateDuration(1, 86400)]
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>-Timeout's old name, in seconds: hidden, kept for scripts written for it.</summary>
        [Parameter(DontShow = true)]
        [ValidateRange(1, 86400)]
        public int? TimeoutSec { get; set; }

        /// <summary>Return as soon as the service accepted the resume.</summary>
        [Parameter]
        public SwitchParameter NoWait { get; set; }

        /// <summary>Create the endpoint (with New-MertEndpoint's parameters) when it does not exist.</summary>
        [Parameter(ParameterSetName = ByName)]
        public SwitchParameter CreateIfMissing { get; set; }

        /// <summary>What to do with an endpoint this command started when the start fails or times out.</summary>
        [Parameter]
        public FailureAction OnFailure { get; set; } = FailureAction.Pause;

        /// <summary>Safety net if this process dies: the service scales to zero after this long idle (whole minutes).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Duration]
        [ValidateDuration(60, 10080 * 60, WholeMinutes = true)]
        public TimeSpan? IdleTimeout { get; set; }

        /// <summary>-IdleTimeout's old name, in minutes: hidden, kept for scripts written for it.</summary>
        [Parameter(DontShow = true)]
        [ValidateRange(1, 10080)]
        public int? IdleTimeoutMinutes { get; set; }

        /// <summary>How long the pause owed after a failed or cancelled start keeps trying (default 5 min).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Duration]
        [ValidateDuration(1, 3600)]
        public TimeSpan OwedPauseTimeout { get; set; } = TimeSpan.FromMinutes(5);

        /// <summary>-OwedPauseTimeout's old name, in seconds: hidden, kept for scripts written for it.</summary>
        [Parameter(DontShow = true)]
        [ValidateRange(1, 3600)]
        public int? OwedPauseTimeoutSec { get; set; }

        private TimeSpan _longestOwedPause; // the longest owed pause asked for by the input so far

        public object? GetDynamicParameters() => CreateIfMissing ? _create ??= new CreateParameters() : null;

        /// <summary>A stopped command waits for the owed pauses of its cancelled starts.</summary>
        protected override TimeSpan SettleBound => _longestOwedPause + TimeSpan.FromSeconds(35);

        protected override void ProcessRecord()
        {
            var timeout = DurationOf(nameof(Timeout), Timeout, nameof(TimeoutSec), TimeoutSec, TimeSpan.FromSeconds(1));
            var idle = Minutes(DurationOf(nameof(IdleTimeout), IdleTimeout, nameof(IdleTimeoutMinutes), IdleTimeoutMinutes, TimeSpan.FromMinutes(1)));
            var owedPause = DurationOf(nameof(OwedPauseTimeout), OwedPauseTimeout, nameof(OwedPauseTimeoutSec), OwedPauseTimeoutSec, TimeSpan.FromSeconds(1));
            if (owedPause > _longestOwedPause) _longestOwedPause = owedPause;
            // A new endpoint gets the idle timeout asked for (-ScaleToZeroTimeout is New-MertEndpoint's old name for it).
            var createIdle = _create == null ? null : Minutes(DurationOf(nameof(IdleTimeout), IdleTimeout,
                nameof(CreateParameters.ScaleToZeroTimeout), _create.ScaleToZeroTimeout, TimeSpan.FromMinutes(1))) ?? idle;
            foreach (var target in Targets())
            {
                string price = _create == null ? PriceInQuestion(target) : "";
                var action = _create == null
                    ? $"Start endpoint (resume it if paused; billing starts{(price.Length == 0 ? "" : ": " + price)}) and wait until it answers"
                    : $"Start endpoint, creating it if missing ({_create.Describe(Usage.Prices.KnownPrice(Client, target.Namespace!, _create.InstanceType, _create.InstanceSize))}), and wait until it answers";
                if (!ShouldProcess(target.ToString(), action)) continue;
                EndpointCreateSpec? spec;
                try
                {
                    spec = _create?.ToSpec(target.Name!, createIdle);
                }
                catch (EndpointException ex)
                {
                    WriteEndpointError(ex, target);
                    continue;
                }
                var options = new StartOptions
                {
                    CreateIfMissing = spec,
                    NoWait = NoWait,
                    PauseOnFailure = OnFailure == FailureAction.Pause,
                    IdleTimeoutMinutes = idle,
                    Wait = WaitFor(timeout),
                    OwedPause = new OwedPauseOptions { Timeout = owedPause, Abandon = _abandon.Token },
                };
                Enqueue(async ct =>
                {
                    try
                    {
                        var endpoint = (await Lifecycle.StartAsync(target.Namespace!, target.Name!, options, ct).ConfigureAwait(false)).Endpoint;
                        return () =>
                        {
                            WriteObject(endpoint);
                            if (!BillingRules.StopsWhenIdle(endpoint)) WriteWarning(Errors.NoIdleTimeout(endpoint));
                        };
                    }
                    catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointStillBilling)
                    {
                        var record = _stillBilling.Add(ToErrorRecord(ex, target));
                        return () => _stillBilling.Write(record);
                    }
                    catch (EndpointException ex)
                    {
                        var error = await ExplainAsync(ex, ct).ConfigureAwait(false);
                        return () => WriteEndpointError(error, target);
                    }
                    finally
                    {
                        CompleteProgress(target);
                    }
                });
            }
        }

        protected override void StopProcessing()
        {
            // The engine calls this once; a second Ctrl+C gives up the owed pauses still being tried.
            using (SecondBreak.Watch(_abandon))
            {
                base.StopProcessing(); // cancels the starts and waits for their owed pauses
            }
            _stillBilling.ReportRest();
        }
    }
}
