# The guard's logic: Invoke-MertEndpointGuard as a script function, shipped in the module's folder so that an installed
# module can be scheduled without a clone. Importing MertEndpoint does not read this file: the cmdlet
# Invoke-MertEndpointGuard (Cmdlets/InvokeMertEndpointGuard.cs) loads it into a module scope of its own when it runs and
# passes on the parameters it was given; guard.ps1, the thin script for schedulers (exit codes), imports it directly, so
# that a module that cannot load is logged and notified like any other failure. Its help (what it does, the log, the
# codes, each parameter) is the cmdlet's: help/Invoke-MertEndpointGuard.psd1. Its parameters and the cmdlet's are the
# same (names, types, positions, defaults, validation). Windows PowerShell 5.1 and PowerShell 7 alike.

$ExitNothingToDo = 0; $ExitStopped = 10; $ExitFailed = 20
$invariant = [Globalization.CultureInfo]::InvariantCulture

# Text from outside (what a webhook answered) also goes through the module's masking (tokens, known webhook hosts),
# once it is loaded; the guard's own lines do not, so an endpoint's name is never garbled.
function Protect-GuardText([string] $Text, [switch] $FromOutside) {
    foreach ($secret in $notifySecrets) {
        $Text = [regex]::Replace($Text, [regex]::Escape($secret), '***', [Text.RegularExpressions.RegexOptions]::IgnoreCase)
    }
    $secrets = 'MertEndpoint.Secrets' -as [type]
    if ($FromOutside -and $secrets) { $Text = $secrets::Mask($Text) }
    $Text
}

# Every line of the log starts with the UTC time (ISO 8601): appended every 15 minutes, the log says when.
function Write-GuardLog([string] $Line) { Write-Host ('{0:yyyy-MM-ddTHH:mm:ssZ} guard: {1}' -f [DateTime]::UtcNow, (Protect-GuardText $Line)) }

# The message a person reads: host, exit code, counts, names; never the token, never an error's raw text.
function Send-GuardNotice([int] $Code, [string] $What, [string[]] $Details) {
    $meaning = if ($Code -eq $ExitStopped) { 'it paused endpoints' } else { 'something could not be checked or paused; an endpoint may still be billing' }
    # Made of names and counts; masked like outside text all the same, so no token shape can leave this machine.
    $text = Protect-GuardText -FromOutside ((@("MertEndpoint guard on $([Environment]::MachineName), exit ${Code}: $meaning.", "$($What.Substring(0, 1).ToUpperInvariant())$($What.Substring(1)).") + @($Details | Where-Object { $_ })) -join ' ')
    $body = if ($NotifyFormat -eq 'Teams') {
        [ordered]@{
            type        = 'message'
            attachments = @([ordered]@{
                    contentType = 'application/vnd.microsoft.card.adaptive'
                    content     = [ordered]@{
                        '$schema' = 'http://adaptivecards.io/schemas/adaptive-card.json'
                        type      = 'AdaptiveCard'
                        version   = '1.4'
                        body      = @([ordered]@{ type = 'TextBlock'; text = $text; wrap = $true })
                    }
                })
        }
    }
    else { [ordered]@{ text = $text } }
    $json = ConvertTo-Json $body -Depth 10 -Compress
    $ProgressPreference = 'SilentlyContinue'
    # Windows PowerShell may still default to TLS 1.0, which Slack and Teams refuse.
    if ($PSVersionTable.PSEdition -eq 'Desktop') { [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12 }
    try {
        $null = Invoke-WebRequest -Uri $NotifyUri -Method Post -Body ([Text.Encoding]::UTF8.GetBytes($json)) -ContentType 'application/json; charset=utf-8' -TimeoutSec 15 -UseBasicParsing -Verbose:$false
        Write-GuardLog "notified: posted the message ($NotifyFormat)."
        $true
    }
    catch {
        $reason = $_.Exception.Message
        # What the webhook answered (Slack: 'invalid_payload', 'no_service'); masked like every line.
        $answer = if ($_.ErrorDetails) { "$($_.ErrorDetails.Message)".Trim() }
        if ($answer -and $reason.IndexOf($answer, [StringComparison]::OrdinalIgnoreCase) -lt 0) { $reason += " The answer: $answer" }
        Write-GuardLog "notification failed: $(Protect-GuardText $reason -FromOutside)"
        $false
    }
}

# Each run ends with one line (what was over the threshold, paused and not read, and the exit code) and the result
# object. Before it, a person is told when the run paused something or could not check or pause (20 wins over 10: a notification that fails is a 20).
function Complete-Guard([int] $Code, [string] $What, [string[]] $Details = @()) {
    $notified = $false
    if ($notifyProblem) {
        # Nobody could be told: a broken address is a failure even on a quiet run, or nobody would notice it.
        Write-GuardLog "notification failed: $notifyProblem."
        $Code = $ExitFailed
    }
    elseif ($NotifyUri -and $Code -ne $ExitNothingToDo) {
        if ($WhatIfPreference) { Write-GuardLog 'not notified: -WhatIf.' }
        elseif (Send-GuardNotice $Code $What $Details) { $notified = $true }
        else { $Code = $ExitFailed }
    }
    Invoke-GuardUpkeep
    Write-GuardLog "end: $What; exit $Code."
    # What a script tests; the variables are the run's own (Invoke-MertEndpointGuard's scope: $null when the run ended
    # before it got to them).
    [pscustomobject]@{
        PSTypeName = 'MertEndpoint.GuardResult'
        ExitCode   = $Code
        Summary    = $What
        Over       = @($over | Where-Object { $_ })
        Paused     = @($stopped | Where-Object { $_ })
        Reported   = @($reported | Where-Object { $_ })
        NotRead    = @($notRead | Where-Object { $_ })
        Errors     = @(@($checkErrors) + @($stopErrors) + @($budgetErrors) | Where-Object { $_ })
        MonthSpend = $spend
        Notified   = $notified
    }
}

# The usage history's upkeep, after the pauses and the message: a due history is compacted (its retention applied). A Get
# or a stop compacts only a history of up to 64 MiB, so where a guard alone keeps a large one, this is what keeps it in
# bounds. Said in the log when it compacted or failed; a failure is not the run's (nothing bills because of it). Not under
# -WhatIf, and not with an older module that lacks the cmdlet.
function Invoke-GuardUpkeep {
    if ($WhatIfPreference -or -not $mert -or -not $mert['OptimizeMertEndpointHistory']) { return }
    try {
        # Its warnings (a history write problem) go to the log as history lines, not past it.
        $upkeep = & $mert['OptimizeMertEndpointHistory'] -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue -WarningVariable upkeepWarnings
        foreach ($warning in $upkeepWarnings) { Write-GuardLog "history: $($warning.Message)" }
        if ($upkeep.Compacted) {
            $kept = if ($null -ne $upkeep.KeptSince) { "; it keeps what is needed from $($upkeep.KeptSince.UtcDateTime.ToString('yyyy-MM-dd', $invariant)) on" } else { '' }
            Write-GuardLog ([string]::Format($invariant, 'history: compacted {0:N0} records ({1:N1} MB) to {2:N0} records ({3:N1} MB) in {4:N1} s{5}.',
                    $upkeep.RecordsBefore, ($upkeep.SizeBefore / 1e6), $upkeep.RecordsAfter, ($upkeep.SizeAfter / 1e6), $upkeep.Duration.TotalSeconds, $kept))
        }
        # Not due is the usual answer and says nothing; another compaction under way (or cut off) is worth a line.
        elseif ($upkeep -and $upkeep.Reason -and -not $upkeep.Reason.StartsWith('not due') -and -not $upkeep.Reason.StartsWith('there is no usage history')) {
            Write-GuardLog "history: not compacted: $($upkeep.Reason)."
        }
    }
    catch { Write-GuardLog "history: could not compact the usage history: $($_.Exception.Message)" }
}

# hh:mm:ss with hours past 24 (a day-old streak is 26:00:00, not 02:00:00).
function Format-Duration([TimeSpan] $t) { '{0:00}:{1:mm\:ss}' -f [math]::Floor($t.TotalHours), $t }

function Format-Usd([decimal] $Amount) { '$' + $Amount.ToString('0.00####', $invariant) }

# A short list of names for the message: the first ten, then how many more.
function Join-Names([string[]] $Names) {
    $Names = @($Names | Where-Object { $_ } | Select-Object -Unique)
    if ($Names.Count -le 10) { return $Names -join ', ' }
    "$(($Names | Select-Object -First 10) -join ', ') and $($Names.Count - 10) more"
}

# The endpoint or namespace an error record is about.
function Get-ErrorTarget($Record) {
    $target = $Record.TargetObject
    if ($target.Namespace -and $target.Name) { "$($target.Namespace)/$($target.Name)" }
    elseif ($target.Namespace) { "$($target.Namespace)" }
    else { 'unknown' }
}

function Invoke-MertEndpointGuard {
    # The help is the cmdlet's (help/Invoke-MertEndpointGuard.psd1): Get-Help Invoke-MertEndpointGuard -Full.
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType('MertEndpoint.GuardResult')]
    param(
        # A duration as every MertEndpoint parameter takes one (a TimeSpan, '02:00:00', or seconds: 7200, '7200'); read
        # once the module is loaded, by its own DurationAttribute.
        [object] $BilledLongerThan = '02:00:00',
        [string] $Namespace = '*',
        # Name patterns never paused, e.g. 'shared-*' or 'lab/*'.
        [string[]] $Exclude = @(),
        # Endpoints carrying this tag are never paused.
        [string] $KeepTag = 'keep-running',
        # Import MertEndpoint from here first (the script for schedulers passes its own folder); by default it is loaded.
        [string] $ModulePath,
        # USD; once this UTC month's spend passes it, everything that bills and is not exempt is paused.
        [ValidateScript({ $_ -gt 0 })]
        [decimal] $MonthlyBudget,
        # A secret (never logged): where to post when the run exits 10 or 20.
        [string] $NotifyUri = $env:MERT_GUARD_NOTIFY_URI,
        [ValidateSet('Slack', 'Teams')]
        [string] $NotifyFormat = 'Slack',
        # How old the account lookup behind '*' may be before it is asked again (default 00:15:00, at most 01:00:00).
        [object] $AccountCacheMaxAge = '00:15:00'
    )
    # Anything unexpected ends the run with code 20; per-endpoint errors are collected (-ErrorVariable) and logged.
    $ErrorActionPreference = 'Stop'
    $over = $stopped = $reported = $notRead = $checkErrors = $stopErrors = $budgetErrors = $spend = $null

    # The notification address is a secret: every form in which an error text might carry it (as given, normalized, its
    # path and query, unescaped) is masked in every line of the log.
    $notifySecrets = @()
    $notifyProblem = $null
    if ($NotifyUri) {
        $parsed = $null
        $notifySecrets = @($NotifyUri)
        if ([uri]::TryCreate($NotifyUri, [UriKind]::Absolute, [ref] $parsed)) {
            $notifySecrets += @($parsed.AbsoluteUri, $parsed.OriginalString, [uri]::UnescapeDataString($parsed.AbsoluteUri))
            if ($parsed.PathAndQuery.Length -gt 1) { $notifySecrets += @($parsed.PathAndQuery, [uri]::UnescapeDataString($parsed.PathAndQuery)) }
            if (-not ($parsed.Scheme -eq 'https' -or ($parsed.Scheme -eq 'http' -and $parsed.IsLoopback))) {
                $notifyProblem = 'the notification address is not an https:// URL (plain http:// only to this machine); nothing was posted'
            }
        }
        else { $notifyProblem = 'the notification address is not an absolute URL; nothing was posted' }
        # Longest first, so a form containing another is masked whole.
        $notifySecrets = @($notifySecrets | Where-Object { $_ } | Sort-Object Length -Descending -Unique)
    }


    $rendering = if (Get-Variable PSStyle -ErrorAction Ignore) { $PSStyle.OutputRendering }
    $accountAgeVariable = 'MERT_ENDPOINT_SWEEP_ACCOUNT_MAX_AGE_SEC'
    $accountAgeBefore = [Environment]::GetEnvironmentVariable($accountAgeVariable)
    try {
        # A log file or a scheduler's mail should not be full of ANSI colour codes.
        if ($null -ne $rendering -and [Console]::IsOutputRedirected) { $PSStyle.OutputRendering = 'PlainText' }

        if ($ModulePath) {
            try {
                Import-Module $ModulePath -Global
            }
            catch {
                Write-GuardLog "could not load the module from '$ModulePath': $($_.Exception.Message)"
                return (Complete-Guard $ExitFailed 'nothing was checked; endpoints may still be billing' @("The module did not load from '$ModulePath'."))
            }
        }
        # The module's own masking knows the address too, for anything it shows.
        $secrets = 'MertEndpoint.Secrets' -as [type]
        if ($NotifyUri -and $secrets) { $null = $secrets::Register($NotifyUri) }

        # The cmdlets by their implementing types, not their names: the module may be imported with -Prefix.
        $mert = @{}
        foreach ($command in @(Get-Command -Module MertEndpoint -CommandType Cmdlet)) { $mert[$command.ImplementingType.Name] = $command }
        foreach ($needed in 'GetMertEndpoint', 'StopMertEndpoint', 'GetMertEndpointCost') {
            if (-not $mert[$needed]) { throw "The MertEndpoint module is not loaded (no $needed cmdlet): import it, or pass -ModulePath." }
        }
        $version = $mert['GetMertEndpoint'].Module.Version
        # PowerShell alone would read 7200 as ticks: the module's own reading of durations.
        try { $BilledLongerThan = [MertEndpoint.PowerShell.DurationAttribute]::new().Transform($ExecutionContext, $BilledLongerThan) }
        catch { throw "-BilledLongerThan: $(if ($_.Exception.InnerException) { $_.Exception.InnerException.Message } else { $_.Exception.Message })" }
        if ($BilledLongerThan -isnot [TimeSpan] -or $BilledLongerThan -lt [TimeSpan]::Zero) { throw "-BilledLongerThan must be a duration of zero or more (got '$BilledLongerThan'), for example 02:00:00 or 7200 (seconds)." }
        # The account lookup behind '*' (which organizations to sweep): asked again once older than this. The cmdlets read
        # it from their setting, set for this run only.
        try { $AccountCacheMaxAge = [MertEndpoint.PowerShell.DurationAttribute]::new().Transform($ExecutionContext, $AccountCacheMaxAge) }
        catch { throw "-AccountCacheMaxAge: $(if ($_.Exception.InnerException) { $_.Exception.InnerException.Message } else { $_.Exception.Message })" }
        if ($AccountCacheMaxAge -isnot [TimeSpan] -or $AccountCacheMaxAge -lt [TimeSpan]::Zero -or $AccountCacheMaxAge -gt [TimeSpan]::FromHours(1)) {
            throw "-AccountCacheMaxAge must be a duration from 0 to 01:00:00 (got '$AccountCacheMaxAge'), for example 00:15:00 or 900 (seconds)."
        }
        [Environment]::SetEnvironmentVariable($accountAgeVariable, $AccountCacheMaxAge.TotalSeconds.ToString($invariant))
        $budgeted = $PSBoundParameters.ContainsKey('MonthlyBudget')
        $options = @(
            if ($budgeted) { "monthly budget $(Format-Usd $MonthlyBudget)" }
            if ($NotifyUri) { "notify $NotifyFormat" }
            if ($WhatIfPreference) { '-WhatIf' }
        )
        Write-GuardLog "run: MertEndpoint $version, namespace(s) $Namespace, threshold $(Format-Duration $BilledLongerThan)$(($options | ForEach-Object { ", $_" }) -join '')."

        # The budget: this UTC month's spend, the upper bound as this module's usage history sees it. Passed, every endpoint
        # that bills is over the limit, whatever its streak; a spend that could not be read in full is a failure (exit 20),
        # and what was read still counts.
        $overBudget = $false
        $budgetNote = $null
        $budgetErrors = @()
        if ($budgeted) {
            $now = [DateTime]::UtcNow
            $monthStart = [DateTime]::new($now.Year, $now.Month, 1, 0, 0, 0, [DateTimeKind]::Utc)
            $costs = @(& $mert['GetMertEndpointCost'] -Namespace $Namespace -Since $monthStart -ErrorAction SilentlyContinue -ErrorVariable budgetErrors -WarningAction SilentlyContinue -WarningVariable budgetWarnings)
            foreach ($warning in $budgetWarnings) { Write-GuardLog "budget note: $warning" }
            foreach ($e in $budgetErrors) { Write-GuardLog "budget: could not read the spend: $e" }
            $spend = [decimal]0
            foreach ($cost in $costs) { if ($null -ne $cost.CostHigh) { $spend += $cost.CostHigh } }
            $unpriced = @($costs | Where-Object { $null -eq $_.CostHigh -and $_.BilledTimeHigh -gt [TimeSpan]::Zero })
            if ($unpriced) { Write-GuardLog "budget note: no price for $(Join-Names ($unpriced | ForEach-Object { "$($_.Namespace)/$($_.Name)" })); their time is not in the spend." }
            $seen = "this month's spend so far is up to $(Format-Usd $spend) as this module's usage history sees it"
            $overBudget = $spend -gt $MonthlyBudget
            if ($overBudget) {
                Write-GuardLog "budget: $seen, over the monthly budget of $(Format-Usd $MonthlyBudget): every endpoint that bills and is not exempt is paused, whatever its streak."
                $budgetNote = "Monthly budget $(Format-Usd $MonthlyBudget) passed: up to $(Format-Usd $spend) spent this month (as this module's usage history sees it)."
            }
            else { Write-GuardLog "budget: $seen$(if ($budgetErrors) { ' (not all of it read)' }), within the monthly budget of $(Format-Usd $MonthlyBudget)." }
            if ($budgetErrors) { $budgetNote = "$budgetNote Could not read this month's spend in full." }
        }

        # Over the budget the limit is any billing at all.
        $limit = if ($overBudget) { [TimeSpan]::Zero } else { $BilledLongerThan }
        $overWhat = if ($overBudget) { 'billing past the monthly budget' } else { 'over the threshold' }
        $over = @(& $mert['GetMertEndpoint'] -Namespace $Namespace -BilledLongerThan $limit -ErrorAction SilentlyContinue -ErrorVariable checkErrors -WarningVariable skipped -WarningAction SilentlyContinue)
        foreach ($warning in $skipped) { Write-GuardLog "note: $warning" }
        foreach ($e in $checkErrors) { Write-GuardLog "check failed: $e" }
        # The namespaces whose listing was not read: a 401 (an organization without billing or access) is a note, any other
        # failure an error; "nothing has billed" is said only of the namespaces that were read.
        $notRead = @(@($skipped | ForEach-Object { if ("$_" -match "^Skipped namespace '([^']+)'") { $Matches[1] } }) +
            @($checkErrors | ForEach-Object { if ($_.TargetObject.Namespace -and -not $_.TargetObject.Name) { $_.TargetObject.Namespace } })) | Select-Object -Unique
        # A listing that may have left endpoints out (its next page elsewhere, a cursor it could not follow): what it showed
        # was checked; the rest may bill unseen, which is a failure to check, said as one.
        $partly = @($skipped | ForEach-Object { if ("$_" -match "^The listing of namespace '([^']+)' may be incomplete") { $Matches[1] } } | Select-Object -Unique)
        $unread = @(
            if ($notRead) { "not read: $($notRead -join ', ')" }
            if ($partly) { "read in part: $($partly -join ', ')" }
        ) -join ', '
        if (-not $unread) { $unread = 'every namespace read' }

        $toStop = [System.Collections.Generic.List[object]]::new()
        $reported = [System.Collections.Generic.List[object]]::new()
        foreach ($endpoint in $over) {
            $who = if ($endpoint.UpdatedBy) { "last changed by $($endpoint.UpdatedBy)" } else { 'last changed by (unknown)' }
            $why = if ($overBudget) { 'over the monthly budget' } else { "threshold $BilledLongerThan" }
            $line = "$($endpoint.Namespace)/$($endpoint.Name) is $($endpoint.Status), billed for $(Format-Duration $endpoint.BilledFor) ($why), $who"
            $pattern = $Exclude | Where-Object { $endpoint.Name -like $_ -or "$($endpoint.Namespace)/$($endpoint.Name)" -like $_ } | Select-Object -First 1
            if ($pattern) { Write-GuardLog "exempt: $line; excluded by -Exclude '$pattern'."; continue }
            if ($KeepTag -and $endpoint.Tags -contains $KeepTag) { Write-GuardLog "exempt: $line; tagged '$KeepTag'."; continue }
            # Paused on evidence only: this module's own start, its sightings, or the oldest replica's start prove how long
            # it has billed at least. When only the service's stamps (updatedAt, createdAt) make the streak long, it may
            # have woken from scale-to-zero since, unstamped: reported for a person to look at, not paused.
            $proven = $endpoint.BilledForAtLeast
            if (-not $overBudget -and -not ($null -ne $proven -and $proven -gt $limit)) {
                $known = if ($null -ne $proven) { "only $(Format-Duration $proven) is proven" } else { 'nothing proves how long' }
                Write-GuardLog "report: $line; its streak rests on the service's $($endpoint.BilledSinceSource) stamp and $known (it may have woken from scale-to-zero since): not paused, look at it."
                $reported.Add($endpoint)
                continue
            }
            Write-GuardLog "over: $line."
            $toStop.Add($endpoint)
        }

        if ($toStop.Count -eq 0) {
            $exempt = $over.Count
            $nothing = if ($overBudget) { 'nothing is billing' } else { "nothing has billed for longer than $BilledLongerThan" }
            if ($checkErrors.Count -gt 0) { Write-GuardLog "nothing to pause where the check worked; $($checkErrors.Count) check(s) failed, so endpoints there may still be billing." }
            elseif ($partly) { Write-GuardLog "nothing to pause in what was listed; the listing of $($partly -join ', ') may be incomplete, so endpoints there may still be billing." }
            elseif ($reported.Count -gt 0) { Write-GuardLog "nothing to pause on evidence: $($reported.Count) endpoint(s) reported above may have billed for longer than $BilledLongerThan." }
            elseif ($exempt -gt 0) { Write-GuardLog "nothing to pause: only the $exempt exempt endpoint(s) above $(if ($overBudget) { 'are billing' } else { "have billed for longer than $BilledLongerThan" })." }
            elseif ($notRead) { Write-GuardLog "nothing to pause in the namespaces read: $nothing there ($unread)." }
            else { Write-GuardLog "nothing to pause: $nothing." }
        }
        $stopped = @($toStop | & $mert['StopMertEndpoint'] -PassThru -WhatIf:$WhatIfPreference -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable stopErrors)

        foreach ($e in $stopErrors) {
            $still = if ("$($e.FullyQualifiedErrorId)" -like 'EndpointStillBilling*') { 'still billing after the pause: ' } else { '' }
            Write-GuardLog "could not stop: $still$e"
        }
        foreach ($endpoint in $stopped) {
            $cost = & $mert['GetMertEndpointCost'] -Name $endpoint.Name -Namespace $endpoint.Namespace -Since (Get-Date).AddDays(-1) -ErrorAction SilentlyContinue
            $spent = if ($cost) { '{0} billed, about ${1:0.00}' -f (Format-Duration $cost.BilledTime), $cost.EstimatedCost } else { 'cost unknown' }
            Write-GuardLog "paused $($endpoint.Namespace)/$($endpoint.Name); last 24 h: $spent. Tell $(if ($endpoint.UpdatedBy) { $endpoint.UpdatedBy } else { 'its owner' })."
        }

        $failures = $checkErrors.Count + $stopErrors.Count + $budgetErrors.Count + $partly.Count
        $what = "$($over.Count) $overWhat, $(if ($WhatIfPreference) { "$($toStop.Count) would be paused" } else { "$(@($stopped).Count) paused" })$(if ($reported.Count) { ", $($reported.Count) reported" }), $unread"
        # What the message names: the endpoints paused, the namespaces and endpoints that could not be checked or paused.
        $details = @(
            if ($stopped) { "Paused: $(Join-Names ($stopped | ForEach-Object { "$($_.Namespace)/$($_.Name)" }))." }
            if ($reported.Count) { "May have billed for longer than $BilledLongerThan, not paused (only the service's stamps say so): $(Join-Names ($reported | ForEach-Object { "$($_.Namespace)/$($_.Name)" }))." }
            if ($checkErrors) { "Could not check: $(Join-Names ($checkErrors | ForEach-Object { Get-ErrorTarget $_ }))." }
            if ($partly) { "Listed in part (an endpoint left out was not checked): $(Join-Names $partly)." }
            if ($stopErrors) { "Could not pause: $(Join-Names ($stopErrors | ForEach-Object { Get-ErrorTarget $_ }))." }
            $budgetNote
        )
        if ($failures -gt 0) {
            Write-GuardLog "$failures error(s): some endpoints could not be checked or stopped and may still be billing."
            return (Complete-Guard $ExitFailed $what $details)
        }
        if ($WhatIfPreference -or ($stopped.Count -eq 0 -and $reported.Count -eq 0)) { return (Complete-Guard $ExitNothingToDo $what) }
        return (Complete-Guard $ExitStopped $what $details)
    }
    catch {
        Write-GuardLog "failed: $($_.Exception.Message)"
        return (Complete-Guard $ExitFailed 'the run failed; endpoints may still be billing')
    }
    finally {
        if ($null -ne $rendering) { $PSStyle.OutputRendering = $rendering }
        [Environment]::SetEnvironmentVariable($accountAgeVariable, $accountAgeBefore)
    }
}

Export-ModuleMember -Function Invoke-MertEndpointGuard
