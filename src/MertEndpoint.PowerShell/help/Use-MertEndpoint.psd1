# Help source for Use-MertEndpoint; build/New-MamlHelp.ps1 turns it into MAML.
@{
    Description = "Starts the endpoint and waits until it answers, runs -ScriptBlock with the ready endpoint as its argument and as `$MertEndpoint (this runspace's own; its URL is also in `$env:HF_ENDPOINT_URL for child processes while every running Use block of the process uses the same endpoint; when blocks with different endpoints overlap, for example in ForEach-Object -Parallel, the variable is removed until they end, so pass `$MertEndpoint.Url to child processes there), writes the block's output, then pauses the endpoint (-AfterAction Pause, the default), scales it to zero or leaves it. The stop happens when the block succeeds, throws or is stopped with Ctrl+C; a start that times out is paused too. If the stop itself fails, the command says so loudly with the command to run.`n`n-KeepIfRunning leaves running an endpoint that was already running before the command (shared endpoints). -IdleTimeout is a safety net if this process dies: the service itself scales to zero after that long without requests.`n`nDurations (-Timeout, -IdleTimeout, -MaxDuration, -OwedPauseTimeout) take a TimeSpan ('00:15:00') or seconds as a number or a string (900, '900', 1.5); the old names -TimeoutSec, -IdleTimeoutMinutes and -OwedPauseTimeoutSec still take their old units.`n`nIt ends with one line that says what happened: whether it started the endpoint and how long until it answered, how the block ended, what became of the endpoint (paused only when a read showed it paused) and about how much the run billed. The line is an information record tagged PSHOST: shown by default, kept with -InformationVariable, silenced with -InformationAction Ignore; after Ctrl+C it goes straight to the host. -WhatIf and -Confirm name the endpoint's hardware and its price per hour."
    Examples = @(
        @{
            Code = 'Use-MertEndpoint mert-spike6-inference -InformationVariable said { param($e) ./embed.ps1 $e.Url }; "$said"'
            Remarks = 'Keeps the closing line, for example: alice/mert-spike6-inference: started, ready after 1 min 32 s; the block ran 12 min 5 s; paused after 13 min 40 s billed (about $0.228 at $1.00/h).'
        }
        @{
            Code = 'Use-MertEndpoint mert-spike6-inference { param($e) python embed.py --url $e.Url }'
            Remarks = 'Starts the endpoint, runs the job, and pauses the endpoint afterwards, also on error or Ctrl+C.'
        }
        @{
            Code = 'Use-MertEndpoint shared-gpu -KeepIfRunning -IdleTimeout 00:10:00 { param($e) ./run.ps1 $e.Url }'
            Remarks = 'Uses a shared endpoint, leaves it running if it already was, and lets the service scale it to zero after 10 idle minutes if this process dies.'
        }
        @{
            Code = '$ErrorActionPreference = ''Stop''; Use-MertEndpoint mert-spike6-inference -MaxDuration 02:00:00 { param($e) ./embed.ps1 $e.Url; exit $LASTEXITCODE }'
            Remarks = 'A scheduled job: stops the block after two hours at most, pauses the endpoint in every case, leaves with the job''s exit code, and fails (non-zero exit) if the endpoint could not be stopped (EndpointStillBilling).'
        }
    )
    Parameters = @{
        MaxDuration = 'A cap on the run: when the block has run this long it is stopped, the endpoint is stopped, and the error MaxDurationExceeded is written. A hung job no longer bills without end. A TimeSpan, a TimeSpan string such as 02:00:00, or seconds (7200, ''7200'').'
        OwedPauseTimeout = 'How long the final stop keeps trying through rate limiting (429, honouring Retry-After in full), 5xx answers and dropped connections: a TimeSpan (00:15:00), or seconds as a number or a string (900, ''900'') (default {default}; the old name -OwedPauseTimeoutSec takes seconds). If it still fails, the error EndpointStillBilling names the endpoint and the command that stops it. A second Ctrl+C gives it up.'
        AfterAction = 'What to do afterwards: Pause (default), ScaleToZero or Leave.'
        IdleTimeout = 'A safety net if this process dies: sets min replicas 0 and the scale-to-zero timeout, so that the service itself stops billing after this long without requests. A duration in whole minutes: a TimeSpan (00:15:00), or seconds as a number or a string (900, ''900''). Replica settings that the service resets on resume are restored either way. The old name -IdleTimeoutMinutes (minutes) still works.'
        KeepIfRunning = 'Leave the endpoint running afterwards if it was already running before this command.'
        ScriptBlock = 'The work. It receives the ready endpoint as its first argument and as $MertEndpoint.'
    }
    Synopsis = 'Starts an endpoint, runs a script block with it, and stops it afterwards no matter what.'
    Links = @('Start-MertEndpoint', 'Stop-MertEndpoint', 'Invoke-MertEndpoint')
}
