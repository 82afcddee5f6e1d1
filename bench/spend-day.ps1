<#
.SYNOPSIS
    Spend over a day-like sequence: Get-MertEndpointCost against the emulator's meter (/_emulator/billing), under the
    default reading and the pessimistic one (docs/EMULATOR.md, "Emulator fidelity"), side by side. The day: a create and some work;
    a start with an idle timeout that the service itself scales to zero; a wake-up; a pause by someone else (a raw REST
    call); a restart followed by an emulated hour with no process watching (the service scales it to zero unseen); and
    an endpoint of up to 2 replicas that scales under load (the emulator's replica rule). One service minute lasts
    -SecondsPerMinute here. Prints figures; not a test.

    Aims: default reading, the estimate within 2 % of the meter; pessimistic, the meter inside [CostLow, CostHigh]
    (never under-reported); both, every change's window (Get-MertEndpointHistory's Earliest..Latest) holds the
    emulator's true time of it (GET /_emulator/changes), and a change the module did not cause is no wider than the
    gap between its sightings around it plus the history's 2 s read lag and 0.5 s for the requests. The cost bounds'
    width is printed beside the sighting gaps times the replicas changed, but CostHigh rounds each interval up to a
    whole real minute, which a 0.5 s bench minute makes incomparable.
    It also prints the estimate under each of the cost model's strategies alone (Usage/CostModel.cs, reached by
    reflection), from the same history and period: what each refinement of the estimate buys against the meter.
#>
# A boot long enough for the waiter's polls to see 'initializing' (real cold starts take minutes).
param([double] $SecondsPerMinute = 0.5, [double] $BootSeconds = 5)
. (Join-Path $PSScriptRoot 'BenchCommon.ps1')

$modes = [ordered]@{
    default     = @()
    pessimistic = @('--updated-at', 'actions', '--url-from', 'running', '--url-scheme', 'random', '--stale-read-ms', '1500')
}
$auth = @{ Authorization = 'Bearer hf_emulator_token' }

function Note([string] $name, [string] $kind, $endpoint) {
    # One sighting by the module: what it caused ('action') or only read ('look'), and when.
    $script:sightings += [pscustomobject]@{ Name = $name; Kind = $kind; At = [DateTimeOffset]::UtcNow; Status = "$($endpoint.Status)"; Replicas = [int]$endpoint.TargetReplica }
}
function Look([string] $name) { $e = Get-MertEndpoint $name; Note $name look $e; $e }
function Act([string] $name, $endpoint) { Note $name action $endpoint }
function Boot([string] $name, [hashtable] $with = @{}) {
    # A start this module causes. When billing begins ('initializing') is still the service's timing: somewhere
    # between sending the start and the first sighting of 'running', which the bounds may span.
    $t0 = [DateTimeOffset]::UtcNow
    $e = Start-MertEndpoint $name -Confirm:$false @with
    $script:bootSpans[$name] += ([DateTimeOffset]::UtcNow - $t0).TotalSeconds
    $script:boots += [pscustomobject]@{ Name = $name; From = $t0; To = [DateTimeOffset]::UtcNow }
    Note $name action $e
}
function Watch([string] $name, [scriptblock] $until, [double] $every = 1, [double] $timeoutSec = 60) {
    # Reads every $every seconds until the condition holds, as a user watching the status would.
    $deadline = [DateTime]::UtcNow.AddSeconds($timeoutSec)
    do { Start-Sleep -Seconds $every; $e = Look $name } until ((& $until $e) -or [DateTime]::UtcNow -gt $deadline)
}
function Allowed([string] $name) {
    # The widest the bounds may be: for each change between two looks (nothing this module did in between), the gap
    # between them times the change in billed replicas; and each boot's span (see Boot).
    $rows = @($script:sightings | Where-Object Name -eq $name)
    $rate = { param($s) if ($s.Status -in 'Initializing', 'Running', 'Updating') { [math]::Max(1, $s.Replicas) } else { 0 } }
    $sum = [double]$script:bootSpans[$name]
    for ($i = 1; $i -lt $rows.Count; $i++) {
        if ($rows[$i].Kind -ne 'look') { continue }
        $delta = [math]::Abs((& $rate $rows[$i]) - (& $rate $rows[$i - 1]))
        $sum += $delta * ($rows[$i].At - $rows[$i - 1].At).TotalSeconds
    }
    $sum
}
function Compare-Windows([string] $mode, [string] $name, $real) {
    # Each change the history holds against the emulator's true change into the same state (and replicas): the one its
    # window holds, else the nearest (a miss). A change the module did not cause, outside its own starts (whose polls the
    # bench does not see), must be no wider than the gap between the module's sightings around it plus the history's read
    # lag (ReadLag, 2 s: a read may answer from up to 2 s before it) and 0.5 s for the requests. Rows go to $script:windows.
    $real = @($real | ForEach-Object { [pscustomobject]@{ At = [DateTimeOffset]::Parse($_.time); State = $_.state; Replicas = [int]$_.replicas } })
    $looks = @($script:sightings | Where-Object Name -eq $name)
    $slack = [TimeSpan]::FromMilliseconds(2)
    foreach ($c in @(Get-MertEndpointHistory $name)) {
        $same = @($real | Where-Object { $_.State -eq $c.State -and $_.Replicas -eq $c.Replicas })
        if ($same.Count -eq 0) { $same = @($real | Where-Object State -eq $c.State) }
        $row = [pscustomobject]@{ Mode = $mode; Name = $name; Change = "$($c.PreviousState)->$($c.State) x$($c.Replicas)"; Source = $c.Source; Found = $same.Count -gt 0 }
        $script:windows += $row
        if (-not $row.Found) { continue }
        $hit = @($same | Where-Object { $_.At -ge $c.Earliest - $slack -and $_.At -le $c.Latest + $slack })[0]
        $row | Add-Member Inside ($null -ne $hit)
        if (-not $hit) { $hit = $same | Sort-Object { [math]::Abs(($_.At - $c.Time).TotalSeconds) } | Select-Object -First 1 }
        $at = $hit.At
        $row | Add-Member Off ($at - $c.Time).TotalSeconds
        $row | Add-Member Width ($c.Latest - $c.Earliest).TotalSeconds
        $inStart = @($script:boots | Where-Object { $_.Name -eq $name -and $at -ge $_.From -and $at -le $_.To }).Count -gt 0
        $before = @($looks | Where-Object At -le $at)[-1]
        $after = @($looks | Where-Object At -gt $at)[0]
        $gap = if ($before -and $after -and -not $inStart) { ($after.At - $before.At).TotalSeconds } else { $null }
        $row | Add-Member Gap $gap
        $row | Add-Member During $(if ($c.Source -eq 'action') { 'action' } elseif ($inStart) { 'start' } else { 'watch' })
        $row | Add-Member Narrow ($row.During -ne 'watch' -or ($null -ne $gap -and $row.Width -le $gap + 2.5))
    }
}
# The estimate under each of the cost model's strategies alone (Usage/CostModel.cs, internal: reached by reflection),
# from the same history file and period as the report: what each refinement of the estimate buys against the meter.
function Get-StrategyEstimate([string] $name, $cost) {
    $core = [MertEndpoint.UsageHistory].Assembly
    $kind = $core.GetType('MertEndpoint.EstimateStrategies', $true)
    $summarize = $core.GetType('MertEndpoint.CostModel', $true).GetMethod('Summarize', [Reflection.BindingFlags]'NonPublic, Static')
    $records = [Collections.Generic.List[MertEndpoint.UsageEvent]]::new()
    foreach ($e in [MertEndpoint.UsageHistory]::new($env:MERT_ENDPOINT_HISTORY_PATH).Read()) { if ($e.Name -eq $name) { $records.Add($e) } }
    $out = [ordered]@{}
    foreach ($which in 'None', 'ServiceStamps', 'Midpoint', 'ReplicaStarts', 'SightingMidpoint', 'All') {
        $call = @($records, $cost.Since, $cost.Until, [TimeSpan]::Zero, [Enum]::Parse($kind, $which), $null)
        $out[$which] = @($summarize.Invoke($null, $call))[0].BilledTime.TotalSeconds
    }
    $out
}

function Start-Load([string] $url, [double] $seconds) {
    # Two clients sending data-plane requests back to back (no control-plane read: the module sees nothing of it),
    # well above the replica rule's rate, so the second replica starts once and stays until the load ends.
    1..2 | ForEach-Object {
        Start-ThreadJob -ArgumentList $url, $auth, ([DateTime]::UtcNow.AddSeconds($seconds)) -ScriptBlock {
            param($url, $auth, $until)
            while ([DateTime]::UtcNow -lt $until) { $null = Invoke-WebRequest -Method Post -Uri "$url/" -Headers $auth -ContentType 'application/json' -Body '{"inputs":"x"}' }
        }
    }
}

$script:windows = @()
$results = foreach ($mode in $modes.Keys) {
    $script:sightings = @(); $script:boots = @(); $script:bootSpans = @{ day = 0.0; multi = 0.0 }
    $emulator = Start-MertEmulator -ArgumentList (@('--boot-seconds', "$BootSeconds", '--seconds-per-minute', "$SecondsPerMinute", '--scale-up-requests', '5') + $modes[$mode])
    try {
        Use-MertEmulatorEnvironment $emulator
        $env:MERT_ENDPOINT_HISTORY_PATH = Join-Path ([IO.Path]::GetTempPath()) "mert-bench-$PID-$mode.jsonl"
        $api = "$($emulator.ApiUrl)/endpoint/emulator-user"

        # Morning: create, work, pause.
        Boot day @{ CreateIfMissing = $true; ImageUrl = 'someone/img:1' }
        Start-Sleep -Seconds 2
        Act day (Stop-MertEndpoint day -PassThru -Confirm:$false)
        Start-Sleep -Seconds 2
        # A start with an idle timeout; nobody sends work, so the service scales it to zero by itself.
        Boot day @{ IdleTimeoutMinutes = 4 }
        Watch day { param($e) $e.Status -eq 'ScaledToZero' }
        # A wake-up and some work; then someone else pauses it (not this module).
        Boot day
        Start-Sleep -Seconds 2
        $null = Invoke-RestMethod -Method Post -Uri "$api/day/pause" -Headers $auth
        Start-Sleep -Seconds 2
        Watch day { param($e) $e.Status -eq 'Paused' }
        # A restart, then an emulated hour with no process watching: the idle timeout ends it unseen.
        Boot day @{ IdleTimeoutMinutes = 20 }
        Start-Sleep -Seconds (60 * $SecondsPerMinute)
        $null = Look day
        Act day (Stop-MertEndpoint day -PassThru -Confirm:$false)

        # An endpoint of up to 2 replicas under load: the second replica starts, then stops a service minute after it.
        Boot multi @{ CreateIfMissing = $true; ImageUrl = 'someone/img:1'; MaxReplica = 2 }
        $url = (Get-MertEndpoint multi).Url
        Start-Sleep -Seconds 2     # past any late read of the create
        $load = Start-Load $url 8
        $until = [DateTime]::UtcNow.AddSeconds(8)
        while ([DateTime]::UtcNow -lt $until) { Start-Sleep -Seconds 1; $null = Look multi }
        $load | Receive-Job -Wait -AutoRemoveJob
        Watch multi { param($e) $e.TargetReplica -le 1 } -every 0.5 -timeoutSec 20
        Act multi (Stop-MertEndpoint multi -PassThru -Confirm:$false)

        Start-Sleep -Seconds 2     # past any late read, so the meter has stopped and the history holds the end
        $meter = (Invoke-MertEmulatorAdmin $emulator billing).endpoints
        $truth = (Invoke-MertEmulatorAdmin $emulator changes).endpoints
        foreach ($name in 'day', 'multi') { Compare-Windows $mode $name @(($truth | Where-Object name -eq $name).changes) }
        foreach ($name in 'day', 'multi') {
            $b = $meter | Where-Object name -eq $name
            $c = Get-MertEndpointCost $name
            [pscustomobject]@{
                Mode = $mode; Name = $name; Meter = $b.billedSeconds; MeterCost = $b.cost
                Estimate = $c.BilledTime.TotalSeconds; Low = $c.BilledTimeLow.TotalSeconds; High = $c.BilledTimeHigh.TotalSeconds
                CostEstimate = $c.EstimatedCost; CostLow = $c.CostLow; CostHigh = $c.CostHigh; Allowed = Allowed $name
                Strategies = Get-StrategyEstimate $name $c
            }
        }
    }
    finally {
        Stop-MertEmulator $emulator
        Remove-Item $env:MERT_ENDPOINT_HISTORY_PATH, "$($env:MERT_ENDPOINT_HISTORY_PATH).lock" -ErrorAction SilentlyContinue
    }
}

"Each change's window against the emulator's true time (width, and the gap between the sightings around it, in s):"
foreach ($w in $script:windows) {
    if (-not $w.Found) { '{0,-12} {1,-6} {2,-28} NOT FOUND in the true changes' -f $w.Mode, $w.Name, $w.Change; continue }
    '{0,-12} {1,-6} {2,-28} {3,-9} width {4,6:0.00} {5} {6}' -f $w.Mode, $w.Name, $w.Change, $w.Source, $w.Width,
        $(if ($w.Inside) { 'holds the truth' } else { 'MISSES the truth by {0:0.00} s' -f $w.Off }),
        $(switch ($w.During) { 'action' { '(this module''s action)' } 'start' { '(during a start: its polls are not seen here)' }
            default { if ($w.Narrow) { 'gap {0:0.00}: within gap + 2.5 s' -f $w.Gap } else { 'gap {0}: WIDER than gap + 2.5 s' -f $w.Gap } } })
}
$found = @($script:windows | Where-Object Found)
$watched = @($found | Where-Object During -eq 'watch')
'windows: {0} changes, {1} found in the truth, {2} holding it; {3} changes the service made while the bench watched, {4} within the gap + 2.5 s' -f `
    $script:windows.Count, $found.Count, @($found | Where-Object Inside).Count, $watched.Count, @($watched | Where-Object Narrow).Count
''
"one service minute = {0} s, boot {1} s; billed replica-seconds" -f $SecondsPerMinute, $BootSeconds
foreach ($r in $results) {
    $err = ($r.Estimate - $r.Meter) / $r.Meter * 100
    $inside = $r.Low -le $r.Meter + 0.001 -and $r.Meter -le $r.High + 0.001 -and [double]$r.CostLow -le $r.MeterCost + 0.000001 -and $r.MeterCost -le [double]$r.CostHigh + 0.000001
    '{0,-12} {1,-6} meter {2,7:0.00} s ${3:0.000000} | estimate {4,7:0.00} s ({5,6:+0.00;-0.00} %) ${6} | bounds [{7:0.00}, {8:0.00}] s [${9}, ${10}] meter {11} | width {12:0.00} s, allowed {13:0.00} s' -f `
        $r.Mode, $r.Name, $r.Meter, $r.MeterCost, $r.Estimate, $err, $r.CostEstimate, $r.Low, $r.High, $r.CostLow, $r.CostHigh,
        $(if ($inside) { 'inside' } else { 'OUTSIDE' }), ($r.High - $r.Low), $r.Allowed
}
''
'The estimate under each of the cost model''s strategies alone (replica-seconds, and against the meter; reports use All):'
foreach ($r in $results) {
    '{0,-12} {1,-6} meter {2,7:0.00} s | {3}' -f $r.Mode, $r.Name, $r.Meter,
        (($r.Strategies.GetEnumerator() | ForEach-Object { '{0} {1:0.00} ({2:+0.0;-0.0} %)' -f $_.Key, $_.Value, (($_.Value - $r.Meter) / $r.Meter * 100) }) -join ', ')
}
'Aims: default, estimate within 2 % of the meter; pessimistic, the meter inside the bounds; both, every change''s window holds its true time and, for a change the module did not cause, is no wider than the sighting gap + 2.5 s (the cost bounds'' width is shown, not an aim: CostHigh rounds each interval up to a real minute, and a minute here is 0.5 s).'
