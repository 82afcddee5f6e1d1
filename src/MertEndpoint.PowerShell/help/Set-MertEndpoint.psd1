# Help source for Set-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = 'A partial update: only the parameters you give are sent, so nothing else (environment, image, scaling) is wiped, and a parameter you leave out keeps its current value (no create default applies). Changing the image sends the whole image object, filled from the current endpoint. The endpoint goes to updating, then running. The replicas and idle timeout sent count as set only when the answer or a read shows them: a 2xx that does not is read back for up to 10 seconds (the update sent once more after 2 seconds), then it is the error EndpointNotUpdated, naming what the reads show.'
    Examples = @(
        @{
            Code = 'Set-MertEndpoint mert-spike6-inference -MinReplica 0 -IdleTimeout 00:15:00'
            Remarks = 'Lets the service scale the endpoint to zero after 15 idle minutes.'
        }
        @{
            Code = 'Get-MertEndpoint mert-* | Set-MertEndpoint -MaxReplica 2 -WhatIf'
            Remarks = 'Shows the change for every mert- endpoint without making it.'
        }
    )
    Parameters = @{
        Env = 'Environment variables for the container (replaces the set), as a hashtable.'
        HealthRoute = 'A new health route for the container, e.g. /health. Sent with the whole image object.'
        ImageUrl = 'A new custom container image.'
        InstanceSize = 'A new instance size, e.g. x1 or x4. Get-MertEndpointHardware lists them.'
        InstanceType = 'A new instance type, e.g. nvidia-l4. Get-MertEndpointHardware lists them.'
        MaxReplica = 'Maximum replicas.'
        MinReplica = 'Minimum replicas; 0 lets the service scale to zero when idle.'
        Port = 'A new port the container listens on. Sent with the whole image object.'
        Repository = 'A new model repository on the Hub.'
        Revision = 'A new model revision (commit, branch or tag).'
        IdleTimeout = 'How long without requests before the service scales to zero; needs min replicas 0. A duration in whole minutes: a TimeSpan (00:15:00), or seconds as a number or a string (900, ''900''). The old name -ScaleToZeroTimeout (minutes) still works.'
    }
    Synopsis = 'Changes settings of endpoints, sending only what was given.'
    Links = @('Get-MertEndpoint', 'New-MertEndpoint', 'Get-MertEndpointHardware')
}
