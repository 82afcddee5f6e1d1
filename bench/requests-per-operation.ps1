<#
.SYNOPSIS
    Requests per operation, counted from the emulator's request log: stopping any endpoint should be one
    pause (no read); starting a running endpoint one GET and one health probe; removing one the DELETE and the read
    that shows it gone (404). Prints the counts; not a test.
#>
$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'build/EmulatorHost.psm1')
Import-Module (Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path $root 'out' }) 'MertEndpoint/MertEndpoint.psd1')
$emulator = Start-MertEmulator -ArgumentList '--boot-seconds', '0.5'
try {
    Use-MertEmulatorEnvironment $emulator
    $env:MERT_ENDPOINT_HISTORY_PATH = Join-Path ([IO.Path]::GetTempPath()) "mert-bench-$PID.jsonl"
    function Count([scriptblock] $action) {
        $before = @((Invoke-MertEmulatorAdmin $emulator requests).requests).Count
        & $action | Out-Null
        $log = @((Invoke-MertEmulatorAdmin $emulator requests).requests | Select-Object -Skip $before)
        '{0} request(s): {1}' -f $log.Count, (($log | ForEach-Object { "$($_.method) $($_.path)" }) -join '; ')
    }
    $null = Get-MertEndpoint   # namespace resolved once per session (whoami), as in real use
    $null = New-MertEndpoint rpo -ImageUrl 'someone/img:1' -Confirm:$false
    $null = Wait-MertEndpoint rpo
    "start a running endpoint:  $(Count { Start-MertEndpoint rpo -Confirm:$false })"
    $null = Stop-MertEndpoint rpo -Confirm:$false
    "stop a paused endpoint:    $(Count { Stop-MertEndpoint rpo -Confirm:$false })"
    "stop a running endpoint:   $(Count { $null = Start-MertEndpoint rpo -Confirm:$false; Stop-MertEndpoint rpo -Confirm:$false } | ForEach-Object { $_ -replace '^', '(start then stop) ' })"
    "remove an endpoint:        $(Count { Remove-MertEndpoint rpo -Force -Confirm:$false })"
}
finally {
    Stop-MertEmulator $emulator
    Remove-Item $env:MERT_ENDPOINT_HISTORY_PATH -ErrorAction SilentlyContinue
}
