using System.Management.Automation;
using System.Net;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>
    /// Says whether this machine is set up to manage endpoints: the token's source (never the token), the account, the
    /// namespace and organizations, whether each listing can be read, the default hardware's price and quota, and the
    /// usage history. Outputs one report whose Ok a script can test, and one non-terminating SetupIncomplete error per
    /// problem; unlike the other cmdlets, a missing token is one of those problems, not the end of the command.
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "MertEndpointSetup")]
    [OutputType(typeof(SetupReport))]
    public sealed class TestMertEndpointSetup : MertCmdlet
    {
        protected override void EndProcessing()
        {
            string? explicitToken = Token is null ? null : new NetworkCredential(string.Empty, Token).Password;
            var check = SetupCheck.Begin(explicitToken, Factory);
            // Client is made only when it can be: without a token it would end the command, and this one reports instead.
            var report = Await(check.RunAsync(check.CanConnect ? Client : null, Namespace, StopToken));
            WriteObject(report);
            foreach (var problem in check.Problems) WriteEndpointError(problem, null);
            base.EndProcessing();
        }
    }
}
