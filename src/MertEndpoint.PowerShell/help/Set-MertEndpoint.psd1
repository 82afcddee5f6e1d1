# Help source for Set-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = 'A partial update: only the parameters you give are sent, so nothing else (environment, image, scaling) is wiped. Changing the image sends the whole image object, filled from the current endpoint. The endpoint goes to updating, then running.'
    Examples = @(
        @{
            Code = 'Set-MertEndpoint mert-spike6-inference -MinReplica 0 -ScaleToZeroTimeout 15'
            Remarks = 'Lets the service scale the endpoint to zero after 15 idle minutes.'
        }
        @{
            Code = 'Get-MertEndpoint mert-* | Set-MertEndpoint -MaxReplica 2 -WhatIf'
            Remarks = 'Shows the change for every mert- endpoint without making it.'
        }
    )
    Parameters = @{
        Env = 'Environment variables for the container (replaces the set), as a hashtable.'
        ImageUrl = 'A new custom container image.'
        MaxReplica = 'Maximum replicas.'
        MinReplica = 'Minimum replicas; 0 lets the service scale to zero when idle.'
        ScaleToZeroTimeout = 'Idle minutes before the service scales to zero; needs min replicas 0.'
    }
    Synopsis = 'Changes settings of endpoints, sending only what was given.'
}
