<#
.SYNOPSIS
    Listing 1,000 endpoints in one namespace: time (median of 5) and the managed memory the listing holds.
    Prints figures; not a test.
#>
. (Join-Path $PSScriptRoot 'BenchCommon.ps1')
$emulator = Start-MertEmulator
try {
    Use-MertEmulatorEnvironment $emulator
    New-SeedEndpoints $emulator (1..1000 | ForEach-Object { 'many-{0:d4}' -f $_ })
    $null = Get-MertEndpoint    # warm: namespace, connection, JIT
    $times = foreach ($i in 1..5) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $count = @(Get-MertEndpoint).Count
        $sw.Elapsed.TotalMilliseconds
    }
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    $before = [GC]::GetTotalMemory($true)
    $all = Get-MertEndpoint
    $after = [GC]::GetTotalMemory($true)
    '{0} endpoints listed in {1:0} ms (median of 5; aim under 1 s)' -f $count, (Get-Median $times)
    'the 1,000 EndpointInfo objects hold {0:0.0} MB of managed memory' -f (($after - $before) / 1MB)
    $null = $all
}
finally {
    Stop-MertEmulator $emulator
    Remove-Item $env:MERT_ENDPOINT_HISTORY_PATH -ErrorAction SilentlyContinue
}
