# The contracts the core redesign set: one identity as every error's target, Remove's two questions, the usage
# history shared by several processes, and per-runspace state in Use-MertEndpoint.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    $emulator = Start-TestEmulator -BootSeconds 1
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'Errors carry the endpoint''s identity' {
    BeforeEach { Reset-Emulator $emulator }

    It 'the target of every endpoint error is a MertEndpoint.EndpointId that prints as ns/name' {
        Get-MertEndpoint missing-one -ErrorAction SilentlyContinue -ErrorVariable e1
        Stop-MertEndpoint missing-two -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e2
        Get-MertEndpoint 'Bad_Name!' -ErrorAction SilentlyContinue -ErrorVariable e3
        $e1[0].TargetObject | Should -BeOfType MertEndpoint.EndpointId
        "$($e1[0].TargetObject)" | Should -Be 'emulator-user/missing-one'
        "$($e2[0].TargetObject)" | Should -Be 'emulator-user/missing-two'
        $e2[0].FullyQualifiedErrorId | Should -BeLike 'EndpointNotFound,*'
        $e3[0].TargetObject.Name | Should -Be 'Bad_Name!'
        $e3[0].FullyQualifiedErrorId | Should -BeLike 'InvalidEndpointName,*'
    }

    It 'a start that times out and is paused again keeps the status code and names the endpoint' {
        $slow = Start-TestEmulator -BootSeconds 30
        try {
            $null = New-MertEndpoint slow-one -ImageUrl 'someone/img:1' -Confirm:$false
            Stop-MertEndpoint slow-one -Confirm:$false
            Wait-Until { (Get-MertEndpoint slow-one -ErrorAction SilentlyContinue).Status -eq 'Paused' }
            Start-MertEndpoint slow-one -TimeoutSec 1 -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -BeLike 'WaitTimeout,*'
            "$($err[0].TargetObject)" | Should -Be 'emulator-user/slow-one'
            $err[0].Exception.Message | Should -Match 'paused again'
            $err[0].Exception.Target.Name | Should -Be 'slow-one'
            $err[0].Exception.InnerException | Should -BeOfType MertEndpoint.EndpointException
            Wait-Until { (Get-MertEndpoint slow-one).Status -eq 'Paused' }
        }
        finally {
            Stop-TestEmulator $slow
            Use-MertEmulatorEnvironment $emulator -Token $TestToken
        }
    }
}

Describe 'Namespaces and qualified names' {
    BeforeEach { Reset-Emulator $emulator }

    It 'a namespace the token cannot use is named as such, with the token''s own namespaces, not blamed on the token' {
        Get-MertEndpoint -Namespace someone-else -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'Unauthorized,*'
        $err[0].Exception.Message | Should -Match "not one the token can use"
        $err[0].Exception.Message | Should -Match "'emulator-user'"
        $err[0].Exception.Message | Should -Match "'lab'"
        $err[0].Exception.Message | Should -Not -Match 'Check the token'
    }

    It 'Get-MertEndpointCost -Namespace * covers every namespace and never sends *' {
        $null = New-MertEndpoint cost-star -ImageUrl 'someone/img:1' -Confirm:$false
        $costs = Get-MertEndpointCost -Namespace '*' -WarningAction SilentlyContinue
        $costs.Name | Should -Contain 'cost-star'
        Get-RequestLog $emulator | Where-Object { $_.path -match '\*|%2A' } | Should -BeNullOrEmpty
    }
}

Describe 'Remove-MertEndpoint asks as Az does' {
    BeforeEach {
        Reset-Emulator $emulator
        $null = New-MertEndpoint doomed -ImageUrl 'someone/img:1' -Confirm:$false
        Wait-Until { Get-MertEndpoint doomed -ErrorAction SilentlyContinue }
    }

    It 'without -Force in a session that cannot prompt, refuses with ConfirmationRequired and says what to pass' {
        # This test run is -NonInteractive, as a scheduled script is.
        { Remove-MertEndpoint doomed -ErrorAction Stop } | Should -Throw -ErrorId 'ConfirmationRequired,*'
        try { Remove-MertEndpoint doomed -ErrorAction Stop } catch { $_.Exception.Message | Should -Match '-Force' ; $_.Exception.Message | Should -Match '-Confirm:\$false' }
        (Get-MertEndpoint doomed).Name | Should -Be 'doomed'
        Get-RequestLog $emulator | Where-Object method -eq 'DELETE' | Should -BeNullOrEmpty
    }
}

Describe 'Use-MertEndpoint state belongs to its runspace' {
    BeforeEach { Reset-Emulator $emulator }

    It 'HF_ENDPOINT_URL holds the URL while one endpoint is in use, is removed while two overlap, and comes back afterwards' {
        $one = New-TestEndpoint use-one
        $null = New-TestEndpoint use-two
        $env:HF_ENDPOINT_URL = 'before'
        try {
            $seen = Use-MertEndpoint use-one -KeepIfRunning {
                $env:HF_ENDPOINT_URL
                Use-MertEndpoint use-two -KeepIfRunning { "inner:$env:HF_ENDPOINT_URL" }
                $env:HF_ENDPOINT_URL
            }
            $seen[0] | Should -Be $one.Url
            $seen[1] | Should -Be 'inner:' -Because 'a child process could not tell which of two endpoints it belongs to'
            $seen[2] | Should -Be $one.Url
            $env:HF_ENDPOINT_URL | Should -Be 'before'
        }
        finally { Remove-Item Env:HF_ENDPOINT_URL -ErrorAction SilentlyContinue }
    }
}

Describe 'The usage history' {
    BeforeEach { Reset-Emulator $emulator }

    It 'an unwritable history is one warning per command, naming the file, and the command still works' {
        $saved = $env:MERT_ENDPOINT_HISTORY_PATH
        $blocked = Join-Path ([IO.Path]::GetTempPath()) "mert-blocked-$([guid]::NewGuid().ToString('n'))"
        $null = New-Item -ItemType Directory -Path $blocked
        try {
            $env:MERT_ENDPOINT_HISTORY_PATH = $blocked
            $null = New-MertEndpoint warn-a -ImageUrl 'someone/img:1' -Confirm:$false -WarningVariable w1 -WarningAction SilentlyContinue
            $null = New-MertEndpoint warn-b -ImageUrl 'someone/img:1' -Confirm:$false -WarningAction SilentlyContinue
            Wait-Until { @(Get-MertEndpoint -WarningAction SilentlyContinue).Count -eq 2 }
            $list = Get-MertEndpoint -WarningVariable w2 -WarningAction SilentlyContinue
            @($list).Count | Should -Be 2
            @($w1).Count | Should -Be 1
            @($w2).Count | Should -Be 1
            "$($w2[0])" | Should -Match ([regex]::Escape($blocked))
        }
        finally {
            $env:MERT_ENDPOINT_HISTORY_PATH = $saved
            Remove-Item $blocked -Recurse -Force
        }
    }

    It 'four processes starting, stopping and reading at once, with compactions between, one with its clock 10 minutes ahead, still match the meter' {
        $slow = Start-TestEmulator -BootSeconds 3
        $history = $env:MERT_ENDPOINT_HISTORY_PATH
        # multi-1's process runs with its wall clock 10 minutes ahead (Linux: a shim preloaded into it moves
        # CLOCK_REALTIME, built here with gcc, which the machine has): it dates its records on the service's clock (the
        # Date of the emulator's answers), so they line up with the others' after the fact.
        $ahead = @{}
        if ($IsLinux) {
            $shim = Join-Path $TestDrive 'clock-ahead.so'
            & gcc -shared -fPIC -O2 -o $shim (Join-Path $PSScriptRoot 'clock-ahead.c') -ldl
            $LASTEXITCODE | Should -Be 0 -Because 'gcc builds the clock shim'
            $ahead = @{ LD_PRELOAD = $shim; MERT_TEST_CLOCK_AHEAD_SECONDS = '600' }
        }
        try {
            foreach ($k in 1..4) { $null = New-MertEndpoint "multi-$k" -ImageUrl 'someone/img:1' -Confirm:$false }
            $null = 1..4 | ForEach-Object { "multi-$_" } | Wait-MertEndpoint -TimeoutSec 30
            1..4 | ForEach-Object { "multi-$_" } | Stop-MertEndpoint -Confirm:$false
            $module = $ModuleManifest
            $env:MERT_ENDPOINT_HISTORY_COMPACT_BYTES = '1500'
            $procs = foreach ($k in 1..4) {
                # Each says what its clock read (Unix seconds) first, on its standard output.
                $script = "[DateTimeOffset]::UtcNow.ToUnixTimeSeconds(); Import-Module '$module'; foreach (`$i in 1..2) { `$null = Start-MertEndpoint multi-$k -Confirm:`$false; `$null = Get-MertEndpoint; Start-Sleep -Milliseconds 700; `$null = Get-MertEndpoint multi-*; Stop-MertEndpoint multi-$k -Confirm:`$false; `$null = Get-MertEndpoint }"
                $environment = if ($k -eq 1) { $ahead } else { @{} }
                Start-Process -FilePath (Get-Process -Id $PID).Path -ArgumentList @(
                    if ((Get-Process -Id $PID).ProcessName -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }
                    '-NoProfile', '-NonInteractive', '-Command', $script) -PassThru -Environment $environment `
                    -RedirectStandardOutput (Join-Path $TestDrive "multi-$k.out") -RedirectStandardError (Join-Path $TestDrive "multi-$k.err")
            }
            $procs | Wait-Process -Timeout 120
            foreach ($k in 1..4) { $procs[$k - 1].ExitCode | Should -Be 0 -Because (Get-Content -Raw (Join-Path $TestDrive "multi-$k.err")) }
            Remove-Item Env:MERT_ENDPOINT_HISTORY_COMPACT_BYTES
            if ($IsLinux) {
                $read = [long](Get-Content (Join-Path $TestDrive 'multi-1.out') -TotalCount 1)
                ($read - [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()) | Should -BeGreaterThan 500 -Because 'multi-1 ran with its clock 10 minutes ahead'
            }
            # No record is dated ahead of this (right) clock: multi-1's are on the service's.
            $latest = [DateTimeOffset]::UtcNow.AddSeconds(5)
            foreach ($line in Get-Content $history | Where-Object { $_ -match '"t":"([^"]+)"' }) {
                $null = $line -match '"t":"([^"]+)"'
                [DateTimeOffset]::Parse($Matches[1], [cultureinfo]::InvariantCulture) | Should -BeLessThan $latest -Because $line
            }

            (Get-Content $history -TotalCount 1) | Should -Match '^\{"v":2,"generation"' -Because 'a compaction ran'
            foreach ($k in 1..4) {
                $meter = Get-Billing $slow "multi-$k"
                $cost = Get-MertEndpointCost "multi-$k"
                $cost.CurrentlyBilling | Should -BeFalse -Because "multi-$k"
                Assert-CostMatchesMeter $cost $meter -Because "multi-$k billed $($meter.billedSeconds) s by the meter; the history says $($cost.BilledTime.TotalSeconds) s in [$($cost.BilledTimeLow.TotalSeconds), $($cost.BilledTimeHigh.TotalSeconds)]"
            }
        }
        finally {
            Remove-Item Env:MERT_ENDPOINT_HISTORY_COMPACT_BYTES -ErrorAction SilentlyContinue
            Stop-TestEmulator $slow
            Use-MertEmulatorEnvironment $emulator -Token $TestToken
        }
    }
}
