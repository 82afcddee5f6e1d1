<#
.SYNOPSIS
    The figure that matters: billed seconds after the work ends, in each way a job can end, measured on the
    emulator's billing meter, under the default reading and the pessimistic one (docs/EMULATOR.md, "Emulator fidelity"), side by
    side. Prints one line per case; not a test.
#>
. (Join-Path $PSScriptRoot 'BenchCommon.ps1')
$pwshHost = (Get-Process -Id $PID).Path
$pwshArgs = if ([IO.Path]::GetFileNameWithoutExtension($pwshHost) -eq 'dotnet') { @("$PSHOME/pwsh.dll") } else { @() }
$module = Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path $root 'out' }) 'MertEndpoint/MertEndpoint.psd1'
$modes = [ordered]@{
    default     = @()
    pessimistic = @('--updated-at', 'actions', '--url-from', 'running', '--url-scheme', 'random', '--stale-read-ms', '1500')
}

function Billed([string] $name) { ((Invoke-MertEmulatorAdmin $script:emulator billing).endpoints | Where-Object name -eq $name).billedSeconds }
function Settled([string] $name) {
    # The meter once it stops moving (or after 20 s).
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    do { $a = Billed $name; Start-Sleep -Milliseconds 500; $b = Billed $name } until ($a -eq $b -or [DateTime]::UtcNow -gt $deadline)
    $b
}
function WaitFor([string] $name, [string] $status) {
    # Until a read agrees (reads may lag under the pessimistic reading), at most 30 s.
    $deadline = [DateTime]::UtcNow.AddSeconds(30)
    while ((Get-MertEndpoint $name -ErrorAction SilentlyContinue).Status -ne $status -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
}
function Fresh([string] $name, [string] $image = 'someone/img:1') {
    # An endpoint that ran once and is paused, as reads show it; one with a failing image, still booting.
    $null = New-MertEndpoint $name -ImageUrl $image -Confirm:$false
    if ($image -match 'fail') {
        # Still booting, once a read shows it (a start before that: Lifecycle.Tests.ps1, 'starts an endpoint right after creating it').
        while (-not (Get-MertEndpoint $name -ErrorAction SilentlyContinue)) { Start-Sleep -Milliseconds 100 }
        return
    }
    $null = Wait-MertEndpoint $name
    Stop-MertEndpoint $name -Confirm:$false
    WaitFor $name 'Paused'
}

$cases = [ordered]@{}
foreach ($mode in $modes.Keys) {
    # One emulator minute lasts one second, so -IdleTimeoutMinutes 3 means three seconds of idleness.
    $script:emulator = Start-MertEmulator -ArgumentList (@('--boot-seconds', '2', '--seconds-per-minute', '1') + $modes[$mode])
    try {
        Use-MertEmulatorEnvironment $emulator
        $env:MERT_ENDPOINT_HISTORY_PATH = Join-Path ([IO.Path]::GetTempPath()) "mert-bench-$PID-$mode.jsonl"
        function Record([string] $case, [double] $atEnd, [double] $final) {
            if (-not $cases.Contains($case)) { $cases[$case] = [ordered]@{} }
            $cases[$case][$mode] = $final - $atEnd
        }

        Fresh ok
        $script:end = 0
        Use-MertEndpoint ok { Start-Sleep -Seconds 1; $script:end = Billed ok } | Out-Null
        Record 'Use-MertEndpoint: the block succeeds' $script:end (Settled ok)

        Fresh throws
        try { Use-MertEndpoint throws { Start-Sleep -Seconds 1; $script:end = Billed throws; throw 'crash' } } catch { }
        Record 'Use-MertEndpoint: the block throws' $script:end (Settled throws)

        Fresh ctrlc
        $ps = [PowerShell]::Create()
        $null = $ps.AddScript("Import-Module '$module'; Use-MertEndpoint ctrlc { Start-Sleep -Seconds 60 }")
        $handle = $ps.BeginInvoke()
        WaitFor ctrlc 'Running'
        Start-Sleep -Seconds 1
        $end = Billed ctrlc; $ps.Stop(); $ps.Dispose()
        Record 'Use-MertEndpoint: stopped with Ctrl+C (PowerShell.Stop())' $end (Settled ctrlc)

        Fresh broken 'someone/fail-image:latest'
        try { Use-MertEndpoint broken { } -ErrorAction Stop } catch { }
        $end = Billed broken
        Record 'Use-MertEndpoint: the start fails (image fails)' $end (Settled broken)

        Fresh slow
        Start-MertEndpoint slow -TimeoutSec 1 -Confirm:$false -ErrorAction SilentlyContinue
        $end = Billed slow
        Record 'Start-MertEndpoint: the wait times out (-TimeoutSec 1)' $end (Settled slow)

        Fresh killed
        $script = "Import-Module '$module'; Use-MertEndpoint killed -IdleTimeoutMinutes 3 { Start-Sleep -Seconds 120 }"
        $child = Start-Process -FilePath $pwshHost -ArgumentList (@($pwshArgs) + @('-NoProfile', '-Command', $script)) -PassThru
        do { Start-Sleep -Milliseconds 200; $e = Get-MertEndpoint killed } until ($e.Status -eq 'Running' -and $e.ScaleToZeroTimeout -eq 3)
        Start-Sleep -Seconds 1
        $child.Kill(); $child.WaitForExit()
        $end = Billed killed
        Record 'the pwsh process is killed (-IdleTimeoutMinutes 3 = 3 s here)' $end (Settled killed)
    }
    finally {
        Stop-MertEmulator $emulator
        Remove-Item $env:MERT_ENDPOINT_HISTORY_PATH, "$($env:MERT_ENDPOINT_HISTORY_PATH).lock" -ErrorAction SilentlyContinue
    }
}

'{0,-62} {1,9} {2,12}' -f 'seconds billed after the work ended', 'default', 'pessimistic'
foreach ($case in $cases.Keys) { '{0,-62} {1,9:0.00} {2,12:0.00}' -f $case, $cases[$case]['default'], $cases[$case]['pessimistic'] }
'Aim: at most 2 s in both modes, and at most the idle timeout when the process is killed.'
