# Help as a PowerShell user expects it, checked against the module so it cannot drift: the about topic's cmdlets,
# output types and error ids, every parameter's help against its attributes, and the error table of docs/ERRORS.md.
BeforeDiscovery {
    Import-Module (Join-Path $(if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { "$PSScriptRoot/../../out" }) 'MertEndpoint/MertEndpoint.psd1')
    $cmdletNames = @(Get-Command -Module MertEndpoint -CommandType Cmdlet | ForEach-Object Name)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:emulator = Start-TestEmulator
    $script:cmdlets = @(Get-Command -Module MertEndpoint -CommandType Cmdlet | ForEach-Object Name)

    function Get-EmittedErrorId {
        # Every id the module can emit, with its category: the EndpointErrorKind names (from the loaded module), and
        # the string ids given to ErrorRecord, WriteArgumentError and Terminate in the cmdlet layer (from its source).
        $ids = @{}
        $categoryOf = [MertEndpoint.PowerShell.MertCmdlet].GetMethod('CategoryOf', [Reflection.BindingFlags]'Static,NonPublic')
        $kindType = $categoryOf.GetParameters()[0].ParameterType
        foreach ($kind in [Enum]::GetNames($kindType)) { $ids[$kind] = "$($categoryOf.Invoke($null, @([Enum]::Parse($kindType, $kind))))" }
        foreach ($file in Get-ChildItem (Join-Path $repoRoot 'src/MertEndpoint.PowerShell') -Recurse -Filter *.cs) {
            $code = Get-Content -Raw $file.FullName
            foreach ($m in [regex]::Matches($code, '(?:WriteArgumentError|Terminate)\(\s*"(\w+)"')) { $ids[$m.Groups[1].Value] = 'InvalidArgument' }
            foreach ($m in [regex]::Matches($code, '"(\w+)",\s*ErrorCategory\.(\w+)')) { $ids[$m.Groups[1].Value] = $m.Groups[2].Value }
        }
        $ids
    }

    function Get-AboutSection([string] $Heading) {
        # The lines of one section of the about topic that ships in the built module, up to the next heading.
        $lines = Get-Content (Join-Path $ModuleDir 'en-US/about_MertEndpoint.help.txt')
        $start = [array]::IndexOf($lines, "  $Heading")
        if ($start -lt 0) { throw "about_MertEndpoint has no section '$Heading'." }
        $section = foreach ($line in $lines[($start + 1)..($lines.Count - 1)]) {
            if ($line -match '^\s{0,2}[A-Z][A-Z ]+$') { break }
            $line
        }
        @($section)
    }
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
            MaxReplica = 'MaxReplica'; Type = 'Type'
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
        # The idle timeout is a duration: its default is MertDefaults' minutes as a TimeSpan.
        (Get-Help New-MertEndpoint -Parameter IdleTimeout).defaultValue | Should -Be "$([TimeSpan]::FromMinutes($defaults::ScaleToZeroTimeout))"
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
        (Get-Help Start-MertEndpoint -Parameter Timeout).defaultValue | Should -Be '00:10:00'
        (Get-Help Invoke-MertEndpoint -Parameter ThrottleLimit).defaultValue | Should -Be '4'
        (Get-Help New-MertEndpoint -Parameter Port).defaultValue | Should -Be '8080'
    }

    It 'Set-MertEndpoint claims no create default for what it updates' {
        foreach ($name in 'InstanceType', 'InstanceSize', 'Port', 'HealthRoute', 'Repository', 'Revision', 'MinReplica', 'MaxReplica', 'IdleTimeout', 'ImageUrl', 'Env') {
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

Describe 'The about_MertEndpoint topic agrees with the module' {
    It 'lists every command the built manifest exports (cmdlets only, the guard included), and no other' {
        $manifest = Import-PowerShellDataFile (Join-Path $ModuleDir 'MertEndpoint.psd1')
        @($manifest.CmdletsToExport).Count | Should -Be $cmdlets.Count -Because 'the manifest exports every cmdlet the module loads'
        # No script at import (a fresh process's first call waits for it): no function, no nested module.
        @(Get-Command -Module MertEndpoint -CommandType Function, Alias).Count | Should -Be 0
        @($manifest.FunctionsToExport).Count | Should -Be 0
        $manifest.NestedModules | Should -BeNullOrEmpty
        $exported = @($manifest.CmdletsToExport) + @($manifest.FunctionsToExport)
        $listed = @(Get-AboutSection 'CMDLETS' | Where-Object { $_ -match '^\s+(\w+-\w+)\s' } | ForEach-Object { $Matches[1] })
        @($exported | Where-Object { $_ -notin $listed }) | Should -BeNullOrEmpty -Because 'every exported cmdlet belongs in the CMDLETS list'
        @($listed | Where-Object { $_ -notin $exported }) | Should -BeNullOrEmpty -Because 'the list names only exported cmdlets'
    }

    It 'lists every error id the module can emit, and no other' {
        $emitted = Get-EmittedErrorId
        $listed = @(Get-AboutSection 'ERROR IDS' | Where-Object { $_ -match '^\s{4}(\w+)\s{2,}\S' } | ForEach-Object { $Matches[1] })
        $listed.Count | Should -BeGreaterThan 20
        @($emitted.Keys | Where-Object { $_ -notin $listed } | Sort-Object) | Should -BeNullOrEmpty -Because 'every id belongs in ERROR IDS'
        @($listed | Where-Object { -not $emitted.ContainsKey($_) }) | Should -BeNullOrEmpty -Because 'ERROR IDS names only ids the module emits'
    }

    It 'names the type of everything the cmdlets output' {
        $output = (Get-AboutSection 'OUTPUT') -join ' ' -replace '\s+', ' '
        $types = Get-Command -Module MertEndpoint -CommandType Cmdlet | ForEach-Object { $_.OutputType.Type } |
            Where-Object { $_ -and $_ -ne [void] -and $_ -ne [object] } | ForEach-Object FullName | Sort-Object -Unique
        @($types).Count | Should -BeGreaterThan 5
        foreach ($type in $types) { $output | Should -Match ([regex]::Escape($type) + '\b') -Because "OUTPUT names $type" }
    }
}

Describe 'Parameter help of <_> agrees with its attributes' -ForEach $cmdletNames {
    BeforeAll {
        $command = Get-Command $_
        $script:help = Get-Help $_ -Full
        # What the cmdlet itself says about each parameter: mandatory in which sets, and the value a fresh instance holds
        # (the default a user gets by leaving it out). Dynamic parameters (Start-MertEndpoint -CreateIfMissing's) come
        # from an instance with every switch on.
        $instance = [Activator]::CreateInstance($command.ImplementingType)
        $owners = @{}; $metadata = @{}
        foreach ($p in $command.Parameters.Values) { $metadata[$p.Name] = $p; $owners[$p.Name] = $instance }
        if ($instance -is [System.Management.Automation.IDynamicParameters]) {
            $probe = [Activator]::CreateInstance($command.ImplementingType)
            foreach ($p in $command.ImplementingType.GetProperties() | Where-Object { $_.PropertyType -eq [switch] -and $_.CanWrite }) {
                $p.SetValue($probe, [switch]::new($true))
            }
            $dynamic = $probe.GetDynamicParameters()
            if ($dynamic) {
                foreach ($p in [System.Management.Automation.ParameterMetadata]::GetParameterMetadata($dynamic.GetType()).Values) {
                    if (-not $metadata.ContainsKey($p.Name)) { $metadata[$p.Name] = $p; $owners[$p.Name] = $dynamic }
                }
            }
        }
        $script:metadata = $metadata

        function Get-InstanceDefault([string] $Name) {
            # As the help generator shows it: None for nothing, switches as True/False, arrays joined.
            $property = $owners[$Name].GetType().GetProperty($Name)
            if (-not $property) { return $null }
            $value = $property.GetValue($owners[$Name])
            if ($null -eq $value -or '' -eq $value) { return 'None' }
            if ($value -is [switch]) { return "$($value.IsPresent)" }
            if ($value -is [array]) { if ($value.Count -eq 0) { return 'None' }; return $value -join ', ' }
            "$value"
        }

        function Get-StatedDefault([string] $Text) {
            # The default a parameter's text states, in the forms the help uses: "Default 600.", "Default: now.",
            # "(default 16)", "gpu (default), cpu or neuron".
            foreach ($pattern in '(?:^|[.;]\s+)Default:?\s+(.+?)(?=\.\s|\.$|;|$)', '\(default:?\s+([^);,]+)', '(?:^|[\s,:])([\w./-]+) \(default[,)]') {
                $m = [regex]::Match($Text, $pattern)
                if ($m.Success) { return $m.Groups[1].Value.Trim() }
            }
            $null
        }
    }

    It 'documents every parameter, the dynamic ones included' {
        $documented = @($help.parameters.parameter.name)
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        # Old names kept hidden (DontShow) for old scripts are left out of help, as tab completion leaves them out.
        $shown = $metadata.Keys | Where-Object { $_ -notin $common -and -not ($metadata[$_].Attributes | Where-Object { $_ -is [Parameter] -and $_.DontShow }) }
        foreach ($name in $shown) { $documented | Should -Contain $name }
        foreach ($name in $metadata.Keys | Where-Object { $_ -notin $shown -and $_ -notin $common }) { $documented | Should -Not -Contain $name }
    }

    It 'says required exactly where the parameter is mandatory, in PARAMETERS and in each syntax' {
        foreach ($p in @($help.parameters.parameter)) {
            $sets = @($metadata[$p.name].ParameterSets.Values)
            $always = $sets.Count -gt 0 -and -not ($sets | Where-Object { -not $_.IsMandatory })
            $p.required | Should -Be "$always".ToLower() -Because "-$($p.name) of $_ is mandatory in every set: $always"
        }
        $items = @($help.syntax.syntaxItem)
        $items.Count | Should -Be $command.ParameterSets.Count
        for ($i = 0; $i -lt $items.Count; $i++) {
            $set = $command.ParameterSets[$i]
            foreach ($p in @($items[$i].parameter)) {
                $own = $set.Parameters | Where-Object Name -eq $p.name
                $mandatory = if ($own) { $own.IsMandatory } else { [bool]($metadata[$p.name].ParameterSets.Values | Where-Object IsMandatory) }
                $p.required | Should -Be "$mandatory".ToLower() -Because "-$($p.name) in the syntax of set $($set.Name)"
            }
        }
    }

    It 'claims a parameter is required only when it is' {
        foreach ($p in @($help.parameters.parameter)) {
            $text = $p.description.Text -join ' '
            foreach ($m in [regex]::Matches($text, '-(\w+) is (?:then |also )?required')) {
                $named = $m.Groups[1].Value
                $metadata.ContainsKey($named) | Should -BeTrue -Because "the help of -$($p.name) names -$named"
                [bool]($metadata[$named].ParameterSets.Values | Where-Object IsMandatory) | Should -BeTrue -Because "the help of -$($p.name) says -$named is required"
            }
        }
    }

    It 'gives the default the cmdlet has, and states no other' {
        foreach ($p in @($help.parameters.parameter | Where-Object { $_.name -notin 'WhatIf', 'Confirm' })) {
            $text = $p.description.Text -join ' '
            $stated = Get-StatedDefault $text
            $actual = Get-InstanceDefault $p.name
            $shown = "$($p.defaultValue)"
            if ($actual -and $actual -ne 'None') {
                $shown | Should -Be $actual -Because "a fresh $_ holds $actual in -$($p.name)"
            }
            if ($stated) {
                $p.required | Should -Be 'false' -Because "-$($p.name) states a default, so it cannot be mandatory"
                $shown | Should -Not -Be 'None' -Because "the text of -$($p.name) states the default '$stated'"
                $stated.StartsWith($shown, [StringComparison]::OrdinalIgnoreCase) | Should -BeTrue -Because "-$($p.name) states '$stated' but shows '$shown'"
                if ($stated.Length -gt $shown.Length) { $stated[$shown.Length] | Should -Not -Match '[\w-]' -Because "-$($p.name) states '$stated' but shows '$shown'" }
            } elseif ($actual -eq 'None' -and $shown -ne 'None') {
                throw "-$($p.name) of $_ shows the default '$shown', which neither the cmdlet holds nor its text states."
            }
        }
    }
}

Describe 'The guard cmdlet and the script it runs' {
    It 'Invoke-MertEndpointGuard takes the parameters of the guard script''s function: names, types, positions, defaults, value sets' {
        # The cmdlet passes its parameters on to the function in MertEndpoint.Guard.psm1 (guard.ps1 calls that function
        # directly), so the two must not drift apart. A module object of the script, not imported: nothing is shadowed.
        $script = [psmoduleinfo]::new([scriptblock]::Create((Get-Content -Raw (Join-Path $ModuleDir 'MertEndpoint.Guard.psm1'))))
        $function = $script.ExportedFunctions['Invoke-MertEndpointGuard']
        $function | Should -Not -BeNullOrEmpty
        $cmdlet = Get-Command Invoke-MertEndpointGuard -CommandType Cmdlet
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        $own = { param($c) @($c.Parameters.Values | Where-Object Name -notin $common) }
        @((& $own $cmdlet).Name) | Should -Be @((& $own $function).Name)
        $cmdlet.Parameters.ContainsKey('WhatIf') | Should -BeTrue
        $function.Parameters.ContainsKey('WhatIf') | Should -BeTrue
        $instance = [Activator]::CreateInstance($cmdlet.ImplementingType)
        $defaults = @{}
        foreach ($p in $function.ScriptBlock.Ast.Body.ParamBlock.Parameters) { $defaults[$p.Name.VariablePath.UserPath] = $p.DefaultValue }
        foreach ($p in & $own $function) {
            $mine = $cmdlet.Parameters[$p.Name]
            $mine.ParameterType | Should -Be $p.ParameterType -Because "-$($p.Name)"
            $mine.ParameterSets['__AllParameterSets'].Position | Should -Be $p.ParameterSets['__AllParameterSets'].Position -Because "-$($p.Name)"
            $mine.ParameterSets['__AllParameterSets'].IsMandatory | Should -Be $p.ParameterSets['__AllParameterSets'].IsMandatory -Because "-$($p.Name)"
            @($mine.Aliases) | Should -Be @($p.Aliases) -Because "-$($p.Name)"
            $set = { param($q) @($q.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | ForEach-Object ValidValues) }
            @(& $set $mine) | Should -Be @(& $set $p) -Because "-$($p.Name)"
            # Constant defaults ('02:00:00', @()) must agree; a computed one ($env:MERT_GUARD_NOTIFY_URI) is the script's alone.
            $ast = $defaults[$p.Name]
            $value = $instance.GetType().GetProperty($p.Name).GetValue($instance)
            if ($null -eq $ast) {
                if ($p.ParameterType -eq [string]) { $value | Should -BeNullOrEmpty -Because "-$($p.Name) has no default in the script" }
            }
            elseif ($ast -is [System.Management.Automation.Language.StringConstantExpressionAst]) { $value | Should -Be $ast.Value -Because "-$($p.Name)" }
            elseif ($ast.Extent.Text -eq '@()') { @($value).Count | Should -Be 0 -Because "-$($p.Name)" }
            else { $ast.Extent.Text | Should -Match '^\$env:' -Because "-$($p.Name): a default computed when it runs, left to the script" }
        }
        # -MonthlyBudget: more than zero in both.
        { Invoke-MertEndpointGuard -MonthlyBudget 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
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
        $errorsDoc = Get-Content -Raw (Join-Path $repoRoot 'docs/ERRORS.md')
        $start = $errorsDoc.IndexOf("`n## Errors")
        $end = $errorsDoc.IndexOf("`n## ", $start + 1)
        $section = $errorsDoc.Substring($start, $end - $start)
        $script:documented = @{}
        foreach ($m in [regex]::Matches($section, '(?m)^\|[^|\n]*\|\s*`(\w+)`\s*\|\s*(\w+)\s*\|\s*$')) { $documented[$m.Groups[1].Value] = $m.Groups[2].Value }
    }

    It 'found the ids the code emits' {
        $cmdlets.Count | Should -Be 18
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

    It 'the docs/ERRORS.md error table lists every id with its category' {
        $missing = @($emitted.Keys | Where-Object { -not $documented.ContainsKey($_) } | Sort-Object)
        $missing | Should -BeNullOrEmpty -Because 'every id the code can emit belongs in the docs/ERRORS.md table'
        foreach ($id in $emitted.Keys) { $documented[$id] | Should -Be $emitted[$id] -Because "the category of $id" }
    }

    It 'docs/ERRORS.md lists no id the code cannot emit' {
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
