<#
.SYNOPSIS
    The figure that matters: billed seconds after the work ends, in each way a job can end, measured on the
    emulator's billing meter. Prints one line per case; not a test.
#>
. (Join-Path $PSScriptRoot 'BenchCommon.ps1')
# One emulator minute lasts one second, so -IdleTimeoutMinutes 3 means three seconds of idleness.
$emulator = Start-MertEmulator -ArgumentList '--boot-seconds', '2', '--seconds-per-minute', '1'
$pwshHost = (Get-Process -Id $PID).Path
$pwshArgs = if ([IO.Path]::GetFileNameWithoutExtension($pwshHost) -eq 'dotnet') { @("$PSHOME/pwsh.dll") } else { @() }
$module = Join-Path $root 'out/MertEndpoint/MertEndpoint.psd1'

function Billed([string] $name) { ((Invoke-MertEmulatorAdmin $emulator billing).endpoints | Where-Object name -eq $name).billedSeconds }
function Settled([string] $name) {
    # The meter once it stops moving (or after 20 s).
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    do { $a = Billed $name; Start-Sleep -Milliseconds 500; $b = Billed $name } until ($a -eq $b -or [DateTime]::UtcNow -gt $deadline)
    $b
}
function Report([string] $case, [double] $atEnd, [double] $final) { '{0,-58} {1,6:0.00} s billed after the work ended' -f $case, ($final - $atEnd) }
function Fresh([string] $name, [string] $image = 'someone/img:1') {
    $null = New-MertEndpoint $name -ImageUrl $image -Confirm:$false
    if ($image -notmatch 'fail') { $null = Wait-MertEndpoint $name; Stop-MertEndpoint $name -Confirm:$false }
}

try {
    Use-MertEmulatorEnvironment $emulator

    Fresh ok
    $script:end = 0
    Use-MertEndpoint ok { Start-Sleep -Seconds 1; $script:end = Billed ok } | Out-Null
    Report 'Use-MertEndpoint: the block succeeds' $script:end (Settled ok)

    Fresh throws
    try { Use-MertEndpoint throws { Start-Sleep -Seconds 1; $script:end = Billed throws; throw 'crash' } } catch { }
    Report 'Use-MertEndpoint: the block throws' $script:end (Settled throws)

    Fresh ctrlc
    $ps = [PowerShell]::Create()
    $null = $ps.AddScript("Import-Module '$module'; Use-MertEndpoint ctrlc { Start-Sleep -Seconds 60 }")
    $handle = $ps.BeginInvoke()
    do { Start-Sleep -Milliseconds 100 } until ((Get-MertEndpoint ctrlc).Status -eq 'Running')
    Start-Sleep -Seconds 1
    $end = Billed ctrlc; $ps.Stop(); $ps.Dispose()
    Report 'Use-MertEndpoint: stopped with Ctrl+C (PowerShell.Stop())' $end (Settled ctrlc)

    Fresh broken 'someone/fail-image:latest'
    try { Use-MertEndpoint broken { } -ErrorAction Stop } catch { }
    $end = Billed broken
    Report 'Use-MertEndpoint: the start fails (image fails)' $end (Settled broken)

    Fresh slow
    Start-MertEndpoint slow -TimeoutSec 1 -Confirm:$false -ErrorAction SilentlyContinue
    $end = Billed slow
    Report 'Start-MertEndpoint: the wait times out (-TimeoutSec 1)' $end (Settled slow)

    Fresh killed
    $script = "Import-Module '$module'; Use-MertEndpoint killed -IdleTimeoutMinutes 3 { Start-Sleep -Seconds 120 }"
    $child = Start-Process -FilePath $pwshHost -ArgumentList (@($pwshArgs) + @('-NoProfile', '-Command', $script)) -PassThru
    do { Start-Sleep -Milliseconds 200; $e = Get-MertEndpoint killed } until ($e.Status -eq 'Running' -and $e.ScaleToZeroTimeout -eq 3)
    Start-Sleep -Seconds 1
    $child.Kill(); $child.WaitForExit()
    $end = Billed killed
    Report 'the pwsh process is killed (-IdleTimeoutMinutes 3 = 3 s here)' $end (Settled killed)
    'Aim: at most 2 s, and at most the idle timeout when the process is killed.'
}
finally {
    Stop-MertEmulator $emulator
    Remove-Item $env:MERT_ENDPOINT_HISTORY_PATH -ErrorAction SilentlyContinue
}
