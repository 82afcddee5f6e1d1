<#
.SYNOPSIS
    Readiness lag: from the moment the emulator's endpoint starts answering its health route (its 'running'
    transition, which the emulator stamps in status.updatedAt) to the moment Start-MertEndpoint returns; median
    of -Starts starts. Beside it, the same figure for a poll-every-5-seconds waiter (the official client's
    schedule), and the control-plane requests per minute of waiting for each. Prints figures; not a test.
#>
param([int] $Starts = 10, [double] $BootSeconds = 17.5)
. (Join-Path $PSScriptRoot 'BenchCommon.ps1')
$emulator = Start-MertEmulator -ArgumentList '--boot-seconds', "$BootSeconds"
try {
    Use-MertEmulatorEnvironment $emulator
    New-SeedEndpoints $emulator 'lag'
    $null = Wait-MertEndpoint lag -TimeoutSec 120
    Stop-MertEndpoint lag -Confirm:$false

    function Measure-Starts([scriptblock] $start) {
        $lags = @(); $rates = @()
        foreach ($i in 1..$Starts) {
            $before = @((Invoke-MertEmulatorAdmin $emulator requests).requests).Count
            $t0 = [DateTimeOffset]::UtcNow
            $null = & $start
            $returned = [DateTimeOffset]::UtcNow
            $running = (Get-MertEndpoint lag).UpdatedAt      # the instant it became running (and healthy)
            $control = @((Invoke-MertEmulatorAdmin $emulator requests).requests | Select-Object -Skip $before |
                Where-Object { $_.path -like '/v2/*' -and [DateTimeOffset]$_.time -le $returned })
            $lags += ($returned - $running).TotalSeconds
            $rates += $control.Count / ($returned - $t0).TotalMinutes
            Stop-MertEndpoint lag -Confirm:$false
        }
        [pscustomobject]@{ Lag = Get-Median $lags; Rate = Get-Median $rates; Max = ($lags | Measure-Object -Maximum).Maximum }
    }

    $ours = Measure-Starts { Start-MertEndpoint lag -Confirm:$false }
    $official = Measure-Starts {
        # The official client's schedule: resume, then GET every 5 s until the state says running. (A boot that is
        # not a multiple of 5 s keeps this honest: a real boot ends at a random point between two polls.)
        $null = Invoke-RestMethod -Method Post -Uri "$($emulator.ApiUrl)/endpoint/emulator-user/lag/resume" -Headers @{ Authorization = 'Bearer hf_emulator_token' }
        do { Start-Sleep -Seconds 5; $e = Invoke-RestMethod -Uri "$($emulator.ApiUrl)/endpoint/emulator-user/lag" -Headers @{ Authorization = 'Bearer hf_emulator_token' } }
        until ($e.status.state -eq 'running')
    }
    "boot {0} s, {1} starts each" -f $BootSeconds, $Starts
    '{0,-40} median lag {1,5:0.00} s (max {2:0.00} s), {3,5:0.0} control-plane requests/min' -f 'Start-MertEndpoint', $ours.Lag, $ours.Max, $ours.Rate
    '{0,-40} median lag {1,5:0.00} s (max {2:0.00} s), {3,5:0.0} control-plane requests/min' -f 'poll every 5 s (official schedule)', $official.Lag, $official.Max, $official.Rate
    'Aims: lag at most 0.5 s; at most 30 control-plane requests per minute of waiting.'
}
finally {
    Stop-MertEmulator $emulator
    Remove-Item $env:MERT_ENDPOINT_HISTORY_PATH -ErrorAction SilentlyContinue
}
