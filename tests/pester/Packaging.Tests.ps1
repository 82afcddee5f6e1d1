# The module as PowerShell users install it: a .nupkg in a local folder repository, installed with PSResourceGet
# into a throw-away home (so the user's own module folders and repository list are never touched), then imported
# by name in a fresh pwsh.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    # The default readings in either pass: nothing here depends on them, and build.ps1 Test runs this file in the
    # pessimistic pass to keep the two passes level.
    $script:emulator = Start-TestEmulator -DefaultReadings
    $script:work = Join-Path ([IO.Path]::GetTempPath()) "mert-package-$([guid]::NewGuid().ToString('n'))"
    $script:repo = Join-Path $work 'repo'
    $script:fakeHome = Join-Path $work 'home'
    $null = New-Item -ItemType Directory -Path $repo, $fakeHome
    # The same step as `build.ps1 Package`, on the module this test run built.
    Compress-PSResource -Path $ModuleDir -DestinationPath $repo
    # PSResourceGet and pwsh derive the user's repository list and module folder from HOME on Linux and macOS.
    $script:isolated = @{ HOME = $fakeHome; XDG_DATA_HOME = $null; XDG_CONFIG_HOME = $null; XDG_CACHE_HOME = $null }
}

AfterAll {
    Stop-TestEmulator $script:emulator
    if ($script:work) { Remove-Item $script:work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Install from a local feed' -Skip:$IsWindows {
    It 'packs a .nupkg named after the manifest version' {
        $version = (Import-PowerShellDataFile ($ModuleManifest)).ModuleVersion
        Test-Path (Join-Path $repo "MertEndpoint.$version.nupkg") | Should -BeTrue
    }

    It 'Install-PSResource installs it and a fresh pwsh imports it by name and runs a cmdlet' {
        $install = Invoke-ChildPwsh -Environment $isolated -ArgumentList '-Command', @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name MertLocal -Uri '$repo' -Trusted
Install-PSResource MertEndpoint -Repository MertLocal -Scope CurrentUser
"@
        $install.ExitCode | Should -Be 0 -Because $install.Output

        $use = Invoke-ChildPwsh -Environment $isolated -ArgumentList '-Command', @'
$ErrorActionPreference = 'Stop'
Import-Module MertEndpoint
"base=$((Get-Module MertEndpoint).ModuleBase)"
"cmdlets=$((Get-Command -Module MertEndpoint).Count)"
"synopsis=$((Get-Help Start-MertEndpoint).Synopsis)"
"a10g=$(@(Get-MertEndpointHardware -InstanceType nvidia-a10g).Count)"
'@
        $use.ExitCode | Should -Be 0 -Because $use.Output
        $base = ($use.Output -split "`n" | Where-Object { $_ -like 'base=*' }) -replace '^base=', ''
        $base.Trim() | Should -BeLike "$fakeHome*"
        $manifest = Import-PowerShellDataFile (Join-Path $repoRoot 'MertEndpoint.psd1')
        $use.Output | Should -Match "cmdlets=$($manifest.CmdletsToExport.Count + $manifest.FunctionsToExport.Count)"
        $use.Output | Should -Match 'synopsis=\w'
        $use.Output | Should -Match 'a10g=[1-9]'
    }

    It 'the scheduled guard ships in the package and runs from the installed module with no clone, as docs/USAGE.md shows' {
        # Runs after the install above (Pester keeps the order of It blocks). The script is found the way the docs
        # say, in the installed module's folder; nothing of this repository is on the command line.
        $find = Invoke-ChildPwsh -Environment $isolated -ArgumentList '-Command', '(Get-Module -ListAvailable MertEndpoint)[0].ModuleBase'
        $base = ($find.Output -split "`n" | Where-Object { $_.Trim() } | Select-Object -First 1).Trim()
        $base | Should -BeLike "$fakeHome*"
        $script = Join-Path $base 'guard.ps1'
        $guard = Invoke-ChildPwsh -Environment $isolated -ArgumentList '-File', $script, '-BilledLongerThan', '02:00:00'
        $guard.ExitCode | Should -Be 0 -Because $guard.Output
        $guard.Output | Should -Match 'nothing has billed for longer than 02:00:00'
        $guard.Output | Should -Match "run: MertEndpoint $([regex]::Escape("$((Import-PowerShellDataFile $ModuleManifest).ModuleVersion)"))"

        # The command itself, for a scheduler's one-liner: its result carries the exit code.
        $command = Invoke-ChildPwsh -Environment $isolated -ArgumentList '-Command', 'exit (Invoke-MertEndpointGuard -BilledLongerThan 02:00:00).ExitCode'
        $command.ExitCode | Should -Be 0 -Because $command.Output
        $command.Output | Should -Match 'guard: end: .*exit 0\.'
    }
}

Describe 'The manifest' {
    BeforeAll { $script:manifest = Import-PowerShellDataFile ($ModuleManifest) }

    It 'exports exactly the cmdlets the assembly defines' {
        $assembly = [MertEndpoint.PowerShell.ModuleInit].Assembly
        $defined = $assembly.GetTypes() | ForEach-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) } |
            ForEach-Object { "$($_.VerbName)-$($_.NounName)" } | Sort-Object
        $manifest.CmdletsToExport | Sort-Object | Should -Be $defined
    }

    It 'names no project URL (the project has no public home yet)' {
        $manifest.PrivateData.PSData.Keys | Should -Not -Contain 'ProjectUri'
        $manifest.Keys | Should -Not -Contain 'HelpInfoURI'
    }

    It 'lists every format and type file it ships' {
        foreach ($file in @($manifest.FormatsToProcess) + @($manifest.TypesToProcess) | Where-Object { $_ }) {
            Test-Path (Join-Path $ModuleDir $file) | Should -BeTrue -Because $file
        }
    }
}
