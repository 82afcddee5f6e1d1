# The endings a scheduler or a closed terminal gives a process, sent to a real child pwsh (the pwsh process itself,
# not a `dotnet pwsh` wrapper): a pause the process owes is paid, each endpoint gets a line on stderr, and the process
# exits 128 + the signal number. Unix signals: these tests need Linux or macOS.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    # How a process ends does not depend on the service's readings: pinned, so it may run in either Pester pass.
    $script:emulator = Start-TestEmulator -BootSeconds 0.5 -DefaultReadings

    function Start-HeldChild {
        # A child pwsh that runs $Command and prints READY once the endpoint is held; returns the process and its
        # output collectors. stdin is redirected too, as under cron or systemd (no console to type Ctrl+C in).
        param([string] $Command)
        # A process tree started in the background by a non-interactive shell ignores SIGINT, one started by nohup
        # ignores SIGHUP, and a child inherits that (.NET then keeps it ignored): coreutils' env puts the defaults back
        # and execs pwsh (the same process id).
        $resetSignals = $false
        if ($IsLinux -and (Test-Path /usr/bin/env)) { & /usr/bin/env --default-signal=INT,HUP,TERM true 2>$null; $resetSignals = $LASTEXITCODE -eq 0 }
        $info = [Diagnostics.ProcessStartInfo]::new($(if ($resetSignals) { '/usr/bin/env' } else { $script:ChildHost }))
        if ($resetSignals) { $info.ArgumentList.Add('--default-signal=INT,HUP,TERM'); $info.ArgumentList.Add($script:ChildHost) }
        $module = $ModuleDir
        foreach ($a in @($script:ChildPrefix) + @('-NoProfile', '-NonInteractive', '-Command', "Import-Module '$module'; $Command")) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true
        $info.RedirectStandardError = $true
        $info.RedirectStandardInput = $true
        $info.UseShellExecute = $false
        $process = [Diagnostics.Process]::Start($info)
        # Read without scriptblock delegates (they would need a runspace on the reading thread): stderr whole at the
        # end, stdout a line at a time as Wait-ChildLine polls.
        [pscustomobject]@{ Process = $process; Out = [Collections.Generic.List[string]]::new(); Pending = $process.StandardOutput.ReadLineAsync(); Err = $process.StandardError.ReadToEndAsync() }
    }

    function Read-ChildOutput {
        param($Child)
        while ($Child.Pending -and $Child.Pending.IsCompleted) {
            $line = $Child.Pending.Result
            if ($null -eq $line) { $Child.Pending = $null; break }
            $Child.Out.Add($line)
            $Child.Pending = $Child.Process.StandardOutput.ReadLineAsync()
        }
    }

    function Wait-ChildLine {
        param($Child, [string] $Pattern, [int] $TimeoutSec = 60)
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        while ($true) {
            Read-ChildOutput $Child
            if (@($Child.Out) -match $Pattern) { return }
            if ($Child.Process.HasExited -and -not $Child.Pending) { throw "The child ended (exit $($Child.Process.ExitCode)) before '$Pattern': $(@($Child.Out) -join "`n") $($Child.Err.Result)" }
            if ([DateTime]::UtcNow -gt $deadline) { $Child.Process.Kill($true); throw "No '$Pattern' from the child within $TimeoutSec s: $(@($Child.Out) -join "`n")" }
            Start-Sleep -Milliseconds 100
        }
    }

    function Send-Signal {
        # To the pwsh process itself; returns its exit code and everything it wrote, within a generous bound.
        param($Child, [string] $Signal)
        & kill -s $Signal $Child.Process.Id
        if (-not $Child.Process.WaitForExit(30000)) {
            # Say what the child had written: the only evidence of where it was stuck.
            $Child.Process.Kill($true)
            $null = $Child.Err.Wait(5000)
            Read-ChildOutput $Child
            throw "The child did not end within 30 s of $Signal. stdout: $(@($Child.Out) -join ' / ') stderr: $(if ($Child.Err.IsCompleted) { $Child.Err.Result })"
        }
        if (-not $Child.Err.Wait(10000)) { throw 'The child closed, but its stderr did not.' }
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ($Child.Pending -and [DateTime]::UtcNow -lt $deadline) { Read-ChildOutput $Child; Start-Sleep -Milliseconds 50 }
        [pscustomobject]@{ ExitCode = $Child.Process.ExitCode; Output = (@($Child.Out) -join "`n") + "`n" + $Child.Err.Result; Err = $Child.Err.Result }
    }
}

AfterAll {
    Stop-TestEmulator $script:emulator
}

Describe 'A process told to end pays the pause it owes' -Skip:($IsWindows) {
    It 'SIGTERM during Use-MertEndpoint: the endpoint is paused, stderr names it, exit 143' {
        $null = New-TestEndpoint sig-term
        Stop-MertEndpoint sig-term -Confirm:$false
        $child = Start-HeldChild "Use-MertEndpoint sig-term { 'READY'; Start-Sleep 120 }"
        Wait-ChildLine $child '^READY$'
        (Get-MertEndpoint sig-term).Status | Should -Be 'Running'
        $r = Send-Signal $child TERM
        $r.ExitCode | Should -Be 143 -Because $r.Output
        $r.Err | Should -Match 'sig-term.*: paused on SIGTERM'
        $r.Output | Should -Not -Match $script:TestToken
        (Get-MertEndpoint sig-term).Status | Should -Be 'Paused'
    }

    It 'SIGHUP (a closed terminal or SSH session) during Use-MertEndpoint: paused, exit 129' {
        $null = New-TestEndpoint sig-hup
        Stop-MertEndpoint sig-hup -Confirm:$false
        $child = Start-HeldChild "Use-MertEndpoint sig-hup -AfterAction ScaleToZero { 'READY'; Start-Sleep 120 }"
        Wait-ChildLine $child '^READY$'
        $r = Send-Signal $child HUP
        $r.ExitCode | Should -Be 129 -Because $r.Output
        $r.Err | Should -Match 'sig-hup.*: paused on SIGHUP'
        (Get-MertEndpoint sig-hup).Status | Should -BeIn 'ScaledToZero', 'Paused'
    }

    It 'SIGINT without a console during Use-MertEndpoint: paused, exit 130' {
        $null = New-TestEndpoint sig-int
        Stop-MertEndpoint sig-int -Confirm:$false
        $child = Start-HeldChild "Use-MertEndpoint sig-int { 'READY'; Start-Sleep 120 }"
        Wait-ChildLine $child '^READY$'
        $r = Send-Signal $child INT
        $r.ExitCode | Should -Be 130 -Because $r.Output
        $r.Err | Should -Match 'sig-int.*: paused on SIGINT'
        (Get-MertEndpoint sig-int).Status | Should -Be 'Paused'
    }

    It 'a pause that fails on the way out says MAY STILL BE BILLING, naming the endpoint and the command' {
        $null = New-TestEndpoint sig-fail
        Stop-MertEndpoint sig-fail -Confirm:$false
        $child = Start-HeldChild "Use-MertEndpoint sig-fail { 'READY'; Start-Sleep 120 }"
        Wait-ChildLine $child '^READY$'
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = '/v2/endpoint/emulator-user/sig-fail/pause'; status = 503 }
        try { $r = Send-Signal $child TERM }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 143 -Because $r.Output
        $r.Err | Should -Match 'sig-fail.* MAY STILL BE BILLING: .*Stop-MertEndpoint sig-fail -Namespace emulator-user'
        Stop-MertEndpoint sig-fail -Confirm:$false
    }

    It 'SIGTERM during Start-MertEndpoint''s wait: the endpoint it resumed is paused, stderr names it, exit 143' {
        $null = New-TestEndpoint sig-start
        Stop-MertEndpoint sig-start -Confirm:$false
        # The container never answers its health route: the start waits, holding the endpoint it resumed.
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/endpoints/emulator-user/sig-start/health'; status = 503; count = $null }
        try {
            $child = Start-HeldChild "Start-MertEndpoint sig-start -Verbose 4>&1 | ForEach-Object { if (`"`$_`" -match '^Resumed ') { 'READY' } }"
            Wait-ChildLine $child '^READY$'
            $r = Send-Signal $child TERM
        }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 143 -Because $r.Output
        $r.Err | Should -Match 'sig-start.*: paused on SIGTERM'
        $r.Output | Should -Not -Match $script:TestToken
        Wait-Until { (Get-MertEndpoint sig-start).Status -eq 'Paused' }
    }

    It 'SIGTERM while Stop-MertEndpoint''s pause is unanswered: the pause is sent again at once, stderr says how it ended, exit 143' {
        $null = New-TestEndpoint sig-stop
        # The first pause is held 20 s by the service (it lands only after that): the process is told to end meanwhile.
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = '/v2/endpoint/emulator-user/sig-stop/pause'; delayMs = 20000; count = 1 }
        try {
            $child = Start-HeldChild "'READY'; Stop-MertEndpoint sig-stop -Confirm:`$false"
            Wait-ChildLine $child '^READY$'
            Wait-Until { @(Get-RequestLog $emulator | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/sig-stop/pause' }).Count -ge 1 }
            $r = Send-Signal $child TERM
        }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 143 -Because $r.Output
        $r.Err | Should -Match 'sig-stop.*: paused on SIGTERM'
        Wait-Until { (Get-MertEndpoint sig-stop).Status -eq 'Paused' }
    }

    It 'owing nothing (-AfterAction Leave), SIGTERM takes its usual course: nothing paused, no line' {
        $null = New-TestEndpoint sig-leave
        $child = Start-HeldChild "Use-MertEndpoint sig-leave -AfterAction Leave { 'READY'; Start-Sleep 120 }"
        Wait-ChildLine $child '^READY$'
        $r = Send-Signal $child TERM
        $r.ExitCode | Should -Be 143 -Because $r.Output
        $r.Err | Should -Not -Match 'paused on'
        (Get-MertEndpoint sig-leave).Status | Should -Be 'Running'
        Stop-MertEndpoint sig-leave -Confirm:$false
    }
}

Describe 'A process told to end hands its history writes to the spool' -Skip:($IsWindows) {
    It 'SIGTERM while a Get''s history write waits for the lock: its reading is in the spool, and the process ends as usual (143)' {
        $null = New-TestEndpoint sig-get
        # A history of its own that has never seen sig-get, whose lock another process holds (longer than a write waits).
        $history = Join-Path $TestDrive "sig-get-$([guid]::NewGuid().ToString('n')).jsonl"
        $null = New-Item -ItemType File -Path "$history.lock" -Force
        $lock = [IO.FileStream]::new("$history.lock", 'Open', 'ReadWrite', 'None')
        $saved = $env:MERT_ENDPOINT_HISTORY_PATH
        try {
            $env:MERT_ENDPOINT_HISTORY_PATH = $history
            $child = Start-HeldChild "`$null = Get-MertEndpoint sig-get; 'READY'; Start-Sleep 120"
            $env:MERT_ENDPOINT_HISTORY_PATH = $saved
            Wait-ChildLine $child '^READY$'
            Test-Path "$history.pending" | Should -BeFalse # its write still waits for the lock
            $r = Send-Signal $child TERM
            $r.ExitCode | Should -Be 143 -Because $r.Output
            @(Get-ChildItem "$history.pending" -Filter *.jsonl).Count | Should -Be 1 -Because $r.Output
            Get-Content (Get-ChildItem "$history.pending" -Filter *.jsonl) -Raw | Should -Match '"name":"sig-get"'
        }
        finally { $lock.Dispose(); $env:MERT_ENDPOINT_HISTORY_PATH = $saved }
    }
}

Describe 'A pipeline stopped downstream pauses and lets the script go on' {
    It '$x = Use-MertEndpoint n { 1; 2; 3 } | Select-Object -First 1: $x is 1, the endpoint is paused, the script carries on' {
        $null = New-TestEndpoint sel-first
        Stop-MertEndpoint sel-first -Confirm:$false
        $module = $ModuleDir
        $r = Invoke-ChildPwsh -TimeoutSec 120 -ArgumentList '-Command', @"
Import-Module '$module'
`$x = Use-MertEndpoint sel-first { 1; 2; 3 } | Select-Object -First 1
"x=[`$x]"
"after=`$((Get-MertEndpoint sel-first).Status)"
exit 7
"@
        $r.ExitCode | Should -Be 7 -Because $r.Output
        $r.Output | Should -Match '(?m)^x=\[1\]\s*$'
        $r.Output | Should -Match '(?m)^after=Paused\s*$'
        $r.Output | Should -Not -Match '(?m)^1\s*$' -Because 'the first item belongs in $x, not on the host'
    }
}

Describe 'A block that ignores being stopped: pause first, then wait for it' {
    It '-MaxDuration with a block stuck in a .NET call: the endpoint is paused at the limit, not when the call returns' {
        $null = New-TestEndpoint stuck-block
        Stop-MertEndpoint stuck-block -Confirm:$false
        # The block blocks in a .NET call that ignores being stopped (a read of stdin) until the test writes a line.
        $child = Start-HeldChild "Use-MertEndpoint stuck-block -MaxDuration 00:00:02 { 'READY'; `$null = [Console]::In.ReadLine(); 'RELEASED' }; exit 5"
        try {
            Wait-ChildLine $child '^READY$'
            Wait-Until -TimeoutSec 30 { (Get-MertEndpoint stuck-block).Status -eq 'Paused' }
            $child.Process.HasExited | Should -BeFalse -Because 'the block is still in its read: the pause did not wait for it'
            $child.Process.StandardInput.WriteLine('go')
            if (-not $child.Process.WaitForExit(60000)) { throw 'The child did not end within 60 s of its block being released.' }
            $child.Process.ExitCode | Should -Be 5
        }
        finally { if (-not $child.Process.HasExited) { $child.Process.Kill($true) } }
    }
}

Describe 'A stopped thread job still says what bills' {
    It 'Stop-Job on a thread job whose owed pause fails: the still-billing line reaches stderr, naming the endpoint' {
        $null = New-TestEndpoint tj-stop
        Stop-MertEndpoint tj-stop -Confirm:$false
        $module = $ModuleDir
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = '/v2/endpoint/emulator-user/tj-stop/pause'; status = 503 }
        try {
            $r = Invoke-ChildPwsh -TimeoutSec 120 -ArgumentList '-Command', @"
Import-Module '$module'
`$j = Start-ThreadJob { param(`$m) Import-Module `$m; Use-MertEndpoint tj-stop -OwedPauseTimeoutSec 2 { 'READY'; Start-Sleep 60 } } -ArgumentList '$module'
`$deadline = [DateTime]::UtcNow.AddSeconds(60)
while (-not (@(`$j | Receive-Job -Keep) -contains 'READY')) { if ([DateTime]::UtcNow -gt `$deadline) { 'NO READY'; exit 9 }; Start-Sleep -Milliseconds 100 }
Stop-Job `$j
'STOPPED'
"@
        }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.Output | Should -Match 'STOPPED'
        $r.Output | Should -Match 'tj-stop.* MAY STILL BE BILLING'
        $r.Output | Should -Not -Match $script:TestToken
        Stop-MertEndpoint tj-stop -Confirm:$false
    }
}

Describe 'Unattended safety net' {
    It 'Use-MertEndpoint in a non-interactive pwsh on an endpoint without an idle timeout warns once how to set one' {
        $null = New-TestEndpoint no-idle
        $null = Set-MertEndpoint no-idle -MinReplica 1 -Confirm:$false
        Stop-MertEndpoint no-idle -Confirm:$false
        $module = $ModuleDir
        $r = Invoke-ChildPwsh -TimeoutSec 120 -ArgumentList '-Command', @"
Import-Module '$module'
Use-MertEndpoint no-idle { 'first' } 3>&1
Use-MertEndpoint no-idle { 'second' } 3>&1
"@
        $r.Output | Should -Match 'first'
        $r.Output | Should -Match 'second'
        $warnings = [regex]::Matches($r.Output, 'only the service''s own idle timeout survives')
        $warnings.Count | Should -Be 1 -Because $r.Output
        $r.Output | Should -Match 'Set-MertEndpoint no-idle -Namespace emulator-user -MinReplica 0 -IdleTimeout 00:15:00'
    }
}
