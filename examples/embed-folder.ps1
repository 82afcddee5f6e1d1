#Requires -Modules MertEndpoint
<#
.SYNOPSIS
    Embeds every audio file under a folder with a MERT endpoint, and pauses the endpoint afterwards.
.DESCRIPTION
    The whole everyday run in one command. Use-MertEndpoint resumes the endpoint, waits until it answers, runs
    the job, and pauses the endpoint again in every case: the job succeeds, fails, or is stopped with Ctrl+C.
    -IdleTimeoutMinutes is the safety net should this process die: the service itself then scales the endpoint
    to zero after that many idle minutes, so billing stops anyway.

    Each file's answer (13 layers x 768 numbers for MERT-v1-95M) lands in <OutDir>/<path under AudioDir>.json,
    written atomically. Run the script again after a crash, a Ctrl+C or failed files: answers that exist are
    skipped without a request, so only what is left is sent (and billed).

    Import the module first (Import-Module ./out/MertEndpoint) or install it where PowerShell finds it, and set
    HF_TOKEN (or log in with huggingface-cli).
.PARAMETER Name
    The endpoint, e.g. mert-spike6-inference.
.PARAMETER AudioDir
    The folder to embed, searched recursively.
.PARAMETER OutDir
    Where the .json answers go; created when missing. Subfolders mirror AudioDir.
.PARAMETER Include
    File name patterns to send. Default *.wav, *.mp3, *.flac.
.PARAMETER ThrottleLimit
    Requests in flight at once. Default 4.
.PARAMETER IdleTimeoutMinutes
    Minutes without requests after which the service scales the endpoint to zero by itself. Default 15.
.PARAMETER Namespace
    The endpoint's user or organization. Default: $env:MERT_ENDPOINT_NAMESPACE, else the token's user.
.EXAMPLE
    ./examples/embed-folder.ps1 -Name mert-spike6-inference -AudioDir ~/music -OutDir ~/embeddings
.EXAMPLE
    ./examples/embed-folder.ps1 mert-spike6-inference ./audio ./embeddings -Include *.wav -ThrottleLimit 8 -Verbose
    Only WAV files, eight at a time; -Verbose shows which files were skipped because their answer exists.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory, Position = 0)] [string] $Name,
    [Parameter(Mandatory, Position = 1)] [string] $AudioDir,
    [Parameter(Mandatory, Position = 2)] [string] $OutDir,
    [string[]] $Include = @('*.wav', '*.mp3', '*.flac'),
    [ValidateRange(1, 64)] [int] $ThrottleLimit = 4,
    [ValidateRange(1, 10080)] [int] $IdleTimeoutMinutes = 15,
    [string] $Namespace
)
$ErrorActionPreference = 'Stop'
$audio = (Resolve-Path -LiteralPath $AudioDir).ProviderPath
$use = @{ Name = $Name; IdleTimeoutMinutes = $IdleTimeoutMinutes }
if ($Namespace) { $use.Namespace = $Namespace }
$watch = [Diagnostics.Stopwatch]::StartNew()

$summary = Use-MertEndpoint @use -ScriptBlock {
    param($endpoint)
    # A failed file is reported and the others carry on (-ErrorAction Continue overrides 'Stop' above for them).
    $sent = Get-ChildItem -LiteralPath $audio -Recurse -File -Include $Include |
        Invoke-MertEndpoint -InputObject $endpoint -OutDirectory $OutDir -BaseDirectory $audio -ThrottleLimit $ThrottleLimit `
            -ErrorAction Continue -ErrorVariable failed
    [pscustomobject]@{ Sent = @($sent).Count; Failed = @($failed).Count }
}

Write-Host ('{0} files embedded, {1} failed, in {2:0} s; answers in {3}. {4} is paused again.' -f
    $summary.Sent, $summary.Failed, $watch.Elapsed.TotalSeconds, $OutDir, $Name)
if ($summary.Failed -gt 0) { Write-Host 'Run the same command again to retry the failed files; finished ones are skipped.' }
