# Test has its own build (out/test, through MERT_BUILD_OUT): `build.ps1 Package` run in the same clone while a pwsh
# holds Test's module imported rebuilds and packs Build's out/ and breaks nothing that Test loaded.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    $script:emulator = Start-TestEmulator
}

AfterAll { Stop-TestEmulator $script:emulator }

Describe 'Package while the tests hold their module' {
    It 'Package passes, and the module the tests imported still works' -Skip:(-not $env:MERT_BUILD_OUT) {
        # A pwsh that imports Test's module and uses it (Core loaded), then waits for a line on stdin.
        $info = [Diagnostics.ProcessStartInfo]::new($ChildHost)
        $script = "Import-Module '$ModuleManifest'; `$null = Get-MertEndpoint; 'ready'; `$null = [Console]::In.ReadLine()
            'created=' + (New-MertEndpoint held-one -ImageUrl 'someone/img:1' -Confirm:`$false).Name
            'base=' + (Get-Module MertEndpoint).ModuleBase
            try { Get-MertEndpoint no-such-endpoint -ErrorAction Stop } catch { 'error=' + `$_.FullyQualifiedErrorId }"
        foreach ($a in @($ChildPrefix) + @('-NoProfile', '-NonInteractive', '-Command', $script)) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardInput = $true; $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true; $info.UseShellExecute = $false
        $held = [Diagnostics.Process]::Start($info)
        try {
            $held.StandardOutput.ReadLine() | Should -Be 'ready'

            $package = Invoke-ChildPwsh -TimeoutSec 600 -Environment @{ MERT_BUILD_OUT = $null } -ArgumentList '-File', (Join-Path $repoRoot 'build.ps1'), 'Package'
            $package.ExitCode | Should -Be 0 -Because $package.Output
            $package.Output | Should -Match 'Package: .*\.nupkg'

            $held.StandardInput.WriteLine('go')
            $stderr = $held.StandardError.ReadToEndAsync()
            $output = $held.StandardOutput.ReadToEnd()
            $held.WaitForExit(60000) | Should -BeTrue
            $held.ExitCode | Should -Be 0 -Because "$output $($stderr.Result)"
            $output | Should -Match ([regex]::Escape("base=$(Split-Path $ModuleManifest)"))
            $output | Should -Match 'created=held-one'
            $output | Should -Match 'error=EndpointNotFound'
            Test-Path $ModuleManifest | Should -BeTrue
        }
        finally { if (-not $held.HasExited) { $held.Kill($true) } }
    }
}
