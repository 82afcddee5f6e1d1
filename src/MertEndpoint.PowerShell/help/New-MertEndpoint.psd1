# Help source for New-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = "Creates an endpoint: model {MertDefaults.Repository}, task {MertDefaults.Task}, your custom image on port {MertDefaults.ImagePort} with health route {MertDefaults.HealthRoute}, {MertDefaults.Vendor} {MertDefaults.Region} {MertDefaults.InstanceType} {MertDefaults.InstanceSize}, replicas {MertDefaults.MinReplica}-{MertDefaults.MaxReplica} with scale-to-zero after {MertDefaults.ScaleToZeroTimeout} idle minutes. Every setting can be changed with a parameter. The name is checked before any request is sent.`n`nThe endpoint starts booting (and billing) at once; the command returns without waiting. Use Wait-MertEndpoint, or Start-MertEndpoint -CreateIfMissing, to wait until it answers.`n`nAfter the create it says, as an information record tagged PSHOST, that the endpoint bills from now (with the hardware's price per hour) and the command that stops it. -WhatIf and -Confirm name the hardware and its price."
    Examples = @(
        @{
            Code = 'New-MertEndpoint mert-spike6-inference -ImageUrl ''someone/mert-inference:latest'''
            Remarks = 'Creates the MERT endpoint with all defaults.'
        }
        @{
            Code = 'New-MertEndpoint t4-test -ImageUrl ''someone/mert-inference:latest'' -InstanceType nvidia-t4 -Env @{ LOG_LEVEL = ''debug'' } -WhatIf'
            Remarks = 'Shows what would be created on a T4, with an environment variable, without creating it.'
        }
    )
    Parameters = @{
        Name = 'The name of the new endpoint: lowercase letters, digits and hyphens, at most 32 characters, not starting or ending with a hyphen.'
        IdleTimeout = 'How long without requests before the service scales the endpoint to zero (only with -MinReplica 0). A duration in whole minutes: a TimeSpan (00:15:00), or seconds as a number or a string (900, ''900''). Default {default}. The old name -ScaleToZeroTimeout (minutes) still works.'
    }
    Synopsis = 'Creates an Inference Endpoint with the MERT defaults.'
    Links = @('Start-MertEndpoint', 'Wait-MertEndpoint', 'Set-MertEndpoint', 'Remove-MertEndpoint', 'Get-MertEndpointHardware')
    # Defaults that are not a plain property value of a fresh cmdlet.
    DefaultValues = @{
        Revision = 'the service''s default'
        Task = 'feature-extraction for the {MertDefaults.Repository} repository'
    }
}
