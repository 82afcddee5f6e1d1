<#
.SYNOPSIS
    Fleet: 100 running endpoints, 100 ms injected on every control-plane call. Times
    'Get-MertEndpoint | Stop-MertEndpoint' (fan-out) against a sequential foreach of single stops and against a
    16-thread loop of bare pause calls (ForEach-Object -Parallel over the raw route, what a script without the
    module would do), in the same run, and checks that all 100 ended paused each time. Prints figures and ratios;
    not a test.
#>
. (Join-Path $PSScriptRoot 'BenchCommon.ps1')
$emulator = Start-MertEmulator -ArgumentList '--boot-seconds', '0.3'
try {
    Use-MertEmulatorEnvironment $emulator
    $names = 1..100 | ForEach-Object { 'fleet-{0:d3}' -f $_ }
    New-SeedEndpoints $emulator $names
    $null = Get-MertEndpoint   # resolve the namespace (whoami) before timing, as any session would have
    function Start-All {
        $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE
        $null = Get-MertEndpoint | Start-MertEndpoint -Confirm:$false -ThrottleLimit 32
        if (@(Get-MertEndpoint -Status Running).Count -ne 100) { throw 'not all 100 are running' }
        $null = Invoke-MertEmulatorAdmin $emulator faults -Method POST -Body @{ method = $null; pathPrefix = '/v2/endpoint'; status = $null; delayMs = 100; count = $null }
    }

    Start-All
    $sw = [Diagnostics.Stopwatch]::StartNew()
    foreach ($name in $names) { Stop-MertEndpoint $name -Confirm:$false }
    $sequential = $sw.Elapsed.TotalSeconds
    $pausedSequential = @(Get-MertEndpoint -Status Paused).Count

    Start-All
    $sw.Restart()
    Get-MertEndpoint | Stop-MertEndpoint -Confirm:$false
    $fanOut = $sw.Elapsed.TotalSeconds
    $pausedFanOut = @(Get-MertEndpoint -Status Paused).Count

    Start-All
    $api = $emulator.ApiUrl
    $token = $env:HF_TOKEN
    $sw.Restart()
    $names | ForEach-Object -ThrottleLimit 16 -Parallel {
        $null = Invoke-RestMethod -Method Post -Uri "$using:api/endpoint/emulator-user/$_/pause" -Headers @{ Authorization = "Bearer $using:token" }
    }
    $rawLoop = $sw.Elapsed.TotalSeconds
    $pausedRaw = @(Get-MertEndpoint -Status Paused).Count

    '{0,-52} {1,7:0.00} s  ({2} paused)' -f 'sequential foreach { Stop-MertEndpoint $name }', $sequential, $pausedSequential
    '{0,-52} {1,7:0.00} s  ({2} paused)' -f 'raw pause loop, ForEach-Object -Parallel -ThrottleLimit 16', $rawLoop, $pausedRaw
    '{0,-52} {1,7:0.00} s  ({2} paused)' -f 'Get-MertEndpoint | Stop-MertEndpoint (ThrottleLimit 16)', $fanOut, $pausedFanOut
    'ratio: {0:0.0}x faster than sequential (aim: at least 8x); {1:0.00}x the time of the raw loop (aim: at most 1.00)' -f ($sequential / $fanOut), ($fanOut / $rawLoop)
}
finally {
    Stop-MertEmulator $emulator
    Remove-Item $env:MERT_ENDPOINT_HISTORY_PATH -ErrorAction SilentlyContinue
}
