<#
.SYNOPSIS
    Readiness lag: from the instant the endpoint's replica became ready (its health route answers; the emulator's
    replica list gives readyAt, whichever way updatedAt is stamped) to the instant Start-MertEndpoint returns; median
    of -Starts resumes, with the control-plane requests per minute of waiting. Run side by side under the default
    reading and the pessimistic one (docs/EMULATOR.md, "Emulator fidelity"), both with random URLs, so nothing can pass by
    guessing a URL. Beside them: a fresh create (no earlier URL to probe) in each mode, and a poll-every-5-seconds
    waiter (the official client's schedule). Prints figures; not a test.
#>
param([int] $Starts = 5, [double] $BootSeconds = 15, [int] $Creates = 3)
. (Join-Path $PSScriptRoot 'BenchCommon.ps1')

$modes = [ordered]@{
    default     = @('--url-scheme', 'random')
    pessimistic = @('--url-scheme', 'random', '--updated-at', 'actions', '--url-from', 'running', '--stale-read-ms', '1500')
    # The same without stale reads: tells the cost of --url-from running from that of --stale-read-ms.
    'pessimistic, fresh reads' = @('--url-scheme', 'random', '--updated-at', 'actions', '--url-from', 'running')
}
$auth = @{ Authorization = 'Bearer hf_emulator_token' }

function Measure-Wait($emulator, [string] $name, [scriptblock] $action) {
    # One wait: lag after the newest replica's readyAt, and control-plane requests per minute while waiting.
    $before = @((Invoke-MertEmulatorAdmin $emulator requests).requests).Count
    $t0 = [DateTimeOffset]::UtcNow
    $null = & $action
    $returned = [DateTimeOffset]::UtcNow
    $replicas = @((Invoke-RestMethod -Uri "$($emulator.ApiUrl)/endpoint/emulator-user/$name/replica" -Headers $auth).items)
    $readyAt = ($replicas | Where-Object readyAt | ForEach-Object { [DateTimeOffset]$_.readyAt } | Sort-Object | Select-Object -Last 1)
    $control = @((Invoke-MertEmulatorAdmin $emulator requests).requests | Select-Object -Skip $before |
        Where-Object { $_.path -like '/v2/*' -and [DateTimeOffset]$_.time -le $returned })
    [pscustomobject]@{ Lag = ($returned - $readyAt).TotalSeconds; Rate = $control.Count / ($returned - $t0).TotalMinutes }
}

function Summarize($runs) {
    $lags = [double[]]@($runs.Lag)
    [pscustomobject]@{ Lag = Get-Median $lags; Max = ($lags | Measure-Object -Maximum).Maximum; Rate = Get-Median ([double[]]@($runs.Rate)) }
}

$rows = foreach ($mode in $modes.Keys) {
    $emulator = Start-MertEmulator -ArgumentList (@('--boot-seconds', "$BootSeconds") + $modes[$mode])
    try {
        Use-MertEmulatorEnvironment $emulator
        $env:MERT_ENDPOINT_HISTORY_PATH = Join-Path ([IO.Path]::GetTempPath()) "mert-bench-$PID-$mode.jsonl"
        # Fresh creates first: no earlier URL, so only the control plane can tell when the URL appears.
        $fresh = foreach ($i in 1..$Creates) {
            Measure-Wait $emulator "fresh-$i" { Start-MertEndpoint "fresh-$i" -CreateIfMissing -ImageUrl 'someone/img:1' -TimeoutSec 120 -Confirm:$false }
            Stop-MertEndpoint "fresh-$i" -Confirm:$false
        }
        # Resumes of one endpoint that ran before (its URL is in the usage history).
        $resumes = foreach ($i in 1..$Starts) {
            Measure-Wait $emulator 'fresh-1' { Start-MertEndpoint 'fresh-1' -TimeoutSec 120 -Confirm:$false }
            Stop-MertEndpoint 'fresh-1' -Confirm:$false
        }
        $official = if ($mode -eq 'default') {
            foreach ($i in 1..$Starts) {
                # The official client's schedule: resume, then GET every 5 s until the state says running. (A boot that
                # is not a multiple of 5 s keeps this honest: a real boot ends at a random point between two polls.)
                Measure-Wait $emulator 'fresh-1' {
                    $null = Invoke-RestMethod -Method Post -Uri "$($emulator.ApiUrl)/endpoint/emulator-user/fresh-1/resume" -Headers $auth
                    Start-Sleep -Seconds 2.5   # a boot of 15 s would otherwise end just as a poll comes
                    do { Start-Sleep -Seconds 5; $e = Invoke-RestMethod -Uri "$($emulator.ApiUrl)/endpoint/emulator-user/fresh-1" -Headers $auth }
                    until ($e.status.state -eq 'running')
                }
                Stop-MertEndpoint 'fresh-1' -Confirm:$false
            }
        }
        [pscustomobject]@{ Mode = $mode; Resume = Summarize $resumes; Fresh = Summarize $fresh; Official = if ($official) { Summarize $official } }
    }
    finally {
        Stop-MertEmulator $emulator
        Remove-Item $env:MERT_ENDPOINT_HISTORY_PATH, "$($env:MERT_ENDPOINT_HISTORY_PATH).lock" -ErrorAction SilentlyContinue
    }
}

"boot {0} s, random URLs; median of {1} resumes and of {2} fresh creates per mode" -f $BootSeconds, $Starts, $Creates
$format = '{0,-25} {1,-38} median lag {2,5:0.00} s (max {3:0.00} s), {4,5:0.0} control-plane requests/min'
foreach ($row in $rows) {
    $format -f $row.Mode, 'Start-MertEndpoint (resume)', $row.Resume.Lag, $row.Resume.Max, $row.Resume.Rate
    $format -f $row.Mode, 'Start -CreateIfMissing (fresh create)', $row.Fresh.Lag, $row.Fresh.Max, $row.Fresh.Rate
    if ($row.Official) { $format -f $row.Mode, 'poll every 5 s (official schedule)', $row.Official.Lag, $row.Official.Max, $row.Official.Rate }
}
'Aims: a resume within 0.5 s in both modes; at most 30 control-plane requests per minute of waiting.'
