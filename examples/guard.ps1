<#
.SYNOPSIS
    The scheduled guard: pauses every endpoint that has been billing for longer than a threshold, except the ones
    exempted by name or by tag.
.DESCRIPTION
    Run it from cron, a systemd timer, Task Scheduler or a CI schedule (docs/USAGE.md shows each; see also
    guard-workflow.yml). It looks at your namespace and every organization's (-Namespace '*'), pauses the endpoints
    that have billed (initializing or running) for longer than -BilledLongerThan, and prints for each who last
    changed it (so you know whom to ask) and what it had cost. One namespace or endpoint that fails does not stop
    the others.

    Exemptions: -Exclude takes name patterns (matched against 'name' and 'namespace/name'); an endpoint tagged
    -KeepTag (default 'keep-running') is never paused. Both are listed in the log.

    Exit codes, distinct from PowerShell's own 1 (the script could not even start, e.g. a bad argument):
       0  nothing needed stopping (or -WhatIf)
      10  it paused something: an alert, the rest is fine
      20  something could not be checked or stopped, or the guard itself could not run (e.g. a bad -ModulePath):
          an endpoint may still be billing
    With -WhatIf it lists exactly the endpoints it would pause and pauses none. Output is plain text (no colour
    codes) when it is redirected to a file. Needs HF_TOKEN (or the token file) in the environment.
.EXAMPLE
    pwsh -NoProfile -File ./examples/guard.ps1 -BilledLongerThan 02:00:00 -Exclude 'demo-*' -WhatIf
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [TimeSpan] $BilledLongerThan = '02:00:00',
    [string] $Namespace = '*',
    # Name patterns never paused, e.g. 'shared-*' or 'lab/*'.
    [string[]] $Exclude = @(),
    # Endpoints carrying this tag are never paused.
    [string] $KeepTag = 'keep-running',
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/MertEndpoint')
)
# Anything unexpected ends the run with exit 20; per-endpoint errors are collected (-ErrorVariable) and logged below.
$ErrorActionPreference = 'Stop'
$ExitNothingToDo = 0; $ExitStopped = 10; $ExitFailed = 20

# Every line of the log starts with the UTC time (ISO 8601): appended every 15 minutes, the log says when.
function Write-GuardLog([string] $Line) { Write-Host ('{0:yyyy-MM-ddTHH:mm:ssZ} guard: {1}' -f [DateTime]::UtcNow, $Line) }

# Each run ends with one line: what was over the threshold, paused and not read, and the exit code.
function Exit-Guard([int] $Code, [string] $What) {
    Write-GuardLog "end: $What; exit $Code."
    exit $Code
}

# hh:mm:ss with hours past 24 (a day-old streak is 26:00:00, not 02:00:00).
function Format-Duration([TimeSpan] $t) { '{0:00}:{1:mm\:ss}' -f [math]::Floor($t.TotalHours), $t }

$rendering = if (Get-Variable PSStyle -ErrorAction Ignore) { $PSStyle.OutputRendering }
try {
    # A log file or a scheduler's mail should not be full of ANSI colour codes.
    if ($null -ne $rendering -and [Console]::IsOutputRedirected) { $PSStyle.OutputRendering = 'PlainText' }

    try {
        Import-Module $ModulePath
    }
    catch {
        Write-GuardLog "could not load the module from '$ModulePath': $($_.Exception.Message)"
        Exit-Guard $ExitFailed 'nothing was checked; endpoints may still be billing' 
    }

    $version = (Get-Module MertEndpoint).Version
    Write-GuardLog "run: MertEndpoint $version, namespace(s) $Namespace, threshold $(Format-Duration $BilledLongerThan)$(if ($WhatIfPreference) { ', -WhatIf' })."
    $over = @(Get-MertEndpoint -Namespace $Namespace -BilledLongerThan $BilledLongerThan -ErrorAction SilentlyContinue -ErrorVariable checkErrors -WarningVariable skipped -WarningAction SilentlyContinue)
    foreach ($warning in $skipped) { Write-GuardLog "note: $warning" }
    foreach ($e in $checkErrors) { Write-GuardLog "check failed: $e" }
    # The namespaces whose listing was not read: a 401 (an organization without billing or access) is a note, any other
    # failure an error; "nothing has billed" is said only of the namespaces that were read.
    $notRead = @(@($skipped | ForEach-Object { if ("$_" -match "^Skipped namespace '([^']+)'") { $Matches[1] } }) +
        @($checkErrors | ForEach-Object { if ($_.TargetObject.Namespace -and -not $_.TargetObject.Name) { $_.TargetObject.Namespace } })) | Select-Object -Unique
    $unread = if ($notRead) { "not read: $($notRead -join ', ')" } else { 'every namespace read' }

    $toStop = [System.Collections.Generic.List[object]]::new()
    foreach ($endpoint in $over) {
        $who = if ($endpoint.UpdatedBy) { "last changed by $($endpoint.UpdatedBy)" } else { 'last changed by (unknown)' }
        $line = "$($endpoint.Namespace)/$($endpoint.Name) is $($endpoint.Status), billed for $(Format-Duration $endpoint.BilledFor) (threshold $BilledLongerThan), $who"
        $pattern = $Exclude | Where-Object { $endpoint.Name -like $_ -or "$($endpoint.Namespace)/$($endpoint.Name)" -like $_ } | Select-Object -First 1
        if ($pattern) { Write-GuardLog "exempt: $line; excluded by -Exclude '$pattern'."; continue }
        if ($KeepTag -and $endpoint.Tags -contains $KeepTag) { Write-GuardLog "exempt: $line; tagged '$KeepTag'."; continue }
        Write-GuardLog "over: $line."
        $toStop.Add($endpoint)
    }

    if ($toStop.Count -eq 0) {
        $exempt = $over.Count
        if ($checkErrors.Count -gt 0) { Write-GuardLog "nothing to pause where the check worked; $($checkErrors.Count) check(s) failed, so endpoints there may still be billing." }
        elseif ($exempt -gt 0) { Write-GuardLog "nothing to pause: only the $exempt exempt endpoint(s) above have billed for longer than $BilledLongerThan." }
        elseif ($notRead) { Write-GuardLog "nothing to pause in the namespaces read: nothing there has billed for longer than $BilledLongerThan ($unread)." }
        else { Write-GuardLog "nothing to pause: nothing has billed for longer than $BilledLongerThan." }
    }
    $stopped = @($toStop | Stop-MertEndpoint -PassThru -WhatIf:$WhatIfPreference -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable stopErrors)

    foreach ($e in $stopErrors) {
        $still = if ("$($e.FullyQualifiedErrorId)" -like 'EndpointStillBilling*') { 'still billing after the pause: ' } else { '' }
        Write-GuardLog "could not stop: $still$e"
    }
    foreach ($endpoint in $stopped) {
        $cost = Get-MertEndpointCost -Name $endpoint.Name -Namespace $endpoint.Namespace -Since (Get-Date).AddDays(-1) -ErrorAction SilentlyContinue
        $spent = if ($cost) { '{0} billed, about ${1:0.00}' -f (Format-Duration $cost.BilledTime), $cost.EstimatedCost } else { 'cost unknown' }
        Write-GuardLog "paused $($endpoint.Namespace)/$($endpoint.Name); last 24 h: $spent. Tell $(if ($endpoint.UpdatedBy) { $endpoint.UpdatedBy } else { 'its owner' })."
    }

    $failures = $checkErrors.Count + $stopErrors.Count
    $what = "$($over.Count) over the threshold, $(if ($WhatIfPreference) { "$($toStop.Count) would be paused" } else { "$(@($stopped).Count) paused" }), $unread"
    if ($failures -gt 0) {
        Write-GuardLog "$failures error(s): some endpoints could not be checked or stopped and may still be billing."
        Exit-Guard $ExitFailed $what
    }
    if ($WhatIfPreference -or $stopped.Count -eq 0) { Exit-Guard $ExitNothingToDo $what }
    Exit-Guard $ExitStopped $what
}
catch {
    Write-GuardLog "failed: $($_.Exception.Message)"
    Exit-Guard $ExitFailed 'the run failed; endpoints may still be billing'
}
finally {
    if ($null -ne $rendering) { $PSStyle.OutputRendering = $rendering }
}
