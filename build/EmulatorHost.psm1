# Starts and stops the local Inference Endpoints emulator for the demo, the Pester tests and the benchmarks.
# Not part of the product module.

function Start-MertEmulator {
    [CmdletBinding()]
    param(
        # build.ps1 Test sets MERT_BUILD_OUT to its own output (out/test); unset, Build's out/.
        [string] $EmulatorDll = (Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path $PSScriptRoot '../out' }) 'emulator/MertEndpoint.Emulator.dll'),
        [string[]] $ArgumentList = @(),
        [int] $TimeoutSec = 20,
        # Where its stdout and stderr logs go (deleted by Stop-MertEmulator); by default the temporary folder.
        [string] $LogDirectory
    )
    $EmulatorDll = (Resolve-Path $EmulatorDll).Path
    if ($LogDirectory) {
        $stem = Join-Path $LogDirectory "emulator-$([guid]::NewGuid().ToString('n'))"
        $log = "$stem.out.log"; $err = "$stem.err.log"
        $null = New-Item -ItemType File -Path $log, $err
    }
    else {
        $log = [System.IO.Path]::GetTempFileName()
        $err = [System.IO.Path]::GetTempFileName()
    }
    $dotnet = (Get-Command dotnet -CommandType Application | Select-Object -First 1).Source
    $emulatorArgs = @($EmulatorDll, '--urls', 'http://127.0.0.1:0') + $ArgumentList
    $process = Start-Process -FilePath $dotnet -ArgumentList $emulatorArgs -PassThru -NoNewWindow `
        -RedirectStandardOutput $log -RedirectStandardError $err
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while ([DateTime]::UtcNow -lt $deadline) {
        $line = Get-Content -LiteralPath $log -ErrorAction SilentlyContinue |
            Where-Object { $_ -match '^Emulator listening on (http://\S+)$' } | Select-Object -First 1
        if ($line) {
            $url = ($line -replace '^Emulator listening on ', '').TrimEnd('/')
            return [pscustomobject]@{
                PSTypeName = 'MertEndpoint.EmulatorProcess'
                Url        = $url
                ApiUrl     = "$url/v2"
                Process    = $process
                LogPath    = $log
                ErrorPath  = $err
            }
        }
        if ($process.HasExited) { break }
        Start-Sleep -Milliseconds 50
    }
    $stderr = Get-Content -LiteralPath $err -Raw -ErrorAction SilentlyContinue
    if (-not $process.HasExited) { $process.Kill() }
    throw "The emulator did not print its listening line within $TimeoutSec s. stderr: $stderr"
}

function Stop-MertEmulator {
    [CmdletBinding()]
    param([Parameter(Mandatory, ValueFromPipeline)] $Emulator)
    process {
        if (-not $Emulator.Process.HasExited) {
            $Emulator.Process.Kill()
            $null = $Emulator.Process.WaitForExit(5000)
        }
        Remove-Item -LiteralPath $Emulator.LogPath, $Emulator.ErrorPath -ErrorAction SilentlyContinue
    }
}

function Invoke-MertEmulatorAdmin {
    # Calls an /_emulator/ admin route (no auth, loopback only). It refuses any body that is not JSON, and
    # Invoke-RestMethod labels even an empty POST as a form, so every call but GET says JSON.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] $Emulator,
        [Parameter(Mandatory)] [string] $Route,
        [string] $Method = 'GET',
        $Body
    )
    $params = @{ Uri = "$($Emulator.Url)/_emulator/$Route"; Method = $Method }
    if ($Method -ne 'GET') { $params.ContentType = 'application/json' }
    if ($null -ne $Body) { $params.Body = ($Body | ConvertTo-Json -Depth 10 -Compress) }
    Invoke-RestMethod @params
}

function Use-MertEmulatorEnvironment {
    # Points the module at the emulator in this process: base URLs and the emulator's token.
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Emulator, [string] $Token = 'hf_emulator_token')
    $env:MERT_ENDPOINT_API_URL = $Emulator.ApiUrl
    $env:HF_ENDPOINT = $Emulator.Url
    $env:HF_TOKEN = $Token
    Remove-Item Env:MERT_ENDPOINT_NAMESPACE, Env:HUGGING_FACE_HUB_TOKEN -ErrorAction SilentlyContinue
}

Export-ModuleMember -Function Start-MertEmulator, Stop-MertEmulator, Invoke-MertEmulatorAdmin, Use-MertEmulatorEnvironment
