# Test has its own build (out/test, through MERT_BUILD_OUT): `build.ps1 Package` run in the same clone while a pwsh
# holds Test's module imported rebuilds and packs Build's out/ and breaks nothing that Test loaded.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    $script:emulator = Start-TestEmulator

    function Invoke-Niced([string[]] $ArgumentList, [int] $TimeoutSec) {
        # Invoke-ChildPwsh, at the lowest CPU priority (nice 19 on Linux and macOS, inherited by every process it
        # starts; Idle on Windows, which its children inherit too).
        $info = if ($IsWindows) { [Diagnostics.ProcessStartInfo]::new($ChildHost) } else { [Diagnostics.ProcessStartInfo]::new('nice') }
        $arguments = @($ChildPrefix) + @('-NoProfile', '-NonInteractive') + $ArgumentList
        if (-not $IsWindows) { $arguments = @('-n', '19', $ChildHost) + $arguments }
        foreach ($a in $arguments) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true; $info.UseShellExecute = $false
        $info.Environment['UseSharedCompilation'] = 'false'
        $info.Environment['MSBUILDDISABLENODEREUSE'] = '1'
        $null = $info.Environment.Remove('MERT_BUILD_OUT')
        $process = [Diagnostics.Process]::Start($info)
        if ($IsWindows) { $process.PriorityClass = 'Idle' }
        $stderr = $process.StandardError.ReadToEndAsync()
        $stdout = $process.StandardOutput.ReadToEnd()
        if (-not $process.WaitForExit($TimeoutSec * 1000)) { $process.Kill($true); throw "build.ps1 did not finish within $TimeoutSec s." }
        [pscustomobject]@{ ExitCode = $process.ExitCode; Output = $stdout + $stderr.Result }
    }
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

            # At the lowest priority, with its own compiler processes (not the shared compiler server, which may already
            # run at normal priority), so the compile takes only idle CPU and leaves the timing of the other Pester pass,
            # which runs meanwhile, alone.
            $package = Invoke-Niced -TimeoutSec 900 -ArgumentList '-File', (Join-Path $repoRoot 'build.ps1'), 'Package'
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
