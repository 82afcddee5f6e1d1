BeforeAll {
    . $PSScriptRoot/Common.ps1
    $emulator = Start-TestEmulator -BootSeconds 1.5
    function Assert-Error($err, [string] $Id, [string] $Category) {
        $err | Should -Not -BeNullOrEmpty -Because "a $Id error was expected"
        $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        "$($err[0].CategoryInfo.Category)" | Should -Be $Category
    }
}
AfterAll { Stop-TestEmulator $emulator }

Describe 'Each error id of the contract comes from a real condition' {
    BeforeEach {
        Reset-Emulator $emulator
        Use-MertEmulatorEnvironment $emulator -Token $TestToken
    }

    It 'TokenNotFound when no token is set anywhere (terminating, names the fix)' {
        $env:HF_TOKEN = $null
        $env:HF_TOKEN_PATH = Join-Path $TestDrive 'no-such-token'
        $env:HF_HOME = Join-Path $TestDrive 'hf-home'
        try {
            { Get-MertEndpoint -ErrorAction Stop } | Should -Throw -ErrorId 'TokenNotFound,*'
            try { Get-MertEndpoint } catch { $caught = $_ }
            "$($caught.CategoryInfo.Category)" | Should -Be 'AuthenticationError'
            $caught.Exception.Message | Should -Match 'HF_TOKEN'
        }
        finally { Remove-Item Env:HF_TOKEN_PATH, Env:HF_HOME -ErrorAction SilentlyContinue }
    }

    It 'Unauthorized for a wrong token' {
        $wrong = ConvertTo-SecureString 'hf_wrong_token' -AsPlainText -Force
        Get-MertEndpoint -Namespace emulator-user -Token $wrong -ErrorAction SilentlyContinue -ErrorVariable err
        Assert-Error $err Unauthorized AuthenticationError
    }

    It 'Unauthorized for a namespace the token may not use; Forbidden for a 403' {
        Get-MertEndpoint -Namespace someone-else -ErrorAction SilentlyContinue -ErrorVariable err
        # The service answers a namespace the token cannot use with 401 (reference page), not 403.
        Assert-Error $err Unauthorized AuthenticationError
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/emulator-user'; status = 403; count = 1 }
        Get-MertEndpoint -ErrorAction SilentlyContinue -ErrorVariable err2
        Assert-Error $err2 Forbidden PermissionDenied
    }

    It 'EndpointNotFound for a missing name, with the name and namespace in the message' {
        Get-MertEndpoint does-not-exist -ErrorAction SilentlyContinue -ErrorVariable err
        Assert-Error $err EndpointNotFound ObjectNotFound
        $err[0].Exception.Message | Should -Match 'does-not-exist'
        $err[0].Exception.Message | Should -Match 'emulator-user'
    }

    It 'EndpointAlreadyExists for a duplicate New' {
        $null = New-MertEndpoint dup -ImageUrl 'someone/img:1' -Confirm:$false
        New-MertEndpoint dup -ImageUrl 'someone/img:1' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        Assert-Error $err EndpointAlreadyExists ResourceExists
    }

    It 'InvalidToken for a token with a character no header can carry, naming its source, with no request sent' {
        $before = (Get-RequestLog $emulator).Count
        # Terminating, as any missing or unusable token is: nothing can run.
        $env:HF_TOKEN = "hf_secret$([char]0x201D)tail"
        $err = $null
        try { Get-MertEndpoint } catch { $err = @($_) }
        Assert-Error $err InvalidToken AuthenticationError
        "$($err[0])" | Should -Match 'HF_TOKEN environment variable has a non-ASCII character'
        "$($err[0])" | Should -Not -Match 'secret|tail'
        $env:HF_TOKEN = $null
        $env:HF_TOKEN_PATH = Join-Path $TestDrive 'token'
        try {
            Set-Content -LiteralPath $env:HF_TOKEN_PATH -Value "hf_secret$([char]7)tail" -NoNewline
            $err2 = $null
            try { Get-MertEndpoint } catch { $err2 = @($_) }
            Assert-Error $err2 InvalidToken AuthenticationError
            "$($err2[0])" | Should -Match ([regex]::Escape("token file '$env:HF_TOKEN_PATH' has a control character"))
            "$($err2[0])" | Should -Not -Match 'secret|tail'
        }
        finally { Remove-Item Env:HF_TOKEN_PATH -ErrorAction SilentlyContinue }
        (Get-RequestLog $emulator).Count | Should -Be $before
    }

    It 'InvalidRequest for an instance the catalog does not have, with the service message' {
        New-MertEndpoint bad-compute -ImageUrl 'someone/img:1' -InstanceType nvidia-bogus -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        Assert-Error $err InvalidRequest InvalidArgument
        $err[0].Exception.Message | Should -Match 'not found'
    }

    It 'EndpointFailed for an endpoint whose image fails, at once and with nothing left billing' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        Start-MertEndpoint broken -CreateIfMissing -ImageUrl 'someone/fail-image:latest' -TimeoutSec 60 -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 20
        Assert-Error $err EndpointFailed ResourceUnavailable
        (Get-MertEndpoint broken).Status | Should -Be 'Failed'
    }

    It 'WaitTimeout for a short timeout, and the endpoint it resumed is paused again' {
        $slow = Start-TestEmulator -BootSeconds 6
        try {
            $null = New-MertEndpoint slow -ImageUrl 'someone/img:1' -Confirm:$false
            Stop-MertEndpoint slow -Confirm:$false
            Start-MertEndpoint slow -TimeoutSec 1 -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
            Assert-Error $err WaitTimeout OperationTimeout
            "$($err[0])" | Should -Match 'paused again'
            (Get-MertEndpoint slow).Status | Should -Be 'Paused'
        }
        finally { Stop-TestEmulator $slow }
    }

    It 'InvalidEndpointName for Bad_Name! with no HTTP request sent' {
        $before = (Get-RequestLog $emulator).Count
        New-MertEndpoint 'Bad_Name!' -ImageUrl 'someone/img:1' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        Start-MertEndpoint 'Bad_Name!' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err2
        Assert-Error $err InvalidEndpointName InvalidArgument
        Assert-Error $err2 InvalidEndpointName InvalidArgument
        (Get-RequestLog $emulator).Count | Should -Be $before
    }

    It 'RateLimited when 429 persists after the retries' {
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint'; status = 429; count = $null; retryAfterSeconds = 0 }
        Get-MertEndpoint -ErrorAction SilentlyContinue -ErrorVariable err
        Assert-Error $err RateLimited LimitsExceeded
    }

    It 'ServiceUnavailable when 503 persists after the retries' {
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint'; status = 503; count = $null; retryAfterSeconds = 0 }
        Get-MertEndpoint -ErrorAction SilentlyContinue -ErrorVariable err
        Assert-Error $err ServiceUnavailable ConnectionError
    }
}

Describe 'Retries' {
    BeforeEach { Reset-Emulator $emulator }

    It 'survive two injected 503s and a 429 with Retry-After' {
        $null = New-MertEndpoint retry-me -ImageUrl 'someone/img:1' -Confirm:$false
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/emulator-user/retry-me'; status = 503; count = 2 }
        Add-Fault $emulator @{ method = 'GET'; pathPrefix = '/v2/endpoint/emulator-user/retry-me'; status = 429; count = 1; retryAfterSeconds = 1 }
        $e = Get-MertEndpoint retry-me
        $e.Name | Should -Be 'retry-me'
        $gets = Get-RequestLog $emulator | Where-Object { $_.method -eq 'GET' -and $_.path -eq '/v2/endpoint/emulator-user/retry-me' }
        ($gets.status -join ',') | Should -Be '503,503,429,200'
    }

    It 'a dropped connection on a resume is retried' {
        $null = New-TestEndpoint drop-me
        Stop-MertEndpoint drop-me -Confirm:$false
        Add-Fault $emulator @{ method = 'POST'; pathPrefix = '/v2/endpoint/emulator-user/drop-me/resume'; drop = $true; count = 1 }
        (Start-MertEndpoint drop-me -NoWait -Confirm:$false).Status | Should -BeIn 'Pending', 'Initializing', 'Running'
    }
}
