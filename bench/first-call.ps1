<#
.SYNOPSIS
    The first call of a fresh process, side by side in one run: 'Import-Module MertEndpoint; Get-MertEndpoint <name>'
    against a fresh pwsh that makes one raw HttpClient GET of the same endpoint, both against the emulator, with the
    token's namespace already in the module's on-disk account cache (as on every run of a scheduled script after
    the first). Counts the requests the module's first Get sends. Medians of 11 runs, the two taking turns; prints figures, not a test.
    Both are measured on this pwsh and, when this pwsh is the dotnet tool's (IL only), on a ReadyToRun copy of it
    (Get-ReadyToRunPwsh in FreshPwsh.ps1) that comes near a release package, whose engine is precompiled: a JIT-bound
    start differs between the two. -ThisPwshOnly skips the copy.
#>
param([switch] $ThisPwshOnly)
$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'build/EmulatorHost.psm1')
$module = Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path $root 'out' }) 'MertEndpoint/MertEndpoint.psd1'
. (Join-Path $PSScriptRoot 'FreshPwsh.ps1')

$emulator = Start-MertEmulator
$env:MERT_ENDPOINT_CACHE_DIR = Join-Path ([IO.Path]::GetTempPath()) "mert-bench-cache-$PID"
$env:MERT_ENDPOINT_HISTORY_PATH = Join-Path ([IO.Path]::GetTempPath()) "mert-bench-history-$PID.jsonl"
try {
    Use-MertEmulatorEnvironment $emulator
    $url = "$($emulator.ApiUrl)/endpoint/emulator-user/bench-one"
    $null = Invoke-RestMethod -Method Post -Uri "$($emulator.ApiUrl)/endpoint/emulator-user" -Headers @{ Authorization = "Bearer $env:HF_TOKEN" } -ContentType 'application/json' `
        -Body '{"name":"bench-one","compute":{"accelerator":"gpu","instanceType":"nvidia-a10g","instanceSize":"x1","scaling":{"minReplica":0,"maxReplica":1}},"model":{"repository":"m-a-p/MERT-v1-95M","framework":"pytorch","image":{"custom":{"url":"someone/img:1"}}},"provider":{"vendor":"aws","region":"us-east-1"}}'
    $get = "Import-Module '$module'; `$null = Get-MertEndpoint bench-one -ErrorAction Stop"
    & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $get | Out-Null   # fills the account cache once

    $before = @((Invoke-MertEmulatorAdmin $emulator requests).requests).Count
    & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $get | Out-Null
    $sent = @((Invoke-MertEmulatorAdmin $emulator requests).requests | Select-Object -Skip $before)

    $rawGet = "`$h = [Net.Http.HttpClient]::new(); `$h.DefaultRequestHeaders.Authorization = [Net.Http.Headers.AuthenticationHeaderValue]::new('Bearer', `$env:HF_TOKEN); `$null = `$h.GetStringAsync('$url').GetAwaiter().GetResult()"
    $hosts = @(, $pwsh)
    $names = @('this pwsh')
    if (-not $ThisPwshOnly) {
        if ($pwsh.Count -eq 2 -and -not (Test-ReadyToRunPwsh)) { $hosts += , (Get-ReadyToRunPwsh); $names += 'ReadyToRun copy of this pwsh' }
        else { 'This pwsh is precompiled already (a release package): measured on it alone.' }
    }
    $medians = @(Measure-Pwsh $rawGet, $get -hosts $hosts)
    for ($i = 0; $i -lt $hosts.Count; $i++) {
        $raw, $ours = $medians[(2 * $i)..(2 * $i + 1)]
        '{0}: {1}' -f $names[$i], ($hosts[$i][-1])
        '  {0,-58} {1,8:0} ms' -f 'fresh pwsh + one raw HttpClient GET (baseline)', $raw
        '  {0,-58} {1,8:0} ms  (+{2:0} ms over the baseline; aim: at most +150)' -f 'fresh pwsh + Import-Module + first Get-MertEndpoint <name>', $ours, ($ours - $raw)
    }
    'requests sent by the first Get of a fresh process: {0} ({1})' -f $sent.Count, (($sent | ForEach-Object { "$($_.method) $($_.path)" }) -join '; ')
}
finally {
    Stop-MertEmulator $emulator
    Remove-Item $env:MERT_ENDPOINT_CACHE_DIR -Recurse -ErrorAction SilentlyContinue
    Remove-Item $env:MERT_ENDPOINT_HISTORY_PATH, "$($env:MERT_ENDPOINT_HISTORY_PATH).lock" -ErrorAction SilentlyContinue
}
