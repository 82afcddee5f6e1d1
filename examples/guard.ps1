<#
.SYNOPSIS
    The scheduled guard: pauses every endpoint that has been billing for longer than a threshold.
.DESCRIPTION
    Run it from cron, Task Scheduler or a CI schedule (see guard-workflow.yml). It looks at your namespace and
    every organization's (-Namespace '*'), pauses the endpoints that have billed (initializing or running) for
    longer than -BilledLongerThan, prints what each had cost, and exits 1 when it had to stop something, so the
    scheduler can alert. With -WhatIf it lists exactly those endpoints and stops none (exit 0).
    Needs HF_TOKEN (or the token file) in the environment.
.EXAMPLE
    pwsh -File ./examples/guard.ps1 -BilledLongerThan 02:00:00
.EXAMPLE
    # crontab: every 15 minutes
    */15 * * * * HF_TOKEN=hf_xxx pwsh -NoProfile -File /opt/mert/examples/guard.ps1 -BilledLongerThan 02:00:00 >> /var/log/mert-guard.log 2>&1
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [TimeSpan] $BilledLongerThan = '02:00:00',
    [string] $Namespace = '*',
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/MertEndpoint')
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath

$over = @(Get-MertEndpoint -Namespace $Namespace -BilledLongerThan $BilledLongerThan)
if ($over.Count -eq 0) {
    Write-Host "guard: nothing has billed for longer than $BilledLongerThan."
    exit 0
}
foreach ($endpoint in $over) {
    Write-Host "guard: $($endpoint.Namespace)/$($endpoint.Name) is $($endpoint.Status) and has billed for longer than $BilledLongerThan."
}
$stopped = @($over | Stop-MertEndpoint -PassThru -WhatIf:$WhatIfPreference -Confirm:$false)
if ($WhatIfPreference) { exit 0 }

foreach ($endpoint in $stopped) {
    $cost = Get-MertEndpointCost -Name $endpoint.Name -Namespace $endpoint.Namespace -Since (Get-Date).AddDays(-1)
    Write-Host ("guard: paused {0}/{1}; last 24 h: {2:hh\:mm\:ss} billed, about `${3:0.00}" -f $endpoint.Namespace, $endpoint.Name, $cost.BilledTime, $cost.EstimatedCost)
}
exit 1
