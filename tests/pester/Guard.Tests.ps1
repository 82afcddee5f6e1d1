# examples/guard.ps1 as a scheduler runs it: a fresh pwsh -File, output redirected, judged by its exit code and log.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    $script:emulator = Start-TestEmulator -BootSeconds 0.5
    $script:guard = Join-Path $repoRoot 'examples/guard.ps1'
    $script:module = $ModuleDir

    function Invoke-Guard([string[]] $Arguments) {
        Invoke-ChildPwsh -ArgumentList (@('-File', $guard, '-ModulePath', $module) + $Arguments)
    }

    $null = New-MertEndpoint guard-over -ImageUrl someone/mert:latest -Confirm:$false
    $null = New-MertEndpoint guard-keep -ImageUrl someone/mert:latest -Tag keep-running -Confirm:$false
    $null = New-MertEndpoint guard-skip -ImageUrl someone/mert:latest -Confirm:$false
    $null = New-MertEndpoint guard-lab -ImageUrl someone/mert:latest -Namespace lab -Confirm:$false
    $script:all = @(
        @{ Name = 'guard-over'; Namespace = 'emulator-user' }, @{ Name = 'guard-keep'; Namespace = 'emulator-user' }
        @{ Name = 'guard-skip'; Namespace = 'emulator-user' }, @{ Name = 'guard-lab'; Namespace = 'lab' }
    )
    foreach ($e in $all) { $null = Wait-MertEndpoint $e.Name -Namespace $e.Namespace -TimeoutSec 60 }
    # The threshold used below is 2 s: wait until every endpoint has billed well past it (a condition, not a guess).
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while (@(Get-MertEndpoint -Namespace '*' -BilledLongerThan 00:00:04).Count -lt 4 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 250 }
    $script:exempt = @('-Exclude', 'guard-sk*', '-BilledLongerThan', '00:00:02')
}

AfterAll { Stop-TestEmulator $script:emulator }

Describe 'The scheduled guard' {
    It 'exits 0 and says so when nothing has billed for longer than the threshold' {
        $r = Invoke-Guard '-BilledLongerThan', '01:00:00'
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match 'nothing has billed for longer than 01:00:00'
    }

    It '-WhatIf lists what it would pause, with who last changed it, honours -Exclude and the keep-running tag, and pauses nothing' {
        $r = Invoke-Guard ($exempt + '-WhatIf')
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match 'over: emulator-user/guard-over is Running, billed for .*, last changed by emulator-user'
        $r.Output | Should -Match 'over: lab/guard-lab'
        $r.Output | Should -Match "exempt: emulator-user/guard-keep .*tagged 'keep-running'"
        $r.Output | Should -Match "exempt: emulator-user/guard-skip .*excluded by -Exclude 'guard-sk\*'"
        Get-RequestLog $emulator | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/pause' } | Should -BeNullOrEmpty
    }

    It 'exits 20 and never claims all is well when a check failed' {
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/lab'; status = 503; count = $null }
        try { $r = Invoke-Guard '-BilledLongerThan', '01:00:00' }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Match 'check failed: .*lab'
        $r.Output | Should -Not -Match 'nothing has billed'
        $r.Output | Should -Match 'may still be billing'
        $r.Output | Should -Not -Match "`e\[" -Because 'redirected output is plain text'
    }

    It 'exits 20 naming an organization whose listing answered 403; every log line starts with its UTC time, from a run line to an end line' {
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/lab'; status = 403; count = $null }
        try { $r = Invoke-Guard '-BilledLongerThan', '01:00:00' }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Not -Match 'nothing has billed'
        $lines = @("$($r.Output)" -split "`r?`n" | Where-Object { $_.Trim() })
        foreach ($line in $lines) { $line | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ guard: ' }
        $lines[0] | Should -Match 'guard: run: MertEndpoint \d+\.\d+\.\d+, namespace\(s\) \*, threshold 01:00:00\.$'
        $lines[-1] | Should -Match 'guard: end: 0 over the threshold, 0 paused, not read: lab; exit 20\.$'
    }

    It 'exits 20 when an endpoint could not be stopped, and still pauses the others' {
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = '/v2/endpoint/lab/guard-lab/pause'; status = 500; count = $null }
        try { $r = Invoke-Guard $exempt }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Match 'could not stop: .*guard-lab'
        $r.Output | Should -Match 'paused emulator-user/guard-over'
        (Get-MertEndpoint guard-over).Status | Should -Be 'Paused'
        (Get-MertEndpoint guard-lab -Namespace lab).Status | Should -Be 'Running'
    }

    It 'exits 10 (an alert) when it paused something, and names whom to tell' {
        $r = Invoke-Guard $exempt
        $r.ExitCode | Should -Be 10 -Because $r.Output
        $r.Output | Should -Match 'paused lab/guard-lab; last 24 h: .*Tell emulator-user'
        (Get-MertEndpoint guard-lab -Namespace lab).Status | Should -Be 'Paused'
        (Get-MertEndpoint guard-keep).Status | Should -Be 'Running'
        (Get-MertEndpoint guard-skip).Status | Should -Be 'Running'
        $r.Output | Should -Not -Match "`e\["
    }

    It 'exits 20, not PowerShell''s 1, when the module path is broken' {
        $r = Invoke-ChildPwsh -ArgumentList '-File', $guard, '-ModulePath', (Join-Path $TestDrive 'no-such-module')
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Match 'could not load the module'
    }

    It 'exits 20 when there is no token: nothing could be checked' {
        $r = Invoke-ChildPwsh -ArgumentList '-File', $guard, '-ModulePath', $module -Environment @{
            HF_TOKEN = $null; HUGGING_FACE_HUB_TOKEN = $null; HF_TOKEN_PATH = (Join-Path $TestDrive 'no-token'); HF_HOME = $TestDrive
        }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Match 'guard: failed: .*token'
    }
}
