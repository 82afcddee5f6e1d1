<#
.SYNOPSIS
    Invoke-MertEndpoint throughput: files per second with -ThrottleLimit 8 against -ThrottleLimit 1, side by side
    in one run, with latency injected on the data plane. Prints the figures and the ratio; never a test.
.DESCRIPTION
    Starts its own emulator (build/EmulatorHost.psm1) and uses the built module (out/MertEndpoint), so run
    `dotnet pwsh ./build.ps1 Build` first, or `dotnet pwsh ./build.ps1 Bench` which builds and runs every bench.
    A real endpoint spends most of a request's time away from the client (network, model); the injected delay
    stands in for it, so the ratio shows how well requests overlap. The aim is at least 6x.
#>
param(
    [int] $Files = 40,
    [int] $LatencyMs = 100
)
$ErrorActionPreference = 'Stop'
$root = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
Import-Module (Join-Path $root 'build/EmulatorHost.psm1')
Import-Module (Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path $root 'out' }) 'MertEndpoint/MertEndpoint.psd1')

$work = Join-Path ([IO.Path]::GetTempPath()) "mert-invoke-bench-$PID"
$audio = Join-Path $work 'audio'
$null = New-Item -ItemType Directory -Path $audio
for ($i = 0; $i -lt $Files; $i++) {
    $bytes = [byte[]]::new(32KB); [Random]::new($i).NextBytes($bytes)
    [IO.File]::WriteAllBytes((Join-Path $audio "clip$i.wav"), $bytes)
}

$emulator = Start-MertEmulator -ArgumentList '--boot-seconds', '0.5'
try {
    Use-MertEmulatorEnvironment $emulator
    $null = New-MertEndpoint bench -ImageUrl 'someone/mert-inference:latest' -Confirm:$false
    $endpoint = Wait-MertEndpoint bench -TimeoutSec 30
    $null = Invoke-MertEndpoint -InputObject $endpoint -InFile (Join-Path $audio 'clip0.wav')   # warm up: JIT and connections, not measured
    $null = Invoke-MertEmulatorAdmin $emulator faults -Method POST -Body @{
        method = 'POST'; pathPrefix = ([uri]$endpoint.Url).AbsolutePath; status = $null; delayMs = $LatencyMs; count = $null
    }

    $rates = @{}
    foreach ($limit in 1, 8) {
        $out = Join-Path $work "out-$limit"
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $results = Get-ChildItem -LiteralPath $audio -File |
            Invoke-MertEndpoint -InputObject $endpoint -OutDirectory $out -BaseDirectory $audio -ThrottleLimit $limit
        $watch.Stop()
        if (@($results).Count -ne $Files) { throw "-ThrottleLimit $limit answered $(@($results).Count) of $Files files." }
        $rates[$limit] = $Files / $watch.Elapsed.TotalSeconds
        '{0,-16} {1,3} files in {2,6:0.00} s = {3,6:0.0} files/s' -f "-ThrottleLimit $limit", $Files, $watch.Elapsed.TotalSeconds, $rates[$limit]
    }
    'Ratio (8 vs 1), {0} ms injected latency: {1:0.0}x (aim: at least 6x)' -f $LatencyMs, ($rates[8] / $rates[1])
}
finally {
    Stop-MertEmulator $emulator
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
