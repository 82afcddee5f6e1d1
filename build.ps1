<#
.SYNOPSIS
    The one entry point: Build, Test, Demo, Bench, Package.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Package')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$root = $PSScriptRoot
$out = Join-Path $root 'out'
$moduleOut = Join-Path $out 'MertEndpoint'
$emulatorOut = Join-Path $out 'emulator'
# Child processes run the same PowerShell as this one; under `dotnet pwsh` that is `dotnet <PSHOME>/pwsh.dll`.
$hostPath = (Get-Process -Id $PID).Path
$pwsh = if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { @($hostPath, (Join-Path $PSHOME 'pwsh.dll')) } else { @($hostPath) }
function Invoke-Pwsh { & $pwsh[0] @($pwsh | Select-Object -Skip 1) @args }

function Invoke-Native {
    # A plain function on purpose: '-c', '-v:q' and the like pass through to the native command untouched.
    $command, $arguments = $args
    & $command @arguments
    if ($LASTEXITCODE -ne 0) { throw "'$command $($arguments -join ' ')' failed with exit code $LASTEXITCODE." }
}

function Get-ProjectVersion {
    ([xml](Get-Content -Raw (Join-Path $root 'Directory.Build.props'))).Project.PropertyGroup.Version | Where-Object { $_ } | Select-Object -First 1
}

function Add-ReadyToRunImages([string] $dependencies) {
    # Precompiled copies of Core and Polly for PowerShell 7.6 (.NET 10) on Linux x64, in dependencies/net10.0-linux-x64/:
    # most of a first command's time was the JIT (bench/RESULTS.md). EngineLoadContext takes them only on that
    # runtime and platform; everywhere else (Windows PowerShell included) the IL copies beside them load as before.
    # Built where crossgen runs here, a Linux x64 host; elsewhere the module is the same without them.
    if (-not ($IsLinux -and [Runtime.InteropServices.RuntimeInformation]::OSArchitecture -eq 'X64')) {
        Write-Host 'ReadyToRun images: skipped (built on Linux x64 hosts only)'
        return
    }
    $staging = Join-Path $root 'out/readytorun'
    if (Test-Path $staging) { Remove-Item $staging -Recurse -Force }
    Invoke-Native dotnet publish (Join-Path $root 'build/ReadyToRun/ReadyToRun.csproj') -c Release -o $staging -nologo '-v:q' `
        "-p:DependencyDir=$dependencies" '-clp:NoSummary;ErrorsOnly'
    $native = Join-Path $dependencies 'net10.0-linux-x64'
    $null = New-Item -ItemType Directory -Path $native
    foreach ($name in 'MertEndpoint.Core.dll', 'Polly.Core.dll') { Copy-Item (Join-Path $staging $name) $native }
    Remove-Item $staging -Recurse -Force
}

function Invoke-Build {
    Write-Host "== Build ($Configuration)" -ForegroundColor Cyan
    Invoke-Native dotnet build (Join-Path $root 'MertEndpoint.PowerShell.sln') -c $Configuration -nologo '-v:q' '-clp:NoSummary;ErrorsOnly'

    # The module: the cmdlet assembly and the PowerShell 7 load context at the root, in PowerShell's default load
    # context; MertEndpoint.Core and the third-party assemblies in dependencies/, where ModuleInit loads them (on
    # PowerShell 7 in a private load context, so other modules' copies of the same libraries cannot clash with ours).
    if (Test-Path $moduleOut) { Remove-Item $moduleOut -Recurse -Force }
    $dependencies = Join-Path $moduleOut 'dependencies'
    $null = New-Item -ItemType Directory -Path $dependencies, (Join-Path $moduleOut 'en-US')
    $bin = Join-Path $root "src/MertEndpoint.PowerShell/bin/$Configuration/netstandard2.0"
    foreach ($file in Get-ChildItem $bin -Filter *.dll) {
        if ($file.Name -eq 'System.Management.Automation.dll') { throw 'System.Management.Automation.dll must not ship in the module.' }
        Copy-Item $file.FullName $(if ($file.Name -eq 'MertEndpoint.PowerShell.dll') { $moduleOut } else { $dependencies })
    }
    Copy-Item (Join-Path $root "src/MertEndpoint.LoadContext/bin/$Configuration/net8.0/MertEndpoint.LoadContext.dll") $moduleOut
    $required = 'MertEndpoint.PowerShell.dll', 'MertEndpoint.LoadContext.dll', 'dependencies/MertEndpoint.Core.dll',
        'dependencies/Polly.Core.dll', 'dependencies/System.Text.Json.dll', 'dependencies/Microsoft.Bcl.TimeProvider.dll'
    foreach ($file in $required) {
        if (-not (Test-Path (Join-Path $moduleOut $file))) { throw "The module layout is missing $file." }
    }
    Add-ReadyToRunImages $dependencies
    Copy-Item (Join-Path $root 'src/MertEndpoint.PowerShell/*.ps1xml') $moduleOut
    $manifest = Get-Content -Raw (Join-Path $root 'MertEndpoint.psd1')
    $manifest = $manifest -replace "ModuleVersion(\s*)=(\s*)'[^']*'", "ModuleVersion`$1=`$2'$(Get-ProjectVersion)'"
    Set-Content -Path (Join-Path $moduleOut 'MertEndpoint.psd1') -Value $manifest -Encoding utf8
    Invoke-Native @pwsh -NoProfile -NonInteractive -File (Join-Path $root 'build/New-MamlHelp.ps1') -ModulePath $moduleOut `
        -HelpSource (Join-Path $root 'src/MertEndpoint.PowerShell/help') `
        -OutFile (Join-Path $moduleOut 'en-US/MertEndpoint.PowerShell.dll-Help.xml')
    Copy-Item (Join-Path $root 'src/MertEndpoint.PowerShell/help/about_*.help.txt') (Join-Path $moduleOut 'en-US')

    # The emulator: the framework-dependent build output, run with `dotnet MertEndpoint.Emulator.dll`.
    if (Test-Path $emulatorOut) { Remove-Item $emulatorOut -Recurse -Force }
    Copy-Item (Join-Path $root "src/MertEndpoint.Emulator/bin/$Configuration/net10.0") $emulatorOut -Recurse
    Write-Host "Module:   $moduleOut"
    Write-Host "Emulator: $(Join-Path $emulatorOut 'MertEndpoint.Emulator.dll')"
}

function Get-PesterModulePath {
    Invoke-Native dotnet restore (Join-Path $root 'tests/pester/PesterRestore.csproj') -nologo '-v:q'
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else {
        ((dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
    }
    $path = Join-Path $packages 'pester/5.7.1/tools/Pester.psd1'
    if (-not (Test-Path $path)) { throw "Pester 5.7.1 was not restored to $path." }
    $path
}

function Start-PesterPass {
    # One Pester run in a fresh pwsh (built module, live emulator) with MERT_TEST_MODE set, started in the background
    # with its output going to a log: the passes mostly wait on emulated boots, so they run side by side.
    param([string] $Pester, [string] $Results, [string] $Mode, [string[]] $Paths)
    $summary = Join-Path $Results "pester-$Mode.json"
    $log = Join-Path $Results "pester-$Mode.log"
    # The tests run with PowerShell's default error preference, as users do: no global 'Stop' here.
    $script = @"
`$env:MERT_TEST_MODE = '$Mode'
`$PSStyle.OutputRendering = 'PlainText'
Import-Module '$Pester'
`$c = New-PesterConfiguration
`$c.Run.Path = @($(($Paths | ForEach-Object { "'$_'" }) -join ', '))
`$c.Run.PassThru = `$true
`$c.Output.Verbosity = 'Detailed'
`$r = Invoke-Pester -Configuration `$c
@{ passed = `$r.PassedCount; failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount } | ConvertTo-Json | Set-Content '$summary'
"@
    $arguments = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $script)
    $process = Start-Process -FilePath $pwsh[0] -ArgumentList $arguments -PassThru -NoNewWindow `
        -RedirectStandardOutput $log -RedirectStandardError "$log.err"
    [pscustomobject]@{ Mode = $Mode; Process = $process; Summary = $summary; Log = $log; Watch = [Diagnostics.Stopwatch]::StartNew() }
}

function Complete-PesterPass {
    # Waits for a pass, prints its log, and returns its counts.
    param($Pass)
    $Pass.Process.WaitForExit()
    $seconds = $Pass.Watch.Elapsed.TotalSeconds
    Write-Host "== Pester, $($Pass.Mode) readings (fresh pwsh, built module, live emulator)" -ForegroundColor Cyan
    foreach ($file in $Pass.Log, "$($Pass.Log).err") { if (Test-Path $file) { Get-Content $file | Out-Host } }
    if (-not (Test-Path $Pass.Summary)) {
        Write-Host "Pester ($($Pass.Mode)): no results (the run crashed)" -ForegroundColor Red
        return [pscustomobject]@{ passed = 0; failed = 1 }
    }
    $p = Get-Content -Raw $Pass.Summary | ConvertFrom-Json
    Write-Host ("Pester ({0}): {1} passed, {2} failed in {3:0} s" -f $Pass.Mode, $p.passed, $p.failed, $seconds)
    $p
}

function Invoke-Test {
    Invoke-Build
    $results = Join-Path $out 'test-results'
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    $passed = 0; $failed = 0

    Write-Host "== xunit" -ForegroundColor Cyan
    foreach ($project in Get-ChildItem (Join-Path $root 'tests') -Recurse -Filter '*.Tests.csproj') {
        $trx = "$($project.BaseName).trx"
        & dotnet test $project.FullName -c $Configuration --no-build --nologo '-v:q' --results-directory $results --logger "trx;LogFileName=$trx" --logger 'console;verbosity=minimal'
        $file = Join-Path $results $trx
        if (-not (Test-Path $file)) { Write-Host "$($project.BaseName): no results (the test run crashed)" -ForegroundColor Red; $failed++; continue }
        $counters = ([xml](Get-Content -Raw $file)).TestRun.ResultSummary.Counters
        $passed += [int]$counters.passed
        $failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        Write-Host "$($project.BaseName): $($counters.passed) passed, $($counters.failed) failed"
    }

    # Every Pester suite under the emulator's default readings, then the suites whose promises depend on the readings
    # (lifecycle, money, readiness) once more under the pessimistic ones (docs/EMULATOR.md, "Emulator fidelity").
    $pester = Get-PesterModulePath
    $suites = Join-Path $root 'tests/pester'
    $matrix = 'Lifecycle', 'Money', 'Core', 'Readiness' | ForEach-Object { Join-Path $suites "$_.Tests.ps1" }
    # The two passes run side by side (each its own pwsh and emulators on free ports, its own history files): they
    # spend most of their time waiting on emulated boots, and together take about as long as the longer one.
    $null = New-Item -ItemType Directory -Force -Path $results
    $passes = @(
        Start-PesterPass -Pester $pester -Results $results -Mode 'default' -Paths @($suites)
        Start-PesterPass -Pester $pester -Results $results -Mode 'pessimistic' -Paths $matrix
    )
    foreach ($pass in $passes) {
        $p = Complete-PesterPass $pass
        $passed += $p.passed; $failed += $p.failed
    }

    Write-Host ''
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Build
    Write-Host "== Demo against the local emulator (no real account is touched)" -ForegroundColor Cyan
    Invoke-Native @pwsh -NoProfile -File (Join-Path $root 'examples/demo.ps1') -ModulePath $moduleOut
}

function Invoke-Bench {
    Invoke-Build
    # BenchCommon.ps1 and FreshPwsh.ps1 are what the benches share, not benches.
    foreach ($bench in Get-ChildItem (Join-Path $root 'bench') -Filter '*.ps1' | Where-Object Name -notin 'BenchCommon.ps1', 'FreshPwsh.ps1' | Sort-Object Name) {
        Write-Host "== $($bench.Name)" -ForegroundColor Cyan
        Invoke-Pwsh -NoProfile -File $bench.FullName
    }
}

function Invoke-Package {
    # A .nupkg in a local folder repository, the form PowerShell's own tools install from (PSResourceGet ships
    # with pwsh 7.4+). Compress-PSResource also checks the manifest the way Publish-PSResource would.
    Invoke-Build
    $repo = Join-Path $out 'repo'
    $null = New-Item -ItemType Directory -Path $repo -Force
    Compress-PSResource -Path $moduleOut -DestinationPath $repo
    $package = Join-Path $repo "MertEndpoint.$(Get-ProjectVersion).nupkg"
    if (-not (Test-Path $package)) { throw "Compress-PSResource did not write $package." }
    Write-Host "Package: $package"
    Write-Host "Install: Register-PSResourceRepository -Name MertLocal -Uri '$repo' -Trusted; Install-PSResource MertEndpoint -Repository MertLocal"
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Package' { Invoke-Package }
}
