# examples/embed-folder.ps1 end to end, in a fresh pwsh: one empty file among ten (the emulator answers 400 for an
# empty body), then a rerun after the file is fixed.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    $script:emulator = Start-TestEmulator -BootSeconds 0.5
    $null = New-TestEndpoint embed-run
    Stop-MertEndpoint embed-run -Confirm:$false

    $script:work = Join-Path ([IO.Path]::GetTempPath()) "mert-embed-$([guid]::NewGuid().ToString('n'))"
    $script:audio = Join-Path $work 'audio'
    $script:out = Join-Path $work 'embeddings'
    $null = New-Item -ItemType Directory -Path (Join-Path $audio 'disc2')
    foreach ($i in 1..9) {
        $folder = if ($i -gt 6) { Join-Path $audio 'disc2' } else { $audio }
        [IO.File]::WriteAllBytes((Join-Path $folder "track$i.wav"), [byte[]]@(1..(100 + $i)))
    }
    $script:empty = Join-Path $audio 'track0.wav'
    [IO.File]::WriteAllBytes($empty, [byte[]]@())

    function Invoke-Embed {
        $command = "Import-Module '$ModuleDir'; & '$(Join-Path $repoRoot 'examples/embed-folder.ps1')' embed-run '$audio' '$out' -IdleTimeoutMinutes 5; exit `$LASTEXITCODE"
        Invoke-ChildPwsh -ArgumentList '-Command', $command
    }
    function Get-DataPlanePosts { @(Get-RequestLog $emulator | Where-Object { $_.method -eq 'POST' -and $_.path -like '/endpoints/*' }) }
}

AfterAll {
    Stop-TestEmulator $script:emulator
    if ($script:work) { Remove-Item $script:work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'embed-folder.ps1' {
    It 'carries on past a failed file, prints a summary, exits 2 and leaves the endpoint paused' {
        $r = Invoke-Embed
        $r.ExitCode | Should -Be 2 -Because $r.Output
        $r.Output | Should -Match '9 sent, 0 skipped \(answer already there\), 1 failed, in [\d.]+ s; about \$[\d.]+ billed'
        $r.Output | Should -Match 'track0\.wav'
        $r.Output | Should -Match 'run the same command again'
        @(Get-ChildItem $out -Recurse -Filter *.json).Count | Should -Be 9
        Test-Path (Join-Path $out 'track0.wav.json') | Should -BeFalse
        (Get-MertEndpoint embed-run).Status | Should -Be 'Paused'
        (Get-DataPlanePosts).Count | Should -Be 10
    }

    It 'a rerun sends only the failed file, skips the rest, and exits 0' {
        [IO.File]::WriteAllBytes($empty, [byte[]]@(1..50))
        $before = (Get-DataPlanePosts).Count
        $r = Invoke-Embed
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match '1 sent, 9 skipped \(answer already there\), 0 failed'
        $posts = @(Get-DataPlanePosts | Select-Object -Skip $before)
        $posts.Count | Should -Be 1
        @(Get-ChildItem $out -Recurse -Filter *.json).Count | Should -Be 10
        (Get-MertEndpoint embed-run).Status | Should -Be 'Paused'
    }

    It 'does not start the endpoint when every file already has its answer' {
        $before = @(Get-RequestLog $emulator).Count
        $r = Invoke-Embed
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match 'nothing to send \(10 matching file\(s\) .*embed-run was not started'
        @(Get-RequestLog $emulator | Select-Object -Skip $before | Where-Object { $_.method -eq 'POST' }).Count | Should -Be 0
    }

    It 'exits 3 with a clear line when the endpoint cannot be started' {
        $fresh = Join-Path $work 'fresh-out'
        $command = "Import-Module '$ModuleDir'; & '$(Join-Path $repoRoot 'examples/embed-folder.ps1')' no-such-endpoint '$audio' '$fresh'; exit `$LASTEXITCODE"
        $r = Invoke-ChildPwsh -ArgumentList '-Command', $command
        $r.ExitCode | Should -Be 3 -Because $r.Output
        $r.Output | Should -Match 'the run could not complete: .*no-such-endpoint'
    }

    It 'never says paused when the pause was answered 200 but the endpoint still runs: exits 3 naming it' {
        Remove-Item (Join-Path $out 'track1.wav.json')
        # The pause is answered 200 {} and not carried out, the way a lying proxy or a lost change would.
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = '/v2/endpoint/emulator-user/embed-run/pause'; status = 200; body = '{}'; contentType = 'application/json' }
        try { $r = Invoke-Embed }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 3 -Because $r.Output
        $r.Output | Should -Not -Match 'paused again'
        $r.Output | Should -Match 'embed-run MAY STILL BE BILLING: pause it with: Stop-MertEndpoint embed-run'
        (Get-MertEndpoint embed-run).Status | Should -Not -Be 'Paused'
        Stop-MertEndpoint embed-run -Confirm:$false
    }
}
