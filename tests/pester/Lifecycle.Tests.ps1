BeforeDiscovery { Import-Module (Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { "$PSScriptRoot/../../out" }) 'MertEndpoint/MertEndpoint.psd1') }
BeforeAll {
    . $PSScriptRoot/Common.ps1
    $emulator = Start-TestEmulator
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'The endpoint lifecycle in real pwsh against the emulator' {
    BeforeEach { Reset-Emulator $emulator }

    It 'creates, starts with a ready health route, stops, and deletes' {
        $created = New-MertEndpoint mert-life -ImageUrl 'someone/mert-inference:latest' -Confirm:$false
        $created | Should -BeOfType MertEndpoint.EndpointInfo
        $created.Namespace | Should -Be 'emulator-user'
        $created.Repository | Should -Be 'm-a-p/MERT-v1-95M'
        $created.InstanceType | Should -Be 'nvidia-a10g'
        $created.Status | Should -BeIn 'Pending', 'Initializing'

        # A start before a read shows the new endpoint: the next test.
        Wait-Until { Get-MertEndpoint mert-life -ErrorAction SilentlyContinue }
        $ready = Start-MertEndpoint mert-life -TimeoutSec 30 -Confirm:$false
        $ready.Status | Should -Be 'Running'
        $ready.Url | Should -Match "^$([regex]::Escape($emulator.Url))/"
        if ($EmulatorMode -eq 'default') { $ready.Url | Should -Match '/endpoints/emulator-user/mert-life$' }
        (Invoke-WebRequest "$($ready.Url)/health" -Headers @{ Authorization = "Bearer $TestToken" }).StatusCode | Should -Be 200

        $stopped = Stop-MertEndpoint mert-life -PassThru -Confirm:$false
        $stopped.Status | Should -Be 'Paused'
        $stopped.Url | Should -BeNullOrEmpty
        Wait-Until { (Get-MertEndpoint mert-life).Status -eq 'Paused' }

        Remove-MertEndpoint mert-life -Confirm:$false
        Wait-Until { -not (Get-MertEndpoint mert-life -ErrorAction SilentlyContinue) }
        Get-MertEndpoint mert-life -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EndpointNotFound,*'
    }

    It 'starts an endpoint right after creating it, before reads show it' {
        $null = New-MertEndpoint mert-new-start -ImageUrl 'someone/mert-inference:latest' -Confirm:$false
        (Start-MertEndpoint mert-new-start -TimeoutSec 30 -Confirm:$false).Status | Should -Be 'Running'
    }

    It 'resumes a paused endpoint and waits until it answers' {
        $null = New-TestEndpoint mert-resume
        Stop-MertEndpoint mert-resume -Confirm:$false
        $ready = Start-MertEndpoint mert-resume -Confirm:$false
        $ready.Status | Should -Be 'Running'
        $ready.Url | Should -Not -BeNullOrEmpty
        $ready.ReadyReplica | Should -BeGreaterThan 0
    }

    It 'starting a running endpoint costs one GET and one health probe' {
        $null = New-TestEndpoint mert-running
        $before = (Get-RequestLog $emulator).Count
        $ready = Start-MertEndpoint mert-running -Confirm:$false
        $ready.Status | Should -Be 'Running'
        $log = @(Get-RequestLog $emulator | Select-Object -Skip $before)
        $log.Count | Should -Be 2
        $log[0].method | Should -Be 'GET'; $log[0].path | Should -Be '/v2/endpoint/emulator-user/mert-running'
        $log[1].path | Should -Be (Get-HealthPath $ready)
    }

    It 'stopping costs one pause and no read, even for a stale piped object' {
        $null = New-TestEndpoint mert-paused
        $stale = Get-MertEndpoint mert-paused          # running when read
        Stop-MertEndpoint mert-paused -Confirm:$false
        $before = (Get-RequestLog $emulator).Count
        $stale | Stop-MertEndpoint -Confirm:$false     # says running, is paused: the pause is sent anyway
        $log = @(Get-RequestLog $emulator | Select-Object -Skip $before)
        $log.Count | Should -Be 1
        $log[0].method | Should -Be 'POST'
        $log[0].path | Should -Be '/v2/endpoint/emulator-user/mert-paused/pause'
        Wait-Until { (Get-MertEndpoint mert-paused).Status -eq 'Paused' }
    }

    It 'a refused stop is settled by one GET: scaling a paused endpoint to zero is nothing to do' {
        $null = New-TestEndpoint mert-refused
        Stop-MertEndpoint mert-refused -Confirm:$false
        # The settling GET must see the pause: a late read of 'running' would leave the refusal standing.
        Wait-Until { (Get-MertEndpoint mert-refused).Status -eq 'Paused' }
        $before = (Get-RequestLog $emulator).Count
        Stop-MertEndpoint mert-refused -ScaleToZero -Confirm:$false -WarningVariable said -WarningAction SilentlyContinue -ErrorVariable err
        $err | Should -BeNullOrEmpty
        $log = @(Get-RequestLog $emulator | Select-Object -Skip $before)
        $log.method | Should -Be @('POST', 'GET')
        $log[0].status | Should -Be 400
        # Nothing changed, which is not what -ScaleToZero asked for: a warning says so (it was verbose only).
        "$said" | Should -Match "'mert-refused' in namespace '.+' is paused, so -ScaleToZero changed nothing"
    }

    It 'Stop, then at once Stop -ScaleToZero: a late read of the endpoint still running is read again, not reported' {
        $null = New-TestEndpoint mert-twice
        Stop-MertEndpoint mert-twice -Confirm:$false
        $before = (Get-RequestLog $emulator).Count
        $s = Stop-MertEndpoint mert-twice -ScaleToZero -PassThru -Confirm:$false -ErrorVariable twiceErrors
        @($twiceErrors).Count | Should -Be 0
        $s.Status | Should -Be 'Paused'
        $log = @(Get-RequestLog $emulator | Select-Object -Skip $before)
        $log[0].status | Should -Be 400
        @($log | Select-Object -Skip 1 | Where-Object method -ne 'GET').Count | Should -Be 0 -Because 'nothing is sent but reads'
    }

    It 'scales to zero with -ScaleToZero and keeps the URL' {
        $null = New-TestEndpoint mert-s2z
        $s = Stop-MertEndpoint mert-s2z -ScaleToZero -PassThru -Confirm:$false
        $s.Status | Should -Be 'ScaledToZero'
        $s.Url | Should -Not -BeNullOrEmpty
    }

    It 'creates a missing endpoint with Start -CreateIfMissing and waits for it' {
        $e = Start-MertEndpoint mert-auto -CreateIfMissing -ImageUrl 'someone/mert-inference:latest' -InstanceType nvidia-t4 -Confirm:$false
        $e.Status | Should -Be 'Running'
        $e.InstanceType | Should -Be 'nvidia-t4'
    }

    It 'sends the New parameters to the service' {
        $e = New-MertEndpoint mert-params -ImageUrl 'someone/img:1' -Env @{ LOG_LEVEL = 'debug' } -Tag a, b -MaxReplica 2 -ScaleToZeroTimeout 30 -Confirm:$false
        $e.Env['LOG_LEVEL'] | Should -Be 'debug'
        $e.MaxReplica | Should -Be 2
        $e.ScaleToZeroTimeout | Should -Be 30
        $e.ImageUrl | Should -Be 'someone/img:1'
        @($e.Tags) | Should -Be @('a', 'b')
    }

    It 'lists with wildcards and filters by status' {
        $null = New-TestEndpoint alpha-one
        $null = New-MertEndpoint alpha-two -ImageUrl 'someone/img:1' -Confirm:$false
        $null = New-MertEndpoint beta-one -ImageUrl 'someone/img:1' -Confirm:$false
        Stop-MertEndpoint alpha-two -Confirm:$false
        Wait-Until { @(Get-MertEndpoint).Count -eq 3 -and (Get-MertEndpoint alpha-two).Status -eq 'Paused' }
        @(Get-MertEndpoint alpha-*).Name | Sort-Object | Should -Be @('alpha-one', 'alpha-two')
        @(Get-MertEndpoint alpha-* -Status Paused).Name | Should -Be @('alpha-two')
        @(Get-MertEndpoint alpha-one, beta-one).Count | Should -Be 2
    }

    It 'shows a default table with name, status, instance, replicas and URL' {
        $null = New-TestEndpoint mert-table
        $text = Get-MertEndpoint mert-table | Out-String -Width 120   # at 80 columns the Url is cut: Format-Table -View Url shows it whole
        $text | Should -Match 'Name\s+Status\s+Instance\s+Replicas\s+Url'
        $text | Should -Match 'mert-table\s+Running\s+nvidia-a10g x1\s+1/1\s+http://127'
    }
}

Describe 'Help' {
    It 'has help with examples for <_>' -ForEach @(Get-Command -Module MertEndpoint | ForEach-Object Name) {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
        $help.Examples.Example[0].Code | Should -Match 'MertEndpoint'
    }
}
