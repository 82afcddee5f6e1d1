<#
.SYNOPSIS
    Writes the module's MAML help (what Get-Help reads for binary cmdlets) from the cmdlets' own metadata
    and a small help source folder: <Cmdlet>.psd1 (synopsis, description, parameter texts, examples) per
    cmdlet, and Common.psd1 for parameter texts that many cmdlets share.
    Fails when a cmdlet, a parameter or an example is missing from the source, so help cannot rot silently.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $HelpSource,
    [Parameter(Mandatory)] [string] $OutFile
)
$ErrorActionPreference = 'Stop'
$module = Import-Module $ModulePath -PassThru -Force
$common = Import-PowerShellDataFile (Join-Path $HelpSource 'Common.psd1')
$commonParameters = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
$problems = [System.Collections.Generic.List[string]]::new()

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

function Write-Parameter($param, $set, $help) {
    $w.WriteStartElement('command', 'parameter', $cmd)
    $w.WriteAttributeString('required', "$($set.IsMandatory)".ToLower())
    $w.WriteAttributeString('globbing', "$([bool]($param.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }))".ToLower())
    $pipeline = @(if ($set.ValueFromPipeline) { 'ByValue' }; if ($set.ValueFromPipelineByPropertyName) { 'ByPropertyName' })
    $w.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    $w.WriteAttributeString('position', $(if ($set.Position -ge 0) { "$($set.Position)" } else { 'named' }))
    $w.WriteElementString('maml', 'name', $maml, $param.Name)
    Write-Para $help
    if ($param.ParameterType -ne [System.Management.Automation.SwitchParameter]) {
        $type = $param.ParameterType
        if ([Nullable]::GetUnderlyingType($type)) { $type = [Nullable]::GetUnderlyingType($type) }
        $w.WriteStartElement('command', 'parameterValue', $cmd)
        $w.WriteAttributeString('required', 'true')
        $w.WriteString($type.Name)
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
}

$w.WriteStartDocument()
$w.WriteStartElement('helpItems'); $w.WriteAttributeString('schema', 'maml')
foreach ($command in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $file = Join-Path $HelpSource "$($command.Name).psd1"
    if (-not (Test-Path $file)) { $problems.Add("$($command.Name): no help file $file"); continue }
    $h = Import-PowerShellDataFile $file
    if (-not $h.Examples) { $problems.Add("$($command.Name): no example") }
    $w.WriteStartElement('command', 'command', $cmd)
    $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $w.WriteAttributeString('xmlns', 'command', $null, $cmd)
    $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $w.WriteStartElement('command', 'details', $cmd)
    $w.WriteElementString('command', 'name', $cmd, $command.Name)
    $w.WriteElementString('command', 'verb', $cmd, $command.Verb)
    $w.WriteElementString('command', 'noun', $cmd, $command.Noun)
    Write-Para $h.Synopsis
    $w.WriteEndElement()
    Write-Para $h.Description

    $all = $command.Parameters.Values | Where-Object { $commonParameters -notcontains $_.Name }
    $texts = @{}
    foreach ($p in $all) {
        $texts[$p.Name] = if ($h.Parameters -and $h.Parameters[$p.Name]) { $h.Parameters[$p.Name] } else { $common[$p.Name] }
        if (-not $texts[$p.Name]) { $problems.Add("$($command.Name): no text for -$($p.Name)") }
    }
    $w.WriteStartElement('command', 'syntax', $cmd)
    foreach ($set in $command.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $cmd)
        $w.WriteElementString('maml', 'name', $maml, $command.Name)
        foreach ($sp in $set.Parameters | Where-Object { $commonParameters -notcontains $_.Name }) {
            Write-Parameter $command.Parameters[$sp.Name] $sp $texts[$sp.Name]
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $cmd)
    foreach ($p in $all) {
        $first = $p.ParameterSets.Values | Select-Object -First 1
        $set = [pscustomobject]@{
            IsMandatory = $first.IsMandatory; Position = $first.Position
            ValueFromPipeline = $first.ValueFromPipeline; ValueFromPipelineByPropertyName = $first.ValueFromPipelineByPropertyName
        }
        Write-Parameter $p $set $texts[$p.Name]
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'returnValues', $cmd)
    foreach ($type in $command.OutputType) {
        $w.WriteStartElement('command', 'returnValue', $cmd)
        $w.WriteStartElement('dev', 'type', $dev); $w.WriteElementString('maml', 'name', $maml, $type.Name); $w.WriteEndElement()
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
        $w.WriteElementString('maml', 'para', $maml, $example.Remarks)
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Close()
if ($problems.Count) { throw "Help source is incomplete:`n  $($problems -join "`n  ")" }
