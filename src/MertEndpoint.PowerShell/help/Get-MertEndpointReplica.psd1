# Help source for Get-MertEndpointReplica; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Synopsis    = 'Gets the replicas of an endpoint and their states.'
    Description = "Lists the endpoint's replicas (GET .../replica) as MertEndpoint.EndpointReplica objects: Replica (the id), State, StartedAt, ReadyAt, FailedAt, Namespace and Name. A paused endpoint has none. The objects pipe into Get-MertEndpointLog, which then reads each replica's lines."
    Examples    = @(
        @{ Code = 'Get-MertEndpointReplica mert-embeddings'; Remarks = 'The replicas of the endpoint and their states.' }
        @{ Code = 'Get-MertEndpointReplica mert-embeddings | Where-Object State -eq failed | Get-MertEndpointLog -Tail 20'; Remarks = 'The last lines of every failed replica.' }
    )
    Links = @('Get-MertEndpointLog', 'Get-MertEndpoint')
}
