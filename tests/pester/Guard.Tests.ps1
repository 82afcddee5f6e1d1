# The guard script shipped in the module's folder (guard.ps1, over Invoke-MertEndpointGuard) as a scheduler runs it: a fresh pwsh -File, output redirected, judged by its exit code and log.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    $script:emulator = Start-TestEmulator -BootSeconds 0.5
    $script:guard = Join-Path $ModuleDir 'guard.ps1'
    $script:module = $ModuleDir

    function Invoke-Guard([string[]] $Arguments, [hashtable] $Environment = @{}) {
        Invoke-ChildPwsh -ArgumentList (@('-File', $guard, '-ModulePath', $module) + $Arguments) -Environment $Environment
    }
    # For a fault that lasts: each call gives up after 3 s of retries instead of the default 45 s budget (what the
    # guard does once a call has failed is the point here, not how long the call kept trying).
    $script:shortRetries = @{ MERT_ENDPOINT_RETRY_BUDGET_SEC = '3' }

    $null = New-MertEndpoint guard-over -ImageUrl someone/mert:latest -Confirm:$false
    $null = New-MertEndpoint guard-keep -ImageUrl someone/mert:latest -Tag keep-running -Confirm:$false
    $null = New-MertEndpoint guard-skip -ImageUrl someone/mert:latest -Confirm:$false
    $null = New-MertEndpoint guard-lab -ImageUrl someone/mert:latest -Namespace lab -Confirm:$false
    $script:all = @(
        @{ Name = 'guard-over'; Namespace = 'emulator-user' }, @{ Name = 'guard-keep'; Namespace = 'emulator-user' }
        @{ Name = 'guard-skip'; Namespace = 'emulator-user' }, @{ Name = 'guard-lab'; Namespace = 'lab' }
    )
    foreach ($e in $all) { $null = Wait-MertEndpoint $e.Name -Namespace $e.Namespace -TimeoutSec 60 }
    # The threshold used below is 2 s: wait until every endpoint has billed well past it (a condition, not a guess).
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while (@(Get-MertEndpoint -Namespace '*' -BilledLongerThan 00:00:04).Count -lt 4 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 250 }
    $script:exempt = @('-Exclude', 'guard-sk*', '-BilledLongerThan', '00:00:02')

    # The webhook a person reads: a real HTTP server on a free loopback port (a TcpListener on port 0, served by a runspace
    # of its own; no http.sys, so no URL reservation on Windows) that records each post and answers $hook.State.Status,
    # with a body echoing the address when that is an error (as some services do), so a log that printed the answer
    # unmasked would show the secret part.
    function Start-Webhook {
        $state = [hashtable]::Synchronized(@{ Status = 200; Posts = [Collections.ArrayList]::Synchronized([Collections.ArrayList]::new()) })
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $runspace = [powershell]::Create()
        $null = $runspace.AddScript({
            param($listener, $state)
            while ($true) {
                try { $client = $listener.AcceptTcpClient() } catch { break }
                try {
                    $stream = $client.GetStream()
                    $stream.ReadTimeout = 10000
                    # The head, byte by byte up to the blank line (a few hundred bytes), then exactly Content-Length bytes.
                    $head = [Collections.Generic.List[byte]]::new()
                    while ($head.Count -lt 4 -or [Text.Encoding]::ASCII.GetString($head.GetRange($head.Count - 4, 4).ToArray()) -ne "`r`n`r`n") {
                        $b = $stream.ReadByte(); if ($b -lt 0) { throw 'closed before the end of the head' }; $head.Add([byte]$b)
                    }
                    $lines = [Text.Encoding]::ASCII.GetString($head.ToArray()) -split "`r`n"
                    $method, $path, $null = $lines[0] -split ' '
                    $headers = @{}
                    foreach ($line in $lines[1..($lines.Count - 1)]) { if ($line -match '^([^:]+):\s*(.*)$') { $headers[$Matches[1].ToLowerInvariant()] = $Matches[2] } }
                    if ($headers['expect'] -eq '100-continue') { $go = [Text.Encoding]::ASCII.GetBytes("HTTP/1.1 100 Continue`r`n`r`n"); $stream.Write($go, 0, $go.Length) }
                    $body = [byte[]]::new([int]$headers['content-length'])
                    for ($read = 0; $read -lt $body.Length; $read += $n) { $n = $stream.Read($body, $read, $body.Length - $read); if ($n -le 0) { throw 'closed before the end of the body' } }
                    $null = $state.Posts.Add([pscustomobject]@{ Method = $method; Path = $path; ContentType = $headers['content-type']; Body = [Text.Encoding]::UTF8.GetString($body) })
                    $status = [int]$state.Status
                    $answer = [byte[]]::new(0); $reason = 'OK'
                    if ($status -ge 400) { $answer = [Text.Encoding]::UTF8.GetBytes("no_service: nothing at http://$($headers['host'])$path"); $reason = 'Internal Server Error' }
                    $out = [Text.Encoding]::ASCII.GetBytes("HTTP/1.1 $status $reason`r`nContent-Type: text/plain`r`nContent-Length: $($answer.Length)`r`nConnection: close`r`n`r`n")
                    $stream.Write($out, 0, $out.Length); $stream.Write($answer, 0, $answer.Length); $stream.Flush()
                }
                catch { $null = $state.Posts.Add([pscustomobject]@{ Method = 'broken'; Path = $null; ContentType = $null; Body = "$_" }) }
                finally { $client.Dispose() }
            }
        }).AddArgument($listener).AddArgument($state)
        $null = $runspace.BeginInvoke()
        # A path whose last part is what a leaked log line would show.
        [pscustomobject]@{ Listener = $listener; Runspace = $runspace; State = $state; Uri = "http://127.0.0.1:$($listener.LocalEndpoint.Port)/hooks/T000/SECRETPART" }
    }
    $script:hook = Start-Webhook
}

AfterAll {
    if ($script:hook) { $hook.Listener.Stop(); $hook.Runspace.Dispose() }
    Stop-TestEmulator $script:emulator
}

Describe 'The scheduled guard' {
    It 'exits 0 and says so when nothing has billed for longer than the threshold, and bothers nobody' {
        $r = Invoke-Guard '-BilledLongerThan', '01:00:00', '-NotifyUri', $hook.Uri
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match 'nothing has billed for longer than 01:00:00'
        $hook.State.Posts | Should -BeNullOrEmpty -Because 'nothing is posted on exit 0'
    }

    It 'keeps the usage history in bounds: at its end it compacts a due history that no command compacts on its own, and says so' {
        # 4,500 repeats of one state (an older module wrote them; 1.1 MB), never compacted: due, and compacted to one record.
        $history = Join-Path ([IO.Path]::GetTempPath()) "mert-guard-history-$([guid]::NewGuid().ToString('n')).jsonl"
        $line = '{"v":2,"t":"2026-11-01T00:00:00.0000000Z","lo":null,"hi":null,"api":"http://history.invalid/v2","ns":"old","name":"old","state":"paused","replicas":0,"vendor":"aws","region":"us-east-1","type":"nvidia-a10g","size":"x1","src":"read","url":null,"u":null}'
        [IO.File]::WriteAllText($history, "{`"v`":2,`"generation`":`"old`",`"compactedBytes`":0}`n" + (($line + "`n") * 4500))
        $environment = @{ MERT_ENDPOINT_HISTORY_PATH = $history; MERT_ENDPOINT_HISTORY_COMPACT_MAX_BYTES = '0' }
        try {
            # Under -WhatIf, no upkeep: not compacted (the run's own readings are appended, as every run's are).
            $r = Invoke-Guard '-BilledLongerThan', '01:00:00', '-WhatIf' -Environment $environment
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Not -Match 'history:'
            (Get-Content $history -First 1) | Should -Match '"compactedBytes":0'

            # Another compaction under way (it holds usage.jsonl.compacting): said in the log, the code unchanged.
            $held = [IO.File]::Open("$history.compacting", 'OpenOrCreate', 'ReadWrite', 'None')
            try { $r = Invoke-Guard '-BilledLongerThan', '01:00:00' -Environment $environment }
            finally { $held.Dispose() }
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match 'guard: history: not compacted: another compaction of it is under way'
            (Get-Content $history -First 1) | Should -Match '"compactedBytes":0'

            # No command compacts it on its own (as a history past 64 MiB): the guard's upkeep does.
            $r = Invoke-Guard '-BilledLongerThan', '01:00:00' -Environment $environment
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match 'guard: history: compacted 4,5\d\d records \(1\.\d MB\) to \d records \(0\.0 MB\) in [\d.]+ s\.'
            # The log's end line stays last.
            @($r.Output -split "`r?`n" | Where-Object { $_ })[-1] | Should -Match 'guard: end: '
            (Get-Content $history -First 1) | Should -Match '"compactedBytes":[1-9]'
            (Get-Item $history).Length | Should -BeLessThan 10kb
        }
        finally { Remove-Item "$history*" -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It '-WhatIf lists what it would pause, with who last changed it, honours -Exclude and the keep-running tag, and pauses nothing' {
        $r = Invoke-Guard ($exempt + '-WhatIf')
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match 'over: emulator-user/guard-over is Running, billed for .*, last changed by emulator-user'
        $r.Output | Should -Match 'over: lab/guard-lab'
        $r.Output | Should -Match "exempt: emulator-user/guard-keep .*tagged 'keep-running'"
        $r.Output | Should -Match "exempt: emulator-user/guard-skip .*excluded by -Exclude 'guard-sk\*'"
        Get-RequestLog $emulator | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/pause' } | Should -BeNullOrEmpty
    }

    It 'Invoke-MertEndpointGuard, the command in the module, returns what it did: the code, what is over, what it paused' {
        # In this process (the module the tests imported), -WhatIf: the same run as the script's, as an object.
        # A bare number is seconds, as for every MertEndpoint duration (PowerShell alone would read 2 ticks).
        $r = Invoke-MertEndpointGuard -BilledLongerThan 2 -Exclude 'guard-sk*' -WhatIf -InformationVariable log 6>$null
        "$log" | Should -Match 'run: MertEndpoint .*threshold 00:00:02'
        $r.PSObject.TypeNames[0] | Should -Be 'MertEndpoint.GuardResult'
        $r.ExitCode | Should -Be 0
        @($r.Over | ForEach-Object { "$($_.Namespace)/$($_.Name)" }) | Should -Contain 'emulator-user/guard-over'
        @($r.Over | ForEach-Object { "$($_.Namespace)/$($_.Name)" }) | Should -Contain 'lab/guard-lab'
        $r.Paused | Should -BeNullOrEmpty
        $r.Summary | Should -Match 'would be paused'
        (Get-Command Invoke-MertEndpointGuard).Module.Name | Should -Be 'MertEndpoint'
    }

    It 'exits 20 and never claims all is well when a check failed' {
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/lab'; status = 503; count = $null }
        try { $r = Invoke-Guard '-BilledLongerThan', '01:00:00' -Environment $shortRetries }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Match 'check failed: .*lab'
        $r.Output | Should -Not -Match 'nothing has billed'
        $r.Output | Should -Match 'may still be billing'
        $r.Output | Should -Not -Match "`e\[" -Because 'redirected output is plain text'
    }

    It 'exits 20 and tells a person when a listing may have left endpoints out (its next page elsewhere); it follows no link off the service' {
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/lab'; headers = @{ Link = '<https://elsewhere.example/v2/endpoint/lab?page=2>; rel="next"' }; count = $null }
        try { $r = Invoke-Guard '-BilledLongerThan', '01:00:00', '-NotifyUri', $hook.Uri }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Match "note: The listing of namespace 'lab' may be incomplete: its next page is at another address"
        $r.Output | Should -Not -Match 'nothing has billed'
        $r.Output | Should -Match 'may still be billing'
        $r.Output | Should -Match 'guard: end: .*read in part: lab; exit 20\.'
        $post = @($hook.State.Posts)[-1]
        $post.Body | Should -Match 'Listed in part'
        $post.Body | Should -Match 'lab'
        $hook.State.Posts.Clear()
    }

    It 'exits 20 naming an organization whose listing answered 403; every log line starts with its UTC time, from a run line to an end line' {
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/lab'; status = 403; count = $null }
        try { $r = Invoke-Guard '-BilledLongerThan', '01:00:00' }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Not -Match 'nothing has billed'
        $lines = @("$($r.Output)" -split "`r?`n" | Where-Object { $_.Trim() })
        foreach ($line in $lines) { $line | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ guard: ' }
        $lines[0] | Should -Match 'guard: run: MertEndpoint \d+\.\d+\.\d+, namespace\(s\) \*, threshold 01:00:00\.$'
        $lines[-1] | Should -Match 'guard: end: 0 over the threshold, 0 paused, not read: lab; exit 20\.$'
    }

    It 'exits 20 when an endpoint could not be stopped, and still pauses the others' {
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = '/v2/endpoint/lab/guard-lab/pause'; status = 500; count = $null }
        try { $r = Invoke-Guard $exempt -Environment $shortRetries }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Match 'could not stop: .*guard-lab'
        $r.Output | Should -Match 'paused emulator-user/guard-over'
        (Get-MertEndpoint guard-over).Status | Should -Be 'Paused'
        (Get-MertEndpoint guard-lab -Namespace lab).Status | Should -Be 'Running'
    }

    It 'exits 10 (an alert) when it paused something, and names whom to tell' {
        $r = Invoke-Guard $exempt
        $r.ExitCode | Should -Be 10 -Because $r.Output
        $r.Output | Should -Match 'paused lab/guard-lab; last 24 h: .*Tell emulator-user'
        (Get-MertEndpoint guard-lab -Namespace lab).Status | Should -Be 'Paused'
        (Get-MertEndpoint guard-keep).Status | Should -Be 'Running'
        (Get-MertEndpoint guard-skip).Status | Should -Be 'Running'
        $r.Output | Should -Not -Match "`e\["
    }

    It 'tells a person in Slack''s shape when a check failed: the webhook from the environment, no token in the message, the address nowhere in the log' {
        $hook.State.Posts.Clear(); $hook.State.Status = 200
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/lab'; status = 403; count = $null }
        try { $r = Invoke-ChildPwsh -ArgumentList '-File', $guard, '-ModulePath', $module, '-BilledLongerThan', '01:00:00' -Environment @{ MERT_GUARD_NOTIFY_URI = $hook.Uri } }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $posts = @($hook.State.Posts)
        $posts.Count | Should -Be 1 -Because "$($r.Output) $($posts | ConvertTo-Json)"
        $posts[0].Method | Should -Be 'POST'
        $posts[0].Path | Should -Be '/hooks/T000/SECRETPART'
        $posts[0].ContentType | Should -Match '^application/json'
        $posts[0].Body | Should -Not -Match $TestToken
        $posts[0].Body | Should -Not -Match 'hf_'
        $text = ($posts[0].Body | ConvertFrom-Json).text
        $text | Should -Match 'exit 20'
        $text | Should -Match 'lab'
        $text | Should -Match ([regex]::Escape([Environment]::MachineName))
        $r.Output | Should -Match 'guard: notified: posted the message \(Slack\)'
        $r.Output | Should -Not -Match 'SECRETPART'
    }

    It 'keeps a monthly budget: once this month''s spend passes it, pauses what bills whatever its streak, says so and tells a person in Teams'' shape' {
        $hook.State.Posts.Clear(); $hook.State.Status = 200
        # guard-skip has billed for seconds, far under the hour's threshold; guard-keep is tagged keep-running.
        $r = Invoke-Guard '-BilledLongerThan', '01:00:00', '-MonthlyBudget', '0.0001', '-NotifyUri', $hook.Uri, '-NotifyFormat', 'Teams'
        $r.ExitCode | Should -Be 10 -Because $r.Output
        $r.Output | Should -Match 'budget: this month''s spend so far is up to \$[\d.]+ as this module''s usage history sees it, over the monthly budget of \$0\.0001'
        $r.Output | Should -Match 'paused emulator-user/guard-skip'
        (Get-MertEndpoint guard-skip).Status | Should -Be 'Paused'
        (Get-MertEndpoint guard-keep).Status | Should -Be 'Running'
        $posts = @($hook.State.Posts)
        $posts.Count | Should -Be 1 -Because "$($r.Output) $($posts | ConvertTo-Json)"
        $posts[0].Body | Should -Not -Match $TestToken
        $card = $posts[0].Body | ConvertFrom-Json
        $card.type | Should -Be 'message'
        $card.attachments[0].contentType | Should -Be 'application/vnd.microsoft.card.adaptive'
        $card.attachments[0].content.type | Should -Be 'AdaptiveCard'
        $card.attachments[0].content.version | Should -Be '1.4'
        $card.attachments[0].content.'$schema' | Should -Be 'http://adaptivecards.io/schemas/adaptive-card.json'
        $block = $card.attachments[0].content.body[0]
        $block.type | Should -Be 'TextBlock'
        $block.wrap | Should -BeTrue
        $block.text | Should -Match 'guard-skip'
        $block.text | Should -Match 'budget'
        $block.text | Should -Match 'exit 10'
        $r.Output | Should -Not -Match 'SECRETPART'
    }

    It 'exits 20 when the notification could not be posted, after pausing, and masks the address in what it logs' {
        $null = Start-MertEndpoint guard-skip -TimeoutSec 60
        $hook.State.Posts.Clear(); $hook.State.Status = 500
        try { $r = Invoke-Guard '-BilledLongerThan', '01:00:00', '-MonthlyBudget', '0.0001', '-NotifyUri', $hook.Uri }
        finally { $hook.State.Status = 200 }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        @($hook.State.Posts).Count | Should -Be 1 -Because "$($r.Output) $($hook.State.Posts | ConvertTo-Json)"
        $r.Output | Should -Match 'paused emulator-user/guard-skip'
        $r.Output | Should -Match 'guard: notification failed: .*500'
        $r.Output | Should -Not -Match 'SECRETPART'
        (Get-MertEndpoint guard-skip).Status | Should -Be 'Paused'
    }

    It 'works with the module imported under a prefix (it finds the cmdlets by type, not by name)' {
        $r = Invoke-ChildPwsh -ArgumentList '-Command', "Import-Module '$module' -Prefix Hf; exit (Invoke-HfMertEndpointGuard -BilledLongerThan 02:00:00 -WhatIf).ExitCode"
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match 'guard: run: MertEndpoint \d'
        $r.Output | Should -Match 'guard: end: .*exit 0\.'
    }

    It 'exits 20, not PowerShell''s 1, when the module path is broken' {
        $r = Invoke-ChildPwsh -ArgumentList '-File', $guard, '-ModulePath', (Join-Path $TestDrive 'no-such-module')
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Match 'could not load the module'
    }

    It 'exits 20 when there is no token: nothing could be checked' {
        $r = Invoke-ChildPwsh -ArgumentList '-File', $guard, '-ModulePath', $module -Environment @{
            HF_TOKEN = $null; HUGGING_FACE_HUB_TOKEN = $null; HF_TOKEN_PATH = (Join-Path $TestDrive 'no-token'); HF_HOME = $TestDrive
        }
        $r.ExitCode | Should -Be 20 -Because $r.Output
        $r.Output | Should -Match 'guard: failed: .*token'
    }
}

Describe 'What the guard pauses on: evidence of the streak, not the service''s stamps alone' {
    It 'pauses one updated a moment ago whose replica started three hours ago; reports, and does not pause, one whose only old dates are createdAt and updatedAt' {
        # Both created behind this module's back (straight at the service's API), so its usage history has never seen
        # them; then the emulator moves their past back three hours: the replica's start of one, the stamps of the other
        # (as an endpoint created hours ago that woke from scale-to-zero a moment ago, unstamped, shows).
        $headers = @{ Authorization = "Bearer $TestToken" }
        foreach ($name in 'replica-old', 'stamps-old') {
            $body = @{ name = $name; type = 'protected'
                compute = @{ accelerator = 'gpu'; instanceType = 'nvidia-a10g'; instanceSize = 'x1'; scaling = @{ minReplica = 0; maxReplica = 1 } }
                model = @{ repository = 'm-a-p/MERT-v1-95M'; framework = 'custom'; image = @{ custom = @{ url = 'someone/mert:latest'; healthRoute = '/health' } } }
                provider = @{ vendor = 'aws'; region = 'us-east-1' } } | ConvertTo-Json -Depth 10
            $null = Invoke-RestMethod -Method Post -Uri "$($emulator.ApiUrl)/endpoint/emulator-user" -Headers $headers -Body $body -ContentType 'application/json'
        }
        Wait-Until { @((Invoke-RestMethod -Uri "$($emulator.ApiUrl)/endpoint/emulator-user" -Headers $headers).items |
                    Where-Object { $_.name -in 'replica-old', 'stamps-old' -and $_.status.state -eq 'running' }).Count -eq 2 } -TimeoutSec 60
        $old = Invoke-MertEmulatorAdmin $emulator backdate -Method POST -Body @{ namespace = 'emulator-user'; name = 'replica-old'; seconds = 3 * 3600; replicas = $true }
        ([DateTimeOffset]$old.updatedAt) | Should -BeGreaterThan ([DateTimeOffset]::UtcNow.AddMinutes(-5)) -Because 'only the replica moved back'
        $null = Invoke-MertEmulatorAdmin $emulator backdate -Method POST -Body @{ namespace = 'emulator-user'; name = 'stamps-old'; seconds = 3 * 3600; stamps = $true }

        $r = Invoke-Guard '-BilledLongerThan', '02:00:00', '-NotifyUri', $hook.Uri
        $r.ExitCode | Should -Be 10 -Because $r.Output
        $r.Output | Should -Match 'over: emulator-user/replica-old is Running, billed for 03:'
        $r.Output | Should -Match 'paused emulator-user/replica-old'
        $r.Output | Should -Match "report: emulator-user/stamps-old is Running, billed for 03:.*updatedAt stamp.*not paused"
        $r.Output | Should -Not -Match 'over: emulator-user/stamps-old'
        $r.Output | Should -Match 'end: .*1 paused, 1 reported'
        $pauses = @(Get-RequestLog $emulator | Where-Object { $_.method -eq 'POST' -and $_.path -like '*/pause' } | ForEach-Object path)
        $pauses | Should -Contain '/v2/endpoint/emulator-user/replica-old/pause'
        $pauses | Should -Not -Contain '/v2/endpoint/emulator-user/stamps-old/pause'
        ($hook.State.Posts | Select-Object -Last 1).Body | Should -Match 'stamps-old'
        (Get-MertEndpoint stamps-old).Status | Should -Be 'Running'
        Get-MertEndpoint stamps-old, replica-old | Remove-MertEndpoint -Confirm:$false
    }
}
