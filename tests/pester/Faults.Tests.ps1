# Issue 11: every fault survived, every bad input refused. What a user meets, against the emulator's fault rules.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    $emulator = Start-TestEmulator -BootSeconds 0.5
    $module = $ModuleManifest

    function Invoke-Child([string] $Script) {
        # A fresh pwsh running a script file (-File), as a scheduler runs one; the emulator settings are inherited.
        $file = Join-Path ([IO.Path]::GetTempPath()) "mert-child-$([guid]::NewGuid().ToString('n')).ps1"
        Set-Content -Path $file -Value ("Import-Module '$module'`n" + $Script)
        $self = Get-Process -Id $PID
        $pre = @(if ($self.ProcessName -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        try {
            $output = & $self.Path @pre -NoProfile -NonInteractive -File $file 2>&1 | Out-String
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $output }
        }
        finally { Remove-Item $file -ErrorAction SilentlyContinue }
    }

    function Add-PauseFault([string] $Name, [int] $Status = 503, $RetryAfter = $null, $Count = $null) {
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = "/v2/endpoint/emulator-user/$Name/pause"; status = $Status; count = $Count; retryAfterSeconds = $RetryAfter }
    }

    function Add-NeverHealthy([string] $Name) {
        # The container never answers its health route: a start waits until it is cancelled or times out.
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = "/endpoints/emulator-user/$Name/health"; status = 503; count = $null }
    }

    function Wait-Until([scriptblock] $Condition, [int] $Seconds = 30) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Condition not met within $Seconds s: $Condition" }
            Start-Sleep -Milliseconds 100
        }
    }

    function Get-Requests([string] $Method, [string] $PathLike) {
        @(Get-RequestLog $emulator | Where-Object { $_.method -eq $Method -and $_.path -like $PathLike })
    }

    function New-PausedEndpoint([string] $Name) {
        $null = New-TestEndpoint $Name
        Stop-MertEndpoint $Name -Confirm:$false
    }
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'The pause this module owes' {
    BeforeEach { Reset-Emulator $emulator }

    It 'item 3: a pwsh -File script with $ErrorActionPreference Stop whose Use block succeeds and whose final pause keeps failing exits non-zero, naming the stop command' {
        New-PausedEndpoint f-ok
        Add-PauseFault f-ok 503
        $child = Invoke-Child "`$ErrorActionPreference = 'Stop'`nUse-MertEndpoint f-ok -OwedPauseTimeoutSec 3 { 'block ran' }`n'REACHED-THE-END'"
        $child.ExitCode | Should -Not -Be 0
        $child.Output | Should -Match 'block ran'
        $child.Output | Should -Not -Match 'REACHED-THE-END'
        $child.Output | Should -Match 'MAY STILL BE BILLING'
        ($child.Output -replace '\s+', ' ') | Should -Match 'Stop-MertEndpoint f-ok -Namespace emulator-user'
        (Get-MertEndpoint f-ok).Status | Should -Be 'Running' -Because 'the error told the truth'
    }

    It 'item 3: with a block that throws, $Error holds both the block''s error and EndpointStillBilling' {
        New-PausedEndpoint f-throw
        Add-PauseFault f-throw 503
        $child = Invoke-Child @'
$ErrorActionPreference = 'Stop'
try { Use-MertEndpoint f-throw -OwedPauseTimeoutSec 3 { throw 'job crashed' } } catch { 'CAUGHT: ' + $_.FullyQualifiedErrorId }
'IDS: ' + (($Error | ForEach-Object { $_.FullyQualifiedErrorId }) -join ' | ')
'@
        $ids = ($child.Output -split "`n" | Where-Object { $_ -like 'IDS: *' })
        $ids | Should -Match 'EndpointStillBilling,'
        $ids | Should -Match 'job crashed'
    }

    It 'item 3: in a hosted runspace and in a thread job the still-billing error is in the error stream, not only on a host' {
        New-PausedEndpoint f-hosted
        Add-PauseFault f-hosted 503
        $ps = [PowerShell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$module'; Use-MertEndpoint f-hosted -OwedPauseTimeoutSec 2 { throw 'job crashed' }")
            try { $null = $ps.Invoke() } catch { $null = $_ } # the block's own error ends the script
            @($ps.Streams.Error | Where-Object { $_.FullyQualifiedErrorId -like 'EndpointStillBilling,*' }).Count | Should -Be 1
        }
        finally { $ps.Dispose() }

        $job = Start-ThreadJob { param($m) Import-Module $m; Use-MertEndpoint f-hosted -OwedPauseTimeoutSec 2 { 'ok' } } -ArgumentList $module
        $null = $job | Wait-Job -Timeout 60 | Receive-Job -ErrorVariable jobErrors -ErrorAction SilentlyContinue
        $job | Remove-Job -Force
        @($jobErrors | Where-Object { $_.FullyQualifiedErrorId -like 'EndpointStillBilling,*' }).Count | Should -Be 1
    }

    It 'item 1: Ctrl+C during a start whose safety pause fails leaves EndpointStillBilling in $Error (Start and Use)' {
        foreach ($case in @(
                @{ Name = 'f-cancel-start'; Command = 'Start-MertEndpoint f-cancel-start -OwedPauseTimeoutSec 2 -TimeoutSec 120' }
                @{ Name = 'f-cancel-use'; Command = 'Use-MertEndpoint f-cancel-use -OwedPauseTimeoutSec 2 -TimeoutSec 120 { ''never runs'' }' })) {
            New-PausedEndpoint $case.Name
            Add-NeverHealthy $case.Name
            Add-PauseFault $case.Name 500
            $ps = [PowerShell]::Create()
            try {
                $null = $ps.AddScript("Import-Module '$module'; $($case.Command)")
                $handle = $ps.BeginInvoke()
                Wait-Until { (Get-MertEndpoint $case.Name).Status -eq 'Running' }
                $ps.Stop()
                $handle.IsCompleted | Should -BeTrue
                $ps.Commands.Clear()
                $null = $ps.AddScript('@($Error | Where-Object { $_.FullyQualifiedErrorId -like "EndpointStillBilling*" } | ForEach-Object { $_.Exception.Message })')
                $messages = @($ps.Invoke())
                $messages.Count | Should -Be 1 -Because "$($case.Command) was stopped while its pause kept failing"
                $messages[0] | Should -Match "Stop-MertEndpoint $($case.Name) -Namespace emulator-user"
            }
            finally { $ps.Dispose() }
        }
    }

    It 'item 4: exit 3 inside a Use block leaves with 3 after the endpoint is paused' {
        New-PausedEndpoint f-exit
        $child = Invoke-Child "Use-MertEndpoint f-exit { 'in block'; exit 3 }`n'REACHED-THE-END'"
        $child.ExitCode | Should -Be 3
        $child.Output | Should -Match 'in block'
        $child.Output | Should -Not -Match 'REACHED-THE-END'
        (Get-MertEndpoint f-exit).Status | Should -Be 'Paused'

        # Only exit leaves: a block that breaks out, or runs a native command, lets the script go on.
        $child = Invoke-Child "Use-MertEndpoint f-exit { 'in block'; break }`nUse-MertEndpoint f-exit { & '$((Get-Process -Id $PID).Path)' --version > `$null; 'native ran' }`n'REACHED-THE-END'"
        $child.ExitCode | Should -Be 0
        $child.Output | Should -Match 'REACHED-THE-END'
    }
}

Describe '-TimeoutSec bounds the whole command' {
    BeforeEach { Reset-Emulator $emulator }

    It 'item 5: Retry-After 3600 on every GET cannot stretch Start -TimeoutSec 30: it fails at once with RateLimited saying when to try again' {
        # Changed deliberately by issue 19: the start no longer waits out its timeout (WaitTimeout); nothing may be sent
        # before the time the service named, and that time is past the start's deadline.
        $null = New-TestEndpoint f-slow
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/emulator-user/f-slow'; status = 429; retryAfterSeconds = 3600; count = $null }
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Start-MertEndpoint f-slow -TimeoutSec 30 -ErrorVariable slowErrors -ErrorAction SilentlyContinue
        $watch.Stop()
        $slowErrors[0].FullyQualifiedErrorId | Should -BeLike 'RateLimited,*'
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 15 -Because 'it took 120 s before (four retries of 30 s), then the whole -TimeoutSec (a second or so idle; room for a loaded machine)'
        "$($slowErrors[0])" | Should -Match 'Retry-After'
        "$($slowErrors[0])" | Should -Match 'Try again after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC'
    }

    It 'item 5: a hung control plane cannot stretch it either' {
        $null = New-TestEndpoint f-hung
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/emulator-user/f-hung'; status = $null; delayMs = 600000; count = $null }
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Start-MertEndpoint f-hung -TimeoutSec 3 -ErrorVariable hungErrors -ErrorAction SilentlyContinue
        $watch.Stop()
        $hungErrors[0].FullyQualifiedErrorId | Should -BeLike 'WaitTimeout,*'
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 25 -Because 'one attempt alone may take 30 s'
    }
}

Describe 'Invoke-MertEndpoint stops at the first output write failure' {
    BeforeEach { Reset-Emulator $emulator }

    It 'item 10: with a file in the way of the output folder, it stops instead of computing answers to throw away' {
        $null = New-TestEndpoint f-out
        $work = Join-Path ([IO.Path]::GetTempPath()) "mert-out-$([guid]::NewGuid().ToString('n'))"
        $null = New-Item -ItemType Directory -Path "$work/in"
        try {
            foreach ($i in 1..20) { Set-Content -Path "$work/in/$i.wav" -Value "audio $i" }
            Set-Content -Path "$work/out" -Value 'a file, not a folder'
            { Get-ChildItem "$work/in" -File | Invoke-MertEndpoint f-out -OutDirectory "$work/out" -BaseDirectory "$work/in" -ThrottleLimit 2 } |
                Should -Throw -ErrorId 'OutputWriteFailed*'
            @(Get-Requests POST '/endpoints/emulator-user/f-out*').Count | Should -BeLessThan 10 -Because 'all 20 were sent and thrown away before'
        }
        finally { Remove-Item $work -Recurse -Force }
    }
}

Describe 'Bad input is refused before anything is sent' {
    BeforeEach { Reset-Emulator $emulator }

    It 'item 12: a base URL with user:password is refused without printing the password; a query is refused' {
        $saved = $env:MERT_ENDPOINT_API_URL
        try {
            $env:MERT_ENDPOINT_API_URL = $saved -replace '^http://', 'http://someone:pa55word@'
            { Get-MertEndpoint -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidConfiguration,*'
            $Error[0].ToString() | Should -Not -Match 'pa55word'
            $env:MERT_ENDPOINT_API_URL = "$saved`?x=1"
            { Get-MertEndpoint -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidConfiguration,*'
            $Error[0].ToString() | Should -Match 'query'
        }
        finally { $env:MERT_ENDPOINT_API_URL = $saved }
    }

    It 'item 13: an empty -Token is an error even with HF_TOKEN set; a token with a line break gets a clear error' {
        { Get-MertEndpoint -Token ([securestring]::new()) -ErrorAction Stop } | Should -Throw -ErrorId 'TokenNotFound,*'
        $broken = ConvertTo-SecureString "hf_two`nlines" -AsPlainText -Force
        { Get-MertEndpoint -Token $broken -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidToken,*'
        $Error[0].ToString() | Should -Match 'from -Token has a line break'
        $Error[0].ToString() | Should -Not -Match 'lines'
    }

    It 'item 14: . and .. are refused in -Namespace, and nothing is deleted' {
        $null = New-TestEndpoint f-dots
        { Remove-MertEndpoint -Name emulator-user -Namespace . -Force -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
        { Get-MertEndpoint f-dots -Namespace .. -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
        Get-Requests DELETE '*' | Should -BeNullOrEmpty
    }

    It 'item 14: a -Route cannot leave the endpoint''s URL; a -HealthRoute with .. is refused' {
        $null = New-TestEndpoint f-route
        { Invoke-MertEndpoint f-route -Body @{ a = 1 } -Route '/../../../v2/endpoint/emulator-user/f-route/pause' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument,*'
        (Get-MertEndpoint f-route).Status | Should -Be 'Running'
        Get-Requests POST '*/pause' | Should -BeNullOrEmpty
        $creates = @(Get-Requests POST '/v2/endpoint/emulator-user').Count
        New-MertEndpoint f-health -ImageUrl 'someone/img:1' -HealthRoute '/../health' -Confirm:$false -ErrorVariable healthErrors -ErrorAction SilentlyContinue
        $healthErrors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        @(Get-Requests POST '/v2/endpoint/emulator-user').Count | Should -Be $creates
    }

    It 'item 15: -Env keys that are empty or hold =, $null values, and a -Body deeper than the converter''s limit are errors, never sent' {
        foreach ($env in @(@{ '' = 'x' }, @{ 'A=B' = '1' }, @{ A = $null })) {
            New-MertEndpoint f-env -ImageUrl 'someone/img:1' -Env $env -Confirm:$false -ErrorVariable envErrors -ErrorAction SilentlyContinue
            $envErrors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        }
        New-MertEndpoint f-env -ImageUrl 'someone/img:1' -Secret @{ 'KEY=1' = 's' } -Confirm:$false -ErrorVariable secretErrors -ErrorAction SilentlyContinue
        $secretErrors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        Get-Requests POST '/v2/endpoint/emulator-user' | Should -BeNullOrEmpty

        $null = New-TestEndpoint f-deep
        $body = @{}; $node = $body
        foreach ($i in 1..105) { $child = @{}; $node.x = $child; $node = $child }
        { Invoke-MertEndpoint f-deep -Body $body -ErrorAction Stop -WarningAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
        Get-Requests POST '/endpoints/emulator-user/f-deep*' | Should -BeNullOrEmpty
    }
}

Describe 'The usage history under faults (issue 11, items 7 and 9)' {
    BeforeEach { Reset-Emulator $emulator }

    It 'item 7: a line with "t": null is skipped; Get-MertEndpoint and Get-MertEndpointCost still work' {
        $null = New-TestEndpoint f-null
        Add-Content -Path $env:MERT_ENDPOINT_HISTORY_PATH -Value '{"t":null,"api":"x","ns":"emulator-user","name":"f-null","state":"running","replicas":1}'
        (Get-MertEndpoint f-null -ErrorAction Stop).Name | Should -Be 'f-null'
        (Get-MertEndpointCost f-null -ErrorAction Stop).Name | Should -Be 'f-null'
    }

    It 'item 9: when the history cannot be written, Get-MertEndpointCost says its figures are incomplete' {
        $null = New-TestEndpoint f-incomplete
        $lock = "$($env:MERT_ENDPOINT_HISTORY_PATH).lock"
        Remove-Item $lock -ErrorAction SilentlyContinue
        $null = New-Item -ItemType Directory -Path $lock # nothing can take the history's lock, so nothing is written
        try {
            $cost = Get-MertEndpointCost f-incomplete -WarningVariable costWarnings -WarningAction SilentlyContinue
            $cost.Name | Should -Be 'f-incomplete'
            "$costWarnings" | Should -MatchExactly 'These cost figures are INCOMPLETE'
        }
        finally { Remove-Item $lock -Recurse -Force }
    }

    It 'a Get whose process ends while another holds the history''s lock leaves its reading in the spool at once, and the next write writes it' {
        $null = New-TestEndpoint f-handoff
        # A history of its own, which has never seen f-handoff: the child's reading is a change to record.
        $saved = $env:MERT_ENDPOINT_HISTORY_PATH
        $env:MERT_ENDPOINT_HISTORY_PATH = $history = Join-Path $TestDrive "handoff-$([guid]::NewGuid().ToString('n')).jsonl"
        try {
            $null = New-Item -ItemType File -Path "$history.lock" -Force
            $lock = [IO.FileStream]::new("$history.lock", 'Open', 'ReadWrite', 'None') # another process holds it (a compaction, say)
            try {
                $watch = [Diagnostics.Stopwatch]::StartNew()
                $child = Invoke-Child "(Get-MertEndpoint f-handoff).Status`n'REACHED-THE-END'"
                $released = [DateTimeOffset]::UtcNow
                $child.Output | Should -Match 'running'
                $child.Output | Should -Match 'REACHED-THE-END'
                $child.Output | Should -Not -Match 'WARNING' # handed over on purpose: nothing to say
                $child.ExitCode | Should -Be 0
                # A write waits up to 10 s for the lock; the child's Get waited for none of it, nor did its exit.
                $watch.Elapsed.TotalSeconds | Should -BeLessThan 9
                @(Get-ChildItem "$history.pending" -Filter *.jsonl).Count | Should -Be 1
            }
            finally { $lock.Dispose() }
            # The next write, in any process (this one), writes the spool first, dated as the child saw it; so does
            # Get-MertEndpointHistory, which writes nothing of its own, before it reads.
            $first = Get-MertEndpointHistory f-handoff | Select-Object -First 1
            @(Get-ChildItem "$history.pending" -Filter *.jsonl -ErrorAction SilentlyContinue).Count | Should -Be 0
            $first.State | Should -Be 'running'
            $first.Latest | Should -BeLessThan $released
        }
        finally { $env:MERT_ENDPOINT_HISTORY_PATH = $saved }
    }
}
