# Views that filter the way they look: every heading of a table is a property whose value, as Where-Object compares
# it, is what the column shows. Renders each view with Format-Table | Out-String and filters by its headings.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:emulator = Start-TestEmulator -BootSeconds 0.5
    $null = New-TestEndpoint v-on
    $null = New-TestEndpoint v-off
    $null = New-TestEndpoint v-gone
    $null = Stop-MertEndpoint v-off -Confirm:$false
    # Deleted behind the module's back (the web page, say): only the listing the cost report reads can tell.
    $null = Invoke-RestMethod -Method Delete -Uri "$($emulator.ApiUrl)/endpoint/emulator-user/v-gone" -Headers @{ Authorization = "Bearer $TestToken" }

    $script:since = [DateTimeOffset]::FromUnixTimeSeconds([DateTimeOffset]::UtcNow.ToUnixTimeSeconds() + 1)
    while ([DateTimeOffset]::UtcNow -lt $since) { Start-Sleep -Milliseconds 20 }
    foreach ($i in 1..3) { $null = Invoke-MertEndpoint v-on -Body @{ inputs = "request $i" } -ErrorAction Stop }
    $script:until = [DateTimeOffset]::UtcNow.AddSeconds(1)

    $script:costs = @(Get-MertEndpointCost -WarningAction SilentlyContinue)

    $script:files = Join-Path ([IO.Path]::GetTempPath()) "mert-views-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory -Path $files
    [IO.File]::WriteAllBytes((Join-Path $files 'one.wav'), [byte[]](1..200))

    # The table as a user sees it, one object per row: heading -> the text under it. Columns are cut at the view's widths
    # (each column its width and one space; the last without a width takes the rest), the headings read from the text.
    function ConvertFrom-Table([object[]] $Objects, [int] $Width = 200) {
        $format = @($Objects | Format-Table)
        $widths = @($format[0].shapeInfo.tableColumnInfoList | ForEach-Object width)
        $lines = ($Objects | Format-Table | Out-String -Width $Width) -split "`r?`n"
        $cell = {
            param([string] $line, [int] $k)
            $from = 0; for ($c = 0; $c -lt $k; $c++) { $from += $widths[$c] + 1 }
            $length = if ($widths[$k] -gt 0) { $widths[$k] } else { 10000 }
            if ($line.Length -le $from) { '' } else { $line.Substring($from, [Math]::Min($length, $line.Length - $from)).Trim() }
        }
        $rows = @()
        for ($i = 1; $i -lt $lines.Count; $i++) {
            if ($lines[$i] -notmatch '^-+( +-+)*\s*$') { continue }
            $count = [regex]::Matches($lines[$i], '-+').Count
            $headings = @(0..($count - 1) | ForEach-Object { & $cell $lines[$i - 1] $_ })
            for ($j = $i + 1; $j -lt $lines.Count -and $lines[$j].Trim() -ne ''; $j++) {
                $row = [ordered]@{}
                for ($k = 0; $k -lt $count; $k++) { $row[$headings[$k]] = & $cell $lines[$j] $k }
                $rows += [pscustomobject]$row
            }
        }
        $rows
    }
}

AfterAll {
    Stop-TestEmulator $script:emulator
    if ($script:files) { Remove-Item $script:files -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'The cost report filters the way it looks' {
    It 'has one endpoint billing, one paused and one deleted' {
        ($costs | Where-Object Name -eq v-on).CurrentlyBilling | Should -BeTrue
        ($costs | Where-Object Name -eq v-off).CurrentlyBilling | Should -BeFalse
        ($costs | Where-Object Name -eq v-gone).Deleted | Should -BeTrue
    }

    It 'CurrentlyBilling shows True exactly for the endpoints Where-Object CurrentlyBilling selects, False for -eq $false' {
        $rows = ConvertFrom-Table $costs
        @($rows | Where-Object CurrentlyBilling -eq 'True').Name | Should -Be @($costs | Where-Object CurrentlyBilling).Name
        @($rows | Where-Object CurrentlyBilling -eq 'False').Name | Should -Be @($costs | Where-Object CurrentlyBilling -eq $false).Name
        @($costs | Where-Object CurrentlyBilling).Name | Should -Be @('v-on')
    }

    It 'BilledSince has its own column: a time for the billing endpoint only, the property''s local time' {
        $rows = ConvertFrom-Table $costs
        $on = $costs | Where-Object Name -eq v-on
        ($rows | Where-Object Name -eq v-on).BilledSince | Should -Be $on.BilledSince.ToLocalTime().ToString('yyyy-MM-dd HH:mm:ss')
        @($rows | Where-Object BilledSince -ne '').Name | Should -Be @($costs | Where-Object BilledSince).Name
    }

    It 'a deleted endpoint shows Deleted True, does not bill, and Where-Object Deleted selects it' {
        $rows = ConvertFrom-Table $costs
        @($rows | Where-Object Deleted -eq 'True').Name | Should -Be @('v-gone')
        @($costs | Where-Object Deleted).Name | Should -Be @('v-gone')
        ($rows | Where-Object Name -eq v-gone).CurrentlyBilling | Should -Be 'False'
    }

    It 'every heading at <_> columns is a property, and a text column shows the property''s value' -ForEach 80, 120, 200 {
        $rows = ConvertFrom-Table $costs -Width $_
        foreach ($heading in $rows[0].PSObject.Properties.Name) {
            $costs[0].PSObject.Properties[$heading] | Should -Not -BeNullOrEmpty -Because "'$heading' is a heading"
        }
        foreach ($row in $rows) {
            $cost = $costs | Where-Object Name -eq $row.Name
            foreach ($heading in 'Name', 'Instance', 'Requests', 'CurrentlyBilling', 'Deleted') {
                if ($row.PSObject.Properties[$heading]) { $row.$heading | Should -Be "$($cost.$heading)" -Because "$($row.Name) $heading" }
            }
        }
    }
}

Describe 'The usage history filters the way it looks' {
    It 'State, Replicas, Source and Outcome show the property''s value, and Where-Object by them selects what the table shows' {
        $changes = @(Get-MertEndpointHistory v-off)
        $rows = @(ConvertFrom-Table $changes)
        $rows.Count | Should -Be $changes.Count
        for ($i = 0; $i -lt $rows.Count; $i++) {
            foreach ($heading in 'State', 'Replicas', 'Source') { $rows[$i].$heading | Should -Be "$($changes[$i].$heading)" -Because "row $i $heading" }
            $rows[$i].Time | Should -Be $changes[$i].Time.ToLocalTime().ToString('yyyy-MM-dd HH:mm:ss')
        }
        @($rows | Where-Object State -eq paused).Count | Should -Be @($changes | Where-Object State -eq paused).Count
        @($changes | Where-Object State -eq paused).Source | Should -Be @('action')

        $starts = @(Get-MertEndpointHistory v-off -ColdStart)
        $start = @(ConvertFrom-Table $starts)
        $start.Count | Should -Be 1
        $start[0].Outcome | Should -Be 'running'
        @($starts | Where-Object Outcome -eq running).Count | Should -Be 1
        $start[0].BootTime | Should -Be ('{0:00}:{1:mm\:ss\.f}' -f [math]::Floor($starts[0].BootTime.TotalHours), $starts[0].BootTime)
    }
}

Describe 'The usage history against the truth' {
    It 'every change''s window holds the emulator''s true time of it, and each cold start''s window its true boot time' {
        $truth = (Invoke-MertEmulatorAdmin $emulator changes).endpoints
        $slack = [TimeSpan]::FromMilliseconds(2) # one clock; stamps cut to 100 ns on one side, taken a moment apart
        foreach ($name in 'v-on', 'v-off') {
            $real = @(($truth | Where-Object name -eq $name).changes | ForEach-Object { [pscustomobject]@{ At = [DateTimeOffset]::Parse($_.time); State = $_.state } })
            $changes = @(Get-MertEndpointHistory $name)
            $changes.Count | Should -BeGreaterThan 1 -Because "$name was created and read"
            $k = 0
            foreach ($c in $changes) {
                # The true change into the recorded state, the first after the one matched before (a change nobody saw is skipped).
                while ($k -lt $real.Count -and $real[$k].State -ne $c.State) { $k++ }
                $k | Should -BeLessThan $real.Count -Because "$name's '$($c.State)' at $($c.Time.ToString('o')) happened"
                $at = $real[$k].At
                $at | Should -BeGreaterOrEqual ($c.Earliest - $slack) -Because "$name became $($c.State) at $($at.ToString('o')), in [$($c.Earliest.ToString('o')), $($c.Latest.ToString('o'))]"
                $at | Should -BeLessOrEqual ($c.Latest + $slack) -Because "$name became $($c.State) at $($at.ToString('o')), in [$($c.Earliest.ToString('o')), $($c.Latest.ToString('o'))]"
            }
            foreach ($start in @(Get-MertEndpointHistory $name -ColdStart)) {
                # From the create (or resume) the boot began with to the first running after it.
                $began = @($real | Where-Object { $_.State -eq 'pending' -and $_.At -ge $start.StartedEarliest - $slack -and $_.At -le $start.StartedLatest + $slack })
                $began.Count | Should -Be 1 -Because "$name's cold start at $($start.Started.ToString('o')) began with one create or resume"
                $ran = @($real | Where-Object { $_.State -eq 'running' -and $_.At -gt $began[0].At })[0]
                $boot = $ran.At - $began[0].At
                $boot | Should -BeGreaterOrEqual ($start.BootTimeLow - $slack) -Because "$name booted in $boot, in [$($start.BootTimeLow), $($start.BootTimeHigh)]"
                $boot | Should -BeLessOrEqual ($start.BootTimeHigh + $slack) -Because "$name booted in $boot, in [$($start.BootTimeLow), $($start.BootTimeHigh)]"
            }
        }
    }
}

Describe 'The metric summary totals only counts, and filters the way it looks' {
    BeforeAll {
        $script:summary = @(Get-MertEndpointMetric v-on -Metric request-count, success-rate, median-latency, p95-latency -Summary `
                -Since $since.UtcDateTime -Until $until.UtcDateTime -Step 1s)
    }

    It 'request-count has a total (the requests sent); rates and latencies have none, shown empty' {
        ($summary | Where-Object Metric -eq request-count).Total | Should -Be 3
        foreach ($metric in 'success-rate', 'median-latency', 'p95-latency') {
            ($summary | Where-Object Metric -eq $metric).Total | Should -BeNullOrEmpty -Because $metric
            ($summary | Where-Object Metric -eq $metric).Average | Should -Not -BeNullOrEmpty -Because $metric
        }
        $rows = ConvertFrom-Table $summary
        @($rows | Where-Object Total -ne '').Metric | Should -Be @('request-count')
        @($summary | Where-Object Total).Metric | Should -Be @('request-count')
    }

    It 'every heading is a property, and Points and PointsWithValue show the property''s value' {
        $rows = ConvertFrom-Table $summary
        foreach ($heading in $rows[0].PSObject.Properties.Name) {
            $summary[0].PSObject.Properties[$heading] | Should -Not -BeNullOrEmpty -Because "'$heading' is a heading"
        }
        foreach ($row in $rows) {
            $s = $summary | Where-Object Metric -eq $row.Metric
            $row.Points | Should -Be "$($s.Points)"
            $row.PointsWithValue | Should -Be "$($s.PointsWithValue)"
        }
    }

    It 'points show no Raw column; an answer not understood shows its Raw JSON' {
        $points = @(Get-MertEndpointMetric v-on -Metric request-count -Since $since.UtcDateTime -Until $until.UtcDateTime -Step 1s)
        (ConvertFrom-Table $points)[0].PSObject.Properties.Name | Should -Be @('Name', 'Metric', 'Time', 'Value')
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = '/v2/endpoint/emulator-user/v-on/metrics/'; status = 200; body = '{"weird": {"a": 1}}'; contentType = 'application/json'; count = 1 }
        $raw = @(Get-MertEndpointMetric v-on -Metric gpu-usage -WarningAction SilentlyContinue)
        $raw[0] | Should -BeOfType MertEndpoint.MetricPoint
        $row = (ConvertFrom-Table $raw)[0]
        $row.PSObject.Properties.Name | Should -Be @('Name', 'Metric', 'Raw')
        $row.Raw | Should -Be $raw[0].Raw
    }
}

Describe 'Invoke-MertEndpoint''s table has no column that is always empty' {
    It 'with and without -OutDirectory, every column of the table shows something' {
        $inMemory = @(Invoke-MertEndpoint v-on -InFile (Join-Path $files 'one.wav'))
        $saved = @(Invoke-MertEndpoint v-on -InFile (Join-Path $files 'one.wav') -OutDirectory (Join-Path $files 'out') -BaseDirectory $files)
        foreach ($results in $inMemory, $saved) {
            $rows = ConvertFrom-Table $results
            foreach ($heading in $rows[0].PSObject.Properties.Name) {
                $results[0].PSObject.Properties[$heading] | Should -Not -BeNullOrEmpty -Because "'$heading' is a heading"
                $rows[0].$heading | Should -Not -BeNullOrEmpty -Because "the $heading column"
            }
            $rows[0].StatusCode | Should -Be '200'
            @($results | Where-Object StatusCode -eq $rows[0].StatusCode).Count | Should -Be 1
        }
    }
}

Describe 'The cost report says when it left out namespaces with spend' {
    BeforeAll {
        $null = New-MertEndpoint v-lab -ImageUrl someone/mert-inference:latest -Namespace lab -Confirm:$false -InformationAction Ignore
        $null = Wait-MertEndpoint v-lab -Namespace lab -TimeoutSec 30
    }

    It 'without -Namespace, one warning names the organization with spend and how to include it' {
        $mine = @(Get-MertEndpointCost -WarningVariable warned -WarningAction SilentlyContinue)
        $mine.Name | Should -Not -Contain 'v-lab'
        $said = @($warned | Where-Object { "$_" -match 'leaves out' })
        $said.Count | Should -Be 1
        "$($said[0])" | Should -Match "'lab'"
        "$($said[0])" | Should -Match ([regex]::Escape("-Namespace '*'"))
    }

    It 'names that match nothing there, and -Namespace ''*'', bring no such warning' {
        $null = Get-MertEndpointCost v-on -WarningVariable warned -WarningAction SilentlyContinue
        @($warned | Where-Object { "$_" -match 'leaves out' }).Count | Should -Be 0
        $all = @(Get-MertEndpointCost -Namespace '*' -WarningVariable warned -WarningAction SilentlyContinue)
        @($warned | Where-Object { "$_" -match 'leaves out' }).Count | Should -Be 0
        ($all | Where-Object Name -eq v-lab).Namespace | Should -Be 'lab'
    }
}

Describe 'The endpoint and hardware tables filter the way they look' {
    It 'Get-MertEndpoint: each text column shows its property, and Where-Object by it selects those rows' {
        $endpoints = @(Get-MertEndpoint -Namespace '*')
        $rows = ConvertFrom-Table $endpoints
        $rows.Count | Should -Be $endpoints.Count
        foreach ($row in $rows) {
            $e = $endpoints | Where-Object Name -eq $row.Name
            foreach ($heading in 'Status', 'Instance', 'Replicas', 'Url') { $row.$heading | Should -Be "$($e.$heading)" -Because "$($row.Name) $heading" }
        }
        foreach ($status in $rows.Status | Sort-Object -Unique) {
            @($endpoints | Where-Object Status -eq $status).Count | Should -Be @($rows | Where-Object Status -eq $status).Count -Because $status
        }
    }

    It 'Get-MertEndpointHardware: each text column shows its property; PricePerHour shows the number it compares as' {
        $hardware = @(Get-MertEndpointHardware -InstanceType nvidia-a10g)
        $rows = ConvertFrom-Table $hardware
        $rows.Count | Should -Be $hardware.Count
        for ($i = 0; $i -lt $rows.Count; $i++) {
            foreach ($heading in 'Vendor', 'Region', 'Instance', 'GpuMemoryGb', 'Quota', 'Status') {
                $rows[$i].$heading | Should -Be "$($hardware[$i].$heading)" -Because "$($rows[$i].Instance) $heading"
            }
            if ($hardware[$i].PricePerHour) { [decimal]$rows[$i].PricePerHour.TrimStart('$') | Should -Be $hardware[$i].PricePerHour }
        }
    }
}
