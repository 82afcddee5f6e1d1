<#
.SYNOPSIS
    How the usage history scales (issue 22's measuring stick): a fresh `Get-MertEndpoint <one name>` and a fresh
    `Get-MertEndpointCost` for the last 30 days against the emulator, with an empty history and with generated
    version-2 histories of 1,000, 100,000 and 1,000,000 events (100 endpoints over a year). Prints figures; not a test.
.DESCRIPTION
    The histories are written the way the module writes them (UsageHistory.Format and Header: a header line, then
    only the changes: a version-2 history never records a repeated state). They are what a scheduled guard, a
    fresh process every 15 minutes listing all 100 endpoints, and this module's own pauses, resumes and updates
    would leave: changes the service made on its own are dated by its updatedAt when it stamps them, else at the
    sighting (a replica count alone: the middle of the window), with `lo` the last recorded change less the 2 s
    read lag (a fresh process keeps no sighting of another); actions by their own answer. Each endpoint's last
    state is the one the emulator holds, so the measured commands append nothing.

    Every figure is a median of fresh pwsh processes (-Runs, default 5): the command's own time inside the process
    (after Import-Module), the whole process, and the process's peak resident memory (VmHWM, read at its end).
    The steady state is measured on a file that is past its compaction (the header's compactedBytes is its body);
    a generated file that has grown past MERT_ENDPOINT_HISTORY_COMPACT_BYTES (default 1 MiB) since its last
    compaction is compacted by the first command that writes, measured separately (-FirstRuns, on fresh copies).
    Arrays go in through -Command: dotnet pwsh -NoProfile -Command './bench/history-scale.ps1 -Sizes 1000,100000'

    The answers are checked against a simple model in this script over the whole generated log: BilledSince of
    one endpoint, its 30-day billed time (the estimate, from the recorded times; and the true billed time, from
    the generated truth, which must lie within BilledTimeLow..BilledTimeHigh). -Profile times the pieces (parse,
    sort, summaries, compaction) in a fresh pwsh that loads Core alone.
#>
param(
    [long[]] $Sizes = @(1000, 100000, 1000000),
    [int] $Runs = 5,
    [int] $FirstRuns = 3,
    [int] $Endpoints = 100,
    [switch] $NoProfile,
    [int] $CompactionRuns = 3,
    [int] $Seed = 22
)
$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'build/EmulatorHost.psm1')
$out = if ($env:MERT_BUILD_OUT) { $env:MERT_BUILD_OUT } else { Join-Path $root 'out' }
$module = Join-Path $out 'MertEndpoint/MertEndpoint.psd1'
$core = Join-Path $out 'MertEndpoint/dependencies/MertEndpoint.Core.dll'
. (Join-Path $PSScriptRoot 'FreshPwsh.ps1')

Add-Type -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

public sealed class ScaleCheck
{
    public string Name;
    public long Events;
    // The recorded streak start (what BilledSince must be), its window, and the true start.
    public DateTime? StreakT, StreakLo, StreakHi, StreakTrue;
    // 30-day replica time: from the recorded times (the module's estimate must equal it) and from the truth.
    public TimeSpan RecordedBilled, TrueBilled;
}

public sealed class ScaleResult
{
    public long Events, Bytes, Actions, Reads, ByStamp, Midpoints;
    public Dictionary<string, string> FinalState = new Dictionary<string, string>();
    public ScaleCheck Check;
}

/// <summary>Writes a version-2 usage history slot by slot (a guard run every 15 minutes), streaming.</summary>
public static class HistoryScale
{
    static readonly TimeSpan Slot = TimeSpan.FromMinutes(15), Lag = TimeSpan.FromSeconds(2), Trip = TimeSpan.FromMilliseconds(300);

    sealed class Ep
    {
        public string Name, Url; public string State; public int Replicas; public DateTime T, Lo; public int Left;
        public bool Forced; // initializing/updating: the next sighting shows it running
        public int ForcedReplicas;
    }
    struct Line { public DateTime Written; public string Text; }

    static string S(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
    static string Q(string s) => s == null ? "null" : "\"" + s + "\"";
    static string Qt(DateTime? t) => t == null ? "null" : "\"" + S(t.Value) + "\"";

    static string Format(string api, string ns, Ep e, DateTime t, DateTime? lo, DateTime? hi, string src, DateTime? u, DateTime? prev, string by) =>
        "{\"v\":2,\"t\":" + Qt(t) + ",\"lo\":" + Qt(lo) + ",\"hi\":" + Qt(hi) + ",\"api\":" + Q(api) + ",\"ns\":" + Q(ns) +
        ",\"name\":" + Q(e.Name) + ",\"state\":" + Q(e.State) + ",\"replicas\":" + e.Replicas.ToString(CultureInfo.InvariantCulture) +
        ",\"vendor\":\"aws\",\"region\":\"us-east-1\",\"type\":\"nvidia-a10g\",\"size\":\"x1\",\"src\":" + Q(src) +
        ",\"url\":" + Q(e.State == "paused" ? null : e.Url) + ",\"u\":" + Qt(u) +
        // The facts a read's record keeps beside its window (an action's send time is its lo): when the read was sent,
        // when the previous state was last seen (the guard's run before), and how the change was placed in its window.
        (src == "read" && hi != null ? ",\"sent\":" + Qt(hi.Value - Trip) + (prev != null ? ",\"prev\":" + Qt(prev) : "") : "") +
        (by != null ? ",\"by\":" + Q(by) : "") + "}";

    // BillingRules.Bills (the streak: an update too) and BillingRules.Metered (the estimate and the meter: initializing and running).
    static int Rate(string state, int replicas) => state == "initializing" || state == "running" || state == "updating" ? Math.Max(1, replicas) : 0;
    static int Metered(string state, int replicas) => state == "initializing" || state == "running" ? Math.Max(1, replicas) : 0;

    /// <summary>The header says compactedBytes 0: a file grown since its last compaction, as an appending module leaves it.</summary>
    public static ScaleResult Generate(string path, string api, string ns, string[] names, string[] urls, long total, DateTime end,
        int seed, string checkName, DateTime since, DateTime until)
    {
        var rng = new Random(seed);
        long slots = (long)(TimeSpan.FromDays(365).Ticks / Slot.Ticks);
        DateTime start = end - TimeSpan.FromTicks(Slot.Ticks * slots);
        var eps = new Ep[names.Length];
        var result = new ScaleResult();
        // The check endpoint's truth (time, rate, metered rate) and its records (t, lo, hi, rate, metered rate), for the model.
        var truth = new List<Tuple<DateTime, int, int>>();
        var recs = new List<Tuple<DateTime, DateTime, DateTime, int, int>>();
        // The check endpoint's estimate times: a record's own time, or for a change nothing placed (dated at its sighting,
        // not its first record) the middle between the last sighting of the state before and its own, never before the
        // estimate before it (CostModel.SightingMidpoint).
        var ests = new List<DateTime>();
        long perEndpoint = Math.Max(1, total / names.Length);
        var lines = new List<Line>();
        using (var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20))
        {
            string generation = Guid.NewGuid().ToString("N");
            string head = "{\"v\":2,\"generation\":\"" + generation + "\",\"compactedBytes\":";
            byte[] header = Encoding.UTF8.GetBytes(head + "0}\n");   // as the module's first append writes it
            file.Write(header, 0, header.Length);
            Action<Ep, DateTime, DateTime?, DateTime, string, DateTime?, DateTime, DateTime?, string> record = (e, t, lo, hi, src, u, written, prev, by) =>
            {
                lines.Add(new Line { Written = written, Text = Format(api, ns, e, t, lo, hi, src, u, prev, by) });
                if (e.Name == checkName)
                {
                    DateTime est = t;
                    if (src == "read" && by == null && ests.Count > 0 && lo != null && lo.Value < hi)
                    {
                        // From the last sighting of the state before (prev) when it lies inside the window, else its start.
                        DateTime before = prev != null && prev.Value > lo.Value && prev.Value < hi ? prev.Value : lo.Value;
                        DateTime middle = before + TimeSpan.FromTicks((hi - before).Ticks / 2);
                        DateTime after = ests.Count > 0 ? ests[ests.Count - 1].AddTicks(1) : before;
                        DateTime at = middle > after ? middle : after;
                        if (at < t) est = at;
                    }
                    ests.Add(est);
                }
                result.Events++;
                if (src == "action") result.Actions++; else result.Reads++;
                e.Left--;
                if (e.Name == checkName) recs.Add(Tuple.Create(t, lo ?? t, hi, Rate(e.State, e.Replicas), Metered(e.State, e.Replicas)));
                e.T = t; e.Lo = lo ?? t;
            };
            // An update bills by BillingRules.Bills (the streak goes on) but is not on the meter (BillingRules.Metered).
            Action<Ep, DateTime, int, bool> trueChangeAs = (e, at, rate, metered) => { if (e.Name == checkName) truth.Add(Tuple.Create(at, rate, metered ? rate : 0)); };
            Action<Ep, DateTime, int> trueChange = (e, at, rate) => trueChangeAs(e, at, rate, true);

            // First sighting, by the first guard run: dated by the service's updatedAt, lo its createdAt less the allowance.
            DateTime s0 = start, r0 = start + Trip;
            for (int i = 0; i < names.Length; i++)
            {
                var e = eps[i] = new Ep { Name = names[i], Url = urls[i], Left = (int)(perEndpoint + (i < total % names.Length ? 1 : 0)) };
                bool run = i % 2 == 0 || names[i] == checkName;
                e.State = run ? "running" : "paused"; e.Replicas = run ? 1 : 0;
                DateTime stamp = start - TimeSpan.FromMinutes(30 + rng.Next(600));
                trueChangeAs(e, stamp, Rate(e.State, e.Replicas), e.State != "updating");
                record(e, stamp, start - TimeSpan.FromDays(10) - Lag, r0, "read", null, r0, null, "stamp");
            }
            for (long j = 1; j <= slots; j++)
            {
                DateTime sent = start + TimeSpan.FromTicks(Slot.Ticks * j), received = sent + Trip, previous = sent - Slot;
                bool fixing = j > slots - 4;   // the last runs bring each endpoint to a state the emulator holds
                foreach (Ep e in eps)
                {
                    // A change seen by a read: dated by the stamp (when the service stamps it), else at the sighting. Its
                    // window starts at the last sighting of the old state: the guard's run before (usage.jsonl.seen keeps
                    // it for the next process), less the read lag.
                    Action<string, int, DateTime, bool> seen = (state, replicas, at, stamped) =>
                    {
                        bool alone = state == e.State;
                        DateTime sighting = previous > e.T ? previous : e.T;
                        DateTime lo = sighting - Lag > e.Lo ? sighting - Lag : e.Lo;
                        e.State = state; e.Replicas = replicas;
                        DateTime t; string by = null;
                        if (stamped && at > e.T) { t = at; by = "stamp"; result.ByStamp++; }
                        else if (alone) { t = sighting + TimeSpan.FromTicks((received - sighting).Ticks / 2); by = "mid"; result.Midpoints++; }
                        else t = received;
                        if (t <= e.T) t = e.T.AddTicks(1);
                        record(e, t, lo, received, "read", null, received, previous > e.T ? previous : (DateTime?)null, by);
                    };
                    // Something this module did at 'at': dated by its own answer.
                    Action<string, int, DateTime> acted = (state, replicas, at) =>
                    {
                        e.State = state; e.Replicas = replicas;
                        record(e, at + Trip, at, at + Trip, "action", at + TimeSpan.FromMilliseconds(150), at + Trip, null, "stamp");
                    };
                    DateTime when = previous + TimeSpan.FromTicks((long)(rng.NextDouble() * (Slot - TimeSpan.FromSeconds(5)).Ticks)) + TimeSpan.FromSeconds(1);
                    if (e.Forced)
                    {
                        // The boot or update ended at 'when'; the guard sees it running.
                        e.Forced = false;
                        trueChange(e, when, Rate("running", e.ForcedReplicas));
                        seen("running", e.ForcedReplicas, when, rng.NextDouble() < 0.7);
                        continue;
                    }
                    if (fixing)
                    {
                        bool check = e.Name == checkName;
                        if (e.State == "running" && e.Replicas > 1) { trueChange(e, when, 1); seen("running", 1, when, false); }
                        else if (check && e.State != "running")
                        {
                            trueChange(e, when, 1);
                            acted("initializing", 1, when); e.Forced = true; e.ForcedReplicas = 1;
                        }
                        continue;
                    }
                    long slotsLeft = slots - 4 - j + 1;
                    if (e.Left <= 0 || rng.NextDouble() >= (double)e.Left / slotsLeft) continue;
                    double p = rng.NextDouble();
                    switch (e.State)
                    {
                        case "running":
                            if (p < 0.35) { trueChange(e, when, 0); seen("scaledToZero", 0, when, rng.NextDouble() < 0.7); }
                            else if (p < 0.55) { trueChange(e, when, 0); acted("paused", 0, when); }
                            else if (p < 0.85)
                            {
                                int r = e.Replicas <= 1 ? 2 : e.Replicas >= 3 ? 2 : (rng.Next(2) == 0 ? 1 : 3);
                                trueChange(e, when, r); seen("running", r, when, false);
                            }
                            else { trueChangeAs(e, when, e.Replicas, false); acted("updating", e.Replicas, when); e.Forced = true; e.ForcedReplicas = e.Replicas; }
                            break;
                        case "scaledToZero":
                            // Woken by traffic: the boot (initializing, billed) is seen a quarter of the time, else only its end.
                            trueChange(e, when, 1);
                            if (p < 0.25) { seen("initializing", 1, when, rng.NextDouble() < 0.7); e.Forced = true; e.ForcedReplicas = 1; }
                            else
                            {
                                DateTime ran = when + TimeSpan.FromMinutes(3);
                                if (ran < sent) seen("running", 1, ran, rng.NextDouble() < 0.7);
                                else { seen("initializing", 1, when, rng.NextDouble() < 0.7); e.Forced = true; e.ForcedReplicas = 1; }
                            }
                            break;
                        case "paused":
                            trueChange(e, when, 1); acted("initializing", 1, when); e.Forced = true; e.ForcedReplicas = 1;
                            break;
                    }
                }
                if (lines.Count > 0)
                {
                    lines.Sort((a, b) => a.Written.CompareTo(b.Written));
                    foreach (Line l in lines)
                    {
                        byte[] bytes = Encoding.UTF8.GetBytes(l.Text + "\n");
                        file.Write(bytes, 0, bytes.Length);
                    }
                    lines.Clear();
                }
            }
            result.Bytes = file.Length;
        }
        foreach (Ep e in eps) result.FinalState[e.Name] = e.State;

        // The model, over the whole log of the check endpoint: the estimate counts initializing and running
        // (BillingRules.Metered), each replica (at least one) billing until the next change; the streak counts an update too.
        var c = new ScaleCheck { Name = checkName, Events = recs.Count };
        for (int i = 0; i < recs.Count; i++)
        {
            DateTime from = ests[i], to = i + 1 < recs.Count ? ests[i + 1] : until;
            if (from < since) from = since; if (to > until) to = until;
            if (to > from) c.RecordedBilled += TimeSpan.FromTicks((to - from).Ticks * recs[i].Item5);
        }
        for (int i = 0; i < truth.Count; i++)
        {
            DateTime from = truth[i].Item1, to = i + 1 < truth.Count ? truth[i + 1].Item1 : until;
            if (from < since) from = since; if (to > until) to = until;
            if (to > from) c.TrueBilled += TimeSpan.FromTicks((to - from).Ticks * truth[i].Item3);
        }
        int k = recs.Count - 1;
        if (recs[k].Item4 > 0)
        {
            while (k > 0 && recs[k - 1].Item4 > 0) k--;
            c.StreakT = recs[k].Item1; c.StreakLo = recs[k].Item2; c.StreakHi = recs[k].Item3;
            int m = truth.Count - 1;
            while (m > 0 && truth[m - 1].Item2 > 0) m--;
            c.StreakTrue = truth[m].Item1;
        }
        result.Check = c;
        return result;
    }
}
'@

function Get-Median([double[]] $values) { ($values | Sort-Object)[[int][math]::Floor(($values.Count - 1) / 2)] }

function Invoke-Child([string] $command) {
    # One fresh pwsh; the command prints one JSON line last. Returns it with the process's wall time.
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $lines = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $command
    $wall = $sw.Elapsed.TotalMilliseconds
    if ($LASTEXITCODE -ne 0) { throw "child failed: $lines" }
    $r = ($lines | Select-Object -Last 1) | ConvertFrom-Json
    $r | Add-Member wall $wall
    $r
}

$names = 0..($Endpoints - 1) | ForEach-Object { 'scale-{0:d3}' -f $_ }
$checkName = $names[0]
$dir = Join-Path ([IO.Path]::GetTempPath()) "mert-history-scale-$PID"
$null = New-Item -ItemType Directory $dir
$emulator = Start-MertEmulator -ArgumentList '--boot-seconds', '1'
$env:MERT_ENDPOINT_CACHE_DIR = Join-Path $dir 'cache'
Remove-Item Env:MERT_ENDPOINT_HISTORY_COMPACT_BYTES -ErrorAction SilentlyContinue
try {
    Use-MertEmulatorEnvironment $emulator
    $api = $emulator.ApiUrl
    $headers = @{ Authorization = "Bearer $env:HF_TOKEN" }
    # minReplica 0 and no scale-to-zero timeout: the service never changes them on its own during the bench.
    $names | ForEach-Object -ThrottleLimit 16 -Parallel {
        $body = '{"name":"' + $_ + '","compute":{"accelerator":"gpu","instanceType":"nvidia-a10g","instanceSize":"x1","scaling":{"minReplica":0,"maxReplica":1}},"model":{"repository":"m-a-p/MERT-v1-95M","framework":"pytorch","task":"feature-extraction","image":{"custom":{"url":"someone/img:1","healthRoute":"/health","port":8080}}},"provider":{"vendor":"aws","region":"us-east-1"},"type":"authenticated"}'
        $null = Invoke-RestMethod -Method Post -Uri "$using:api/endpoint/emulator-user" -Headers $using:headers -ContentType 'application/json' -Body $body
    }
    do { Start-Sleep -Milliseconds 500; $listed = (Invoke-RestMethod -Uri "$api/endpoint/emulator-user" -Headers $headers).items }
    while (@($listed | Where-Object { $_.status.state -ne 'running' }).Count -gt 0)
    $urls = foreach ($n in $names) { ($listed | Where-Object name -eq $n).status.url }

    # The period the cost is asked for, fixed, so the model computes the same one.
    $end = [DateTime]::UtcNow.AddMinutes(-2)
    $until = $end.AddMinutes(1)
    $since = $until.AddDays(-30)
    $untilArg = "([DateTime]::new($($until.Ticks), 'Utc'))"
    $sinceArg = "([DateTime]::new($($since.Ticks), 'Utc'))"

    # Generate every size first: the emulator's states follow the last states of the files (the same seed gives each
    # file its own walk, so each size gets its own emulator states, set just before it is measured).
    $files = [ordered]@{}
    foreach ($size in $Sizes) {
        $path = Join-Path $dir "history-$size.jsonl"
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $g = [HistoryScale]::Generate($path, $api, 'emulator-user', [string[]] $names, [string[]] $urls, $size, $end, $Seed, $checkName, $since, $until)
        '{0,9:N0} events generated in {1:0.0} s: {2:N1} MB, {3:N0} actions, {4:N0} reads ({5:N0} dated by the service stamp, {6:N0} replica changes at the midpoint); {7}: {8} events' -f `
            $g.Events, $sw.Elapsed.TotalSeconds, ($g.Bytes / 1MB), $g.Actions, $g.Reads, $g.ByStamp, $g.Midpoints, $checkName, $g.Check.Events
        $files[[string]$size] = [pscustomobject]@{ Path = $path; Gen = $g }
    }

    $getCmd = "`$ErrorActionPreference='Stop'; Import-Module '$module'; `$sw=[Diagnostics.Stopwatch]::StartNew(); `$e = Get-MertEndpoint $checkName; `$ms=`$sw.Elapsed.TotalMilliseconds; " +
        "`$hwm=[long]((Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM*' }) -replace '\D',''); " +
        "[pscustomobject]@{ ms=`$ms; kb=`$hwm; since=if (`$e.BilledSince) { `$e.BilledSince.UtcDateTime.Ticks } else { 0 }; latest=if (`$e.BilledSinceLatest) { `$e.BilledSinceLatest.UtcDateTime.Ticks } else { 0 } } | ConvertTo-Json -Compress"
    $costCmd = "`$ErrorActionPreference='Stop'; Import-Module '$module'; `$sw=[Diagnostics.Stopwatch]::StartNew(); `$all = @(Get-MertEndpointCost -Since $sinceArg -Until $untilArg); `$ms=`$sw.Elapsed.TotalMilliseconds; " +
        "`$hwm=[long]((Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM*' }) -replace '\D',''); `$c = `$all | Where-Object Name -eq '$checkName'; " +
        "[pscustomobject]@{ ms=`$ms; kb=`$hwm; n=`$all.Count; billed=`$c.BilledTime.Ticks; low=`$c.BilledTimeLow.Ticks; high=`$c.BilledTimeHigh.Ticks; est=`$c.EstimatedCost; costLow=`$c.CostLow; costHigh=`$c.CostHigh; price=`$c.PricePerHour; since=if (`$c.BilledSince) { `$c.BilledSince.UtcDateTime.Ticks } else { 0 } } | ConvertTo-Json -Compress"

    $live = Join-Path $dir 'usage.jsonl'
    $env:MERT_ENDPOINT_HISTORY_PATH = $live
    $null = Invoke-Child $getCmd   # fills the account cache once, as every scheduled run after the first has it
    $rows = [Collections.Generic.List[object]]::new()
    $checks = [Collections.Generic.List[string]]::new()
    foreach ($size in @(0) + $Sizes) {
        $f = if ($size) { $files[[string]$size] }
        if ($f) {
            # The emulator holds each endpoint in the last state its file holds, so the commands only see repeats.
            foreach ($n in $names) {
                $want = $f.Gen.FinalState[$n]
                $have = (Invoke-RestMethod -Uri "$api/endpoint/emulator-user/$n" -Headers $headers).status.state
                if ($want -eq $have) { continue }
                if ($have -ne 'running') { $null = Invoke-RestMethod -Method Post -Uri "$api/endpoint/emulator-user/$n/resume" -Headers $headers }
                if ($want -eq 'paused') { $null = Invoke-RestMethod -Method Post -Uri "$api/endpoint/emulator-user/$n/pause" -Headers $headers }
                if ($want -eq 'scaledToZero') { $null = Invoke-RestMethod -Method Post -Uri "$api/endpoint/emulator-user/$n/scale-to-zero" -Headers $headers }
            }
            do { Start-Sleep -Milliseconds 500; $listed = (Invoke-RestMethod -Uri "$api/endpoint/emulator-user" -Headers $headers).items }
            while (@($listed | Where-Object { $_.status.state -ne $f.Gen.FinalState[$_.name] }).Count -gt 0)
        }
        $first = $null
        $bytes = if ($f) { (Get-Item $f.Path).Length } else { 0 }
        if ($f -and $bytes -gt 1MB -and $FirstRuns -gt 0) {
            # The first command after the file passed the threshold compacts it: on fresh copies of the generated file.
            $fg = foreach ($i in 1..$FirstRuns) { Copy-Item $f.Path $live -Force; Invoke-Child $getCmd }
            $fc = foreach ($i in 1..$FirstRuns) { Copy-Item $f.Path $live -Force; Invoke-Child $costCmd }
            $first = [pscustomobject]@{ GetMs = Get-Median $fg.ms; GetMB = (Get-Median $fg.kb) / 1024; CostMs = Get-Median $fc.ms; CostMB = (Get-Median $fc.kb) / 1024 }
        }
        # The steady state: compacted (or below the threshold), the emulator's states already recorded.
        if ($f) { Copy-Item $f.Path $live -Force } else { Remove-Item $live, "$live.lock" -ErrorAction SilentlyContinue }
        if ($f) { $null = Invoke-Child $getCmd }   # compacts when past the threshold; then nothing more is written
        $before = if (Test-Path $live) { (Get-Item $live).Length } else { 0 }
        $gets = [Collections.Generic.List[object]]::new(); $costs = [Collections.Generic.List[object]]::new()
        foreach ($i in 1..$Runs) {
            if (-not $f) { Remove-Item $live, "$live.lock" -ErrorAction SilentlyContinue }
            $gets.Add((Invoke-Child $getCmd))
            if (-not $f) { Remove-Item $live, "$live.lock" -ErrorAction SilentlyContinue }
            $costs.Add((Invoke-Child $costCmd))
        }
        $after = if (Test-Path $live) { (Get-Item $live).Length } else { 0 }
        $rows.Add([pscustomobject]@{
            Size = $size; Bytes = $bytes; Compacted = $before
            GetMs = Get-Median $gets.ms; GetWall = Get-Median $gets.wall; GetMB = (Get-Median $gets.kb) / 1024
            CostMs = Get-Median $costs.ms; CostWall = Get-Median $costs.wall; CostMB = (Get-Median $costs.kb) / 1024
            First = $first; Appended = if ($f) { '{0} B' -f ($after - $before) } else { '-' }
        })
        if ($f) {
            $c = $f.Gen.Check
            $g = $gets[0]; $k = $costs[0]
            $sinceOk = $g.since -eq $c.StreakT.Ticks -and $k.since -eq $c.StreakT.Ticks
            $trueIn = $c.StreakTrue -ge $c.StreakLo -and $c.StreakTrue -le [DateTime]::new($g.latest, 'Utc')
            $billedOk = [math]::Abs($k.billed - $c.RecordedBilled.Ticks) -le 10000
            $boundsOk = $k.low -le $c.TrueBilled.Ticks -and $c.TrueBilled.Ticks -le $k.high
            $model = [math]::Round([double]$k.price * $c.RecordedBilled.TotalHours, 4)
            $costOk = [math]::Abs([double]$k.est - $model) -le 0.0001
            $checks.Add(('{0,9:N0} events, {1} ({2:N0} of its events): BilledSince {3:u} (model {4:u}): {5}; true streak start {6:u} within [lo {7:u}, latest {8:u}]: {9}; 30-day billed {10:N1} h (model from the recorded times {11:N1} h): {12}; estimate ${13} (model ${14}): {15}; true billed {16:N2} h within [{17:N2}, {18:N2}] h: {19}' -f `
                $size, $c.Name, $c.Events, [DateTime]::new($g.since, 'Utc'), $c.StreakT, ($(if ($sinceOk) { 'agrees' } else { 'DIFFERS' })),
                $c.StreakTrue, $c.StreakLo, [DateTime]::new($g.latest, 'Utc'), ($(if ($trueIn) { 'yes' } else { 'NO' })),
                ([TimeSpan]::FromTicks($k.billed).TotalHours), $c.RecordedBilled.TotalHours, ($(if ($billedOk) { 'agrees' } else { 'DIFFERS' })),
                $k.est, $model, ($(if ($costOk) { 'agrees' } else { 'DIFFERS' })),
                $c.TrueBilled.TotalHours, ([TimeSpan]::FromTicks($k.low).TotalHours), ([TimeSpan]::FromTicks($k.high).TotalHours), ($(if ($boundsOk) { 'yes' } else { 'NO' }))))
        }
        '{0,9:N0} events measured' -f $size
    }

    ''
    'Fresh pwsh, medians of {0} ({1}); "cmd" is the command inside the process after Import-Module, "proc" the whole process; MB is VmHWM.' -f $Runs, ((Get-Date -AsUTC -Format 'yyyy-MM-dd HH:mm') + 'Z')
    $empty = $rows[0]
    '{0,10} {1,8} | {2,8} {3,8} {4,7} {5,8} {6,7} | {7,8} {8,8} {9,7} {10,8} {11,7} | {12}' -f 'events', 'MB file', 'Get cmd', 'proc', 'MB', 'd ms', 'd MB', 'Cost cmd', 'proc', 'MB', 'd ms', 'd MB', 'appended'
    foreach ($r in $rows) {
        '{0,10:N0} {1,8:N1} | {2,8:N0} {3,8:N0} {4,7:N0} {5,8:+0;-0} {6,7:+0;-0} | {7,8:N0} {8,8:N0} {9,7:N0} {10,8:+0;-0} {11,7:+0;-0} | {12}' -f `
            $r.Size, ($r.Compacted / 1MB), $r.GetMs, $r.GetWall, $r.GetMB, ($r.GetMs - $empty.GetMs), ($r.GetMB - $empty.GetMB),
            $r.CostMs, $r.CostWall, $r.CostMB, ($r.CostMs - $empty.CostMs), ($r.CostMB - $empty.CostMB), $r.Appended
        if ($r.First) {
            '{0,10} {1,8} | {2,8:N0} {3,8} {4,7:N0} {5,8:+0;-0} {6,7:+0;-0} | {7,8:N0} {8,8} {9,7:N0} {10,8:+0;-0} {11,7:+0;-0} | first command past the threshold (median of {12}, compacts)' -f `
                '', '', $r.First.GetMs, '', $r.First.GetMB, ($r.First.GetMs - $empty.GetMs), ($r.First.GetMB - $empty.GetMB),
                $r.First.CostMs, '', $r.First.CostMB, ($r.First.CostMs - $empty.CostMs), ($r.First.CostMB - $empty.CostMB), $FirstRuns
        }
    }
    $top = $rows | Where-Object Size -eq 1000000 | Select-Object -First 1
    if ($top) {
        'Aims at 1,000,000 events (issue 22): Get within +50 ms and +30 MB: {0:+0} ms, {1:+0} MB ({2}); 30-day cost within +1 s and +200 MB: {3:+0} ms, {4:+0} MB ({5})' -f `
            ($top.GetMs - $empty.GetMs), ($top.GetMB - $empty.GetMB), $(if ($top.GetMs - $empty.GetMs -le 50 -and $top.GetMB - $empty.GetMB -le 30) { 'met' } else { 'not met' }),
            ($top.CostMs - $empty.CostMs), ($top.CostMB - $empty.CostMB), $(if ($top.CostMs - $empty.CostMs -le 1000 -and $top.CostMB - $empty.CostMB -le 200) { 'met' } else { 'not met' })
    }
    ''
    'Answers against the model over the whole generated log:'
    $checks

    # A Get while another process compacts the largest history (issue 22: at most 100 ms at p95): fresh Gets one after
    # another for as long as each compaction runs, the file indexed and steady before each.
    $largest = $Sizes | Sort-Object | Select-Object -Last 1
    if ($CompactionRuns -gt 0 -and $largest -ge 100000) {
        $f = $files[[string]$largest]
        Copy-Item $f.Path $live -Force
        $null = Invoke-Child $getCmd   # compacts (a file past the threshold) and indexes
        $null = Invoke-Child $getCmd
        $steady = foreach ($i in 1..3) { (Invoke-Child $getCmd).ms }
        $during = [Collections.Generic.List[double]]::new(); $compactions = [Collections.Generic.List[double]]::new()
        $compactCmd = "`$null = [Reflection.Assembly]::LoadFrom('$core'); `$sw = [Diagnostics.Stopwatch]::StartNew(); [MertEndpoint.UsageHistory]::new('$live').CompactAsync().GetAwaiter().GetResult(); `$sw.Elapsed.TotalMilliseconds"
        foreach ($run in 1..$CompactionRuns) {
            $job = Start-Process -FilePath $pwsh[0] -ArgumentList (@($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $compactCmd)) -PassThru -RedirectStandardOutput (Join-Path $dir "compact-$run.txt")
            Start-Sleep -Milliseconds 500   # past its start, into its reading
            while (-not $job.HasExited) { $during.Add((Invoke-Child $getCmd).ms) }
            $job.WaitForExit()
            $compactions.Add([double](Get-Content (Join-Path $dir "compact-$run.txt") | Select-Object -Last 1))
        }
        $sorted = @($during | Sort-Object)
        $p95 = if ($sorted.Count) { $sorted[[int][math]::Ceiling(0.95 * $sorted.Count) - 1] } else { [double]::NaN }
        ''
        '{0:N0} events: {1} compactions by another process ({2:N0} ms each, median); {3} fresh Gets meanwhile (the command''s time): median {4:N0} ms, p95 {5:N0} ms, max {6:N0} ms; steady, no compaction: {7:N0} ms. Aim (issue 22) p95 at most 100 ms slower: {8}' -f `
            $largest, $CompactionRuns, (Get-Median $compactions), $sorted.Count, (Get-Median $sorted), $p95, ($sorted | Select-Object -Last 1), (Get-Median $steady), $(if ($p95 -le 100 + (Get-Median $steady)) { 'met' } else { 'not met' })
    }

    # Optimize-MertEndpointHistory -Force on the largest history (what the scheduled guard runs at its end when the file is
    # due; a write compacts only up to 64 MiB), in a fresh pwsh with the module, its index in place: time and peak memory.
    if ($CompactionRuns -gt 0 -and $largest -ge 100000) {
        $optimizeCmd = "`$ErrorActionPreference='Stop'; Import-Module '$module'; `$sw=[Diagnostics.Stopwatch]::StartNew(); `$r = Optimize-MertEndpointHistory -Force -Confirm:`$false; `$ms=`$sw.Elapsed.TotalMilliseconds; " +
            "`$hwm=[long]((Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM*' }) -replace '\D',''); [pscustomobject]@{ ms=`$ms; kb=`$hwm; done=`$r.Compacted; before=`$r.RecordsBefore; after=`$r.RecordsAfter } | ConvertTo-Json -Compress"
        $optimized = foreach ($run in 1..$CompactionRuns) { Invoke-Child $optimizeCmd }
        ''
        '{0:N0} events: Optimize-MertEndpointHistory -Force in a fresh pwsh, {1} runs: {2} s; peak resident memory {3} MB (the empty history''s Get: {4:N0} MB); compacted: {5}, {6:N0} records kept of {7:N0}' -f `
            $largest, $CompactionRuns, (($optimized | ForEach-Object { '{0:N1}' -f ($_.ms / 1000) }) -join ', '), (($optimized | ForEach-Object { '{0:N0}' -f ($_.kb / 1024) }) -join ', '),
            $empty.GetMB, (($optimized | ForEach-Object { $_.done }) -join ', '), $optimized[-1].after, $optimized[-1].before
    }

    if (-not $NoProfile) {
        ''
        'Where the time goes (a fresh pwsh loading Core alone, one run per size; ms, and MB of VmHWM after each step):'
        foreach ($size in $Sizes | Where-Object { $_ -ge 100000 }) {
            $f = $files[[string]$size]
            $copy = Join-Path $dir 'profile.jsonl'
            Copy-Item $f.Path $copy -Force
            $profileCmd = @"
`$ErrorActionPreference = 'Stop'
`$null = [Reflection.Assembly]::LoadFrom('$core')
function hwm { [long]((Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM*' }) -replace '\D','') / 1024 }
`$flags = [Reflection.BindingFlags]'NonPublic,Instance'
`$h = [MertEndpoint.UsageHistory]::new('$copy', [long]::MaxValue)
`$start = hwm
`$sw = [Diagnostics.Stopwatch]::StartNew(); `$null = [MertEndpoint.UsageHistory].GetMethod('CatchUp', `$flags).Invoke(`$h, @(`$true)); `$parse = `$sw.Elapsed.TotalMilliseconds; `$parseMB = hwm
`$sw.Restart(); `$events = `$h.Read(); `$sort = `$sw.Elapsed.TotalMilliseconds
`$now = [DateTimeOffset]::UtcNow
`$sw.Restart(); `$all = [MertEndpoint.UsageService]::Summarize(`$events, [DateTimeOffset]::MinValue, `$now); `$sumAll = `$sw.Elapsed.TotalMilliseconds
`$sw.Restart(); `$month = [MertEndpoint.UsageService]::Summarize(`$events, [DateTimeOffset]::new($($since.Ticks), [TimeSpan]::Zero), [DateTimeOffset]::new($($until.Ticks), [TimeSpan]::Zero)); `$sum30 = `$sw.Elapsed.TotalMilliseconds
`$sumMB = hwm
`$sw.Restart(); `$h.CompactAsync().GetAwaiter().GetResult(); `$compact = `$sw.Elapsed.TotalMilliseconds; `$compactMB = hwm
[pscustomobject]@{ n = `$events.Count; skipped = `$h.SkippedLines; start = `$start; parse = `$parse; parseMB = `$parseMB; sort = `$sort; sumAll = `$sumAll; sum30 = `$sum30; sumMB = `$sumMB; compact = `$compact; compactMB = `$compactMB; managed = [GC]::GetTotalMemory(`$false) / 1MB } | ConvertTo-Json -Compress
"@
            $p = Invoke-Child $profileCmd
            '{0,9:N0} events: read {1:N0} events, {2} lines skipped; CatchUp (read + parse the whole file) {3:N0} ms, {4:N0} MB (from {5:N0}); Read() sort + copy {6:N0} ms; Summarize of every endpoint since ever (Get''s streaks) {7:N0} ms; 30 days (the cost''s) {8:N0} ms, {9:N0} MB; compaction (rewrite, the file caught up) {10:N0} ms, {11:N0} MB' -f `
                $size, $p.n, $p.skipped, $p.parse, $p.parseMB, $p.start, $p.sort, $p.sumAll, $p.sum30, $p.sumMB, $p.compact, $p.compactMB
            Remove-Item $copy, "$copy.lock" -ErrorAction SilentlyContinue
        }
    }
}
finally {
    Stop-MertEmulator $emulator
    Remove-Item $dir -Recurse -Force -ErrorAction SilentlyContinue
}
