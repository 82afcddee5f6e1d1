# Help source for New-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = "Creates an endpoint: model m-a-p/MERT-v1-95M, task feature-extraction, your custom image on port 8080 with health route /health, aws us-east-1 nvidia-a10g x1, replicas 0-1 with scale-to-zero after 15 idle minutes. Every setting can be changed with a parameter. The name is checked before any request is sent.`n`nThe endpoint starts booting (and billing) at once; the command returns without waiting. Use Wait-MertEndpoint, or Start-MertEndpoint -CreateIfMissing, to wait until it answers."
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
    }
    Synopsis = 'Creates an Inference Endpoint with the MERT defaults.'
    Links = @('Start-MertEndpoint', 'Wait-MertEndpoint', 'Set-MertEndpoint', 'Remove-MertEndpoint', 'Get-MertEndpointHardware')
    # Defaults that are not a plain property value of a fresh cmdlet.
    DefaultValues = @{
        Revision = 'the service''s default'
        Task = 'feature-extraction for the MERT repository'
    }
}
