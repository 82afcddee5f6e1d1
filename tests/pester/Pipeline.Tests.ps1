BeforeAll {
    . $PSScriptRoot/Common.ps1
    $emulator = Start-TestEmulator
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'Pipelines and ShouldProcess' {
    BeforeEach { Reset-Emulator $emulator }

    It 'Get-MertEndpoint | Stop-MertEndpoint pauses every endpoint' {
        $null = New-TestEndpoint pipe-a
        $null = New-TestEndpoint pipe-b
        Get-MertEndpoint | Stop-MertEndpoint -Confirm:$false
        (Get-MertEndpoint).Status | Should -Be @('Paused', 'Paused')
    }

    It "'a','b' | Start-MertEndpoint -NoWait resumes both and returns at once" {
        $null = New-TestEndpoint a
        $null = New-TestEndpoint b
        Stop-MertEndpoint a, b -Confirm:$false
        $out = 'a', 'b' | Start-MertEndpoint -NoWait -Confirm:$false
        @($out).Count | Should -Be 2
        $out.Status | ForEach-Object { $_ | Should -BeIn 'Pending', 'Initializing' }
        $resumes = Get-RequestLog $emulator | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/resume' }
        @($resumes).Count | Should -Be 2
    }

    It 'binds Name and Namespace by property name from custom objects' {
        $null = New-TestEndpoint prop-a
        $out = [pscustomobject]@{ Name = 'prop-a'; Namespace = 'emulator-user' } | Stop-MertEndpoint -PassThru -Confirm:$false
        $out.Status | Should -Be 'Paused'
    }

    It 'Remove -WhatIf leaves the endpoint; -Confirm:$false deletes it' {
        $null = New-MertEndpoint keep-me -ImageUrl 'someone/img:1' -Confirm:$false
        Remove-MertEndpoint keep-me -WhatIf
        Remove-MertEndpoint keep-me -Force -WhatIf
        (Get-MertEndpoint keep-me).Name | Should -Be 'keep-me'
        Get-RequestLog $emulator | Where-Object method -eq 'DELETE' | Should -BeNullOrEmpty

        Get-MertEndpoint keep-me | Remove-MertEndpoint -Confirm:$false
        @(Get-MertEndpoint).Count | Should -Be 0
    }

    It 'Remove refuses wildcards so a typo never deletes many' {
        $null = New-MertEndpoint wild-a -ImageUrl 'someone/img:1' -Confirm:$false
        Remove-MertEndpoint 'wild-*' -Force -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'WildcardNotAllowed,*'
        @(Get-MertEndpoint).Count | Should -Be 1
    }

    It '-Force never overrides $WhatIfPreference' {
        $null = New-MertEndpoint keep-too -ImageUrl 'someone/img:1' -Confirm:$false
        & { $WhatIfPreference = $true; Remove-MertEndpoint keep-too -Force }
        (Get-MertEndpoint keep-too).Name | Should -Be 'keep-too'
        Get-RequestLog $emulator | Where-Object method -eq 'DELETE' | Should -BeNullOrEmpty
    }

    It 'Stop -WhatIf sends no write' {
        $null = New-TestEndpoint whatif-stop
        Stop-MertEndpoint whatif-stop -WhatIf
        (Get-MertEndpoint whatif-stop).Status | Should -Be 'Running'
        Get-RequestLog $emulator | Where-Object { $_.path -like '*/pause' } | Should -BeNullOrEmpty
    }

    It 'carries on after a per-endpoint error' {
        $null = New-TestEndpoint ok-one
        Stop-MertEndpoint missing-one, ok-one -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        @($err).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EndpointNotFound,*'
        (Get-MertEndpoint ok-one).Status | Should -Be 'Paused'
    }
}

Describe 'Fan-out keeps the single-endpoint behaviour' {
    BeforeAll {
        Reset-Emulator $emulator
        $names = 1..12 | ForEach-Object { 'fan-{0:d2}' -f $_ }
        $names | ForEach-Object { $null = New-MertEndpoint $_ -ImageUrl 'someone/img:1' -Confirm:$false }
        $null = Wait-MertEndpoint $names
    }

    It 'completes -Name with the namespace''s endpoint names' {
        $line = 'Stop-MertEndpoint fan-1'
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $completions | Should -Be @('fan-10', 'fan-11', 'fan-12')
    }

    It 'Wait and Start return one result per endpoint, in input order' {
        $out = $names | Start-MertEndpoint -ThrottleLimit 5 -Confirm:$false
        @($out).Count | Should -Be 12
        $out.Name | Should -Be $names
    }

    It 'keeps -WhatIf: nothing is paused' {
        Get-MertEndpoint fan-* | Stop-MertEndpoint -WhatIf
        Get-RequestLog $emulator | Where-Object { $_.path -like '*/pause' } | Should -BeNullOrEmpty
        @(Get-MertEndpoint fan-* -Status Running).Count | Should -Be 12
    }

    It 'gives one error per failing endpoint and carries on with the rest' {
        $targets = @('fan-01', 'gone-a', 'fan-02', 'gone-b', 'fan-03')
        $out = Stop-MertEndpoint $targets -PassThru -ThrottleLimit 4 -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        @($err).Count | Should -Be 2
        ($err | ForEach-Object { "$($_.TargetObject)" }) | Should -Be @('emulator-user/gone-a', 'emulator-user/gone-b')
        $out.Name | Should -Be @('fan-01', 'fan-02', 'fan-03')
        $out.Status | Sort-Object -Unique | Should -Be 'Paused'
    }

    It 'a downstream Select-Object -First ends the command at once, without waiting for the rest' {
        foreach ($n in 'fan-05', 'fan-06') {
            Add-Fault $emulator @{ method = 'GET'; pathPrefix = "/v2/endpoint/emulator-user/$n"; status = $null; delayMs = 4000; count = $null }
        }
        try {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $first = Stop-MertEndpoint fan-04, fan-05, fan-06 -PassThru -Confirm:$false | Select-Object -First 1
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 3
            $first.Name | Should -Be 'fan-04'
        }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
    }

    It 'Get-MertEndpoint | Stop-MertEndpoint pauses all of them concurrently' {
        $out = Get-MertEndpoint fan-* | Stop-MertEndpoint -PassThru -Confirm:$false
        @($out).Count | Should -Be 12
        @(Get-MertEndpoint fan-* -Status Paused).Count | Should -Be 12
    }

    It "-Namespace '*' lists the user's and every org's endpoints; an org that answers 401 is a warning" {
        $null = New-MertEndpoint org-one -Namespace lab -ImageUrl 'someone/img:1' -Confirm:$false
        $all = Get-MertEndpoint -Namespace '*'
        ($all | Where-Object Namespace -eq 'lab').Name | Should -Be 'org-one'
        @($all | Where-Object Namespace -eq 'emulator-user').Count | Should -Be 12

        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/lab'; status = 401; count = $null }
        $some = Get-MertEndpoint -Namespace '*' -WarningVariable warn -WarningAction SilentlyContinue -ErrorVariable err
        @($err).Count | Should -Be 0
        @($warn).Count | Should -Be 1
        "$($warn[0])" | Should -Match "Skipped namespace 'lab'"
        @($some).Count | Should -Be 12
    }
}
