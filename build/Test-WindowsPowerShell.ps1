<#
.SYNOPSIS
    CI on Windows: the module `build.ps1 Test` built, loaded in Windows PowerShell 5.1 (powershell.exe), with the
    Pester files tagged WindowsPowerShell (written in 5.1's language). Run after `build.ps1 Test`, which restores
    Pester 5.7.1 into the NuGet cache and builds out/test.
.EXAMPLE
    powershell.exe -NoProfile -File ./build/Test-WindowsPowerShell.ps1 -BuildOut ./out/test
#>
param([string] $BuildOut = (Join-Path $PSScriptRoot '../out/test'))
$ErrorActionPreference = 'Stop'
$env:MERT_BUILD_OUT = (Resolve-Path $BuildOut).Path
$packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $env:USERPROFILE '.nuget/packages' }
Import-Module (Join-Path $packages 'pester/5.7.1/tools/Pester.psd1')
"PowerShell $($PSVersionTable.PSVersion) ($($PSVersionTable.PSEdition)), module from $env:MERT_BUILD_OUT"
# Only the files that carry the tag: the others may use PowerShell 7's language, which 5.1 cannot even parse.
$files = @(Get-ChildItem (Join-Path $PSScriptRoot '../tests/pester') -Filter '*.Tests.ps1' |
    Where-Object { Select-String -Path $_.FullName -Pattern "-Tag 'WindowsPowerShell'" -SimpleMatch -Quiet } | ForEach-Object FullName)
if ($files.Count -eq 0) { throw 'No Pester file is tagged WindowsPowerShell.' }
$c = New-PesterConfiguration
$c.Run.Path = $files
$c.Filter.Tag = 'WindowsPowerShell'
$c.Output.Verbosity = 'Detailed'
$c.Run.PassThru = $true
$r = Invoke-Pester -Configuration $c
"$($r.PassedCount) passed, $($r.FailedCount + $r.FailedBlocksCount + $r.FailedContainersCount) failed"
if ($r.Result -ne 'Passed') { exit 1 }
