using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// The guard (help/Invoke-MertEndpointGuard.psd1 says what it does). A thin cmdlet: the guard's logic is PowerShell,
    /// MertEndpoint.Guard.psm1 beside the module, which guard.ps1 imports too. Importing MertEndpoint does not parse that
    /// script (a nested script module cost a first call of a fresh process about 100 ms); this cmdlet reads it on first use,
    /// into a module scope of its own (its helpers never reach the caller's session), and runs its
    /// Invoke-MertEndpointGuard with the parameters given here, as a steppable pipeline bound to this cmdlet: the result,
    /// the log lines (Write-Host, the information stream), warnings and errors come out of this command as they are
    /// written, and -InformationVariable, 6>, -WhatIf and -Confirm work as on any cmdlet.
    /// </summary>
    /// <remarks>
    /// The parameters repeat the script function's (names, types, positions in declaration order as an advanced
    /// function gives them, defaults, validation); only the parameters given are passed on, so a default computed when
    /// it runs (-NotifyUri from $env:MERT_GUARD_NOTIFY_URI) and "was -MonthlyBudget given" stay the script's.
    /// </remarks>
    [Cmdlet(VerbsLifecycle.Invoke, "MertEndpointGuard", SupportsShouldProcess = true)]
    [OutputType("MertEndpoint.GuardResult")]
    public sealed class InvokeMertEndpointGuard : PSCmdlet
    {
        /// <summary>The guard's script module, shipped in the module's folder beside guard.ps1.</summary>
        internal const string ScriptName = "MertEndpoint.Guard.psm1";

        // The common parameters that mean the same to the script function; the *Variable ones stay with this cmdlet (the
        // function would set them in its own module's scope), and so do the stream actions (its streams come out here).
        private static readonly HashSet<string> PassedCommon = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "WhatIf", "Confirm", "Verbose", "Debug",
        };

        [Parameter(Position = 0)]
        public object BilledLongerThan { get; set; } = "02:00:00";

        [Parameter(Position = 1)]
        public string Namespace { get; set; } = "*";

        [Parameter(Position = 2)]
        public string[] Exclude { get; set; } = new string[0];

        [Parameter(Position = 3)]
        public string KeepTag { get; set; } = "keep-running";

        [Parameter(Position = 4)]
        public string? ModulePath { get; set; }

        [Parameter(Position = 5)]
        [ValidatePositive]
        public decimal MonthlyBudget { get; set; }

        [Parameter(Position = 6)]
        public string? NotifyUri { get; set; }

        [Parameter(Position = 7)]
        [ValidateSet("Slack", "Teams")]
        public string NotifyFormat { get; set; } = "Slack";

        [Parameter(Position = 8)]
        public object AccountCacheMaxAge { get; set; } = "00:15:00";

        protected override void EndProcessing()
        {
            string script = Path.Combine(Path.GetDirectoryName(typeof(InvokeMertEndpointGuard).Assembly.Location) ?? ".", ScriptName);
            if (!File.Exists(script)) ThrowTerminatingError(MertCmdlet.ToErrorRecord(Errors.GuardScriptMissing(script), null));

            var parameters = new Hashtable(StringComparer.OrdinalIgnoreCase);
            foreach (KeyValuePair<string, object> given in MyInvocation.BoundParameters)
            {
                if (PassedCommon.Contains(given.Key) || GetType().GetProperty(given.Key) is { } p && p.IsDefined(typeof(ParameterAttribute), false))
                    parameters[given.Key] = given.Value;
            }
            // A caller's $WhatIfPreference reaches a function it calls; the script's module scope sees only the global one.
            if (!parameters.ContainsKey("WhatIf") && LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference")))
                parameters["WhatIf"] = SwitchParameter.Present;

            // A module of its own, not imported: nothing of it is visible in the caller's session or in Get-Module.
            var guard = new PSModuleInfo(ScriptBlock.Create(File.ReadAllText(script)));
            ScriptBlock run = guard.NewBoundScriptBlock(ScriptBlock.Create("param($parameters) Invoke-MertEndpointGuard @parameters"));

            // A steppable pipeline's commands are resolved where it is made (the caller's scope): the run and its arguments
            // sit there under a name nobody else uses, for that moment only.
            string name = "MertEndpointGuard_" + Guid.NewGuid().ToString("N");
            SteppablePipeline steps;
            SessionState.PSVariable.Set(name, new object[] { run, parameters });
            try { steps = ScriptBlock.Create($"& ${name}[0] ${name}[1]").GetSteppablePipeline(); }
            finally { SessionState.PSVariable.Remove(name); }

            using (steps)
            {
                steps.Begin(this);
                foreach (object? rest in steps.End()) WriteObject(rest);
            }
        }
    }

    /// <summary>A number greater than zero (-MonthlyBudget).</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ValidatePositiveAttribute : ValidateArgumentsAttribute
    {
        protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
        {
            object? value = arguments is PSObject wrapped ? wrapped.BaseObject : arguments;
            // Bound to a decimal parameter: the value is converted before it is validated.
            if (value is decimal d && d > 0m) return;
            throw new ValidationMetadataException(Errors.NotPositive(value));
        }
    }
}
