# Logs, metrics, replicas, failure evidence, requests in the cost report, and any container: the built module
# against a live emulator.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    $emulator = Start-TestEmulator

    function Wait-Until([scriptblock] $Condition, [string] $What, [int] $Seconds = 30) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Not seen within $Seconds s: $What" }
            Start-Sleep -Milliseconds 100
        }
    }

    # Get-MertEndpointLog -Follow in another runspace of this process (same environment), its output observable live.
    function Start-Follow([string] $Name, [int] $Tail) {
        $ps = [PowerShell]::Create()
        $null = $ps.AddScript("Import-Module '$ModuleManifest'; Get-MertEndpointLog $Name -Follow -Tail $Tail -Verbose")
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $handle = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
        [pscustomobject]@{ PowerShell = $ps; Handle = $handle; Output = $output }
    }

    # What -Follow wrote so far. Enumerating the output collection itself would block until the command ends.
    function Get-Followed($Follow) {
        $o = $Follow.Output
        @(for ($i = 0; $i -lt $o.Count; $i++) { $o[$i] })
    }

    function Stop-Follow($Follow) {
        if (-not $Follow.Handle.IsCompleted) { $Follow.PowerShell.Stop() }
        $Follow.PowerShell.Dispose()
    }

    # Waits into the next whole second, so that a period starting there holds nothing sent before (the metrics
    # are asked for in whole unix seconds), then sends $Count requests and returns the period.
    function Send-Requests([string] $Name, [int] $Count) {
        $since = [DateTimeOffset]::FromUnixTimeSeconds([DateTimeOffset]::UtcNow.ToUnixTimeSeconds() + 1)
        while ([DateTimeOffset]::UtcNow -lt $since) { Start-Sleep -Milliseconds 20 }
        foreach ($i in 1..$Count) { $null = Invoke-MertEndpoint $Name -Body @{ inputs = "request $i" } -ErrorAction Stop }
        [pscustomobject]@{ Since = $since; Until = [DateTimeOffset]::UtcNow }
    }

    # Data-plane requests to one endpoint in the emulator's request log, within a period.
    function Get-DataRequests($Emulator, [string] $Name, $Since, $Until) {
        @(Get-RequestLog $Emulator | Where-Object {
                $_.path -like "/endpoints/emulator-user/$Name*" -and
                ($null -eq $Since -or ([DateTimeOffset]$_.time -ge $Since -and [DateTimeOffset]$_.time -le $Until))
            })
    }
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'A failed boot brings its evidence' {
    BeforeAll {
        Reset-Emulator $emulator
        $null = New-MertEndpoint broken -ImageUrl 'someone/fail-image:1' -Confirm:$false
        $null = Start-MertEndpoint broken -TimeoutSec 60 -ErrorVariable startErrors -ErrorAction SilentlyContinue
    }

    It 'its logs contain the traceback' {
        $lines = Get-MertEndpointLog broken
        $lines[0] | Should -BeOfType MertEndpoint.EndpointLogLine
        @($lines | Select-String 'Traceback \(most recent call last\)').Count | Should -Be 1
        @($lines | Select-String 'RuntimeError: CUDA error').Count | Should -Be 1
    }

    It 'Start-MertEndpoint''s error shows the last lines in its details, as PowerShell displays it by default' {
        @($startErrors).Count | Should -Be 1
        $startErrors[0].FullyQualifiedErrorId | Should -BeLike 'EndpointFailed,*'
        $startErrors[0].Exception.LogTail.Count | Should -BeGreaterThan 0
        $startErrors[0].Exception.LogTail.Count | Should -BeLessOrEqual 20
        $startErrors[0].ErrorDetails.Message | Should -Match 'Last \d+ log lines of endpoint ''broken'''
        $startErrors[0].ErrorDetails.Message | Should -Match 'RuntimeError: CUDA error'
        # The default view wraps the text into its box: undo that before looking for the line.
        (($startErrors[0] | Out-String) -replace '\r?\n\s*\|?\s*', ' ') | Should -Match 'RuntimeError:\s+CUDA\s+error'
        $startErrors[0].Exception.Message | Should -Not -Match 'RuntimeError' -Because 'the lines are details, the message stays one statement'
    }

    It 'starting the failed endpoint again shows the lines too' {
        $null = Start-MertEndpoint broken -ErrorVariable again -ErrorAction SilentlyContinue
        $again[0].FullyQualifiedErrorId | Should -BeLike 'EndpointFailed,*'
        $again[0].ErrorDetails.Message | Should -Match 'Traceback'
    }
}

Describe 'Get-MertEndpointLog and Get-MertEndpointReplica' {
    BeforeAll {
        Reset-Emulator $emulator
        $null = New-TestEndpoint live
        $null = Invoke-MertEndpoint live -Body @{ inputs = 'warm up' }
    }

    It '-Tail 5 gives the last 5 lines' {
        $all = @(Get-MertEndpointLog live -Tail 1000)
        $tail = @(Get-MertEndpointLog live -Tail 5)
        $tail.Count | Should -Be 5
        $all.Count | Should -BeGreaterThan 5
        $tail.Message | Should -Be ($all | Select-Object -Last 5).Message
        $tail | ForEach-Object { $_.Time | Should -Not -BeNullOrEmpty; $_.Name | Should -Be 'live'; $_.Namespace | Should -Be 'emulator-user' }
    }

    It 'lists the replicas, which pipe into Get-MertEndpointLog' {
        $replicas = @(Get-MertEndpointReplica live)
        $replicas.Count | Should -Be 1
        $replicas[0].State | Should -Be 'running'
        $replicas[0].Replica | Should -Match '^live-'
        $lines = @($replicas | Get-MertEndpointLog -Tail 3)
        $lines.Count | Should -Be 3
        $expected = @($replicas[0].Replica) * 3
        $lines.Replica | Should -Be $expected
    }

    It '-Follow prints a line for a request made while it runs, and ends when the endpoint is paused' {
        $follow = Start-Follow live -Tail 1
        try {
            Wait-Until { $follow.Output.Count -ge 1 } 'the first line of the stream'
            $marker = "follow-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
            $null = Invoke-MertEndpoint live -Body @{ inputs = 'x' } -Route "/$marker"
            Wait-Until { @(Get-Followed $follow | Where-Object Message -match $marker).Count -eq 1 } "the access line of $marker"
            $follow.Handle.IsCompleted | Should -BeFalse
            Stop-MertEndpoint live -Confirm:$false
            Wait-Until { $follow.Handle.IsCompleted } 'the end of -Follow after the pause'
            $follow.PowerShell.HadErrors | Should -BeFalse
            (Get-Followed $follow)[-1].Message | Should -Match 'Shutting down|Finished server process'
        }
        finally { Stop-Follow $follow }
    }

    It '-Follow ends on Ctrl+C while the endpoint keeps running' {
        $null = Start-MertEndpoint live
        $follow = Start-Follow live -Tail 1
        try {
            Wait-Until { $follow.Output.Count -ge 1 } 'the first line of the stream'
            $follow.PowerShell.Stop() # what Ctrl+C does
            $follow.Handle.IsCompleted | Should -BeTrue
            $follow.PowerShell.InvocationStateInfo.State | Should -Be 'Stopped'
            (Get-MertEndpoint live).Status | Should -Be 'Running'
        }
        finally { Stop-Follow $follow }
    }

    It '-Follow survives a cut stream: no line repeated, none missed' {
        $null = Start-MertEndpoint live
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/emulator-user/live/logs'; cutAfterBytes = 300; count = 1 }
        $follow = Start-Follow live -Tail 10
        try {
            Wait-Until { $follow.Output.Count -ge 10 } 'the ten tail lines, across the cut'
            $markers = 1..3 | ForEach-Object { "cut-$_-$([guid]::NewGuid().ToString('n').Substring(0, 6))" }
            foreach ($m in $markers) { $null = Invoke-MertEndpoint live -Body @{ inputs = 'x' } -Route "/$m" }
            Wait-Until { @(Get-Followed $follow | Where-Object Message -match 'cut-\d-').Count -ge 3 } 'the three access lines'
            Stop-MertEndpoint live -Confirm:$false
            Wait-Until { $follow.Handle.IsCompleted } 'the end of -Follow after the pause'

            @($follow.PowerShell.Streams.Verbose | Where-Object Message -match 'dropped.*resuming').Count | Should -BeGreaterOrEqual 1
            @(Get-RequestLog $emulator | Where-Object { $_.method -eq 'GET' -and $_.path -eq '/v2/endpoint/emulator-user/live/logs' }).Count |
                Should -BeGreaterOrEqual 2 -Because 'the cut stream was asked for again'
            $seen = @(Get-Followed $follow | ForEach-Object { '{0:o} {1}' -f $_.Time, $_.Message })
            $all = @(Get-MertEndpointLog live -Tail 10000 | ForEach-Object { '{0:o} {1}' -f $_.Time, $_.Message })
            $seen | Should -Be ($all | Select-Object -Last $seen.Count) -Because 'what -Follow wrote is the end of the log, exactly'
            foreach ($m in $markers) { @($seen -match $m).Count | Should -Be 1 }
        }
        finally {
            Stop-Follow $follow
            $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE
        }
    }
}

Describe 'Get-MertEndpointMetric and the cost of a request (points shape)' {
    BeforeAll {
        Reset-Emulator $emulator
        $null = New-TestEndpoint metered
        $period = Send-Requests metered 7
    }

    It 'request-count over the period equals the requests the test sent' {
        $summary = Get-MertEndpointMetric metered -Metric request-count -Since $period.Since.UtcDateTime -Until $period.Until.UtcDateTime -Summary
        $summary | Should -BeOfType MertEndpoint.MetricSummary
        $summary.Total | Should -Be 7
        (Get-DataRequests $emulator metered $period.Since $period.Until).Count | Should -Be 7
        $points = @(Get-MertEndpointMetric metered -Metric request-count -Since $period.Since.UtcDateTime -Until $period.Until.UtcDateTime -Step 1s)
        ($points | Measure-Object Value -Sum).Sum | Should -Be 7
        $points[0] | Should -BeOfType MertEndpoint.MetricPoint
        $points[0].Time | Should -Be $period.Since
    }

    It 'an answer in an unknown shape comes back raw with a warning' {
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = '/v2/endpoint/emulator-user/metered/metrics/'; status = 200; body = '{"weird": {"a": 1}}'; contentType = 'application/json'; count = 1 }
        $points = @(Get-MertEndpointMetric metered -Metric gpu-usage -WarningVariable warned -WarningAction SilentlyContinue)
        $points.Count | Should -Be 1
        $points[0].Raw | Should -Match 'weird'
        $warned | Should -Match 'shape'
    }

    It 'Get-MertEndpointCost shows requests and a cost per 1,000 that match the request log and the meter' {
        Stop-MertEndpoint metered -Confirm:$false
        $meter = Get-Billing $emulator metered
        $cost = Get-MertEndpointCost metered
        $cost.Requests | Should -Be (Get-DataRequests $emulator metered).Count -Because 'every data-plane request, health probes included'
        $cost.Requests | Should -BeGreaterOrEqual 7
        [math]::Abs([double]$cost.EstimatedCost - [double]$meter.cost) | Should -BeLessOrEqual 0.0004 -Because "meter $($meter.cost), history $($cost.EstimatedCost)"
        $cost.CostPer1000Requests | Should -Be ([math]::Round($cost.EstimatedCost * 1000 / $cost.Requests, 6))
        [math]::Abs([double]$cost.CostPer1000Requests - [double]$meter.cost * 1000 / $cost.Requests) | Should -BeLessOrEqual (0.0004 * 1000 / $cost.Requests)
    }

    It 'a namespace without access to metrics leaves them empty with a warning, not an error' {
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = '/v2/endpoint/emulator-user/metered/metrics/'; status = 403 }
        try {
            $cost = Get-MertEndpointCost metered -WarningVariable warned -WarningAction SilentlyContinue -ErrorVariable failed
            @($failed).Count | Should -Be 0
            $cost.Requests | Should -BeNullOrEmpty
            $cost.CostPer1000Requests | Should -BeNullOrEmpty
            $cost.EstimatedCost | Should -BeGreaterThan 0
            @($warned).Count | Should -Be 1
            "$($warned[0])" | Should -Match 'Requests and CostPer1000Requests are left empty'
        }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
    }
}

Describe 'Any model' {
    BeforeAll { Reset-Emulator $emulator }

    It 'creates, starts and embeds against the service''s default container' {
        $created = New-MertEndpoint hf-default -Confirm:$false
        $created.ImageKind | Should -Be 'huggingface'
        $created.Task | Should -Be 'feature-extraction' -Because 'the MERT defaults stay for the MERT repository'
        (Start-MertEndpoint hf-default -TimeoutSec 60).Status | Should -Be 'Running'
        $answer = Invoke-MertEndpoint hf-default -Body @{ inputs = 'an embedding, please' }
        $answer.StatusCode | Should -Be 200
    }

    It 'takes the service''s other containers, and leaves the task of another repository to the service' {
        $tgi = New-MertEndpoint tgi-one -Repository 'openai-community/gpt2' -Container TGI -Confirm:$false
        $tgi.ImageKind | Should -Be 'tgi'
        $tgi.Task | Should -BeNullOrEmpty
        (New-MertEndpoint vllm-one -Repository 'openai-community/gpt2' -Container vllm -ImageUrl 'vllm/vllm-openai:v0.6' -Confirm:$false).ImageKind | Should -Be 'vLLM'
    }

    It 'refuses a custom container without an image, and a registry credential for another kind' {
        $cred = [pscredential]::new('robot', (ConvertTo-SecureString 'regPass-9XyZ' -AsPlainText -Force))
        New-MertEndpoint no-image -Container custom -Confirm:$false -ErrorVariable e1 -ErrorAction SilentlyContinue
        $e1[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        New-MertEndpoint wrong-kind -Container tgi -RegistryCredential $cred -Confirm:$false -ErrorVariable e2 -ErrorAction SilentlyContinue
        $e2[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        (Get-MertEndpoint -Name no-image, wrong-kind -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
    }

    It 'a private image''s registry password is sent, and never printed or written' {
        $password = 'regPass-9XyZ-never-shown'
        $cred = [pscredential]::new('robot', (ConvertTo-SecureString $password -AsPlainText -Force))
        $DebugPreference = 'Continue'
        $all = & {
            New-MertEndpoint private-img -ImageUrl 'registry.example/mert:1' -RegistryCredential $cred -WhatIf -Verbose -Debug
            New-MertEndpoint private-img -ImageUrl 'registry.example/mert:1' -RegistryCredential $cred -Confirm:$false -Verbose -Debug
            New-MertEndpoint private-img -ImageUrl 'registry.example/mert:1' -RegistryCredential $cred -Confirm:$false
            Get-MertEndpoint private-img
            Get-MertEndpointLog private-img -Tail 50
        } *>&1
        $text = ($all | ForEach-Object {
                if ($_ -is [System.Management.Automation.ErrorRecord]) { $_ | Format-List * -Force | Out-String; $_.Exception.ToString() }
                else { $_ | Format-List * -Force | Out-String; "$_" }
            }) -join "`n"
        $text | Should -Match 'private-img'
        @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }).Count | Should -Be 1 -Because 'the second create is refused (409)'
        $text | Should -Not -Match ([regex]::Escape($password))
        $text | Should -Not -Match ([regex]::Escape($TestToken))
        Get-Content -Raw $env:MERT_ENDPOINT_HISTORY_PATH | Should -Not -Match ([regex]::Escape($password))
        (Get-MertEndpoint private-img).ImageKind | Should -Be 'custom'
    }
}

Describe 'The other readings of the service: columnar metrics, build logs only' {
    BeforeAll {
        $second = Start-TestEmulator -Extra '--metrics-shape', 'columnar', '--failed-logs', 'build-only'
    }
    AfterAll {
        Stop-MertEmulator $second
        Use-MertEmulatorEnvironment $emulator -Token $TestToken
    }

    It 'request-count over the period equals the requests the test sent' {
        $null = New-TestEndpoint columnar
        $period = Send-Requests columnar 5
        $summary = Get-MertEndpointMetric columnar -Metric request-count -Since $period.Since.UtcDateTime -Until $period.Until.UtcDateTime -Summary -WarningVariable warned
        @($warned).Count | Should -Be 0
        $summary.Total | Should -Be 5
        (Get-DataRequests $second columnar $period.Since $period.Until).Count | Should -Be 5
    }

    It 'a failed endpoint''s error shows its build lines when only those are kept' {
        $null = New-MertEndpoint broken-build -ImageUrl 'someone/fail-image:1' -Confirm:$false
        $null = Start-MertEndpoint broken-build -TimeoutSec 60 -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'EndpointFailed,*'
        $failed[0].ErrorDetails.Message | Should -Match 'Container exited with code 1'
        $failed[0].ErrorDetails.Message | Should -Not -Match 'Traceback'
    }
}
