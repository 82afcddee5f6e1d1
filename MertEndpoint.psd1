@{
    RootModule             = 'MertEndpoint.PowerShell.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '6f0d3d52-8c1e-4b8e-9a59-3c4f0e6b2a71'
    Author                 = 'MertEndpoint contributors'
    CompanyName            = 'MertEndpoint'
    Copyright              = '(c) MertEndpoint contributors. MIT License.'
    Description            = 'Manage Hugging Face Inference Endpoints so that a paid GPU endpoint runs only while work needs it: start and wait until it answers, pause afterwards, see status and spend.'
    PowerShellVersion      = '5.1'
    CompatiblePSEditions   = @('Core', 'Desktop')
    FormatsToProcess       = @('MertEndpoint.Format.ps1xml', 'MertEndpoint.Invoke.Format.ps1xml', 'MertEndpoint.Insight.Format.ps1xml', 'MertEndpoint.History.Format.ps1xml')
    CmdletsToExport        = @(
        'Get-MertEndpoint'
        'New-MertEndpoint'
        'Start-MertEndpoint'
        'Stop-MertEndpoint'
        'Remove-MertEndpoint'
        'Wait-MertEndpoint'
        'Set-MertEndpoint'
        'Use-MertEndpoint'
        'Get-MertEndpointHardware'
        'Get-MertEndpointCost'
        'Get-MertEndpointHistory'
        'Invoke-MertEndpoint'
        'Get-MertEndpointLog'
        'Get-MertEndpointMetric'
        'Get-MertEndpointReplica'
        'Test-MertEndpointSetup'
    )
    # The guard is a script function (guard.ps1 beside it is the script for schedulers).
    NestedModules          = @('MertEndpoint.Guard.psm1')
    FunctionsToExport      = @('Invoke-MertEndpointGuard')
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('HuggingFace', 'InferenceEndpoints', 'GPU', 'MERT', 'Embeddings', 'Cost')
            # No ProjectUri or HelpInfoURI: the project has no public home yet.
            LicenseUri   = 'https://opensource.org/licenses/MIT'
        }
    }
}
