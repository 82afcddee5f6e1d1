# What a Windows PowerShell 5.1 user gets (the manifest declares Desktop), checked in every Test under pwsh and by
# the contributors' CI on Windows under powershell.exe (build/Test-WindowsPowerShell.ps1 runs the files tagged
# WindowsPowerShell). Keep this file to Windows PowerShell 5.1's language.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:emulator = Start-TestEmulator
}

AfterAll { Stop-TestEmulator $script:emulator }

Describe 'The module on this edition of PowerShell' -Tag 'WindowsPowerShell' {
    It 'imports every cmdlet the manifest exports, on an edition the manifest declares' {
        $manifest = Import-PowerShellDataFile $ModuleManifest
        $manifest.CompatiblePSEditions | Should -Contain $PSVersionTable.PSEdition
        @(Get-Command -Module MertEndpoint -CommandType Cmdlet | ForEach-Object Name | Sort-Object) |
            Should -Be @($manifest.CmdletsToExport | Sort-Object)
    }

    It 'has help with examples' {
        @((Get-Help Start-MertEndpoint -Examples).examples.example).Count | Should -BeGreaterThan 0
    }

    It 'creates, waits for, stops and reads an endpoint against the emulator' {
        $null = New-MertEndpoint ed-one -ImageUrl 'someone/img:1' -Confirm:$false
        "$((Wait-MertEndpoint ed-one -TimeoutSec 30).Status)" | Should -Be 'Running'
        Stop-MertEndpoint ed-one -Confirm:$false
        Wait-Until { "$((Get-MertEndpoint ed-one).Status)" -eq 'Paused' }
        @(Get-MertEndpoint | Where-Object Name -eq 'ed-one').Count | Should -Be 1
    }

    It 'fails with TokenNotFound, and nothing else, when no token is set' {
        $saved = $env:HF_TOKEN
        $env:HF_TOKEN = $null
        $env:HF_TOKEN_PATH = Join-Path $TestDrive 'no-such-token'
        $env:HF_HOME = Join-Path $TestDrive 'hf-home'
        try { { Get-MertEndpoint -ErrorAction Stop } | Should -Throw -ErrorId 'TokenNotFound,*' }
        finally { $env:HF_TOKEN = $saved; Remove-Item Env:HF_TOKEN_PATH, Env:HF_HOME -ErrorAction SilentlyContinue }
    }
}
