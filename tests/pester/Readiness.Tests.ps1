# Readiness under either reading of the service (docs/USAGE.md "Readiness" and docs/EMULATOR.md "Emulator fidelity"): a resume is noticed by the
# health probe, at the URL the control plane reports or, while it reports none, at the URL the endpoint had before; a
# late 'paused' read right after our own resume is ridden over; with no URL at all the control plane is polled tighter.
# Timings come from the emulator's own clock (request log, replica readyAt), with generous bounds.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    # A boot long enough for the waiter to see 'initializing' and probe it, as with real cold starts.
    $emulator = Start-TestEmulator -BootSeconds 4

    function Get-ReadyAt($Emulator, [string] $Name) {
        # When the newest replica came up, by the emulator's clock (whichever way updatedAt is stamped).
        $replicas = (Invoke-RestMethod -Uri "$($Emulator.ApiUrl)/endpoint/emulator-user/$Name/replica" -Headers @{ Authorization = "Bearer $TestToken" }).items
        @($replicas | Where-Object readyAt | ForEach-Object { [DateTimeOffset]$_.readyAt } | Sort-Object)[-1]
    }
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'Readiness' {
    BeforeEach { Reset-Emulator $emulator }

    It 'a resume is noticed by probing the health route while it boots, not by the control-plane schedule' {
        $first = New-TestEndpoint ready-resume      # it ran once: its URL is in the usage history
        Stop-MertEndpoint ready-resume -Confirm:$false
        Wait-Until { (Get-MertEndpoint ready-resume).Status -eq 'Paused' }
        $before = (Get-RequestLog $emulator).Count

        $ready = Start-MertEndpoint ready-resume -Confirm:$false
        $ready.Status | Should -Be 'Running'
        $ready.Url | Should -Be $first.Url -Because 'a resume keeps the URL'
        $log = @(Get-RequestLog $emulator | Select-Object -Skip $before)
        $probes = @($log | Where-Object path -eq (Get-HealthPath $ready))
        @($probes | Where-Object status -eq 503).Count | Should -BeGreaterThan 0 -Because 'the health route is probed while the endpoint boots (under --url-from running, at the URL it had before)'
        $answered = @($probes | Where-Object status -eq 200)[0]
        $answered | Should -Not -BeNullOrEmpty
        $readyAt = Get-ReadyAt $emulator ready-resume
        ([DateTimeOffset]$answered.time - $readyAt).TotalSeconds | Should -BeLessOrEqual 3 -Because 'the probe runs every 250 ms; the control-plane schedule alone would wait up to 10 s'
        $after = @($log | Where-Object { [DateTimeOffset]$_.time -gt [DateTimeOffset]$answered.time -and $_.path -like '/v2/*' })
        $after.Count | Should -BeLessOrEqual 3 -Because 'once the probe answers, the control plane is asked at once and then on a short schedule'
    }

    It 'a start rides over a late "paused" read right after its own resume, and so does a wait after -NoWait' {
        # Reads lag 3 s here, longer than the boot: the first read after the resume still says 'paused'.
        $stale = Start-TestEmulator -BootSeconds 1 -Extra '--stale-read-ms', '3000'
        try {
            $null = New-TestEndpoint late-read
            Stop-MertEndpoint late-read -Confirm:$false
            Wait-Until { (Get-MertEndpoint late-read).Status -eq 'Paused' }
            (Start-MertEndpoint late-read -Confirm:$false).Status | Should -Be 'Running'

            Stop-MertEndpoint late-read -Confirm:$false
            Wait-Until { (Get-MertEndpoint late-read).Status -eq 'Paused' }
            $null = Start-MertEndpoint late-read -NoWait -Confirm:$false
            (Wait-MertEndpoint late-read -TimeoutSec 30).Status | Should -Be 'Running'
        }
        finally {
            Stop-TestEmulator $stale
            Use-MertEmulatorEnvironment $emulator -Token $TestToken
        }
    }

    It 'with no URL known (a fresh create, --url-from running), the control plane is polled at least every 3 s' {
        $blind = Start-TestEmulator -BootSeconds 10 -Extra '--url-from', 'running'
        try {
            $ready = Start-MertEndpoint blind -CreateIfMissing -ImageUrl 'someone/img:1' -TimeoutSec 60 -Confirm:$false
            $ready.Status | Should -Be 'Running'
            $reads = @(Get-RequestLog $blind | Where-Object { $_.method -eq 'GET' -and $_.path -eq '/v2/endpoint/emulator-user/blind' })
            $reads.Count | Should -BeGreaterThan 3
            $gaps = for ($i = 1; $i -lt $reads.Count; $i++) { ([DateTimeOffset]$reads[$i].time - [DateTimeOffset]$reads[$i - 1].time).TotalSeconds }
            ($gaps | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 4.4 -Because 'the backoff with a URL to probe would wait 4.5 s, then 6.75 s'
            $minutes = ([DateTimeOffset]$reads[-1].time - [DateTimeOffset]$reads[0].time).TotalMinutes
            ($reads.Count - 1) / $minutes | Should -BeLessOrEqual 30 -Because 'at most 30 control-plane requests a minute of waiting'
        }
        finally {
            Stop-TestEmulator $blind
            Use-MertEmulatorEnvironment $emulator -Token $TestToken
        }
    }
}
