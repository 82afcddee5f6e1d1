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
    # One format file: each file more is read and checked at every import.
    FormatsToProcess       = @('MertEndpoint.Format.ps1xml')
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
        'Optimize-MertEndpointHistory'
        'Invoke-MertEndpoint'
        'Get-MertEndpointLog'
        'Get-MertEndpointMetric'
        'Get-MertEndpointReplica'
        'Test-MertEndpointSetup'
        'Invoke-MertEndpointGuard'
    )
    # No script at import: Invoke-MertEndpointGuard is a cmdlet that reads the guard's script (MertEndpoint.Guard.psm1,
    # beside guard.ps1 for schedulers) when it runs.
    FunctionsToExport      = @()
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
