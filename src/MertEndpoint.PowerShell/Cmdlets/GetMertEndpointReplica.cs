using System.Management.Automation;

namespace MertEndpoint.PowerShell.Cmdlets
{
    /// <summary>The replicas of endpoints and their states.</summary>
    [Cmdlet(VerbsCommon.Get, "MertEndpointReplica", DefaultParameterSetName = ByName)]
    [OutputType(typeof(EndpointReplica))]
    public sealed class GetMertEndpointReplica : EndpointTargetCmdlet
    {
        protected override void ProcessRecord()
        {
            foreach (var target in Targets())
            {
                try
                {
                    WriteObject(Await(Client.GetReplicasAsync(target.Namespace!, target.Name!, StopToken)), enumerateCollection: true);
                }
                catch (EndpointException ex)
                {
                    WriteEndpointError(ex, target);
                }
            }
        }
    }
}
