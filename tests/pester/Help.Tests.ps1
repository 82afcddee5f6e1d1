# Help as a PowerShell user expects it, and the README's error table checked against the code.
BeforeDiscovery {
    Import-Module (Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { "$PSScriptRoot/../../out" }) 'MertEndpoint/MertEndpoint.psd1')
    $cmdletNames = @(Get-Command -Module MertEndpoint -CommandType Cmdlet | ForEach-Object Name)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:emulator = Start-TestEmulator
    $script:cmdlets = @(Get-Command -Module MertEndpoint -CommandType Cmdlet | ForEach-Object Name)
}

AfterAll { Stop-TestEmulator $script:emulator }

Describe 'Help of <_>' -ForEach $cmdletNames {
    BeforeAll { $script:help = Get-Help $_ -Full }

    It 'has INPUTS, OUTPUTS and examples' {
        @($help.inputTypes.inputType).Count | Should -BeGreaterThan 0
        $help.inputTypes.inputType[0].type.name | Should -Not -BeNullOrEmpty
        @($help.returnValues.returnValue).Count | Should -BeGreaterThan 0
        ($help.returnValues.returnValue.description.Text -join ' ') | Should -Not -BeNullOrEmpty
        @($help.examples.example).Count | Should -BeGreaterThan 0
    }

    It 'links related commands and about_MertEndpoint, with no online address' {
        $links = @($help.relatedLinks.navigationLink)
        $links.linkText | Should -Contain 'about_MertEndpoint'
        foreach ($link in $links.linkText | Where-Object { $_ -ne 'about_MertEndpoint' }) { $cmdlets | Should -Contain $link }
        $links.uri | Where-Object { $_ } | Should -BeNullOrEmpty
        (Get-Command $_).HelpUri | Should -BeNullOrEmpty
    }

    It 'shows -WhatIf and -Confirm in the syntax when it supports them, and a default value for every optional parameter' {
        $command = Get-Command $_
        $syntax = @($help.syntax.syntaxItem.parameter.name)
        if ($command.Parameters.ContainsKey('WhatIf')) {
            $syntax | Should -Contain 'WhatIf'
            $syntax | Should -Contain 'Confirm'
        }
        foreach ($p in @($help.parameters.parameter | Where-Object required -eq 'false')) {
            $p.defaultValue | Should -Not -BeNullOrEmpty -Because "-$($p.name) is optional"
        }
    }
}

Describe 'Help details' {
    It 'documents the dynamic parameters of Start-MertEndpoint -CreateIfMissing' {
        $p = Get-Help Start-MertEndpoint -Parameter ImageUrl
        $p.name | Should -Be 'ImageUrl'
        ($p.description.Text -join ' ') | Should -Match 'CreateIfMissing'
        (Get-Help Start-MertEndpoint -Parameter InstanceType).defaultValue | Should -Be 'nvidia-a10g'
    }

    It 'reads default values from the cmdlets' {
        (Get-Help Start-MertEndpoint -Parameter TimeoutSec).defaultValue | Should -Be '600'
        (Get-Help Invoke-MertEndpoint -Parameter ThrottleLimit).defaultValue | Should -Be '4'
        (Get-Help New-MertEndpoint -Parameter Port).defaultValue | Should -Be '8080'
    }

    It 'Set-MertEndpoint claims no create default for what it updates' {
        foreach ($name in 'InstanceType', 'InstanceSize', 'Port', 'HealthRoute', 'Repository', 'Revision', 'MinReplica', 'MaxReplica', 'ScaleToZeroTimeout', 'ImageUrl', 'Env') {
            $p = Get-Help Set-MertEndpoint -Parameter $name
            ($p.description.Text -join ' ') | Should -Not -Match 'default' -Because "-$name of an update keeps the current value"
            $p.defaultValue | Should -Be 'None'
        }
    }

    It 'has an about_MertEndpoint topic on readiness, money safety, the emulator and errors' {
        $about = Get-Help about_MertEndpoint | Out-String
        foreach ($heading in 'READINESS', 'MONEY SAFETY', 'THE EMULATOR', 'ERRORS') { $about | Should -Match $heading }
        $about | Should -Match 'MertEndpoint\.EndpointException'
    }
}

Describe 'Error ids' {
    BeforeAll {
        # Every id the code can emit: the EndpointErrorKind names, and the string ids given to ErrorRecord,
        # WriteArgumentError and Terminate in the cmdlet layer, with the category each is emitted with.
        $script:emitted = @{}
        $errors = (Get-Content -Raw (Join-Path $repoRoot 'src/MertEndpoint.Core/Errors.cs')) -replace '//[^\n]*', ''
        $kinds = [regex]::Match($errors, 'enum\s+EndpointErrorKind\s*\{([^}]*)\}').Groups[1].Value -split '[,\s]+' | Where-Object { $_ }
        $categoryOf = [MertEndpoint.PowerShell.MertCmdlet].GetMethod('CategoryOf', [Reflection.BindingFlags]'Static,NonPublic')
        $kindType = $categoryOf.GetParameters()[0].ParameterType
        foreach ($kind in $kinds) { $emitted[$kind] = "$($categoryOf.Invoke($null, @([Enum]::Parse($kindType, $kind))))" }
        foreach ($file in Get-ChildItem (Join-Path $repoRoot 'src/MertEndpoint.PowerShell') -Recurse -Filter *.cs) {
            $code = Get-Content -Raw $file.FullName
            foreach ($m in [regex]::Matches($code, '(?:WriteArgumentError|Terminate)\(\s*"(\w+)"')) { $emitted[$m.Groups[1].Value] = 'InvalidArgument' }
            foreach ($m in [regex]::Matches($code, '"(\w+)",\s*ErrorCategory\.(\w+)')) { $emitted[$m.Groups[1].Value] = $m.Groups[2].Value }
        }
        $readme = Get-Content -Raw (Join-Path $repoRoot 'README.md')
        $section = $readme.Substring($readme.IndexOf('### Errors'))
        $script:documented = @{}
        foreach ($m in [regex]::Matches($section, '(?m)^\|[^|\n]*\|\s*`(\w+)`\s*\|\s*(\w+)\s*\|\s*$')) { $documented[$m.Groups[1].Value] = $m.Groups[2].Value }
    }

    It 'found the ids the code emits' {
        $cmdlets.Count | Should -Be 14
        $emitted.Count | Should -BeGreaterThan 20
        $emitted.Keys | Should -Contain 'WaitTimeout'
        $emitted.Keys | Should -Contain 'NothingToSend'
        $emitted.Keys | Should -Contain 'FileNotFound'
    }

    It 'the README error table lists every id with its category' {
        $missing = @($emitted.Keys | Where-Object { -not $documented.ContainsKey($_) } | Sort-Object)
        $missing | Should -BeNullOrEmpty -Because 'every id the code can emit belongs in the README table'
        foreach ($id in $emitted.Keys) { $documented[$id] | Should -Be $emitted[$id] -Because "the category of $id" }
    }

    It 'the README lists no id the code cannot emit' {
        @($documented.Keys | Where-Object { -not $emitted.ContainsKey($_) }) | Should -BeNullOrEmpty
    }

    It 'a service error can be caught as MertEndpoint.EndpointException with its details' {
        $caught = $null
        try { Get-MertEndpoint no-such-endpoint -ErrorAction Stop }
        catch [MertEndpoint.EndpointException] { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'EndpointNotFound*'
        $caught.Exception.Kind | Should -Be 'EndpointNotFound'
        $caught.Exception.StatusCode | Should -Be 404
        $caught.Exception.EndpointName | Should -Be 'no-such-endpoint'
        $caught.Exception.RequestId | Should -Not -BeNullOrEmpty
    }
}
