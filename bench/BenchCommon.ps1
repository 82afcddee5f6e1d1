# Shared by the benchmarks: the emulator, the built module, and a raw create for seeding many endpoints fast.
$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'build/EmulatorHost.psm1')
Import-Module (Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path $root 'out' }) 'MertEndpoint/MertEndpoint.psd1')
$env:MERT_ENDPOINT_HISTORY_PATH = Join-Path ([IO.Path]::GetTempPath()) "mert-bench-$PID.jsonl"

function New-SeedEndpoints {
    # Creates endpoints straight through the API (not through the module), in parallel.
    param($Emulator, [string[]] $Names)
    $api = $Emulator.ApiUrl
    $Names | ForEach-Object -ThrottleLimit 16 -Parallel {
        $body = '{"name":"' + $_ + '","compute":{"accelerator":"gpu","instanceType":"nvidia-a10g","instanceSize":"x1","scaling":{"minReplica":0,"maxReplica":1,"scaleToZeroTimeout":15}},"model":{"repository":"m-a-p/MERT-v1-95M","framework":"pytorch","task":"feature-extraction","image":{"custom":{"url":"someone/img:1","healthRoute":"/health","port":8080}}},"provider":{"vendor":"aws","region":"us-east-1"},"type":"authenticated"}'
        $null = Invoke-RestMethod -Method Post -Uri "$using:api/endpoint/emulator-user" -Headers @{ Authorization = 'Bearer hf_emulator_token' } -ContentType 'application/json' -Body $body
    }
}

function Get-Median([double[]] $values) { ($values | Sort-Object)[[int][math]::Floor($values.Count / 2)] }
