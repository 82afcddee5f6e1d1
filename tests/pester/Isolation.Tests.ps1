# Dependency isolation on PowerShell 7: another module's older Polly.Core in the same session, loaded before or
# after ours, must not break either module. Each scenario runs in a fresh pwsh (assemblies never unload).
BeforeAll {
    . $PSScriptRoot/Common.ps1
    $emulator = Start-TestEmulator
    $null = New-MertEndpoint iso-one -ImageUrl 'someone/img:1' -Confirm:$false

    # Polly.Core 8.4.2 comes from the NuGet cache, restored by PesterRestore.csproj (build.ps1 Test restores it).
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else {
        ((dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
    }
    $pollyPath = Join-Path $packages 'polly.core/8.4.2/lib/net8.0/Polly.Core.dll'
    if (-not (Test-Path $pollyPath)) { throw "Polly.Core 8.4.2 is not in $packages; run: dotnet restore tests/pester/PesterRestore.csproj" }

    # A child pwsh like this one (under `dotnet pwsh`, that is `dotnet <PSHOME>/pwsh.dll`).
    $hostPath = (Get-Process -Id $PID).Path
    $pwsh = if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { @($hostPath, (Join-Path $PSHOME 'pwsh.dll')) } else { @($hostPath) }
    $modulePath = $ModuleManifest

    function Invoke-Session([string] $Order) {
        $json = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'fixtures/IsolationSession.ps1') `
            -Order $Order -ModulePath $modulePath -PollyPath $pollyPath -EndpointName iso-one
        $json | Out-String | ConvertFrom-Json
    }
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'Another module with an older Polly.Core in the same session' {
    It 'imported <Order>: both modules work, each on its own Polly' -ForEach @(
        @{ Order = 'TheirsFirst' }
        @{ Order = 'OursFirst' }
    ) {
        $r = Invoke-Session $Order
        $r.TheirPolly | Should -BeLike '8.4.2.*' # the other module really runs on the old copy
        $r.Theirs | Should -Be 3
        $r.Ours | Should -Be 'iso-one'
        $r.TheirsAgain | Should -Be 3
        $r.OursAgain | Should -Be 'iso-one'
    }
}

Describe 'Where our assemblies load on PowerShell 7' {
    It 'MertEndpoint.Core and its third-party dependencies only in the private context; the cmdlets and the host''s System.Text.Json in the default one' {
        $command = "Import-Module '$modulePath'; `$null = Get-MertEndpoint iso-one; `$null = Get-MertEndpointCost iso-one
            [ordered]@{
                Default = @([System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies.GetName().Name)
                Private = @(([System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'MertEndpoint').Assemblies.GetName().Name)
            } | ConvertTo-Json -Compress"
        $contexts = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $command | Out-String | ConvertFrom-Json
        $contexts.Private | Should -Contain 'MertEndpoint.Core'
        $contexts.Private | Should -Contain 'Polly.Core'
        $contexts.Private | Should -Contain 'Microsoft.Bcl.TimeProvider'
        $contexts.Private | Should -Not -Contain 'System.Text.Json'
        $contexts.Default | Should -Contain 'MertEndpoint.PowerShell'
        $contexts.Default | Should -Contain 'System.Text.Json'
        foreach ($name in 'MertEndpoint.Core', 'Polly.Core', 'Microsoft.Bcl.TimeProvider') { $contexts.Default | Should -Not -Contain $name }
    }

    It 'the cmdlet assembly references only MertEndpoint.Core and what the host itself provides, in at least that version' {
        # A reference to Polly or Microsoft.Bcl.TimeProvider (even through a Core signature that names one) would be
        # looked up in the default context, where they are not: that code path would fail at run time.
        $platform = @{}
        foreach ($path in [AppContext]::GetData('TRUSTED_PLATFORM_ASSEMBLIES') -split [IO.Path]::PathSeparator) {
            $platform[[IO.Path]::GetFileNameWithoutExtension($path)] = $path
        }
        $references = (Get-Module MertEndpoint).ImplementingAssembly.GetReferencedAssemblies() | Where-Object Name -ne 'MertEndpoint.Core'
        $missing = foreach ($reference in $references) {
            $path = $platform[$reference.Name]
            if (-not $path -or [Reflection.AssemblyName]::GetAssemblyName($path).Version -lt $reference.Version) { $reference.FullName }
        }
        $missing | Should -BeNullOrEmpty
        $references.Name | Should -Contain 'System.Text.Json' # the check above covered it: JSON output parsing uses the host's
    }

    It 'on this runtime and platform Core and Polly load as their precompiled copies; without those, as the IL beside them' {
        # The build adds dependencies/net10.0-<rid>/ for linux-x64, linux-arm64, win-x64 and osx-arm64 whatever its host;
        # this pwsh is .NET 10 on one of them (CI: ubuntu, windows and macos on arm64).
        $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
        $native = "net$([Environment]::Version.Major).0-$os-$([Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant())"
        $probe = "Import-Module 'MODULE'; `$null = Get-MertEndpoint iso-one
            @(([System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'MertEndpoint').Assemblies | Where-Object { `$_.GetName().Name -in 'MertEndpoint.Core', 'Polly.Core' } | ForEach-Object Location) | ConvertTo-Json -Compress"
        $dependencies = Join-Path (Split-Path $modulePath) 'dependencies'
        Test-Path (Join-Path $dependencies "$native/MertEndpoint.Core.dll") | Should -BeTrue -Because "build.ps1 adds the precompiled copies for $native"

        $loaded = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $probe.Replace('MODULE', $modulePath) | Out-String | ConvertFrom-Json
        @($loaded | Sort-Object) | Should -Be @((Join-Path $dependencies "$native/MertEndpoint.Core.dll"), (Join-Path $dependencies "$native/Polly.Core.dll"))

        # The same module without the folder (what any other runtime or platform sees): the IL copies, and it works.
        $copy = Join-Path ([IO.Path]::GetTempPath()) "mert-il-only-$([guid]::NewGuid().ToString('n'))"
        try {
            Copy-Item (Split-Path $modulePath) $copy -Recurse
            Remove-Item (Join-Path $copy "dependencies/$native") -Recurse
            $loaded = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $probe.Replace('MODULE', (Join-Path $copy 'MertEndpoint.psd1')) | Out-String | ConvertFrom-Json
            @($loaded | Sort-Object) | Should -Be @((Join-Path $copy 'dependencies/MertEndpoint.Core.dll'), (Join-Path $copy 'dependencies/Polly.Core.dll'))
        }
        finally { Remove-Item $copy -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'Core''s public types are still found by name, as on Windows PowerShell (PowerShell 7 looks only in the default context)' {
        [MertEndpoint.EndpointStatus]::Running | Should -Be 'Running'
        Get-MertEndpoint iso-one | Should -BeOfType ([MertEndpoint.EndpointInfo])
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext([MertEndpoint.EndpointInfo].Assembly).Name | Should -Be 'MertEndpoint'
    }
}
