BeforeDiscovery { Import-Module (Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { "$PSScriptRoot/../../out" }) 'MertEndpoint/MertEndpoint.psd1') }
BeforeAll {
    . $PSScriptRoot/Common.ps1
    $emulator = Start-TestEmulator -BootSeconds 1
    $null = New-TestEndpoint embed
    $url = (Get-MertEndpoint embed).Url
    $dataPath = ([uri]$url).AbsolutePath   # /endpoints/emulator-user/embed

    # 50 small WAVs with distinct content in nested folders, two of them named track.wav in different folders.
    $audio = Join-Path $TestDrive 'audio'
    $names = @(0..47 | ForEach-Object { "d$($_ % 4)/e$($_ % 3)/clip$_.wav" }) + 'x/track.wav', 'y/track.wav'
    for ($i = 0; $i -lt $names.Count; $i++) {
        $path = Join-Path $audio $names[$i]
        $null = New-Item -ItemType Directory -Force -Path (Split-Path $path)
        $bytes = [byte[]]::new(8192); [Random]::new($i).NextBytes($bytes)
        [Text.Encoding]::ASCII.GetBytes('RIFF').CopyTo($bytes, 0)
        [IO.File]::WriteAllBytes($path, $bytes)
    }

    function Get-DataPost {
        param([int] $Skip = 0)
        @(Get-RequestLog $emulator | Select-Object -Skip $Skip | Where-Object { $_.method -eq 'POST' -and $_.path -like "$dataPath*" })
    }

    function Get-Embedding {
        # The numbers of one output file, checked for MERT's shape: 13 layers of 768.
        param([string] $Path)
        $doc = Get-Content -Raw -LiteralPath $Path | ConvertFrom-Json
        $doc.embeddings.Count | Should -Be 13
        foreach ($layer in $doc.embeddings) { $layer.Count | Should -Be 768 }
        ($doc.embeddings | ForEach-Object { $_ }) -join ','
    }

    function Get-Output { param([string] $Dir) @(Get-ChildItem -LiteralPath $Dir -Recurse -File -Force -ErrorAction SilentlyContinue) }

    # A child pwsh like this one (under `dotnet pwsh`, that is `dotnet <PSHOME>/pwsh.dll`).
    $hostPath = (Get-Process -Id $PID).Path
    $pwsh = if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { @($hostPath, (Join-Path $PSHOME 'pwsh.dll')) } else { @($hostPath) }
    $modulePath = $ModuleManifest
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'Invoke-MertEndpoint against the emulator' {
    BeforeEach {
        $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE
        $null = Start-MertEndpoint embed -Confirm:$false
    }

    It 'turns 50 files into 50 outputs named after their relative paths, with the same numbers on a forced second run' {
        $first = Join-Path $TestDrive 'out-first'
        $second = Join-Path $TestDrive 'out-second'
        Push-Location $audio   # -BaseDirectory defaults to the current location
        try { $results = Get-ChildItem -Recurse -File | Invoke-MertEndpoint embed -OutDirectory $first -ErrorVariable err }
        finally { Pop-Location }
        $err | Should -BeNullOrEmpty
        $results.Count | Should -Be 50
        $results[0] | Should -BeOfType MertEndpoint.InvokeResult
        $results | ForEach-Object { $_.StatusCode | Should -Be 200; $_.BytesSent | Should -Be 8192; $_.Response | Should -BeNullOrEmpty }
        (Get-Output $first).Count | Should -Be 50
        foreach ($name in $names) { Join-Path $first "$name.json" | Should -Exist }

        $before = (Get-RequestLog $emulator).Count
        $verbose = Get-ChildItem $audio -Recurse -File | Invoke-MertEndpoint embed -OutDirectory $first -BaseDirectory $audio -Verbose -InformationVariable said 4>&1
        Get-DataPost -Skip $before | Should -BeNullOrEmpty   # every output exists: nothing is sent again
        @($verbose | Where-Object { $_ -match '^Skipping .+ exists' }).Count | Should -Be 50
        "$said" | Should -Match '^0 answered, 0 failed, 50 skipped in \d+ s\.$'   # the one line that says what happened

        $again = Get-ChildItem $audio -Recurse -File | Invoke-MertEndpoint embed -OutDirectory $second -BaseDirectory $audio -Force -ThrottleLimit 8
        $again.Count | Should -Be 50
        (Get-DataPost -Skip $before).Count | Should -Be 50
        foreach ($name in $names) {
            Get-Embedding (Join-Path $second "$name.json") | Should -BeExactly (Get-Embedding (Join-Path $first "$name.json"))
        }
        Get-Embedding (Join-Path $first 'x/track.wav.json') | Should -Not -Be (Get-Embedding (Join-Path $first 'y/track.wav.json'))
    }

    It 'finishes a stopped run without sending the finished files again, leaving no partial file' {
        $out = Join-Path $TestDrive 'out-resume'
        function New-Run {
            # The run in its own runspace, so that it can be stopped the way Ctrl+C stops it, and its progress read.
            param([int] $ThrottleLimit)
            $ps = [powershell]::Create()
            $null = $ps.AddScript({
                    param($Module, $Audio, $Out, $ThrottleLimit)
                    Import-Module $Module
                    Get-ChildItem $Audio -Recurse -File | Invoke-MertEndpoint embed -OutDirectory $Out -BaseDirectory $Audio -ThrottleLimit $ThrottleLimit
                }).AddArgument($modulePath).AddArgument($audio).AddArgument($out).AddArgument($ThrottleLimit)
            $ps
        }
        # 100 ms per request, two at a time: about 2.5 s for all 50, so a stop after 20 lands mid-run even when this
        # polling loop is starved for a second on a loaded machine.
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = $dataPath; status = $null; delayMs = 100; count = $null }
        $ps = New-Run -ThrottleLimit 2
        try {
            $handle = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while ((Get-Output $out).Count -lt 20 -and -not $handle.IsCompleted -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 5 }
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            # Piped input still streaming (the throttle holds it back): counts so far, no total yet.
            $ps.Streams.Progress | Where-Object StatusDescription -Match '^[1-9]\d* done, 0 failed, 0 skipped so far' | Should -Not -BeNullOrEmpty
        }
        finally { $ps.Dispose() }

        $left = Get-Output $out
        $left | Where-Object Extension -ne '.json' | Should -BeNullOrEmpty   # no temp file survives the stop
        $left.Count | Should -BeGreaterOrEqual 20
        $left.Count | Should -BeLessThan 50
        foreach ($file in $left) { $null = Get-Embedding $file.FullName }

        $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE
        $before = (Get-RequestLog $emulator).Count
        $ps = New-Run -ThrottleLimit 4
        try {
            $rest = $ps.Invoke()
            $ps.Streams.Error | Should -BeNullOrEmpty
            # Once the input has ended, the total is known.
            $ps.Streams.Progress | Where-Object StatusDescription -Match "^\d+ done, 0 failed, $($left.Count) skipped of 50" | Should -Not -BeNullOrEmpty
        }
        finally { $ps.Dispose() }
        (Get-DataPost -Skip $before).Count | Should -Be (50 - $left.Count)
        @($rest).Count | Should -Be (50 - $left.Count)
        $all = Get-Output $out
        $all.Count | Should -Be 50
        foreach ($file in $all) { $file.Extension | Should -Be '.json'; $null = Get-Embedding $file.FullName }
    }

    It 'wakes a scaled-to-zero endpoint with the first request, and every file succeeds' {
        $null = Stop-MertEndpoint embed -ScaleToZero -Confirm:$false
        (Get-MertEndpoint embed).Status | Should -Be 'ScaledToZero'
        $before = (Get-RequestLog $emulator).Count
        $files = Get-ChildItem $audio -Recurse -File | Select-Object -First 8
        $results = $files | Invoke-MertEndpoint embed -ErrorVariable err
        $err | Should -BeNullOrEmpty
        $results.Count | Should -Be 8
        foreach ($r in $results) {
            $r.Response.embeddings.Count | Should -Be 13
            $r.Response.embeddings[12].Count | Should -Be 768
        }
        ($results.Duration | Measure-Object -Maximum TotalSeconds).Maximum | Should -BeGreaterThan 0.5   # held while it booted
        # X-Scale-Up-Timeout made the service hold the requests: no 503 had to be retried.
        (Get-DataPost -Skip $before).status | Should -Be (@(200) * 8)
        (Get-MertEndpoint embed).Status | Should -Be 'Running'
    }

    It 'reports one injected 500 as one error naming the file, and writes the other 49' {
        $out = Join-Path $TestDrive 'out-500'
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = $dataPath; status = 500; count = 1 }
        $results = Get-ChildItem $audio -Recurse -File |
            Invoke-MertEndpoint embed -OutDirectory $out -BaseDirectory $audio -ErrorVariable err -ErrorAction SilentlyContinue -InformationVariable said
        $err.Count | Should -Be 1
        "$said" | Should -Match '^49 answered, 1 failed, 0 skipped in \d+ s\.$'

        $err[0].FullyQualifiedErrorId | Should -BeLike 'ModelError,*'   # the model failed on this input: not a connection problem
        $err[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        $err[0].Exception.StatusCode | Should -Be 500
        $failed = $err[0].TargetObject
        $failed | Should -BeLike "$audio*.wav"
        $err[0].Exception.Message | Should -BeLike "*'$failed'*500*Emulated fault*"
        @($results).Count | Should -Be 49
        (Get-Output $out).Count | Should -Be 49
        Join-Path $out ($failed.Substring($audio.Length + 1) + '.json') | Should -Not -Exist
    }

    It 'saves no answer that is not whole JSON (an HTML page, a cut body) and sends those files again on a rerun' {
        $out = Join-Path $TestDrive 'out-unexpected'
        $files = @(Get-ChildItem $audio -Recurse -File | Sort-Object FullName | Select-Object -First 3)
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = $dataPath; status = 200; count = 1; body = '<html><body>Gateway says hello</body></html>'; contentType = 'text/html' }
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = $dataPath; status = 200; count = 1; body = '{"embeddings": [[0.1, 0.2'; contentType = 'application/json' }
        try { $results = $files | Invoke-MertEndpoint embed -OutDirectory $out -BaseDirectory $audio -ThrottleLimit 1 -ErrorVariable err -ErrorAction SilentlyContinue }
        finally { $null = Invoke-MertEmulatorAdmin $emulator faults -Method DELETE }
        $err.Count | Should -Be 2 -Because ($err | ForEach-Object { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" } | Select-Object -First 3 | Out-String)
        $err | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'UnexpectedAnswer,*' }
        $err[0].Exception.Message | Should -BeLike '*text/html, not JSON*'
        $err[1].Exception.Message | Should -BeLike '*not whole JSON*'
        @($results).Count | Should -Be 1
        (Get-Output $out).Count | Should -Be 1
        # The rerun sends only the two that were not saved.
        $before = @(Get-RequestLog $emulator).Count
        $again = $files | Invoke-MertEndpoint embed -OutDirectory $out -BaseDirectory $audio
        @($again).Count | Should -Be 2
        (Get-DataPost -Skip $before).Count | Should -Be 2
        (Get-Output $out).Count | Should -Be 3
    }

    It 'streams a 200 MB file: the sending process grows by less than 50 MB' {
        $big = Join-Path $TestDrive 'big.bin'
        $fs = [IO.File]::Create($big); $fs.SetLength(200MB); $fs.Dispose()   # sparse: instant, no disk write
        try {
            $child = {
                param($Module, $Url, $Small, $Big)
                Import-Module $Module
                $null = Invoke-MertEndpoint -Url $Url -InFile $Small   # warm up: JIT and connection
                $p = [Diagnostics.Process]::GetCurrentProcess()
                [GC]::Collect(); $p.Refresh()
                $private = $p.PrivateMemorySize64; $allocated = [GC]::GetTotalAllocatedBytes($true)
                $r = Invoke-MertEndpoint -Url $Url -InFile $Big
                $p.Refresh()
                [pscustomobject]@{
                    Received      = $r.Response.bytes
                    Sent          = $r.BytesSent
                    PrivateGrowth = $p.PrivateMemorySize64 - $private
                    Allocated     = [GC]::GetTotalAllocatedBytes($true) - $allocated
                } | ConvertTo-Json -Compress
            }
            $command = "& { $child } '$modulePath' '$url' '$(Join-Path $audio $names[0])' '$big'"
            $json = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $command
            $m = $json | Select-Object -Last 1 | ConvertFrom-Json
            $m.Received | Should -Be 200MB   # the emulator hashed every byte
            $m.Sent | Should -Be 200MB
            $m.PrivateGrowth | Should -BeLessThan 50MB
            $m.Allocated | Should -BeLessThan 50MB
        }
        finally { Remove-Item -LiteralPath $big -Force }
    }

    It '-Url works without -Name; -Body sends JSON; -Raw keeps the text' {
        $file = Join-Path $audio $names[0]
        $r = Invoke-MertEndpoint -Url $url -InFile $file
        $r.InputPath | Should -Be $file
        $r.OutputPath | Should -BeNullOrEmpty
        $r.Response.bytes | Should -Be 8192
        $r.Response.embeddings.Count | Should -Be 13

        $body = @{ inputs = 'hello'; parameters = @{ layers = 13 } }
        $b = Invoke-MertEndpoint -Url $url -Body $body -Raw
        $b.Response | Should -BeOfType [string]
        ($b.Response | ConvertFrom-Json).bytes | Should -Be ([Text.Encoding]::UTF8.GetByteCount(($body | ConvertTo-Json -Depth 100 -Compress)))
    }

    It 'a paused endpoint gives a clear error that says how to start it' {
        $files = Get-ChildItem $audio -Recurse -File
        $null = Stop-MertEndpoint embed -Confirm:$false
        $before = (Get-RequestLog $emulator).Count

        $e = { $files | Invoke-MertEndpoint embed } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'EndpointNotReady,*'
        $e.Exception.Message | Should -Match 'paused'
        $e.Exception.Message | Should -Match 'Start-MertEndpoint embed'
        $e.Exception.Message | Should -Match 'Use-MertEndpoint'
        Get-DataPost -Skip $before | Should -BeNullOrEmpty   # known to be paused: nothing was sent

        # By URL the service answers 400 Invalid state; the command stops instead of failing 50 times.
        $e = { $files | Invoke-MertEndpoint -Url $url } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'EndpointNotReady,*'
        $e.Exception.StatusCode | Should -Be 400
        $e.Exception.Message | Should -Match 'paused.*Start-MertEndpoint.*Use-MertEndpoint'
        (Get-DataPost -Skip $before).Count | Should -BeLessOrEqual 4   # at most the first -ThrottleLimit requests
    }
}
