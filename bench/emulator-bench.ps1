#!/usr/bin/env pwsh
# Emulator benchmark: start-up time to the listening line, and median GET latency under 50 concurrent
# clients. Prints figures, never asserts on time; not run by the tests.
# Usage: dotnet pwsh ./bench/emulator-bench.ps1 [-Emulator <path to MertEndpoint.Emulator.dll>] [-Clients 50] [-Seconds 5] [-Starts 5]
param([string]$Emulator, [int]$Clients = 50, [double]$Seconds = 5, [int]$Starts = 5)
$ErrorActionPreference = 'Stop'
$root = Split-Path -Parent $PSScriptRoot
if (-not $Emulator) {
    dotnet build -c Release "$root/src/MertEndpoint.Emulator" --nologo -v quiet | Out-Host
    if ($LASTEXITCODE) { throw "emulator build failed" }
    $Emulator = "$root/src/MertEndpoint.Emulator/bin/Release/net10.0/MertEndpoint.Emulator.dll"
}
dotnet run -c Release --project "$root/bench/emulator" -- --emulator $Emulator --clients $Clients --seconds $Seconds --starts $Starts
if ($LASTEXITCODE) { throw "benchmark failed" }
