BeforeAll {
    . $PSScriptRoot/Common.ps1
    $emulator = Start-TestEmulator -BootSeconds 1
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'Set-MertEndpoint' {
    BeforeEach { Reset-Emulator $emulator }

    It 'sends only what was given: the environment and image survive a replica change' {
        $null = New-MertEndpoint set-me -ImageUrl 'someone/img:1' -Env @{ KEEP = 'me' } -Confirm:$false
        $e = Set-MertEndpoint set-me -MaxReplica 3 -Confirm:$false
        $e.MaxReplica | Should -Be 3
        $e.Env['KEEP'] | Should -Be 'me'
        $e.ImageUrl | Should -Be 'someone/img:1'
        $e.MinReplica | Should -Be 0
    }

    It 'changes the image with -ImageUrl and keeps the port and health route' {
        $null = New-MertEndpoint set-img -ImageUrl 'someone/img:1' -Port 9000 -HealthRoute '/ready' -Confirm:$false
        $e = Set-MertEndpoint set-img -ImageUrl 'someone/img:2' -Confirm:$false
        $e.ImageUrl | Should -Be 'someone/img:2'
        $e.HealthRoute | Should -Be '/ready'
    }

    It 'raising the minimum clears the stored scale-to-zero timeout' {
        $null = New-MertEndpoint set-min -ImageUrl 'someone/img:1' -Confirm:$false
        $e = Set-MertEndpoint set-min -MinReplica 1 -Confirm:$false
        $e.MinReplica | Should -Be 1
        $e.ScaleToZeroTimeout | Should -BeNullOrEmpty
    }

    It '-ThrottleLimit alone is not a change' {
        Set-MertEndpoint set-nothing -ThrottleLimit 4 -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NoChange,*'
    }

    It '-WhatIf sends no PUT' {
        $null = New-MertEndpoint set-whatif -ImageUrl 'someone/img:1' -Confirm:$false
        Set-MertEndpoint set-whatif -MaxReplica 2 -WhatIf
        Get-RequestLog $emulator | Where-Object method -eq 'PUT' | Should -BeNullOrEmpty
        (Get-MertEndpoint set-whatif).MaxReplica | Should -Be 1
    }

    It 'refuses a call with nothing to change' {
        Set-MertEndpoint set-nothing -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NoChange,*'
    }

    It 'passes the service''s refusal on: a scale-to-zero timeout needs min replicas 0' {
        $null = New-MertEndpoint set-bad -ImageUrl 'someone/img:1' -Confirm:$false
        Set-MertEndpoint set-bad -MinReplica 1 -ScaleToZeroTimeout 10 -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidRequest,*'
    }
}

Describe 'Prices' {
    BeforeEach { Reset-Emulator $emulator }

    It 'Get-MertEndpointHardware lists the catalog with prices, filtered' {
        $t4 = Get-MertEndpointHardware nvidia-t4 -Region us-east-1 | Where-Object InstanceSize -eq 'x1'
        $t4 | Should -BeOfType MertEndpoint.HardwareInfo
        $t4.PricePerHour | Should -Be 0.5
        @(Get-MertEndpointHardware -Accelerator cpu).InstanceType | Sort-Object -Unique | Should -Be 'intel-spr'
        (Get-MertEndpointHardware | Out-String) | Should -Match 'nvidia-a10g x1'
    }

    It 'Get-MertEndpoint carries the price per hour and how long the endpoint has billed' {
        $null = New-TestEndpoint priced
        Start-Sleep -Milliseconds 500
        $e = Get-MertEndpoint priced
        $e.PricePerHour | Should -Be 1.0
        $e.BilledSince | Should -Not -BeNullOrEmpty
        $e.BilledFor.TotalSeconds | Should -BeGreaterThan 0.5
        $e.BilledFor.TotalSeconds | Should -BeLessThan 30
        Stop-MertEndpoint priced -Confirm:$false
        (Get-MertEndpoint priced).BilledSince | Should -BeNullOrEmpty
    }
}
