# Help as a PowerShell user expects it, and the README's error table checked against the code.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../../out/MertEndpoint/MertEndpoint.psd1')
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

    It 'takes the create defaults from Core''s MertDefaults, in the parameters, their default values and their texts' {
        $defaults = [MertEndpoint.EndpointInfo].Assembly.GetType('MertEndpoint.MertDefaults', $true)
        $expected = @{
            Repository = 'Repository'; Framework = 'Framework'; Port = 'ImagePort'; HealthRoute = 'HealthRoute'; Accelerator = 'Accelerator'
            Vendor = 'Vendor'; Region = 'Region'; InstanceType = 'InstanceType'; InstanceSize = 'InstanceSize'; MinReplica = 'MinReplica'
            MaxReplica = 'MaxReplica'; ScaleToZeroTimeout = 'ScaleToZeroTimeout'; Type = 'Type'
        }
        foreach ($command in 'New-MertEndpoint', 'Start-MertEndpoint') {
            foreach ($parameter in $expected.Keys) {
                $value = "$($defaults.GetField($expected[$parameter]).GetValue($null))"
                $p = Get-Help $command -Parameter $parameter
                $p.defaultValue | Should -Be $value -Because "$command -$parameter"
                ($p.description.Text -join ' ') | Should -Match "Default $([regex]::Escape($value))\b" -Because "the help text of $command -$parameter states the same default"
            }
            $task = (Get-Help $command -Parameter Task).description.Text -join ' '
            $task | Should -Match ([regex]::Escape("Default $($defaults::Task) for the $($defaults::Repository) repository"))
        }
        $description = (Get-Help New-MertEndpoint).description.Text -join ' '
        foreach ($name in 'Repository', 'Task', 'ImagePort', 'HealthRoute', 'Region', 'InstanceType', 'InstanceSize') {
            $description | Should -Match ([regex]::Escape("$($defaults.GetField($name).GetValue($null))"))
        }
        $description | Should -Not -Match '\{(default|MertDefaults\.\w+)\}' -Because 'the build fills every placeholder'
    }

    It 'writes no create default literally in the help source: the build fills it from MertDefaults' {
        $defaults = [MertEndpoint.EndpointInfo].Assembly.GetType('MertEndpoint.MertDefaults', $true)
        $values = @($defaults.GetFields() | Where-Object IsLiteral | ForEach-Object { "$($_.GetValue($null))" } | Where-Object { $_.Length -gt 1 })
        $values | Should -Contain 'nvidia-a10g'
        $source = Join-Path $repoRoot 'src/MertEndpoint.PowerShell/help'
        $found = foreach ($file in Get-ChildItem $source -Filter *.psd1) {
            $text = Get-Content -Raw $file.FullName
            foreach ($value in $values) {
                $v = [regex]::Escape($value)
                if ($text -match "(?i)default:?\s+$v\b|\b$v\s+\(default|:\s*model\s+$v") { "$($file.Name): $value" }
            }
        }
        $found | Should -BeNullOrEmpty
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
        # Every id the module can emit is a member of EndpointErrorKind: Errors makes every error, and
        # MertCmdlet.ToErrorRecord every record, its id the kind's name and its category CategoryOf(kind).
        $script:emitted = @{}
        $categoryOf = [MertEndpoint.PowerShell.MertCmdlet].GetMethod('CategoryOf', [Reflection.BindingFlags]'Static,NonPublic')
        $kindType = $categoryOf.GetParameters()[0].ParameterType
        foreach ($kind in [Enum]::GetValues($kindType)) { $emitted["$kind"] = "$($categoryOf.Invoke($null, @($kind)))" }
        $script:cmdletSources = @(Get-ChildItem (Join-Path $repoRoot 'src/MertEndpoint.PowerShell') -Recurse -Filter *.cs |
            Where-Object FullName -NotMatch '[\\/](obj|bin)[\\/]')
        $script:coreSources = @(Get-ChildItem (Join-Path $repoRoot 'src/MertEndpoint.Core') -Recurse -Filter *.cs |
            Where-Object FullName -NotMatch '[\\/](obj|bin)[\\/]')
        $readme = Get-Content -Raw (Join-Path $repoRoot 'README.md')
        $section = $readme.Substring($readme.IndexOf('### Errors'))
        $script:documented = @{}
        foreach ($m in [regex]::Matches($section, '(?m)^\|[^|\n]*\|\s*`(\w+)`\s*\|\s*(\w+)\s*\|\s*$')) { $documented[$m.Groups[1].Value] = $m.Groups[2].Value }
    }

    It 'found the ids the code emits' {
        $cmdlets.Count | Should -Be 14
        $emitted.Count | Should -BeGreaterThan 30
        foreach ($id in 'WaitTimeout', 'NothingToSend', 'FileNotFound', 'InvalidPeriod', 'InvalidToken', 'EndpointConflict') { $emitted.Keys | Should -Contain $id }
    }

    It 'gives every id a category of its own; only Unknown is NotSpecified' {
        @($emitted.Keys | Where-Object { $_ -ne 'Unknown' -and $emitted[$_] -eq 'NotSpecified' }) | Should -BeNullOrEmpty
        $emitted['EndpointConflict'] | Should -Be 'ResourceBusy'
        $emitted['InvalidToken'] | Should -Be 'AuthenticationError'
    }

    It 'makes every error record in MertCmdlet.ToErrorRecord, with no id or message composed in a cmdlet' {
        $records = @($cmdletSources | Select-String -Pattern 'new ErrorRecord\(' -SimpleMatch:$false)
        $records.Count | Should -Be 1 -Because 'one mapping turns an EndpointException into a record'
        $records[0].Path | Should -BeLike '*MertCmdlet.cs'
        @($cmdletSources | Select-String -Pattern '"\w+",\s*ErrorCategory\.|WriteArgumentError|new (PS)?(Argument|InvalidOperation|FileNotFound|IO|Timeout)Exception\(') |
            ForEach-Object { "$($_.Filename):$($_.LineNumber): $($_.Line.Trim())" } | Should -BeNullOrEmpty
        # Core: every EndpointException is made by an Errors factory.
        @($coreSources | Where-Object Name -ne 'Errors.cs' | Select-String -Pattern 'new EndpointException\(') |
            ForEach-Object { "$($_.Filename):$($_.LineNumber): $($_.Line.Trim())" } | Should -BeNullOrEmpty
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
