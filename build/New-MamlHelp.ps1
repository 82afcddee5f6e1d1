<#
.SYNOPSIS
    Writes the module's MAML help (what Get-Help reads for binary cmdlets) from the cmdlets' own metadata
    and a small help source folder: <Cmdlet>.psd1 (synopsis, description, parameter texts, examples, related
    links, an optional outputs note, default values that are not a plain property value) per cmdlet, and
    Common.psd1 for parameter texts that many cmdlets share, descriptions of the output types, and shared default
    values that are not a plain property value (a cmdlet's own DefaultValues win).
    Help texts never write a default themselves: {default} stands for the parameter's own default (read from the
    cmdlet, whose create parameters read Core's MertDefaults), {MertDefaults.<Name>} for a create default by name.
    Syntax and parameters come from the cmdlets themselves: -WhatIf/-Confirm where they exist, dynamic parameters
    (e.g. Start-MertEndpoint -CreateIfMissing's), default values read from a fresh instance, and INPUTS from the
    parameters that bind from the pipeline. No online help: the project has no public home, so no URI is written.
    Fails when a cmdlet, a parameter text, an example, a link, or an output type description is missing, so help
    cannot rot silently.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $HelpSource,
    [Parameter(Mandatory)] [string] $OutFile
)
$ErrorActionPreference = 'Stop'
$module = Import-Module $ModulePath -PassThru -Force
$common = Import-PowerShellDataFile (Join-Path $HelpSource 'Common.psd1')
# -WhatIf and -Confirm belong in the syntax; the other common parameters are summed up by Get-Help itself.
$hidden = [System.Management.Automation.Cmdlet]::CommonParameters +
    ([System.Management.Automation.Cmdlet]::OptionalCommonParameters | Where-Object { $_ -notin 'WhatIf', 'Confirm' })
$problems = [System.Collections.Generic.List[string]]::new()

# The create defaults are written once, in Core's MertDefaults.
$mertDefaults = [MertEndpoint.EndpointInfo].Assembly.GetType('MertEndpoint.MertDefaults', $true)
function Expand-Text([string] $text, [string] $where, [string] $default) {
    [regex]::Replace($text, '\{(default|MertDefaults\.(\w+))\}', [System.Text.RegularExpressions.MatchEvaluator] {
        param($m)
        if ($m.Groups[1].Value -eq 'default') {
            if (-not $default -or $default -eq 'None') { $problems.Add("${where}: {default} but the parameter has no default value"); return '' }
            return $default
        }
        $field = $mertDefaults.GetField($m.Groups[2].Value)
        if (-not $field) { $problems.Add("${where}: unknown placeholder $($m.Value)"); return '' }
        "$($field.GetValue($null))"
    })
}

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$w = [System.Xml.XmlWriter]::Create($OutFile, $settings)
$maml = 'http://schemas.microsoft.com/maml/2004/10'
$cmd = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'

function Write-Para([string] $text) {
    $w.WriteStartElement('maml', 'description', $maml)
    foreach ($para in ($text -split "`n`n")) { $w.WriteElementString('maml', 'para', $maml, $para.Trim()) }
    $w.WriteEndElement()
}

function Write-Type([string] $name, [string] $description) {
    $w.WriteStartElement('dev', 'type', $dev); $w.WriteElementString('maml', 'name', $maml, $name); $w.WriteEndElement()
    Write-Para $description
}

function Format-Default($value) {
    # What a fresh instance holds: the default a user gets by leaving the parameter out.
    if ($null -eq $value -or '' -eq $value) { return 'None' }
    if ($value -is [System.Management.Automation.SwitchParameter]) { return "$($value.IsPresent)" }
    if ($value -is [array]) { if ($value.Count -eq 0) { return 'None' } else { return $value -join ', ' } }
    "$value"
}

function Write-Parameter($param, $set, $help) {
    $w.WriteStartElement('command', 'parameter', $cmd)
    $w.WriteAttributeString('required', "$($set.IsMandatory)".ToLower())
    $w.WriteAttributeString('globbing', "$([bool]($param.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }))".ToLower())
    $pipeline = @(if ($set.ValueFromPipeline) { 'ByValue' }; if ($set.ValueFromPipelineByPropertyName) { 'ByPropertyName' })
    $w.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    $w.WriteAttributeString('position', $(if ($set.Position -ge 0) { "$($set.Position)" } else { 'named' }))
    $w.WriteElementString('maml', 'name', $maml, $param.Name)
    Write-Para $help.Text
    if ($param.ParameterType -ne [System.Management.Automation.SwitchParameter]) {
        $type = $param.ParameterType
        if ([Nullable]::GetUnderlyingType($type)) { $type = [Nullable]::GetUnderlyingType($type) }
        $w.WriteStartElement('command', 'parameterValue', $cmd)
        $w.WriteAttributeString('required', 'true')
        $w.WriteString($type.Name)
        $w.WriteEndElement()
    }
    $w.WriteElementString('dev', 'defaultValue', $dev, $help.Default)
    $w.WriteEndElement()
}

$w.WriteStartDocument()
$w.WriteStartElement('helpItems'); $w.WriteAttributeString('schema', 'maml')
$names = @(Get-Command -Module $module.Name -CommandType Cmdlet | ForEach-Object Name)
foreach ($command in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $file = Join-Path $HelpSource "$($command.Name).psd1"
    if (-not (Test-Path $file)) { $problems.Add("$($command.Name): no help file $file"); continue }
    $h = Import-PowerShellDataFile $file
    if (-not $h.Examples) { $problems.Add("$($command.Name): no example") }
    if (-not $h.Links) { $problems.Add("$($command.Name): no Links (related commands)") }
    foreach ($link in $h.Links) { if ($link -notin $names) { $problems.Add("$($command.Name): link to unknown command '$link'") } }

    # Dynamic parameters: ask a fresh instance with every switch on (Start-MertEndpoint's come with -CreateIfMissing).
    $instance = [Activator]::CreateInstance($command.ImplementingType)
    $dynamic = $null; $dynamicParameters = @{}
    if ($instance -is [System.Management.Automation.IDynamicParameters]) {
        foreach ($p in $command.ImplementingType.GetProperties() | Where-Object { $_.PropertyType -eq [System.Management.Automation.SwitchParameter] -and $_.CanWrite }) {
            $p.SetValue($instance, [System.Management.Automation.SwitchParameter]::new($true))
        }
        $dynamic = $instance.GetDynamicParameters()
        if ($dynamic) { $dynamicParameters = [System.Management.Automation.ParameterMetadata]::GetParameterMetadata($dynamic.GetType()) }
        $instance = [Activator]::CreateInstance($command.ImplementingType)
    }
    # Parameters marked DontShow (old names kept for old scripts) are left out, as tab completion leaves them out.
    $dontShow = @(@($command.Parameters.Values) + @($dynamicParameters.Values) |
        Where-Object { $_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow } } |
        ForEach-Object Name)
    $all = @($command.Parameters.Values | Where-Object { $hidden -notcontains $_.Name -and $dontShow -notcontains $_.Name }) +
        @($dynamicParameters.Values | Where-Object { -not $command.Parameters.ContainsKey($_.Name) -and $dontShow -notcontains $_.Name })

    $texts = @{}
    foreach ($p in $all) {
        $text = if ($h.Parameters -and $h.Parameters[$p.Name]) { $h.Parameters[$p.Name] } else { $common[$p.Name] }
        if (-not $text) { $problems.Add("$($command.Name): no text for -$($p.Name)") }
        if (-not $command.Parameters.ContainsKey($p.Name)) {
            # Present only once another parameter is given: say which.
            if (-not $h.DynamicNote) { $problems.Add("$($command.Name): dynamic parameter -$($p.Name) but no DynamicNote") }
            $text = "$text $($h.DynamicNote)"
        }
        $owner = if ($dynamicParameters.ContainsKey($p.Name)) { $dynamic } else { $instance }
        $default = if ($h.DefaultValues -and $h.DefaultValues[$p.Name]) { $h.DefaultValues[$p.Name] }
            elseif ($common.DefaultValues[$p.Name]) { $common.DefaultValues[$p.Name] }
            elseif ($p.Name -in 'WhatIf', 'Confirm') { 'False' }
            else { Format-Default $owner.GetType().GetProperty($p.Name).GetValue($owner) }
        $default = Expand-Text $default "$($command.Name) -$($p.Name) default"
        $texts[$p.Name] = @{ Text = (Expand-Text $text "$($command.Name) -$($p.Name)" $default); Default = $default }
    }

    $w.WriteStartElement('command', 'command', $cmd)
    $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $w.WriteAttributeString('xmlns', 'command', $null, $cmd)
    $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $w.WriteStartElement('command', 'details', $cmd)
    $w.WriteElementString('command', 'name', $cmd, $command.Name)
    $w.WriteElementString('command', 'verb', $cmd, $command.Verb)
    $w.WriteElementString('command', 'noun', $cmd, $command.Noun)
    Write-Para (Expand-Text $h.Synopsis "$($command.Name) synopsis")
    $w.WriteEndElement()
    Write-Para (Expand-Text $h.Description "$($command.Name) description")

    $w.WriteStartElement('command', 'syntax', $cmd)
    foreach ($set in $command.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $cmd)
        $w.WriteElementString('maml', 'name', $maml, $command.Name)
        $shown = @($set.Parameters | Where-Object { $hidden -notcontains $_.Name -and $dontShow -notcontains $_.Name })
        foreach ($sp in $shown) { Write-Parameter $command.Parameters[$sp.Name] $sp $texts[$sp.Name] }
        foreach ($dp in $dynamicParameters.Values | Where-Object { $shown.Name -notcontains $_.Name -and $dontShow -notcontains $_.Name }) {
            $first = $dp.ParameterSets.Values | Select-Object -First 1
            Write-Parameter $dp $first $texts[$dp.Name]
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $cmd)
    $inputs = [ordered]@{}
    foreach ($p in $all) {
        $first = $p.ParameterSets.Values | Select-Object -First 1
        # Required means required whatever the parameter set (the syntax shows each set's own).
        $set = [pscustomobject]@{
            IsMandatory = -not ($p.ParameterSets.Values | Where-Object { -not $_.IsMandatory }); Position = $first.Position
            ValueFromPipeline = [bool]($p.ParameterSets.Values | Where-Object ValueFromPipeline)
            ValueFromPipelineByPropertyName = [bool]($p.ParameterSets.Values | Where-Object ValueFromPipelineByPropertyName)
        }
        Write-Parameter $p $set $texts[$p.Name]
        if ($set.ValueFromPipeline) {
            $type = $p.ParameterType; if ($type.IsArray) { $type = $type.GetElementType() }
            $inputs[$type.FullName] = @($inputs[$type.FullName]) + "binds to -$($p.Name) by value" | Where-Object { $_ }
        }
        if ($set.ValueFromPipelineByPropertyName) {
            $inputs['System.Management.Automation.PSObject'] = @($inputs['System.Management.Automation.PSObject']) + "a $($p.Name) property binds to -$($p.Name)" | Where-Object { $_ }
        }
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'inputTypes', $cmd)
    if ($inputs.Count -eq 0) { $inputs['None'] = @('This cmdlet does not take pipeline input.') }
    foreach ($type in $inputs.Keys) {
        $w.WriteStartElement('command', 'inputType', $cmd)
        $what = if ($type -eq 'System.Management.Automation.PSObject') { 'Any object: ' } else { '' }
        Write-Type $type ("$what$($inputs[$type] -join '; ')" + '.')
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'returnValues', $cmd)
    # A type by name only (the guard's PSCustomObject, MertEndpoint.GuardResult) has no .NET type: its name stands.
    foreach ($output in $command.OutputType) {
        $described = if ($output.Type -eq [void]) { 'None' } elseif ($output.Type) { $output.Type.FullName } else { $output.Name }
        $text = $common.OutputTypes[$described]
        if (-not $text) { $problems.Add("$($command.Name): Common.psd1 OutputTypes has no description of $described") }
        if ($h.OutputsNote) { $text = "$text $($h.OutputsNote)" }
        $w.WriteStartElement('command', 'returnValue', $cmd)
        Write-Type $described $text
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'examples', $cmd)
    $i = 0
    foreach ($example in $h.Examples) {
        $i++
        $w.WriteStartElement('command', 'example', $cmd)
        $w.WriteElementString('maml', 'title', $maml, "-------------------------- Example $i --------------------------")
        $w.WriteElementString('dev', 'code', $dev, $example.Code)
        $w.WriteStartElement('dev', 'remarks', $dev)
        $w.WriteElementString('maml', 'para', $maml, (Expand-Text $example.Remarks "$($command.Name) example $i"))
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    # Related links by name only: Get-Help shows them; no URI until the project has a public home.
    $w.WriteStartElement('command', 'relatedLinks', $cmd)
    foreach ($link in @($h.Links) + 'about_MertEndpoint') {
        $w.WriteStartElement('maml', 'navigationLink', $maml)
        $w.WriteElementString('maml', 'linkText', $maml, $link)
        $w.WriteElementString('maml', 'uri', $maml, '')
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Close()

$about = Join-Path $HelpSource 'about_MertEndpoint.help.txt'
if (-not (Test-Path $about)) { $problems.Add("no about topic $about") }
if ($problems.Count) { throw "Help source is incomplete:`n  $($problems -join "`n  ")" }
