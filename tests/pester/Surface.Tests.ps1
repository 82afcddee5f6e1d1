# What a PowerShell user sees and exports: table views at 80 and 120 columns, headings that are property names,
# and ConvertTo-Json / Export-Csv of every output type.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:emulator = Start-TestEmulator -BootSeconds 0.5
    # Two 32-character names that differ only at the end, one in the user's namespace and one in the org's.
    $script:east = 'mert-v1-95m-embeddings-prod-east'
    $script:west = 'mert-v1-95m-embeddings-prod-west'
    $null = New-MertEndpoint $east -ImageUrl someone/mert:latest -Env @{ LOG_LEVEL = 'info'; LAYERS = '13' } -Tag keep-running, audio -Confirm:$false
    $null = New-MertEndpoint $west -ImageUrl someone/mert:latest -Namespace lab -Confirm:$false
    $null = Wait-MertEndpoint $east -TimeoutSec 60
    $null = Wait-MertEndpoint $west -Namespace lab -TimeoutSec 60

    $script:files = Join-Path ([IO.Path]::GetTempPath()) "mert-surface-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory -Path $files
    [IO.File]::WriteAllBytes((Join-Path $files 'one.wav'), [byte[]](1..200))

    $script:outputs = [ordered]@{
        EndpointInfo = @(Get-MertEndpoint -Namespace '*')
        EndpointCost = @(Get-MertEndpointCost $east)
        HardwareInfo = @(Get-MertEndpointHardware -InstanceType nvidia-a10g)
        InvokeResult = @(Invoke-MertEndpoint $east -InFile (Join-Path $files 'one.wav'))
        EndpointStateChange = @(Get-MertEndpointHistory $east)
        ColdStart = @(Get-MertEndpointHistory $east -ColdStart)
    }
    # A run log: with -OutDirectory the answer is in a file and Response is null.
    $script:runLog = @(Invoke-MertEndpoint $east -InFile (Join-Path $files 'one.wav') -OutDirectory (Join-Path $files 'out') -BaseDirectory $files)

    function Get-Headings([string] $table) {
        # The words of the line above the first dashes line, wherever the table starts.
        $lines = $table -split "`r?`n"
        $dashes = [array]::FindIndex($lines, [Predicate[string]] { param($l) $l -match '^-{2,}( +-+)*\s*$' })
        -split $lines[$dashes - 1]
    }
}

AfterAll {
    Stop-TestEmulator $script:emulator
    if ($script:files) { Remove-Item $script:files -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Views' {
    It 'every output type has a non-empty sample' {
        foreach ($key in $outputs.Keys) { $outputs[$key].Count | Should -BeGreaterThan 0 -Because $key }
    }

    It 'Get-MertEndpoint at <_> columns shows both full names and both namespaces' -ForEach 80, 120 {
        $text = $outputs.EndpointInfo | Out-String -Width $_
        $text | Should -Match "\b$east\b"
        $text | Should -Match "\b$west\b"
        $text | Should -Match 'Namespace: emulator-user'
        $text | Should -Match 'Namespace: lab'
        ($text -split "`n" | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual $_
    }

    It 'Format-Table -View Url at <_> columns shows the whole URL' -ForEach 80, 120 {
        $text = $outputs.EndpointInfo | Format-Table -View Url | Out-String -Width $_
        $text | Should -Match "\b$east\b"
        # Wrapped lines joined back: every URL is there in full.
        $joined = ($text -split "`r?`n" | ForEach-Object { $_.Substring([Math]::Min(46, $_.Length)).Trim() }) -join ''
        foreach ($url in $outputs.EndpointInfo.Url) { $joined | Should -Match ([regex]::Escape($url)) }
    }

    It 'Get-MertEndpointCost at <_> columns shows the full name and the estimated cost' -ForEach 80, 120 {
        $text = $outputs.EndpointCost | Out-String -Width $_
        $text | Should -Match "\b$east\b"
        $text | Should -Match 'EstimatedCost'
        $text | Should -Match '\$\d+\.\d{4}'
    }

    It 'Get-MertEndpointHardware at <_> columns shows whole instance names and prices' -ForEach 80, 120 {
        $text = $outputs.HardwareInfo | Out-String -Width $_
        $text | Should -Match 'nvidia-a10g x1 '
        $text | Should -Match 'nvidia-a10g x4 '
        $text | Should -Match '\$1\.000'
    }

    It 'Invoke-MertEndpoint results at <_> columns show the status code and the input file' -ForEach 80, 120 {
        # Inputs under the current location show relative to it, so the file name survives at 80 columns.
        Push-Location $files
        try { $text = @($outputs.InvokeResult) + $runLog | Out-String -Width $_ }
        finally { Pop-Location }
        (Get-Headings $text)[0] | Should -Be 'StatusCode'
        $text | Should -Match '\b200\b'
        $text | Should -Match '(?m) one\.wav\s*$'
    }

    It 'Get-MertEndpointHistory at <_> columns shows each endpoint''s changes and its cold start under its full name' -ForEach 80, 120 {
        foreach ($text in ($outputs.EndpointStateChange | Out-String -Width $_), ($outputs.ColdStart | Out-String -Width $_)) {
            $text | Should -Match "Endpoint: emulator-user/$east\b"
            ($text -split "`n" | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual $_
        }
        $changes = $outputs.EndpointStateChange | Out-String -Width $_
        # The create (the emulator answers pending), then running.
        $changes | Should -Match '(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d pending +1 action +\d\d:\d\d:\d\d +\d\d:\d\d:\d\d\s*$'
        $changes | Should -Match '(?m) running +1 \w+ +\d\d:\d\d:\d\d +\d\d:\d\d:\d\d\s*$'
        # The create booted for the emulator's half second: shown to the tenth.
        $outputs.ColdStart | Out-String -Width $_ | Should -Match '(?m) running +00:00:\d\d\.\d +00:00:\d\d\.\d +00:00:\d\d\.\d action\s*$'
    }

    It 'every heading of the <_> view is a property of the object' -ForEach 'EndpointInfo', 'EndpointCost', 'HardwareInfo', 'InvokeResult', 'EndpointStateChange', 'ColdStart' {
        $sample = $outputs[$_][0]
        foreach ($width in 80, 120) {
            foreach ($heading in Get-Headings ($sample | Out-String -Width $width)) {
                $sample.PSObject.Properties[$heading] | Should -Not -BeNullOrEmpty -Because "'$heading' is a heading of the $_ view"
            }
        }
    }

    It 'filters and sorts by the headings' {
        @($outputs.EndpointInfo | Where-Object Instance -eq 'nvidia-a10g x1').Count | Should -Be $outputs.EndpointInfo.Count
        @($outputs.EndpointInfo | Where-Object Replicas -eq '1/1').Count | Should -Be $outputs.EndpointInfo.Count
        @($outputs.InvokeResult | Where-Object StatusCode -ne 200).Count | Should -Be 0
        @($outputs.InvokeResult | Where-Object Seconds -ge 0).Count | Should -Be 1
        @($outputs.HardwareInfo | Sort-Object Instance)[0].Instance | Should -Be 'nvidia-a10g x1'
    }

    It 'Status stays an enum: -Status and comparisons with the enum work' {
        $outputs.EndpointInfo[0].Status | Should -BeOfType [MertEndpoint.EndpointStatus]
        @(Get-MertEndpoint -Namespace '*' -Status Running).Count | Should -Be 2
        @($outputs.EndpointInfo | Where-Object Status -eq 'Running').Count | Should -Be 2
    }

    It 'names who created and last changed an endpoint' {
        $outputs.EndpointInfo[0].CreatedBy | Should -Be 'emulator-user'
        $outputs.EndpointInfo[0].UpdatedBy | Should -Be 'emulator-user'
    }
}

Describe 'Data out' {
    It 'ConvertTo-Json of <_> shows no .NET type names' -ForEach 'EndpointInfo', 'EndpointCost', 'HardwareInfo', 'InvokeResult', 'EndpointStateChange', 'ColdStart' {
        $json = $outputs[$_] | ConvertTo-Json -Depth 4
        $json | Should -Not -Match 'System\.|MertEndpoint\.'
        $null = $json | ConvertFrom-Json   # and it reads back
    }

    It 'ConvertTo-Json of an endpoint shows the status as text, Env as an object and Tags as a list' {
        $round = $outputs.EndpointInfo | Where-Object Name -eq $east | ConvertTo-Json -Depth 4 | ConvertFrom-Json
        $round.Status | Should -Be 'Running'
        $round.Env.LOG_LEVEL | Should -Be 'info'
        $round.Tags | Should -Be @('keep-running', 'audio')
        $round.UpdatedBy | Should -Be 'emulator-user'
    }

    It 'Export-Csv of <_> shows no .NET type names' -ForEach 'EndpointInfo', 'EndpointCost', 'HardwareInfo', 'EndpointStateChange', 'ColdStart' {
        $csv = $outputs[$_] | ConvertTo-Csv
        $csv | Should -Not -Match 'System\.|MertEndpoint\.'
    }

    It 'Export-Csv of an Invoke-MertEndpoint run log shows no .NET type names' {
        $runLog.Count | Should -Be 1
        $csv = $runLog | ConvertTo-Csv
        $csv | Should -Not -Match 'System\.|MertEndpoint\.'
        ($csv | ConvertFrom-Csv).StatusCode | Should -Be '200'
    }

    It 'Export-Csv of an answer held in memory writes it as its compact JSON, nested arrays and all' {
        $result = $outputs.InvokeResult[0]
        $row = $result | ConvertTo-Csv | ConvertFrom-Csv
        $row.Response | Should -Not -Match 'System\.|@\{'
        $back = $row.Response | ConvertFrom-Json
        $back.bytes | Should -Be 200
        ($back | ConvertTo-Json -Depth 10 -Compress) | Should -Be ($result.Response | ConvertTo-Json -Depth 10 -Compress)
        "$($result.Response)" | Should -Be $row.Response
        $result.Response.bytes | Should -Be 200   # still an object to PowerShell
        # The list view shows the start of a long answer, not all 13 layers of embeddings.
        $row.Response.Length | Should -BeGreaterThan 2000
        ($result | Format-List | Out-String -Width 200).Length | Should -BeLessThan 1200
    }

    It 'Export-Csv flattens Env and Tags and writes the status as text' {
        $path = Join-Path $files 'endpoints.csv'
        $outputs.EndpointInfo | Export-Csv -Path $path
        $row = Import-Csv $path | Where-Object Name -eq $east
        $row.Status | Should -Be 'Running'
        $row.Tags | Should -Be 'keep-running; audio'
        ($row.Env -split '; ' | Sort-Object) | Should -Be @('LAYERS=13', 'LOG_LEVEL=info')
    }
}
