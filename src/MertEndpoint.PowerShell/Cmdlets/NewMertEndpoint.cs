using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>Creates an endpoint (MERT defaults). It starts booting at once; Wait-MertEndpoint waits for it.</summary>
    [Cmdlet(VerbsCommon.New, "MertEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(EndpointInfo))]
    public sealed class NewMertEndpoint : MertCmdlet, IDynamicParameters
    {
        private readonly CreateParameters _create = new CreateParameters();

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = string.Empty;

        /// <summary>How long without requests before the service scales the endpoint to zero (whole minutes; only with
        /// min replicas 0). Default <see cref="MertDefaults.ScaleToZeroTimeout"/> minutes.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Duration]
        [ValidateDuration(60, 10080 * 60, WholeMinutes = true)]
        public System.TimeSpan IdleTimeout { get; set; } = System.TimeSpan.FromMinutes(MertDefaults.ScaleToZeroTimeout);

        public object GetDynamicParameters() => _create;

        protected override void ProcessRecord()
        {
            if (!IsValidName(Name)) return;
            var target = new EndpointId(ResolveNamespace(Namespace), Name);
            if (!ShouldProcess(target.ToString(), $"Create endpoint ({_create.Describe(Usage.Prices.KnownPrice(Client, target.Namespace!, _create.InstanceType, _create.InstanceSize))})")) return;
            try
            {
                var idle = Minutes(DurationOf(nameof(IdleTimeout), IdleTimeout, nameof(CreateParameters.ScaleToZeroTimeout), _create.ScaleToZeroTimeout, System.TimeSpan.FromMinutes(1)));
                EndpointInfo created;
                try
                {
                    created = Await(Client.CreateAsync(target.Namespace!, _create.ToSpec(Name, idle), StopToken));
                }
                catch (System.Exception ex) when (StopRequested && (ex is PipelineStoppedException || ex is System.OperationCanceledException))
                {
                    WriteStillBillingNow(Errors.CreateAbandoned(target)); // it may have landed: said at once, with what to run
                    throw;
                }
                Reporter.Summary(Errors.CreatedBills(target, created.Instance, Usage.Prices.KnownPrice(Client, created),
                    created.MinReplica == 0 ? created.ScaleToZeroTimeout : null));
                DrainPosted();
                WriteObject(created);
            }
            catch (EndpointException ex)
            {
                WriteEndpointError(ex, target);
            }
        }
    }
}
