namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// Get-MertEndpointHistory on the fake service and the fake clock: what a start and a stop leave in the usage history,
/// read back as state changes and cold starts, from the file alone.
/// </summary>
public class HistoryTests
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(30);

    /// <summary>A host where each endpoint ("ns/name") was paused, started (booting for <see cref="Boot"/>) and stopped.</summary>
    internal static async Task<CmdletHost> AfterOneCycle(params string[] endpoints)
    {
        var host = new CmdletHost();
        host.Service.BootTime = Boot;
        foreach (var (ns, name) in endpoints.Select(e => (e.Split('/')[0], e.Split('/')[1])))
        {
            host.Service.Add(name, state: "paused", ns: ns);
            (await host.RunAsync($"Start-MertEndpoint {name} -Namespace {ns} -Confirm:$false; Stop-MertEndpoint {name} -Namespace {ns} -Confirm:$false")).Succeeded();
        }
        return host;
    }

    [Fact]
    public async Task A_start_and_a_stop_show_one_cold_start_whose_boot_time_is_the_services_within_its_bounds()
    {
        using var host = await AfterOneCycle("alice/h");
        int requests = host.Service.Requests.Count;

        var run = (await host.RunAsync("Get-MertEndpointHistory h -ColdStart")).Succeeded();

        var start = Assert.IsType<ColdStart>(Assert.Single(run.Output).BaseObject);
        Assert.Equal(("alice", "h", "paused", "running", "action"), (start.Namespace, start.Name, start.PreviousState, start.Outcome, start.Source));
        Assert.InRange(Boot, start.BootTimeLow!.Value, start.BootTimeHigh!.Value);
        // The estimate, as the cost report's: from the resume's answer to the middle between the last sighting of initializing
        // and the first of running, which the readiness probe makes under 4 s apart near the end of a boot.
        Assert.InRange(start.BootTime!.Value, Boot - TimeSpan.FromSeconds(2), Boot + TimeSpan.FromSeconds(1));
        Assert.InRange(start.BootTime!.Value, start.BootTimeLow!.Value, start.BootTimeHigh!.Value);
        Assert.True(start.BootTimeHigh - start.BootTimeLow < TimeSpan.FromSeconds(15), $"{start.BootTimeLow} to {start.BootTimeHigh}");
        Assert.InRange(start.Started!.Value, start.StartedEarliest!.Value, start.StartedLatest!.Value);
        Assert.Equal(host.Service.Requests.Single(r => r.Is("POST", "/resume")).Time, start.StartedEarliest);
        Assert.Equal(requests, host.Service.Requests.Count);
    }

    [Fact]
    public async Task The_cost_report_counts_the_periods_cold_starts_and_gives_their_median_boot_time()
    {
        using var host = await AfterOneCycle("alice/h", "alice/quiet");
        host.Service.BootTime = Boot + Boot;
        (await host.RunAsync("Start-MertEndpoint h -Namespace alice -Confirm:$false; Stop-MertEndpoint h -Namespace alice -Confirm:$false")).Succeeded();
        host.Service.Add("never", state: "paused", ns: "alice");

        var costs = (await host.RunAsync("Get-MertEndpointCost -Namespace alice")).Succeeded().Output.Select(o => (EndpointCost)o.BaseObject).ToDictionary(c => c.Name);

        Assert.Equal(2, costs["h"].ColdStarts);
        // 30 s and 60 s: the middle two averaged (each estimated as Get-MertEndpointHistory does, see above).
        Assert.InRange(costs["h"].MedianBootTime!.Value, Boot + Boot / 2 - TimeSpan.FromSeconds(2), Boot + Boot / 2 + TimeSpan.FromSeconds(1));
        Assert.Equal(1, costs["quiet"].ColdStarts);
        Assert.InRange(costs["quiet"].MedianBootTime!.Value, Boot - TimeSpan.FromSeconds(2), Boot + TimeSpan.FromSeconds(1));
        Assert.Equal(0, costs["never"].ColdStarts);
        Assert.Null(costs["never"].MedianBootTime);
        // A period after them has none.
        var later = (await host.RunAsync("param($s) Get-MertEndpointCost h -Namespace alice -Since $s", host.Clock.GetUtcNow().AddSeconds(-1).UtcDateTime)).Succeeded();
        Assert.Equal((0, (TimeSpan?)null), (((EndpointCost)Assert.Single(later.Output).BaseObject).ColdStarts, ((EndpointCost)later.Output[0].BaseObject).MedianBootTime));
    }

    [Fact]
    public async Task The_changes_come_in_order_with_their_bounds_replicas_and_how_each_is_known()
    {
        using var host = await AfterOneCycle("alice/h");

        var run = (await host.RunAsync("Get-MertEndpointHistory h")).Succeeded();

        var changes = run.Output.Select(o => Assert.IsType<EndpointStateChange>(o.BaseObject)).ToList();
        // The first sighting is dated back by the service's updatedAt (the fake stamps a day before); the rest by this module's
        // actions, and the running its reads saw (nothing stamped) is estimated in the middle between its sightings.
        Assert.Equal(new[] { "-/paused/0/updatedAt", "paused/initializing/1/action", "initializing/running/1/estimate", "running/paused/0/action" },
            changes.Select(c => $"{c.PreviousState ?? "-"}/{c.State}/{c.Replicas}/{c.Source}"));
        Assert.All(changes, c => Assert.InRange(c.Time, c.Earliest, c.Latest));
        Assert.Equal(changes.OrderBy(c => c.Time).Select(c => c.Time), changes.Select(c => c.Time));
        Assert.InRange(changes[2].Time - changes[1].Time, Boot - TimeSpan.FromSeconds(2), Boot + TimeSpan.FromSeconds(1));
        Assert.InRange(changes[1].Time + Boot, changes[2].Earliest, changes[2].Latest); // the truth inside the window
    }

    [Fact]
    public async Task Takes_Name_and_Namespace_from_Get_MertEndpoint_by_property_name_and_wildcards_in_both()
    {
        using var host = await AfterOneCycle("alice/h", "lab/h2");

        var piped = (await host.RunAsync("Get-MertEndpoint h2 -Namespace lab | Get-MertEndpointHistory -ColdStart")).Succeeded();
        Assert.Equal("lab/h2", Assert.IsType<ColdStart>(Assert.Single(piped.Output).BaseObject).Endpoint);

        var all = (await host.RunAsync("Get-MertEndpointHistory -ColdStart")).Succeeded();
        Assert.Equal(new[] { "alice/h", "lab/h2" }, all.Output.Select(o => ((ColdStart)o.BaseObject).Endpoint));
        var matched = (await host.RunAsync("Get-MertEndpointHistory 'H*' -Namespace 'l*'")).Succeeded();
        Assert.Equal(4, matched.Output.Count);
        Assert.All(matched.Output, o => Assert.Equal("lab/h2", ((EndpointStateChange)o.BaseObject).Endpoint));
        Assert.Empty((await host.RunAsync("Get-MertEndpointHistory other")).Succeeded().Output);
    }

    [Fact]
    public async Task Takes_ns_slash_name_as_Get_MertEndpoint_does_and_refuses_one_that_contradicts_Namespace()
    {
        using var host = await AfterOneCycle("alice/h", "lab/h2");

        var qualified = (await host.RunAsync("Get-MertEndpointHistory lab/h2 -ColdStart")).Succeeded();
        Assert.Equal("lab/h2", Assert.IsType<ColdStart>(Assert.Single(qualified.Output).BaseObject).Endpoint);
        // The namespace part counts: 'alice/h*' is not lab's h2, though 'h*' alone would be.
        var wild = (await host.RunAsync("Get-MertEndpointHistory 'alice/h*' -ColdStart")).Succeeded();
        Assert.Equal("alice/h", Assert.IsType<ColdStart>(Assert.Single(wild.Output).BaseObject).Endpoint);
        var both = (await host.RunAsync("Get-MertEndpointHistory 'l*/h2', 'alice/h' -ColdStart")).Succeeded();
        Assert.Equal(new[] { "alice/h", "lab/h2" }, both.Output.Select(o => ((ColdStart)o.BaseObject).Endpoint));

        var conflict = await host.RunAsync("Get-MertEndpointHistory lab/h2 -Namespace alice -ColdStart");
        var error = Assert.Single(conflict.AllErrors);
        Assert.Equal("InvalidArgument", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("'lab/h2' names namespace 'lab', but -Namespace says 'alice'", error.Exception.Message);
        Assert.Empty(conflict.Output);
    }

    [Fact]
    public async Task Reads_the_file_only_no_token_no_request()
    {
        using var host = await AfterOneCycle("alice/h");
        int requests = host.Service.Requests.Count;
        Assert.False(host.Invoke("(Get-Command Get-MertEndpointHistory).Parameters.ContainsKey('Token')").Single().BaseObject is true);

        // No token anywhere this runspace looks: the default parameter value gone, and the environment's never read.
        var run = (await host.RunAsync("$PSDefaultParameterValues.Clear(); Get-MertEndpointHistory h -ColdStart")).Succeeded();

        Assert.Single(run.Output);
        Assert.Equal(requests, host.Service.Requests.Count);
    }

    [Fact]
    public async Task The_period_follows_Get_MertEndpointCost_since_must_be_before_until_and_a_start_before_it_is_left_out()
    {
        using var host = await AfterOneCycle("alice/h");

        var inverted = await host.RunAsync("Get-MertEndpointHistory h -Since (Get-Date).AddDays(-1) -Until (Get-Date).AddDays(-2)");
        Assert.Equal("InvalidPeriod", Assert.Single(inverted.AllErrors).FullyQualifiedErrorId.Split(',')[0]);
        var outOfRange = await host.RunAsync("Get-MertEndpointHistory h -Until ([datetime]::MaxValue)");
        Assert.Equal("InvalidPeriod", Assert.Single(outOfRange.AllErrors).FullyQualifiedErrorId.Split(',')[0]);

        // From a second after the resume: the cold start is left out, the running and the pause are in.
        var later = host.Service.Requests.Single(r => r.Is("POST", "/resume")).Time.AddSeconds(1).UtcDateTime;
        var run = (await host.RunAsync("param($since) Get-MertEndpointHistory h -Since $since; Get-MertEndpointHistory h -Since $since -ColdStart", later)).Succeeded();
        Assert.Equal(new[] { "running", "paused" }, run.Output.Select(o => ((EndpointStateChange)o.BaseObject).State));
    }

    [Fact]
    public async Task A_history_that_cannot_be_read_ends_the_command_with_its_error_and_no_history_is_no_output()
    {
        using var host = new CmdletHost();
        Assert.Empty((await host.RunAsync("Get-MertEndpointHistory; Get-MertEndpointHistory -ColdStart")).Succeeded().Output);

        Directory.CreateDirectory(Path.Combine(host.DataDirectory, "usage.jsonl")); // a folder where the file should be
        var run = await host.RunAsync("Get-MertEndpointHistory");

        var error = Assert.Single(run.AllErrors);
        Assert.Equal("InvalidConfiguration", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.StartsWith("Could not read the usage history", error.Exception.Message);
    }

    [Fact]
    public async Task A_cost_report_from_before_what_the_history_keeps_says_so_once_and_one_after_it_does_not()
    {
        using var host = await AfterOneCycle("alice/h");
        string path = Path.Combine(host.DataDirectory, "usage.jsonl");
        var kept = host.Clock.GetUtcNow().AddDays(-400);
        // As a compaction that dropped records for age leaves it (the body as it was).
        var lines = File.ReadAllLines(path).ToList();
        lines[0] = lines[0].TrimEnd('}', ' ') + $",\"keptSince\":\"{kept.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'}\"}}";
        var fresh = new CmdletHost();
        using (fresh)
        {
            File.WriteAllLines(Path.Combine(fresh.DataDirectory, "usage.jsonl"), lines);
            fresh.Service.Add("h", state: "paused", ns: "alice");
            var since = host.Clock.GetUtcNow().AddDays(-500).UtcDateTime;

            var old = (await fresh.RunAsync("param($s) Get-MertEndpointCost -Namespace alice -Since $s; Get-MertEndpointCost -Namespace alice -Since $s", since)).Succeeded();
            Assert.Equal(2, old.Output.Count);
            string warning = old.Warnings.First(w => w.Contains("keeps records since"));
            Assert.Equal(2, old.Warnings.Count(w => w.Contains("keeps records since"))); // once per command, both the same
            Assert.All(old.Warnings.Where(w => w.Contains("keeps records since")), w => Assert.Equal(warning, w));
            Assert.Contains($"since {kept.UtcDateTime:yyyy-MM-dd HH:mm} UTC only (MERT_ENDPOINT_HISTORY_RETENTION_DAYS, default 400 days)", warning);
            Assert.Contains("0 keeps everything", warning);

            var recent = (await fresh.RunAsync("Get-MertEndpointCost -Namespace alice")).Succeeded();
            Assert.DoesNotContain(recent.Warnings, w => w.Contains("keeps records since"));
        }
    }

    /// <summary>
    /// A history of about 19 MB with no index beside it (an older module's, or one copied from another machine), written
    /// where <paramref name="host"/> reads it: the api of a real record, then an endpoint paused and resumed every minute.
    /// Its header says it was never compacted, so the first write compacts it.
    /// </summary>
    internal static async Task<CmdletHost> WithLargeOldHistory(int records = 64_000, int minutesApart = 1)
    {
        string api;
        using (var first = await AfterOneCycle("alice/h"))
            api = System.Text.Json.JsonDocument.Parse(File.ReadLines(Path.Combine(first.DataDirectory, "usage.jsonl")).Skip(1).First()).RootElement.GetProperty("api").GetString()!;
        var host = new CmdletHost();
        var start = host.Clock.GetUtcNow().AddDays(-60);
        var lines = new System.Text.StringBuilder("{\"v\":2,\"generation\":\"old\",\"compactedBytes\":0}\n");
        for (int i = 0; i < records; i++)
        {
            string t = start.AddMinutes(i * minutesApart).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'");
            lines.Append($"{{\"v\":2,\"t\":\"{t}\",\"lo\":\"{t}\",\"hi\":\"{t}\",\"api\":\"{api}\",\"ns\":\"alice\",\"name\":\"old\",")
                .Append($"\"state\":\"{(i % 2 == 0 ? "running" : "paused")}\",\"replicas\":{1 - i % 2},\"vendor\":\"aws\",\"region\":\"us-east-1\",")
                .Append("\"type\":\"nvidia-a10g\",\"size\":\"x1\",\"src\":\"action\",\"url\":null,\"u\":null}\n");
        }
        File.WriteAllText(Path.Combine(host.DataDirectory, "usage.jsonl"), lines.ToString());
        Assert.True(new FileInfo(Path.Combine(host.DataDirectory, "usage.jsonl")).Length > records * 270);
        // Reading (and compacting) 17 MB at the xunit runs' low priority on a loaded machine took over 30 s once.
        host.RunBound = TimeSpan.FromMinutes(2);
        return host;
    }

    private static IReadOnlyList<ProgressRecord> Bar(Run run, string activity) =>
        run.PowerShell.Streams.Progress.Where(p => p.Activity == activity).ToList();

    /// <summary>A bar that showed a share of the work between the ends (a few times a second at most), moved forward and closed.</summary>
    private static void MovedAndClosed(IReadOnlyList<ProgressRecord> bar)
    {
        Assert.Contains(bar, p => p.RecordType == ProgressRecordType.Processing && p.PercentComplete is > 0 and < 100 && p.StatusDescription.EndsWith(" MB"));
        var percents = bar.Where(p => p.RecordType == ProgressRecordType.Processing).Select(p => p.PercentComplete).ToList();
        Assert.Equal(percents.OrderBy(p => p), percents);
        Assert.Equal(ProgressRecordType.Completed, bar[^1].RecordType);
    }

    [Fact]
    public async Task A_large_history_read_from_its_top_shows_its_progress_on_the_pipeline_thread_and_closes_the_bar()
    {
        using var host = await WithLargeOldHistory();

        var run = (await host.RunAsync("Get-MertEndpointHistory nothing-here")).Succeeded();

        Assert.Empty(run.Output);
        MovedAndClosed(Bar(run, "Reading the usage history"));
        // Read again, only what was appended: nothing to show.
        Assert.Empty(Bar((await host.RunAsync("Get-MertEndpointHistory nothing-here")).Succeeded(), "Reading the usage history"));
    }

    [Fact]
    public async Task A_command_on_a_large_old_history_shows_the_read_and_the_compaction_its_write_starts_from_its_tasks()
    {
        using var host = await WithLargeOldHistory();
        host.Service.Add("h", state: "paused", ns: "alice");

        // A command that waits for its writes (Get-MertEndpoint does not: its write would go on in the background).
        var run = (await host.RunAsync("Stop-MertEndpoint h -Namespace alice -Confirm:$false")).Succeeded();

        MovedAndClosed(Bar(run, "Reading the usage history"));
        MovedAndClosed(Bar(run, "Compacting the usage history"));
        string history = Path.Combine(host.DataDirectory, "usage.jsonl");
        // Compacted (the header counts its body now) and indexed: the next fresh read shows nothing.
        Assert.DoesNotContain("\"compactedBytes\":0}", File.ReadLines(history).First());
        Assert.True(File.Exists(history + ".index"));
    }

    [Fact]
    public async Task A_write_problem_of_a_Get_that_ended_first_is_said_by_the_next_command_once()
    {
        using var host = new CmdletHost();
        host.Service.Add("h", state: "paused", ns: "alice");
        Directory.CreateDirectory(Path.Combine(host.DataDirectory, "usage.jsonl")); // the history's place is taken: no write can land

        var first = (await host.RunAsync("Get-MertEndpoint h -Namespace alice")).Succeeded();
        await host.Factory.Usage.FlushAsync(); // its write has failed by now, whether or not the command saw it
        var next = (await host.RunAsync("Get-MertEndpointHardware")).Succeeded(); // a command that writes no reading of its own

        // Said once: by the Get when its write failed before it ended, else by the next command of the session.
        Assert.True(first.Warnings.Count <= 1 && next.Warnings.Count <= 1, string.Join(" | ", first.Warnings.Concat(next.Warnings)));
        Assert.Single(first.Warnings.Concat(next.Warnings), w => w.Contains("usage.jsonl", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Get_never_waits_for_its_own_write_and_reads_the_streak_the_file_already_holds()
    {
        using var host = new CmdletHost();
        host.Service.Add("h", ns: "alice");
        var first = (EndpointInfo)Assert.Single((await host.RunAsync("Get-MertEndpoint h -Namespace alice")).Succeeded().Output).BaseObject;
        await host.Factory.Usage.FlushAsync();
        string history = Path.Combine(host.DataDirectory, "usage.jsonl");
        int HRecords() => File.ReadLines(history).Count(l => l.Contains("\"name\":\"h\"", StringComparison.Ordinal));
        int lines = HRecords();

        // Another process holds the history's lock (a compaction, say) far longer than a write waits for it (10 s).
        var watch = System.Diagnostics.Stopwatch.StartNew();
        EndpointInfo again;
        Task pending;
        using (new FileStream(history + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            again = (EndpointInfo)Assert.Single((await host.RunAsync("Get-MertEndpoint h -Namespace alice")).Succeeded().Output).BaseObject;
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"Get took {watch.Elapsed}: it waited for its write");
            // One the file never saw billing: its streak would be its write's; waited for a second at most, then the service's stamp.
            host.Service.Add("k", ns: "alice");
            watch.Restart();
            var unseen = (EndpointInfo)Assert.Single((await host.RunAsync("Get-MertEndpoint k -Namespace alice")).Succeeded().Output).BaseObject;
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"Get took {watch.Elapsed}: it waited for its write");
            Assert.Equal(("updatedAt", (DateTimeOffset?)unseen.UpdatedAt), (unseen.BilledSinceSource, unseen.BilledSince));
            pending = host.Factory.Usage.FlushAsync();
            Assert.False(pending.IsCompleted); // its write still waits for the lock, after the command
        }
        // Its streak is the file's: its own sighting repeats the state the file holds, so the write changes nothing it shows.
        Assert.Equal(("running", first.BilledSince, first.BilledSinceSource, first.BilledSinceLatest), (again.StatusText, again.BilledSince, again.BilledSinceSource, again.BilledSinceLatest));
        Assert.NotNull(again.BilledSinceLatest); // the file's streak: the service's stamp alone (the fallback) has no latest
        await pending;
        Assert.Equal(lines, HRecords()); // a repeated state: no new record
    }
}

/// <summary>Tests that set the process's environment: alone, after the parallel ones (every runspace reads it).</summary>
[CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
public class ProcessEnvironment;

[Collection(nameof(ProcessEnvironment))]
public class EnvironmentDefaultTests
{
    [Fact]
    public async Task Get_MertEndpointHistorys_default_namespace_is_MERT_ENDPOINT_NAMESPACE_when_set()
    {
        using var host = await HistoryTests.AfterOneCycle("alice/h", "lab/h2");
        string? before = Environment.GetEnvironmentVariable("MERT_ENDPOINT_NAMESPACE");
        try
        {
            Environment.SetEnvironmentVariable("MERT_ENDPOINT_NAMESPACE", "lab");
            var scoped = (await host.RunAsync("Get-MertEndpointHistory -ColdStart")).Succeeded();
            Assert.Equal("lab/h2", Assert.IsType<ColdStart>(Assert.Single(scoped.Output).BaseObject).Endpoint);
        }
        finally { Environment.SetEnvironmentVariable("MERT_ENDPOINT_NAMESPACE", before); }
    }

    [Fact]
    public async Task A_retention_or_write_cap_not_understood_is_a_setup_problem_naming_the_setting_and_what_holds_meanwhile()
    {
        using var host = new CmdletHost();
        string? retentionBefore = Environment.GetEnvironmentVariable("MERT_ENDPOINT_HISTORY_RETENTION_DAYS");
        string? capBefore = Environment.GetEnvironmentVariable("MERT_ENDPOINT_HISTORY_COMPACT_MAX_BYTES");
        try
        {
            Environment.SetEnvironmentVariable("MERT_ENDPOINT_HISTORY_RETENTION_DAYS", "a year");
            Environment.SetEnvironmentVariable("MERT_ENDPOINT_HISTORY_COMPACT_MAX_BYTES", "64MiB");
            var run = await host.RunAsync("Test-MertEndpointSetup");
            var report = Assert.IsType<SetupReport>(Assert.Single(run.Output).BaseObject);
            Assert.Equal(new[]
            {
                "Setup incomplete: Invalid MERT_ENDPOINT_HISTORY_RETENTION_DAYS: 'a year' is not a whole number of days from 0 (keep everything) to 36500; "
                    + "until it is fixed the history keeps everything. Fix or unset MERT_ENDPOINT_HISTORY_RETENTION_DAYS.",
                "Setup incomplete: Invalid MERT_ENDPOINT_HISTORY_COMPACT_MAX_BYTES: '64MiB' is not a whole number of bytes (0: no write compacts; the default is 67108864); "
                    + "until it is fixed the default holds. Fix or unset MERT_ENDPOINT_HISTORY_COMPACT_MAX_BYTES.",
            }, report.Problems);
            Assert.All(run.Errors, e => Assert.Equal("SetupIncomplete", e.FullyQualifiedErrorId.Split(',')[0]));
            Assert.Equal(2, run.Errors.Count);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MERT_ENDPOINT_HISTORY_RETENTION_DAYS", retentionBefore);
            Environment.SetEnvironmentVariable("MERT_ENDPOINT_HISTORY_COMPACT_MAX_BYTES", capBefore);
        }
    }
}

[Collection(nameof(ProcessEnvironment))]
public class OptimizeHistoryTests
{
    [Fact]
    public async Task Optimize_compacts_a_due_history_drops_what_the_retention_lets_go_keeps_every_change_after_it_and_sends_nothing()
    {
        // 4,000 changes 20 minutes apart over 55 days (1.3 MB, never compacted): due.
        using var host = await HistoryTests.WithLargeOldHistory(records: 4_000, minutesApart: 20);
        string path = Path.Combine(host.DataDirectory, "usage.jsonl");
        int requests = host.Service.Requests.Count;
        string? before = Environment.GetEnvironmentVariable("MERT_ENDPOINT_HISTORY_RETENTION_DAYS");
        try
        {
            Environment.SetEnvironmentVariable("MERT_ENDPOINT_HISTORY_RETENTION_DAYS", "30");
            var cutoff = host.Clock.GetUtcNow().AddDays(-30);
            static List<string> Changes(Run run) => run.Output.Select(o => (EndpointStateChange)o.BaseObject)
                .Select(c => $"{c.Time:O} {c.State} {c.Earliest:O} {c.Latest:O}").ToList();
            const string read = "param($s) Get-MertEndpointHistory old -Namespace alice -Since $s";
            var kept = Changes((await host.RunAsync(read, cutoff.UtcDateTime)).Succeeded());
            Assert.Equal(1_840, kept.Count);
            byte[] file = File.ReadAllBytes(path);

            // A reading another process handed to the spool as it ended (another endpoint, seen running a minute ago).
            string seen = host.Clock.GetUtcNow().AddMinutes(-1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'");
            string api = System.Text.Json.JsonDocument.Parse(File.ReadLines(path).Skip(1).First()).RootElement.GetProperty("api").GetString()!;
            string spool = Path.Combine(path + ".pending", "0000000000000000001-spooled.jsonl");
            Directory.CreateDirectory(path + ".pending");
            File.WriteAllText(spool, $"{{\"v\":2,\"t\":\"{seen}\",\"lo\":\"{seen}\",\"hi\":\"{seen}\",\"api\":\"{api}\",\"ns\":\"alice\",\"name\":\"spooled\","
                + "\"state\":\"running\",\"replicas\":1,\"vendor\":\"aws\",\"region\":\"us-east-1\",\"type\":\"nvidia-a10g\",\"size\":\"x1\",\"src\":\"read\","
                + $"\"kind\":\"Read\",\"updated\":\"{seen}\",\"sent\":\"{seen}\",\"received\":\"{seen}\"}}\n");

            // -WhatIf: no object, not a byte changed, the spool left for the next writer.
            var whatIf = (await host.RunAsync("Optimize-MertEndpointHistory -WhatIf")).Succeeded();
            Assert.Empty(whatIf.Output);
            Assert.Equal(file, File.ReadAllBytes(path));
            Assert.True(File.Exists(spool));

            var run = (await host.RunAsync("Optimize-MertEndpointHistory -Verbose")).Succeeded();
            var done = Assert.IsType<HistoryCompaction>(Assert.Single(run.Output).BaseObject);
            Assert.True(done.Compacted, done.Reason);
            Assert.Null(done.Reason);
            Assert.False(File.Exists(spool)); // written first, and kept
            Assert.Contains(run.PowerShell.Streams.Verbose, v => v.Message.StartsWith("Wrote the readings waiting in"));
            // From the last record before the cut-off that does not bill (its state then): 1,841 of 4,000, and the spooled one.
            Assert.Equal((4_001, 1_842), (done.RecordsBefore, done.RecordsAfter));
            Assert.Equal(cutoff, done.KeptSince);
            Assert.InRange(done.SizeBefore - file.LongLength, 200, 1_000); // the file with the spooled reading's record
            Assert.Equal(new FileInfo(path).Length, done.SizeAfter);
            Assert.InRange(done.SizeAfter, 1, done.SizeBefore / 2);
            Assert.Equal(kept, Changes((await host.RunAsync(read, cutoff.UtcDateTime)).Succeeded()));

            // Compacted, it is not due: says why, and leaves the file be; -Force compacts it all the same.
            file = File.ReadAllBytes(path);
            var again = (await host.RunAsync("Optimize-MertEndpointHistory")).Succeeded();
            var notDue = Assert.IsType<HistoryCompaction>(Assert.Single(again.Output).BaseObject);
            Assert.False(notDue.Compacted);
            // Twice its body after this compaction, which is more than the 1 MiB threshold.
            string twice = (2 * (done.SizeAfter - 160) / 1e6).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal($"not due: the file is {(done.SizeAfter / 1e6).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)} MB and is compacted once it "
                + $"passes {twice} MB (MERT_ENDPOINT_HISTORY_COMPACT_BYTES and twice its size after its last compaction); -Force compacts it now", notDue.Reason);
            Assert.Equal(file, File.ReadAllBytes(path));
            var forced = (await host.RunAsync("Optimize-MertEndpointHistory -Force")).Succeeded();
            Assert.Equal((true, 1_842), (((HistoryCompaction)forced.Output.Single().BaseObject).Compacted, ((HistoryCompaction)forced.Output.Single().BaseObject).RecordsAfter));
            Assert.Equal(requests, host.Service.Requests.Count); // the file only: no request, no token
        }
        finally { Environment.SetEnvironmentVariable("MERT_ENDPOINT_HISTORY_RETENTION_DAYS", before); }
    }
}
