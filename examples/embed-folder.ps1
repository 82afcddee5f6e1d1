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
    written atomically. A file that fails (an empty or unreadable file, an error from the model) is reported and
    the others carry on. At the end a summary says how many were sent, skipped and failed, how long it took and
    what the endpoint billed. Run the same command again to retry: answers that exist are skipped without a
    request, so only the failed and missing files are sent (and billed).

    Exit codes: 0 every file has its answer; 2 some files failed (run again to retry them); 3 the run could not
    start or was cut short (see the message; the endpoint is paused either way).

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
$ExitFilesFailed = 2; $ExitRunFailed = 3
# A log file should not be full of ANSI colour codes.
if ((Get-Variable PSStyle -ErrorAction Ignore) -and [Console]::IsOutputRedirected) { $PSStyle.OutputRendering = 'PlainText' }
$audio = (Resolve-Path -LiteralPath $AudioDir).ProviderPath
$files = @(Get-ChildItem -LiteralPath $audio -Recurse -File -Include $Include)
$which = @{ Name = $Name }
if ($Namespace) { $which.Namespace = $Namespace }
$started = Get-Date
$watch = [Diagnostics.Stopwatch]::StartNew()

try {
    # -ErrorAction Continue: a failed file is one error among the results, not the end of the run.
    $summary = Use-MertEndpoint @which -IdleTimeoutMinutes $IdleTimeoutMinutes -ErrorAction Continue -ScriptBlock {
        param($ready)
        $sent = @($files | Invoke-MertEndpoint -InputObject $ready -OutDirectory $OutDir -BaseDirectory $audio `
                -ThrottleLimit $ThrottleLimit -ErrorAction Continue -ErrorVariable failed)
        [pscustomobject]@{ Sent = $sent.Count; Failed = @($failed).Count }
    }
}
catch {
    Write-Host "embed-folder: the run could not complete: $($_.Exception.Message)"
    exit $ExitRunFailed
}
$summary = @($summary | Where-Object { $_ -is [pscustomobject] -and $null -ne $_.PSObject.Properties['Sent'] })[-1]
if (-not $summary) {
    Write-Host 'embed-folder: the run ended before any file was sent (see the errors above).'
    exit $ExitRunFailed
}

$skipped = $files.Count - $summary.Sent - $summary.Failed
$cost = Get-MertEndpointCost @which -Since $started -ErrorAction SilentlyContinue
$billed = if ($cost -and $null -ne $cost.EstimatedCost) { 'about ${0:0.0000} billed ({1:00}:{2:mm\:ss} of endpoint time)' -f $cost.EstimatedCost, [math]::Floor($cost.BilledTime.TotalHours), $cost.BilledTime } else { 'cost unknown' }
Write-Host ('embed-folder: {0} sent, {1} skipped (answer already there), {2} failed, in {3:0.0} s; {4}. Answers in {5}; {6} is paused again.' -f
    $summary.Sent, $skipped, $summary.Failed, $watch.Elapsed.TotalSeconds, $billed, $OutDir, $Name)
if ($summary.Failed -gt 0) {
    Write-Host 'embed-folder: run the same command again to retry the failed files; the others are skipped.'
    exit $ExitFilesFailed
}
exit 0
