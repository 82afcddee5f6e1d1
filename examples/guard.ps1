<#
.SYNOPSIS
    The scheduled guard: pauses every endpoint that has been billing for longer than a threshold.
.DESCRIPTION
    Run it from cron, Task Scheduler or a CI schedule (see guard-workflow.yml). It looks at your namespace and
    every organization's (-Namespace '*'), pauses the endpoints that have billed (initializing or running) for
    longer than -BilledLongerThan, and prints what each had cost. One namespace or endpoint that fails does not
    stop the others.

    Exit codes: 0 nothing to stop (or -WhatIf), 1 it stopped something, 2 something could not be checked or
    stopped (see the errors; an endpoint may still be billing). With -WhatIf it lists exactly the endpoints it
    would stop and stops none. Needs HF_TOKEN (or the token file) in the environment.
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
Import-Module $ModulePath -ErrorAction Stop

$over = @(Get-MertEndpoint -Namespace $Namespace -BilledLongerThan $BilledLongerThan -ErrorAction Continue -ErrorVariable checkErrors)
foreach ($endpoint in $over) {
    Write-Host "guard: $($endpoint.Namespace)/$($endpoint.Name) is $($endpoint.Status) and has billed for $('{0:hh\:mm\:ss}' -f $endpoint.BilledFor) (threshold $BilledLongerThan)."
}
if ($over.Count -eq 0) { Write-Host "guard: nothing has billed for longer than $BilledLongerThan." }
$stopped = @($over | Stop-MertEndpoint -PassThru -WhatIf:$WhatIfPreference -Confirm:$false -ErrorAction Continue -ErrorVariable stopErrors)

foreach ($endpoint in $stopped) {
    $cost = Get-MertEndpointCost -Name $endpoint.Name -Namespace $endpoint.Namespace -Since (Get-Date).AddDays(-1) -ErrorAction Continue
    Write-Host ("guard: paused {0}/{1}; last 24 h: {2:hh\:mm\:ss} billed, about `${3:0.00}" -f $endpoint.Namespace, $endpoint.Name, $cost.BilledTime, $cost.EstimatedCost)
}
# An owed pause that failed (EndpointStillBilling) is the "could not stop" case above all.
if (@($checkErrors + $stopErrors | Where-Object { "$($_.FullyQualifiedErrorId)" -like 'EndpointStillBilling*' }).Count -gt 0) { exit 2 }
if ($checkErrors.Count + $stopErrors.Count -gt 0) {
    Write-Host "guard: $($checkErrors.Count + $stopErrors.Count) error(s): some endpoints could not be checked or stopped and may still be billing."
    exit 2
}
if ($WhatIfPreference -or $stopped.Count -eq 0) { exit 0 }
exit 1
