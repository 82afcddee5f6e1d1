BeforeAll {
    . $PSScriptRoot/Common.ps1
    # One emulator minute lasts one second here, so -IdleTimeoutMinutes 2 means two seconds of idleness.
    $emulator = Start-TestEmulator -BootSeconds 1 -Extra '--seconds-per-minute', '1'

    function Assert-MeterStopped($Name, [double] $AtThrow) {
        # The meter must have stopped within 2 s of the end of the work, and must not move afterwards.
        $b1 = (Get-Billing $emulator $Name).billedSeconds
        Start-Sleep -Milliseconds 700
        $b2 = (Get-Billing $emulator $Name).billedSeconds
        $b2 | Should -Be $b1 -Because 'a paused endpoint bills nothing'
        ($b1 - $AtThrow) | Should -BeLessOrEqual 2 -Because 'billing must stop within 2 s of the end of the work'
        Wait-Until { (Get-MertEndpoint $Name).Status -eq 'Paused' }
    }
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'Use-MertEndpoint stops the endpoint in every case' {
    BeforeEach { Reset-Emulator $emulator }

    It 'runs the block with the ready endpoint, writes its output, sets HF_ENDPOINT_URL, then pauses' {
        $null = New-TestEndpoint use-ok
        Stop-MertEndpoint use-ok -Confirm:$false
        $out = Use-MertEndpoint use-ok { param($e) $e.Status; $env:HF_ENDPOINT_URL; $e.Url; 'done' }
        $out[0] | Should -Be 'Running'
        $out[1] | Should -Match "^$([regex]::Escape($emulator.Url))/"
        $out[1] | Should -Be $out[2]
        $out[3] | Should -Be 'done'
        $env:HF_ENDPOINT_URL | Should -BeNullOrEmpty
        Wait-Until { (Get-MertEndpoint use-ok).Status -eq 'Paused' }
    }

    It 'streams the block''s output as it comes, and passes its errors on' {
        $null = New-TestEndpoint use-stream
        $seen = Use-MertEndpoint use-stream -KeepIfRunning {
            'first'; Start-Sleep -Milliseconds 1200; Write-Error 'soft failure'; 'second'
        } -ErrorVariable blockErrors -ErrorAction SilentlyContinue | ForEach-Object { [pscustomobject]@{ Value = $_; At = [DateTime]::UtcNow } }
        $items = @($seen | Where-Object { $_.Value -is [string] })
        $items.Value | Should -Be @('first', 'second')
        ($items[1].At - $items[0].At).TotalSeconds | Should -BeGreaterThan 1 -Because 'the first item reached the pipeline before the block went on'
        @($blockErrors).Count | Should -Be 1
        "$($blockErrors[0])" | Should -Be 'soft failure'
    }

    It 'pauses when the block throws, and the meter stops within 2 seconds' {
        $null = New-TestEndpoint use-throw
        Stop-MertEndpoint use-throw -Confirm:$false
        $script:atThrow = $null
        { Use-MertEndpoint use-throw { $script:atThrow = (Get-Billing $emulator use-throw).billedSeconds; throw 'job crashed' } } |
            Should -Throw '*job crashed*'
        Assert-MeterStopped use-throw $script:atThrow
    }

    It 'pauses when the block is stopped from another runspace, as Ctrl+C does' {
        $null = New-TestEndpoint use-stop
        Stop-MertEndpoint use-stop -Confirm:$false
        $ps = [PowerShell]::Create()
        $null = $ps.AddScript("Import-Module '$ModuleManifest'; Use-MertEndpoint use-stop { Start-Sleep -Seconds 60 }")
        $handle = $ps.BeginInvoke()
        Wait-Until { (Get-MertEndpoint use-stop).Status -eq 'Running' }
        Start-Sleep -Milliseconds 500
        $atStop = (Get-Billing $emulator use-stop).billedSeconds
        $ps.Stop()
        $handle.IsCompleted | Should -BeTrue
        $ps.Dispose()
        Assert-MeterStopped use-stop $atStop
    }

    It 'reports EndpointFailed and runs no block when the image fails' {
        $null = New-MertEndpoint use-fail -ImageUrl 'someone/fail-image:latest' -Confirm:$false
        # A start before a read shows the new endpoint: Lifecycle.Tests.ps1, 'starts an endpoint right after creating it'.
        Wait-Until { Get-MertEndpoint use-fail -ErrorAction SilentlyContinue }
        $script:ran = $false
        { Use-MertEndpoint use-fail { $script:ran = $true } -ErrorAction Stop } | Should -Throw -ErrorId 'EndpointFailed,*'
        $script:ran | Should -BeFalse
        $b1 = (Get-Billing $emulator use-fail).billedSeconds
        Start-Sleep -Milliseconds 700
        (Get-Billing $emulator use-fail).billedSeconds | Should -Be $b1
    }

    It 'pauses again when the start fails after the resume (the scaling restore is refused)' {
        $null = New-TestEndpoint use-restore-fails
        Stop-MertEndpoint use-restore-fails -Confirm:$false
        Add-Fault $emulator @{ method = 'PUT'; pathPrefix = '/v2/endpoint/emulator-user/use-restore-fails'; status = 400; count = $null }
        { Use-MertEndpoint use-restore-fails { 'never runs' } -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidRequest,*'
        Wait-Until { (Get-MertEndpoint use-restore-fails).Status -eq 'Paused' }
        $b1 = (Get-Billing $emulator use-restore-fails).billedSeconds
        Start-Sleep -Milliseconds 700
        (Get-Billing $emulator use-restore-fails).billedSeconds | Should -Be $b1
    }

    It 'with -IdleTimeoutMinutes on a running shared endpoint, the block gets it running and it stays running' {
        $null = New-TestEndpoint use-shared-idle
        $status = Use-MertEndpoint use-shared-idle -IdleTimeoutMinutes 20 -KeepIfRunning { param($e) $e.Status }
        $status | Should -Be 'Running'
        $e = Get-MertEndpoint use-shared-idle
        $e.Status | Should -BeIn 'Running', 'Updating'
        $e.MinReplica | Should -Be 0
        $e.ScaleToZeroTimeout | Should -Be 20
    }

    It 'leaves an endpoint that was already running running with -KeepIfRunning' {
        $null = New-TestEndpoint use-shared
        Use-MertEndpoint use-shared -KeepIfRunning { 'work' } | Should -Be 'work'
        (Get-MertEndpoint use-shared).Status | Should -Be 'Running'
    }

    It 'scales to zero with -AfterAction ScaleToZero' {
        $null = New-TestEndpoint use-s2z
        Stop-MertEndpoint use-s2z -Confirm:$false
        Use-MertEndpoint use-s2z -AfterAction ScaleToZero { } | Should -BeNullOrEmpty
        Wait-Until { (Get-MertEndpoint use-s2z).Status -eq 'ScaledToZero' }
    }
}

Describe 'Safety nets' {
    BeforeEach { Reset-Emulator $emulator }

    It 'restores the replica settings that resume resets' {
        $null = New-MertEndpoint restore -ImageUrl 'someone/img:1' -MaxReplica 3 -ScaleToZeroTimeout 30 -Confirm:$false
        $null = Wait-MertEndpoint restore
        Stop-MertEndpoint restore -Confirm:$false
        $e = Start-MertEndpoint restore -Confirm:$false
        $e.MinReplica | Should -Be 0
        $e.MaxReplica | Should -Be 3
        $e.ScaleToZeroTimeout | Should -Be 30
    }

    It 'a start stopped as Ctrl+C stops it tells the host that the endpoint was paused again' {
        . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
        # A boot long enough that the start is still waiting when it is stopped.
        $slow = Start-TestEmulator -BootSeconds 15
        try {
            $null = New-MertEndpoint ctrl-c -ImageUrl 'someone/img:1' -Confirm:$false
            Stop-MertEndpoint ctrl-c -Confirm:$false
            Wait-Until { (Get-MertEndpoint ctrl-c -ErrorAction SilentlyContinue).Status -eq 'Paused' }   # past a lagging read of the create
            $child = Invoke-ChildPwsh -ArgumentList '-File', (Join-Path $PSScriptRoot 'fixtures/StopStart.ps1'), $ModuleManifest, 'ctrl-c' -TimeoutSec 120
            $child.ExitCode | Should -Be 0 -Because $child.Output
            $child.Output | Should -Match 'stopped: True'
            # The pipeline was closed, so the line went to the host: the only way someone who pressed Ctrl+C hears it.
            $child.Output | Should -Match 'ctrl-c: the start was cancelled\. It was paused again so that it stops billing'
            $child.Output | Should -Not -Match $TestToken
            Wait-Until { (Get-MertEndpoint ctrl-c).Status -eq 'Paused' }
        }
        finally {
            Stop-TestEmulator $slow
            Use-MertEmulatorEnvironment $emulator -Token $TestToken
        }
    }

    It 'with -IdleTimeoutMinutes, killing the pwsh process mid-block lets the service scale to zero by itself' {
        $null = New-TestEndpoint idle-net
        Stop-MertEndpoint idle-net -Confirm:$false
        $pwsh = (Get-Process -Id $PID).Path
        $pre = if ([IO.Path]::GetFileNameWithoutExtension($pwsh) -eq 'dotnet') { @("$PSHOME/pwsh.dll") } else { @() }
        $script = "Import-Module '$ModuleManifest'; Use-MertEndpoint idle-net -IdleTimeoutMinutes 2 { Start-Sleep -Seconds 120 }"
        $child = Start-Process -FilePath $pwsh -ArgumentList (@($pre) + @('-NoProfile', '-Command', $script)) -PassThru
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            do { Start-Sleep -Milliseconds 200; $e = Get-MertEndpoint idle-net }
            until (($e.Status -eq 'Running' -and $e.MinReplica -eq 0 -and $e.ScaleToZeroTimeout -eq 2) -or [DateTime]::UtcNow -gt $deadline)
            $e.Status | Should -Be 'Running'
            $e.ScaleToZeroTimeout | Should -Be 2
        }
        finally { $child.Kill(); $child.WaitForExit() }
        $killedAt = (Get-Billing $emulator idle-net).billedSeconds
        $deadline = [DateTime]::UtcNow.AddSeconds(15)
        while ((Get-MertEndpoint idle-net).Status -ne 'ScaledToZero' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
        (Get-MertEndpoint idle-net).Status | Should -Be 'ScaledToZero'
        $billedAfterKill = (Get-Billing $emulator idle-net).billedSeconds - $killedAt
        $billedAfterKill | Should -BeLessOrEqual 3 -Because 'at most the (2 s) idle timeout, plus a second of slack, bills after the process dies'
    }
}

Describe 'Spend' {
    BeforeEach { Reset-Emulator $emulator }

    It 'Get-MertEndpointCost agrees with the emulator''s meter (within 2 percent, or inside its bounds)' {
        # A boot long enough for the waiter's control-plane polls to see 'initializing', as with real cold starts.
        $slow = Start-TestEmulator -BootSeconds 3
        try {
            $null = New-TestEndpoint cost-a
            Start-Sleep -Seconds 2
            Stop-MertEndpoint cost-a -Confirm:$false
            $null = Start-MertEndpoint cost-a -Confirm:$false
            Start-Sleep -Seconds 2
            Stop-MertEndpoint cost-a -Confirm:$false
            $meter = Get-Billing $slow cost-a
            $cost = Get-MertEndpointCost cost-a
            $cost | Should -BeOfType MertEndpoint.EndpointCost
            $cost.CurrentlyBilling | Should -BeFalse
            $cost.PricePerHour | Should -Be 1.0
            $cost.PriceSource | Should -Be 'catalog'
            Assert-CostMatchesMeter $cost $meter
        }
        finally {
            Stop-TestEmulator $slow
            Use-MertEmulatorEnvironment $emulator -Token $TestToken
        }
    }

    It 'the command that sees a scale-up reads the replica list once, the history keeps its starts, and the cost matches the meter' {
        # Four data-plane requests within a service minute (5 s here) start a second replica; it stops a minute after the
        # last, so it is still in the replica list when a lagging read (the pessimistic mode's 1.5 s) first shows it.
        $multi = Start-TestEmulator -BootSeconds 3 -Extra '--seconds-per-minute', '5', '--scale-up-requests', '3'
        try {
            $null = New-MertEndpoint multi -ImageUrl 'someone/img:1' -MaxReplica 2 -Confirm:$false
            $url = (Wait-MertEndpoint multi -TimeoutSec 30).Url
            Start-Sleep -Seconds 1.5
            $null = Get-MertEndpoint multi     # a sighting with one replica, well before the load
            Start-Sleep -Seconds 1
            1..6 | ForEach-Object { $null = Invoke-RestMethod -Method Post -Uri "$url/" -Headers @{ Authorization = "Bearer $TestToken" } -ContentType 'application/json' -Body '{"inputs":"x"}' }
            $extra = Get-MertEndpointReplica multi | Sort-Object StartedAt | Select-Object -Last 1
            $listsBefore = @(Get-RequestLog $multi | Where-Object path -like '*/replica').Count
            Wait-Until { (Get-MertEndpoint multi).TargetReplica -eq 2 }
            $null = Get-MertEndpoint multi     # the same two replicas again: nothing more to read
            @(Get-RequestLog $multi | Where-Object path -like '*/replica').Count - $listsBefore | Should -Be 1 -Because 'one replica list per scale-up seen'
            $records = @(Get-Content $env:MERT_ENDPOINT_HISTORY_PATH | ConvertFrom-Json | Where-Object { $_.name -eq 'multi' -and $_.replicas -eq 2 })
            $records[0].src | Should -Be 'read'    # the change, as the read placed it
            $list = @($records | Where-Object src -eq 'replicas')
            $list | Should -HaveCount 1
            # The new replica's start, kept on this clock (the emulator's is the same one), to place the change by.
            @($list[0].starts | Where-Object { ([DateTimeOffset]$_ - $extra.StartedAt).Duration().TotalSeconds -lt 0.05 }) | Should -HaveCount 1
            $null = Get-MertEndpointCost multi
            @(Get-RequestLog $multi | Where-Object path -like '*/replica').Count - $listsBefore | Should -Be 1 -Because 'the report reads what the history already holds'
            Wait-Until { (Get-MertEndpoint multi).TargetReplica -eq 1 }
            Stop-MertEndpoint multi -Confirm:$false
            Start-Sleep -Seconds 2   # past a lagging read of the pause
            Assert-CostMatchesMeter (Get-MertEndpointCost multi) (Get-Billing $multi multi)
        }
        finally {
            Stop-TestEmulator $multi
            Use-MertEmulatorEnvironment $emulator -Token $TestToken
        }
    }

    It 'the guard lists exactly the endpoints over the threshold with -WhatIf, and stops exactly those without it' {
        $null = New-TestEndpoint guard-paused
        Stop-MertEndpoint guard-paused -Confirm:$false
        $null = New-TestEndpoint guard-old
        Start-Sleep -Seconds 12
        $null = New-TestEndpoint guard-new
        $guard = Join-Path $ModuleDir 'guard.ps1'
        # The threshold sits halfway between the two ages, read just before each run: a loaded machine
        # may take seconds to start the guard's process, and that must not move guard-new over it.
        function Get-Midpoint {
            $ages = @('guard-old', 'guard-new' | ForEach-Object { (Get-MertEndpoint $_).BilledFor.TotalSeconds })
            $ages[0] - $ages[1] | Should -BeGreaterThan 10 -Because 'guard-old started 12 s before guard-new'
            [TimeSpan]::FromSeconds([math]::Round(($ages[0] + $ages[1]) / 2))
        }

        $whatIf = & $guard -BilledLongerThan (Get-Midpoint) -Namespace emulator-user -ModulePath $ModuleDir -WhatIf 6>&1 | Out-String
        $LASTEXITCODE | Should -Be 0
        $whatIf | Should -Match 'guard-old'
        $whatIf | Should -Not -Match 'guard-new'
        (Get-MertEndpoint guard-old).Status | Should -Be 'Running'
        Get-RequestLog $emulator | Where-Object { $_.path -like '*/pause' -and $_.path -notlike '*guard-paused*' } | Should -BeNullOrEmpty

        $run = & $guard -BilledLongerThan (Get-Midpoint) -Namespace emulator-user -ModulePath $ModuleDir 6>&1 | Out-String
        $LASTEXITCODE | Should -Be 10
        $run | Should -Match 'paused emulator-user/guard-old'
        $run | Should -Not -Match 'guard-new'
        Wait-Until { (Get-MertEndpoint guard-old).Status -eq 'Paused' }
        (Get-MertEndpoint guard-new).Status | Should -Be 'Running'
    }
}
