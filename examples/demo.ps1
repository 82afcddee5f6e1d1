<#
.SYNOPSIS
    The main job, end to end, against the local emulator: create -> start (progress bar) -> an embeddings
    request -> status -> stop -> cost. Run it with: dotnet pwsh ./build.ps1 Demo
.DESCRIPTION
    The emulator is the only target: the script points the module at a loopback emulator it starts itself,
    with the emulator's own token, and stops it at the end. No real account is touched, and it leaves no trace:
    every file it writes (the usage history, the account lookups, the emulator's logs, the request's input) lives in
    one temporary folder of its own, deleted at the end. Output that is redirected is plain text, without colours.
#>
param([Parameter(Mandatory)] [string] $ModulePath)
$ErrorActionPreference = 'Stop'
$plain = [Console]::IsOutputRedirected
if ($plain) { $PSStyle.OutputRendering = 'PlainText' }
Import-Module (Join-Path $PSScriptRoot '../build/EmulatorHost.psm1')
Import-Module $ModulePath

function Step([string] $text) {
    if ($plain) { Write-Host "`n>> $text" } else { Write-Host "`n>> $text" -ForegroundColor Green }
}

$work = Join-Path ([IO.Path]::GetTempPath()) "mert-demo-$([guid]::NewGuid().ToString('n'))"
$null = New-Item -ItemType Directory -Path $work
# Not your real history nor your account cache (the module keeps both in its per-user data folder otherwise).
$env:MERT_ENDPOINT_HISTORY_PATH = Join-Path $work 'usage.jsonl'
$env:MERT_ENDPOINT_CACHE_DIR = Join-Path $work 'accounts'
$emulator = $null
try {
    # The emulator is stopped by killing it: without its diagnostics IPC it leaves no pipes behind in the temp folder.
    $env:DOTNET_EnableDiagnostics = '0'
    $emulator = Start-MertEmulator -ArgumentList '--boot-seconds', '6' -LogDirectory $work
    Remove-Item Env:DOTNET_EnableDiagnostics
    Use-MertEmulatorEnvironment $emulator
    Write-Host "Emulator: $($emulator.Url)  (token: the emulator's; MERT_ENDPOINT_API_URL=$env:MERT_ENDPOINT_API_URL)"
    $name = 'mert-spike6-inference'

    Step "New-MertEndpoint $name -ImageUrl someone/mert-inference:latest"
    New-MertEndpoint $name -ImageUrl 'someone/mert-inference:latest' -Confirm:$false | Format-Table | Out-Host
    Stop-MertEndpoint $name -Confirm:$false   # start from the everyday situation: a paused endpoint

    Step "Start-MertEndpoint $name   (resumes and waits until the health route answers)"
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $endpoint = Start-MertEndpoint $name -Confirm:$false
    Write-Host ("Ready after {0:0.0} s at {1}" -f $sw.Elapsed.TotalSeconds, $endpoint.Url)
    $endpoint | Format-Table | Out-Host

    Step 'Invoke-MertEndpoint: an embeddings request (a generated one-second WAV) to the endpoint'
    $wav = Join-Path $work 'one-second.wav'
    $bytes = [byte[]]::new(44 + 32000); [Random]::new(42).NextBytes($bytes); [IO.File]::WriteAllBytes($wav, $bytes)
    try { $result = Invoke-MertEndpoint -InputObject $endpoint -InFile $wav } finally { Remove-Item $wav }
    $result | Format-Table | Out-Host
    $doc = $result.Response
    Write-Host ("{0} layers x {1} values from {2} bytes; layer 0 starts {3}" -f $doc.embeddings.Count, $doc.embeddings[0].Count, $doc.bytes, (($doc.embeddings[0][0..2] | ForEach-Object { '{0:0.000}' -f $_ }) -join ', '))

    Step 'Get-MertEndpoint   (status at a glance)'
    Get-MertEndpoint | Format-Table | Out-Host

    Step "Stop-MertEndpoint $name -PassThru   (billing stops)"
    Stop-MertEndpoint $name -PassThru -Confirm:$false | Format-Table | Out-Host

    Step 'Get-MertEndpointCost   (from the usage history the module kept)'
    Get-MertEndpointCost | Format-Table | Out-Host
    $meter = (Invoke-MertEmulatorAdmin $emulator billing).endpoints | Where-Object name -eq $name
    Write-Host ("The emulator's own billing meter says {0:0.0} s, `${1:0.0000}." -f $meter.billedSeconds, $meter.cost)
}
finally {
    if ($emulator) { Stop-MertEmulator $emulator }
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
