# Shared by the benches that time fresh processes (first-call.ps1, import-latency.ps1): how to start this pwsh
# again, a ReadyToRun copy of it, and medians of commands that take turns.
$hostPath = (Get-Process -Id $PID).Path
$pwsh = if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { @($hostPath, (Join-Path $PSHOME 'pwsh.dll')) } else { @($hostPath) }

function Test-ReadyToRunPwsh {
    # Whether this pwsh's own engine is precompiled (a release package) rather than IL only (the dotnet tool).
    $stream = [IO.File]::OpenRead((Join-Path $PSHOME 'System.Management.Automation.dll'))
    try { ([Reflection.PortableExecutable.PEReader]::new($stream)).PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size -gt 0 }
    finally { $stream.Dispose() }
}

function Get-ReadyToRunPwsh {
    # The `PowerShell` dotnet tool (what `dotnet pwsh` runs here) ships its assemblies as IL only, so a fresh process
    # JIT-compiles PowerShell itself; the release packages (tar.gz, deb, rpm, msi, pkg) ship them ReadyToRun. This
    # copies this pwsh and precompiles its own assemblies with the crossgen2 that build.ps1's ReadyToRun step restored,
    # which comes near a release package's start (the engine precompiled; not the self-contained layout). Made once per
    # pwsh version under out/; returns how to start it. Only for a pwsh started through dotnet whose engine is IL only.
    if ($pwsh.Count -ne 2 -or (Test-ReadyToRunPwsh)) { throw 'This pwsh is already precompiled (or not started through dotnet): there is nothing to compare it with.' }
    $out = if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path (Split-Path $PSScriptRoot) 'out' }
    $copy = Join-Path $out "bench-pwsh-readytorun-$($PSVersionTable.PSVersion)"
    $assemblies = 'System.Management.Automation', 'Microsoft.PowerShell.ConsoleHost', 'Microsoft.PowerShell.Commands.Utility',
        'Microsoft.PowerShell.Commands.Management', 'Microsoft.PowerShell.Security', 'pwsh', 'Newtonsoft.Json', 'Microsoft.ApplicationInsights'
    $done = Join-Path $copy '.readytorun-complete'
    if (-not (Test-Path $done)) {
        $arch = [Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant()
        $os = if ($IsWindows) { 'windows' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
        $rid = "$(if ($IsWindows) { 'win' } else { $os })-$arch"
        $packages = ((dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
        $runtime = [Environment]::Version
        $pack = Join-Path $packages "microsoft.netcore.app.crossgen2.$rid"
        $version = Get-ChildItem $pack -Directory -ErrorAction SilentlyContinue |
            Where-Object { ([version]($_.Name -replace '-.*$', '')).Major -eq $runtime.Major } | Sort-Object { [version]($_.Name -replace '-.*$', '') } | Select-Object -Last 1
        if (-not $version) { throw "crossgen2 for $rid and .NET $($runtime.Major) is not in $packages; run ./build.ps1 Build first (its ReadyToRun step restores it)." }
        $crossgen = Join-Path $version.FullName "tools/crossgen2$(if ($IsWindows) { '.exe' })"
        if (Test-Path $copy) { Remove-Item $copy -Recurse -Force }
        Copy-Item $PSHOME $copy -Recurse
        $framework = Join-Path ([Runtime.InteropServices.RuntimeEnvironment]::GetRuntimeDirectory()) '*.dll'
        Write-Host "Precompiling this pwsh's $($assemblies.Count) assemblies (crossgen2 $($version.Name), $rid) into $copy"
        foreach ($name in $assemblies) {
            $il = Join-Path $PSHOME "$name.dll"
            if (-not (Test-Path $il)) {
                if ($name -eq 'System.Management.Automation') { throw "$il is missing: this is not a pwsh layout the bench knows." }
                continue
            }
            # A response file, because pwsh on Unix expands the wildcards of a native command's arguments itself.
            $rsp = Join-Path $copy "$name.rsp"
            Set-Content $rsp $il, '-o', (Join-Path $copy "$name.dll"), '-r', $framework, '-r', (Join-Path $PSHOME '*.dll'), '--targetos', $os, '--targetarch', $arch, '-O'
            $log = & $crossgen "@$rsp" 2>&1
            Remove-Item $rsp
            if ($LASTEXITCODE -ne 0) { throw "crossgen2 failed on $name.dll: $($log | Select-Object -Last 5 | Out-String)" }
        }
        Set-Content $done ''
    }
    $dll = Join-Path $copy 'pwsh.dll'
    $dotnet = if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { $hostPath } else { 'dotnet' }
    @($dotnet, $dll)
}

function Measure-Pwsh([string[]] $commands, [int] $runs = 11, [object[]] $hosts = @(, $pwsh)) {
    # Each command in a fresh pwsh, on each host (how to start a pwsh: this one by default); all of them take turns,
    # run after run, so that a slow spell of the machine weighs on each alike. Returns the median milliseconds of each
    # command, in order, host after host.
    $times = [Collections.Generic.List[Collections.Generic.List[double]]]::new()
    foreach ($h in $hosts) { foreach ($command in $commands) { $times.Add([Collections.Generic.List[double]]::new()) } }
    foreach ($i in 1..$runs) {
        $slot = 0
        foreach ($h in $hosts) {
            $h = @($h)
            foreach ($command in $commands) {
                $sw = [Diagnostics.Stopwatch]::StartNew()
                & $h[0] @($h | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $command | Out-Null
                if ($LASTEXITCODE -ne 0) { throw "'$command' failed on $($h -join ' ')" }
                $times[$slot++].Add($sw.Elapsed.TotalMilliseconds)
            }
        }
    }
    foreach ($list in $times) { ($list | Sort-Object)[[int][math]::Floor($runs / 2)] }
}
