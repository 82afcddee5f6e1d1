BeforeAll {
    . $PSScriptRoot/Common.ps1
    $emulator = Start-TestEmulator -BootSeconds 3
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'The token never leaks' {
    It 'is absent from every stream of a run with -Verbose -Debug, and from every error' {
        Reset-Emulator $emulator
        $DebugPreference = 'Continue'
        $all = & {
            New-MertEndpoint leak-check -ImageUrl 'someone/img:1' -Confirm:$false -Verbose -Debug
            Start-MertEndpoint leak-check -Confirm:$false -Verbose -Debug
            Get-MertEndpoint -Verbose -Debug
            Stop-MertEndpoint leak-check -PassThru -Confirm:$false -Verbose -Debug
            Get-MertEndpoint missing-one -Verbose -Debug
            New-MertEndpoint leak-check -ImageUrl 'someone/img:1' -Confirm:$false
            Get-MertEndpoint -Token (ConvertTo-SecureString 'hf_other_wrong' -AsPlainText -Force) -Namespace emulator-user
        } *>&1
        $text = ($all | ForEach-Object {
                if ($_ -is [System.Management.Automation.ErrorRecord]) { $_ | Format-List * -Force | Out-String; $_.Exception.ToString() }
                else { $_ | Format-List * -Force | Out-String; "$_" }
            }) -join "`n"
        @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }).Count | Should -BeGreaterOrEqual 3
        @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Count | Should -BeGreaterThan 0
        $text | Should -Match 'leak-check'
        $text | Should -Not -Match ([regex]::Escape($TestToken))
        $text | Should -Not -Match 'hf_other_wrong'
    }

    It 'is absent from $Error after the run' {
        # Errors of its own, so the test holds when run alone: a wrong token, a missing endpoint, a failed start.
        $Error.Clear()
        Get-MertEndpoint -Token (ConvertTo-SecureString 'hf_other_wrong' -AsPlainText -Force) -Namespace emulator-user -ErrorAction SilentlyContinue
        Get-MertEndpoint missing-two -ErrorAction SilentlyContinue
        Start-MertEndpoint missing-three -Confirm:$false -ErrorAction SilentlyContinue
        $Error.Count | Should -BeGreaterOrEqual 3
        ($Error | ForEach-Object { $_ | Out-String; $_.Exception.ToString() }) -join "`n" | Should -Not -Match ([regex]::Escape($TestToken))
    }
}

Describe 'Ctrl+C' {
    It 'ends a wait at once (not at its 60 s timeout) and pauses the endpoint it resumed' {
        Reset-Emulator $emulator
        $null = New-MertEndpoint ctrl-c -ImageUrl 'someone/img:1' -Confirm:$false
        Stop-MertEndpoint ctrl-c -Confirm:$false
        $ps = [PowerShell]::Create()
        $null = $ps.AddScript("Import-Module '$ModuleManifest'; Start-MertEndpoint ctrl-c -TimeoutSec 60 -Confirm:`$false")
        $handle = $ps.BeginInvoke()
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ((Get-MertEndpoint ctrl-c).Status -eq 'Paused' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Start-Sleep -Milliseconds 300
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        # Well under a second on an idle machine; the bound leaves room for a loaded one (the stop sends the pause).
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        $handle.IsCompleted | Should -BeTrue
        $ps.Dispose()
        (Get-MertEndpoint ctrl-c).Status | Should -Be 'Paused'
    }

    It 'during a fan-out start pauses every endpoint it resumed' {
        Reset-Emulator $emulator
        $names = 'ctrl-a', 'ctrl-b', 'ctrl-c'
        foreach ($n in $names) { $null = New-MertEndpoint $n -ImageUrl 'someone/img:1' -Confirm:$false }
        Stop-MertEndpoint $names -Confirm:$false
        $ps = [PowerShell]::Create()
        $null = $ps.AddScript("Import-Module '$ModuleManifest'; 'ctrl-a', 'ctrl-b', 'ctrl-c' | Start-MertEndpoint -TimeoutSec 60 -Confirm:`$false")
        $handle = $ps.BeginInvoke()
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (@(Get-MertEndpoint ctrl-* -Status Paused).Count -gt 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        @(Get-MertEndpoint ctrl-* -Status Paused).Count | Should -Be 0 -Because 'all three were resumed before the stop'
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        $handle.IsCompleted | Should -BeTrue
        $ps.Dispose()
        (Get-MertEndpoint ctrl-*).Status | Should -Be @('Paused', 'Paused', 'Paused')
    }
}
