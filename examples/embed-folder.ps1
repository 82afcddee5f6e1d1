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

    When every file already has its answer (or the folder holds no matching file) the endpoint is not started at
    all. "Paused" is said only when a read of the endpoint after the run shows it paused or scaled to zero; if the
    read shows it still billing, or cannot be made, the run says so, names the endpoint and exits 3.

    Exit codes: 0 every file has its answer; 2 some files failed (run again to retry them); 3 the run could not
    start, was cut short, or the endpoint could not be confirmed paused afterwards (see the message).

    Import the module first (Import-Module ./out/MertEndpoint) or install it where PowerShell finds it, and set
    HF_TOKEN (or log in with `hf auth login`).
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

# Files whose answer is already there are skipped by Invoke-MertEndpoint; when that is every file, there is nothing to
# start the endpoint (and pay a cold start) for. The answer of <AudioDir>/a/b.wav is <OutDir>/a/b.wav.json.
$outFull = if ([IO.Path]::IsPathRooted($OutDir)) { $OutDir } else { Join-Path (Get-Location).ProviderPath $OutDir }
$missing = @($files | Where-Object { -not (Test-Path -LiteralPath (Join-Path $outFull ($_.FullName.Substring($audio.TrimEnd([IO.Path]::DirectorySeparatorChar).Length + 1) + '.json'))) })
if ($missing.Count -eq 0) {
    Write-Host ("embed-folder: nothing to send ({0} matching file(s) under {1}, each with its answer in {2}); {3} was not started." -f
        $files.Count, $audio, $OutDir, $Name)
    exit 0
}

function Confirm-Paused {
    # The run's own pause is trusted only once a read says so: a lost or lying answer must not become "paused".
    try { $now = Get-MertEndpoint @which -ErrorAction Stop }
    catch { return "could not be read after the run ($($_.Exception.Message))" }
    if ($now.Status -in 'Paused', 'ScaledToZero') { return $null }
    "is $($now.StatusText) after the run"
}

try {
    # -ErrorAction Continue: a failed file is one error among the results, not the end of the run.
    $summary = Use-MertEndpoint @which -IdleTimeout ([TimeSpan]::FromMinutes($IdleTimeoutMinutes)) -ErrorAction Continue -ScriptBlock {
        param($ready)
        $sent = @($files | Invoke-MertEndpoint -InputObject $ready -OutDirectory $OutDir -BaseDirectory $audio `
                -ThrottleLimit $ThrottleLimit -ErrorAction Continue -ErrorVariable failed)
        [pscustomobject]@{ Sent = $sent.Count; Failed = @($failed).Count }
    }
}
catch {
    Write-Host "embed-folder: the run could not complete: $($_.Exception.Message)"
    # An endpoint that does not exist or was never started needs no word; one that shows billing does.
    try { $now = Get-MertEndpoint @which -ErrorAction Stop } catch { $now = $null }
    if ($now -and $now.Status -notin 'Paused', 'ScaledToZero', 'Failed') {
        Write-Host "embed-folder: $Name is $($now.StatusText) and MAY STILL BE BILLING: pause it with: Stop-MertEndpoint $Name"
    }
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
$problem = Confirm-Paused
$state = if ($problem) { "$Name $problem" } else { "$Name is paused again" }
Write-Host ('embed-folder: {0} sent, {1} skipped (answer already there), {2} failed, in {3:0.0} s; {4}. Answers in {5}; {6}.' -f
    $summary.Sent, $skipped, $summary.Failed, $watch.Elapsed.TotalSeconds, $billed, $OutDir, $state)
if ($problem) {
    Write-Host "embed-folder: $Name MAY STILL BE BILLING: pause it with: Stop-MertEndpoint $Name"
    exit $ExitRunFailed
}
if ($summary.Failed -gt 0) {
    Write-Host 'embed-folder: run the same command again to retry the failed files; the others are skipped.'
    exit $ExitFilesFailed
}
exit 0
