# The demo (build.ps1 Demo) leaves no trace: run with its home, data, cache and temporary folders pointed into a
# sandbox and none of the module's settings inherited, it writes nothing anywhere once it is done but what pwsh
# itself keeps (its own caches under powershell/), and redirected, its output is plain text.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    $script:sandbox = Join-Path ([IO.Path]::GetTempPath()) "mert-demo-sandbox-$([guid]::NewGuid().ToString('n'))"
    $script:fakeHome = Join-Path $sandbox 'home'
    $script:temp = Join-Path $sandbox 'tmp'
    $null = New-Item -ItemType Directory -Path $fakeHome, $temp
    # Windows keeps the per-user data folder where no variable moves it: there, the real one must not change.
    $script:realData = if ($IsWindows) { Join-Path ([Environment]::GetFolderPath('LocalApplicationData')) 'MertEndpoint' }
    function Get-Listing([string] $Path) {
        if ($Path -and (Test-Path $Path)) { @(Get-ChildItem $Path -Recurse -Force | ForEach-Object { "$($_.FullName) $($_.LastWriteTimeUtc.Ticks)" }) } else { @() }
    }
    $before = Get-Listing $realData
    $environment = @{
        HOME = $fakeHome; USERPROFILE = $fakeHome; LOCALAPPDATA = (Join-Path $fakeHome 'AppData/Local'); APPDATA = (Join-Path $fakeHome 'AppData/Roaming')
        XDG_DATA_HOME = $null; XDG_CACHE_HOME = $null; XDG_CONFIG_HOME = $null
        TMPDIR = $temp; TEMP = $temp; TMP = $temp
        # What the tests set for themselves: the demo must set its own.
        MERT_ENDPOINT_CACHE_DIR = $null; MERT_ENDPOINT_HISTORY_PATH = $null; MERT_ENDPOINT_API_URL = $null; HF_ENDPOINT = $null; HF_TOKEN = $null
    }
    $script:run = Invoke-ChildPwsh -Environment $environment -TimeoutSec 180 -ArgumentList '-File', (Join-Path $repoRoot 'examples/demo.ps1'), '-ModulePath', $ModuleDir
    $script:after = Get-Listing $realData
    $script:before = $before
}

AfterAll { Remove-Item $script:sandbox -Recurse -Force -ErrorAction SilentlyContinue }

Describe 'The demo, redirected, in a sandboxed home' {
    It 'runs the main job to the end' {
        $run.ExitCode | Should -Be 0 -Because $run.Output
        $run.Output | Should -Match "The emulator's own billing meter says"
    }

    It 'writes plain text: no escape character in its redirected output' {
        $run.Output.IndexOf([char]27) | Should -Be -1
    }

    It 'leaves no file in the temporary folder, and none in the home but pwsh''s own' {
        @(Get-ChildItem $temp -Recurse -Force | ForEach-Object FullName) | Should -BeNullOrEmpty
        $own = [regex]::Escape([IO.Path]::DirectorySeparatorChar + 'powershell')
        @(Get-ChildItem $fakeHome -Recurse -Force -File | ForEach-Object FullName | Where-Object { $_.Substring($fakeHome.Length) -notmatch $own }) |
            Should -BeNullOrEmpty
        @(Get-ChildItem $fakeHome -Recurse -Force -Directory | Where-Object Name -eq 'MertEndpoint') | Should -BeNullOrEmpty
    }

    It 'leaves the real per-user data folder as it was (Windows, where no variable moves it)' -Skip:(-not $IsWindows) {
        $after | Should -Be $before
    }
}
