<#
.SYNOPSIS
    The scheduled guard, for cron, systemd, Task Scheduler or a CI schedule: runs Invoke-MertEndpointGuard and exits
    with its code (0 nothing to do, 10 it paused something, 20 something could not be checked, paused or told).
.DESCRIPTION
    Ships in the module's folder, beside the module it imports (-ModulePath, default: the manifest in this
    folder), so an installed module can be scheduled without a clone: pwsh -NoProfile -File <module folder>/guard.ps1. Get-Help
    Invoke-MertEndpointGuard -Full describes the parameters, the log and the codes. A module that cannot be loaded, or
    any other failure of the guard itself, exits 20 (never PowerShell's 1, which means the arguments were refused).
.EXAMPLE
    pwsh -NoProfile -File "$((Get-Module -ListAvailable MertEndpoint)[0].ModuleBase)/guard.ps1" -BilledLongerThan 02:00:00 -WhatIf
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    # A TimeSpan, '02:00:00', or seconds (7200): read by the module, as every MertEndpoint duration.
    [object] $BilledLongerThan = '02:00:00',
    [string] $Namespace = '*',
    [string[]] $Exclude = @(),
    [string] $KeepTag = 'keep-running',
    [string] $ModulePath = (Join-Path $PSScriptRoot 'MertEndpoint.psd1'),
    [ValidateScript({ $_ -gt 0 })]
    [decimal] $MonthlyBudget,
    # Default: $env:MERT_GUARD_NOTIFY_URI (read by Invoke-MertEndpointGuard itself).
    [string] $NotifyUri,
    [ValidateSet('Slack', 'Teams')]
    [string] $NotifyFormat = 'Slack'
)
try {
    # The guard's own script module, from beside this script (the one the cmdlet Invoke-MertEndpointGuard runs): it
    # imports the module from -ModulePath itself, so a module that cannot load is logged, notified and exits 20 like any
    # other failure. Its function shadows the cmdlet here, in this script's session only.
    Import-Module (Join-Path $PSScriptRoot 'MertEndpoint.Guard.psm1') -ErrorAction Stop
    $PSBoundParameters['ModulePath'] = $ModulePath
    $result = Invoke-MertEndpointGuard @PSBoundParameters
    exit $result.ExitCode
}
catch {
    Write-Host ('{0:yyyy-MM-ddTHH:mm:ssZ} guard: failed: {1}' -f [DateTime]::UtcNow, $_.Exception.Message)
    exit 20
}
