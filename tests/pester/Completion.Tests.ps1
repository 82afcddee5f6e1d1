# Tab completion of catalog values and namespaces, through TabExpansion2 as the prompt calls it, against the emulator.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:emulator = Start-TestEmulator

    function Complete([string] $line) {
        @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object CompletionText)
    }
}

AfterAll { Stop-TestEmulator $script:emulator }

Describe 'Argument completers' {
    It 'completes -InstanceType from the catalog, for <_>' -ForEach 'New-MertEndpoint x -ImageUrl i -InstanceType nvidia-a', 'Set-MertEndpoint x -InstanceType nvidia-a', 'Get-MertEndpointHardware -InstanceType nvidia-a' {
        $expected = @(Get-MertEndpointHardware -InstanceType 'nvidia-a*' | ForEach-Object InstanceType | Sort-Object -Unique)
        $expected.Count | Should -BeGreaterThan 1
        Complete $_ | Should -Be $expected
    }

    It 'completes -InstanceSize with the sizes of the instance type already given' {
        $expected = @(Get-MertEndpointHardware -InstanceType nvidia-l40s | ForEach-Object InstanceSize | Sort-Object -Unique)
        Complete 'New-MertEndpoint x -ImageUrl i -InstanceType nvidia-l40s -InstanceSize ' | Should -Be $expected
        Complete 'New-MertEndpoint x -ImageUrl i -InstanceType nvidia-l40s -InstanceSize ' | Should -Not -Contain 'x2'
    }

    It 'completes -Vendor and -Region from the catalog' {
        Complete 'New-MertEndpoint x -ImageUrl i -Vendor ' | Should -Be @(Get-MertEndpointHardware | ForEach-Object Vendor | Sort-Object -Unique)
        Complete 'Get-MertEndpointHardware -Region us-' | Should -Be @(Get-MertEndpointHardware | ForEach-Object Region | Sort-Object -Unique)
        Complete 'Get-MertEndpointHardware -Accelerator ' | Should -Be @('cpu', 'gpu')
        Complete 'Get-MertEndpointHardware -Accelerator cpu -InstanceType ' | Should -Be @('intel-spr')
    }

    It 'completes the dynamic parameters of Start-MertEndpoint -CreateIfMissing' {
        Complete 'Start-MertEndpoint x -CreateIfMissing -ImageUrl i -InstanceType nvidia-t' | Should -Be @('nvidia-t4')
    }

    It 'completes -Namespace with the user and the organizations, and * for Get-MertEndpoint' {
        Complete 'Stop-MertEndpoint x -Namespace ' | Should -Be @('emulator-user', 'lab')
        Complete 'Get-MertEndpoint -Namespace l' | Should -Be @('lab')
        Complete 'Get-MertEndpoint -Namespace ' | Should -Contain "'*'"
    }

    It 'answers from the cache on the next Tab: no new request' {
        $null = Complete 'Set-MertEndpoint x -InstanceType '
        $null = Complete 'Stop-MertEndpoint x -Namespace '
        $before = (Get-RequestLog $emulator).Count
        $null = Complete 'Set-MertEndpoint x -InstanceSize '
        $null = Complete 'Get-MertEndpointHardware -Vendor '
        $null = Complete 'Wait-MertEndpoint x -Namespace '
        (Get-RequestLog $emulator).Count | Should -Be $before
    }

    It 'completes -Name with the namespace''s endpoint names' {
        'fan-01', 'fan-10', 'fan-11', 'fan-12' | ForEach-Object { $null = New-MertEndpoint $_ -ImageUrl 'someone/img:1' -Confirm:$false }
        Complete 'Stop-MertEndpoint fan-1' | Should -Be @('fan-10', 'fan-11', 'fan-12')
    }

    It 'completes nothing, without an error, when the service cannot be reached' {
        $saved = $env:MERT_ENDPOINT_API_URL
        try {
            $env:MERT_ENDPOINT_API_URL = 'http://127.0.0.1:9/v2'   # the discard port: nothing listens
            Complete 'Set-MertEndpoint x -InstanceType nvidia-' | Should -BeNullOrEmpty
        }
        finally { $env:MERT_ENDPOINT_API_URL = $saved }
    }
}
