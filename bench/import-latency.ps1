<#
.SYNOPSIS
    Import-Module time and first Get-MertEndpoint latency in a fresh pwsh, against a 'pwsh -c exit' baseline
    measured in the same run. Prints medians of 7 runs; not a test.
#>
$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'build/EmulatorHost.psm1')
$module = Join-Path $root 'out/MertEndpoint/MertEndpoint.psd1'
$hostPath = (Get-Process -Id $PID).Path
$pwsh = if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { @($hostPath, (Join-Path $PSHOME 'pwsh.dll')) } else { @($hostPath) }

function Measure-Pwsh([string] $command, [int] $runs = 7) {
    $times = foreach ($i in 1..$runs) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $command | Out-Null
        $sw.Elapsed.TotalMilliseconds
    }
    ($times | Sort-Object)[[int][math]::Floor($runs / 2)]
}

$emulator = Start-MertEmulator
try {
    Use-MertEmulatorEnvironment $emulator
    $null = Invoke-RestMethod -Method Post -Uri "$($emulator.ApiUrl)/endpoint/emulator-user" -Headers @{ Authorization = 'Bearer hf_emulator_token' } -ContentType 'application/json' `
        -Body '{"name":"bench-one","compute":{"accelerator":"gpu","instanceType":"nvidia-a10g","instanceSize":"x1","scaling":{"minReplica":0,"maxReplica":1}},"model":{"repository":"m-a-p/MERT-v1-95M","framework":"pytorch","image":{"custom":{"url":"someone/img:1"}}},"provider":{"vendor":"aws","region":"us-east-1"}}'
    $empty = Join-Path ([IO.Path]::GetTempPath()) "mert-empty-$PID.psm1"
    Set-Content $empty 'function Get-Nothing { }'
    $baseline = Measure-Pwsh 'exit'
    $emptyImport = Measure-Pwsh "Import-Module '$empty'"
    $import = Measure-Pwsh "Import-Module '$module'"
    $first = Measure-Pwsh "Import-Module '$module'; `$null = Get-MertEndpoint"
    '{0,-46} {1,8:0} ms' -f 'pwsh -c exit (baseline)', $baseline
    '{0,-46} {1,8:0} ms  (+{2:0} ms over baseline: what any first Import-Module costs)' -f 'Import-Module of an empty script module', $emptyImport, ($emptyImport - $baseline)
    '{0,-46} {1,8:0} ms  (+{2:0} ms over baseline, +{3:0} ms over the empty module)' -f 'Import-Module MertEndpoint', $import, ($import - $baseline), ($import - $emptyImport)
    '{0,-46} {1,8:0} ms  (+{2:0} ms over baseline)' -f 'Import-Module + first Get-MertEndpoint', $first, ($first - $baseline)
    'Aim: under 150 ms on top of the baseline. The first Get includes whoami (namespace) and one list call.'
}
finally { Stop-MertEmulator $emulator; Remove-Item $empty -ErrorAction SilentlyContinue }
