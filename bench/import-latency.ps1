<#
.SYNOPSIS
    Import-Module time and first Get-MertEndpoint latency in a fresh pwsh, against a 'pwsh -c exit' baseline
    measured in the same run. Prints medians of 11 runs, the commands taking turns; not a test.
#>
$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'build/EmulatorHost.psm1')
$module = Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path $root 'out' }) 'MertEndpoint/MertEndpoint.psd1'
. (Join-Path $PSScriptRoot 'FreshPwsh.ps1')

$emulator = Start-MertEmulator
try {
    Use-MertEmulatorEnvironment $emulator
    $null = Invoke-RestMethod -Method Post -Uri "$($emulator.ApiUrl)/endpoint/emulator-user" -Headers @{ Authorization = 'Bearer hf_emulator_token' } -ContentType 'application/json' `
        -Body '{"name":"bench-one","compute":{"accelerator":"gpu","instanceType":"nvidia-a10g","instanceSize":"x1","scaling":{"minReplica":0,"maxReplica":1}},"model":{"repository":"m-a-p/MERT-v1-95M","framework":"pytorch","image":{"custom":{"url":"someone/img:1"}}},"provider":{"vendor":"aws","region":"us-east-1"}}'
    $empty = Join-Path ([IO.Path]::GetTempPath()) "mert-empty-$PID.psm1"
    Set-Content $empty 'function Get-Nothing { }'
    $baseline, $emptyImport, $import, $first = Measure-Pwsh 'exit', "Import-Module '$empty'", "Import-Module '$module'", "Import-Module '$module'; `$null = Get-MertEndpoint"
    '{0,-46} {1,8:0} ms' -f 'pwsh -c exit (baseline)', $baseline
    '{0,-46} {1,8:0} ms  (+{2:0} ms over baseline: what any first Import-Module costs)' -f 'Import-Module of an empty script module', $emptyImport, ($emptyImport - $baseline)
    '{0,-46} {1,8:0} ms  (+{2:0} ms over baseline, +{3:0} ms over the empty module)' -f 'Import-Module MertEndpoint', $import, ($import - $baseline), ($import - $emptyImport)
    '{0,-46} {1,8:0} ms  (+{2:0} ms over baseline)' -f 'Import-Module + first Get-MertEndpoint', $first, ($first - $baseline)
    'Aim: under 150 ms on top of the baseline. The first Get includes whoami (namespace) and one list call.'
}
finally { Stop-MertEmulator $emulator; Remove-Item $empty -ErrorAction SilentlyContinue }
