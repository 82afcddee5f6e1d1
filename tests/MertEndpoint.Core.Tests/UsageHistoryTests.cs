using System.Text.Json;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

public sealed class UsageHistoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mert-history-test-").FullName;
    private readonly DateTimeOffset _t0 = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);
    private const string Api = "https://api.example/v2";

    private string PathOf(string name = "usage.jsonl") => Path.Combine(_dir, name);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static EndpointInfo At(string state, DateTimeOffset updatedAt, int replicas = 1, string name = "mert")
    {
        using var doc = JsonDocument.Parse(Endpoint(name: name, state: state).Replace("2026-11-26T12:45:10.001Z", updatedAt.UtcDateTime.ToString("o")));
        var e = Json.ToEndpoint(doc.RootElement, Ns);
        e.TargetReplica = replicas;
        return e;
    }

    /// <summary>One answer of the control plane, as a client tells its observer, received at <paramref name="seen"/>.</summary>
    private static EndpointObservation Seen(DateTimeOffset seen, params EndpointInfo[] endpoints) =>
        new(Api, Ns, ObservationKind.Read, endpoints, null, seen, seen);

    private static async Task Record(UsageService usage, EndpointObservation o)
    {
        usage.ObserverFor(Lines.Failing()).Observe(o);
        await usage.FlushAsync();
    }

    [Fact]
    public async Task Records_only_changes_dated_by_the_services_updatedAt()
    {
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("initializing", _t0)));
        await Record(usage, Seen(_t0.AddSeconds(2), At("initializing", _t0)));            // no change: not written
        await Record(usage, Seen(_t0.AddSeconds(5), At("running", _t0.AddSeconds(3))));   // stamped by the service 2 s ago
        await Record(usage, Seen(_t0.AddSeconds(15), At("paused", _t0.AddSeconds(15), replicas: 0)));

        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(new[] { "initializing", "running", "paused" }, events.Select(e => e.State));
        Assert.Equal(new[] { _t0, _t0.AddSeconds(3), _t0.AddSeconds(15) }, events.Select(e => e.Time));
        Assert.Equal(_t0, events[1].Earliest); // the last sighting of initializing (+2 s) less the read lag (2 s), not before the last change
        var cost = Assert.Single(UsageService.Summarize(events, _t0.AddHours(-1), _t0.AddHours(1)));
        Assert.Equal(TimeSpan.FromSeconds(15), cost.BilledTime);
        Assert.False(cost.CurrentlyBilling);
        Assert.DoesNotContain(Token, File.ReadAllText(PathOf()));
    }

    [Fact]
    public async Task A_stamp_from_before_the_last_sighting_is_not_taken_as_the_change()
    {
        // Under the reading "updatedAt changes only on user actions", a running endpoint that the service scaled to
        // zero still carries the resume's stamp: the change is dated when it was seen, never before the last sighting.
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("running", _t0)));
        await Record(usage, Seen(_t0.AddSeconds(60), At("running", _t0)));
        await Record(usage, Seen(_t0.AddSeconds(90), At("scaledToZero", _t0)));

        var last = new UsageHistory(PathOf()).Read()[^1];
        Assert.Equal(("scaledToZero", _t0.AddSeconds(90), (DateTimeOffset?)_t0.AddSeconds(60) - UsageHistory.ReadLag), (last.State, last.Time, last.Earliest));
    }

    [Fact]
    public async Task What_the_module_caused_is_dated_by_its_own_clock()
    {
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("running", _t0)));
        // A pause sent at +10 s and answered at +11 s, whose answer carries a stamp from nowhere near.
        usage.ObserverFor().Observe(new EndpointObservation(Api, Ns, ObservationKind.Action,
            new[] { At("paused", DateTimeOffset.MinValue, replicas: 0) }, null, _t0.AddSeconds(10), _t0.AddSeconds(11)));
        await usage.FlushAsync();

        var paused = new UsageHistory(PathOf()).Read()[^1];
        Assert.Equal(("paused", _t0.AddSeconds(11), (DateTimeOffset?)_t0.AddSeconds(10), "action"), (paused.State, paused.Time, paused.Earliest, paused.Source));
    }

    [Fact]
    public async Task A_fresh_process_appends_nothing_for_unchanged_endpoints()
    {
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0, At("running", _t0), At("paused", _t0, 0, "other")));
        var size = new FileInfo(PathOf()).Length;

        // A new history object stands for a new process: it learns the last states from the file, not from memory.
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0.AddMinutes(15), At("running", _t0), At("paused", _t0, 0, "other")));

        Assert.Equal(size, new FileInfo(PathOf()).Length);
    }

    [Fact]
    public async Task A_change_seen_after_another_process_recorded_one_is_not_lost()
    {
        var first = new UsageService(new UsageHistory(PathOf()));
        var second = new UsageService(new UsageHistory(PathOf()));
        await Record(first, Seen(_t0, At("paused", _t0, 0)));
        await Record(second, Seen(_t0.AddSeconds(1), At("paused", _t0, 0)));
        await Record(first, Seen(_t0.AddSeconds(2), At("initializing", _t0.AddSeconds(2))));   // the first process resumed it
        await Record(second, Seen(_t0.AddSeconds(9), At("running", _t0.AddSeconds(8))));       // the second sees it running
        await Record(first, Seen(_t0.AddSeconds(20), At("paused", _t0.AddSeconds(20), 0)));

        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(new[] { "paused", "initializing", "running", "paused" }, events.Select(e => e.State));
        Assert.Equal(TimeSpan.FromSeconds(18), Assert.Single(UsageService.Summarize(events, _t0, _t0.AddMinutes(1))).BilledTime);
    }

    [Fact]
    public async Task Skips_torn_and_malformed_lines_counts_them_and_keeps_what_follows()
    {
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0, At("running", _t0)));
        File.AppendAllText(PathOf(), "{\"t\":null,\"api\":\"x\",\"ns\":\"a\",\"name\":\"b\",\"state\":\"running\",\"replicas\":1}\n"); // issue 11, item 7
        File.AppendAllText(PathOf(), "{\"t\":\"2026-11-27T08:00:01Z\",\"api\":\"ht");                                               // a process died mid-write
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0.AddSeconds(4), At("paused", _t0.AddSeconds(4), 0)));

        var history = new UsageHistory(PathOf());
        Assert.Equal(new[] { "running", "paused" }, history.Read().Select(e => e.State));
        Assert.Equal(2, history.SkippedLines);
    }

    [Fact]
    public void A_version_1_file_written_by_the_previous_module_is_read_without_loss()
    {
        // Byte for byte what the module before the history format had a version wrote: each record as "\n{...}".
        const string v1 =
            "\n{\"t\":\"2026-11-27T08:00:00.0000000Z\",\"api\":\"https://api.example/v2\",\"ns\":\"alice\",\"name\":\"mert\",\"state\":\"initializing\",\"replicas\":1,\"vendor\":\"aws\",\"region\":\"us-east-1\",\"type\":\"nvidia-a10g\",\"size\":\"x1\"}" +
            "\n{\"t\":\"2026-11-27T08:00:03.0000000Z\",\"api\":\"https://api.example/v2\",\"ns\":\"alice\",\"name\":\"mert\",\"state\":\"running\",\"replicas\":2,\"vendor\":\"aws\",\"region\":\"us-east-1\",\"type\":\"nvidia-a10g\",\"size\":\"x1\"}" +
            "\n{\"t\":\"2026-11-27T08:01:00.0000000Z\",\"api\":\"https://api.example/v2\",\"ns\":\"alice\",\"name\":\"mert\",\"state\":\"deleted\",\"replicas\":0,\"vendor\":null,\"region\":null,\"type\":null,\"size\":null}";
        File.WriteAllText(PathOf(), v1);

        var events = new UsageHistory(PathOf()).Read();

        Assert.Equal(new[] { "initializing", "running", "deleted" }, events.Select(e => e.State));
        Assert.Equal(new[] { 1, 2, 0 }, events.Select(e => e.Replicas));
        Assert.Equal("nvidia-a10g", events[1].InstanceType);
        Assert.Equal(TimeSpan.FromSeconds(3 + 57 * 2), Assert.Single(UsageService.Summarize(events, _t0, _t0.AddHours(1))).BilledTime);
    }

    [Fact]
    public async Task A_history_past_2_GB_is_read_in_pieces_and_an_overlong_line_is_skipped()
    {
        // A sparse file: a record, a 2.1 GB hole (one "line" of zero bytes, on no disk), a newline and a record. Read whole
        // into one array, it threw OverflowException; read in pieces, the hole is one unreadable line among readable ones.
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0, At("running", _t0)));
        var last = "{\"t\":\"2026-11-27T08:00:30.0000000Z\",\"api\":\"" + Api + "\",\"ns\":\"" + Ns + "\",\"name\":\"mert\",\"state\":\"paused\",\"replicas\":0}\n";
        using (var stream = new FileStream(PathOf(), FileMode.Open, FileAccess.ReadWrite))
        {
            stream.SetLength(stream.Length + (2100L << 20));
            stream.Seek(0, SeekOrigin.End);
            var bytes = System.Text.Encoding.UTF8.GetBytes("\n" + last);
            stream.Write(bytes, 0, bytes.Length);
        }
        Assert.True(new FileInfo(PathOf()).Length > int.MaxValue);

        var history = new UsageHistory(PathOf());
        var events = history.Read();

        Assert.Equal(new[] { "running", "paused" }, events.Select(e => e.State));
        Assert.Equal(1, history.SkippedLines);
        Assert.Equal(TimeSpan.FromSeconds(30), Assert.Single(UsageService.Summarize(events, _t0, _t0.AddHours(1))).BilledTime);
    }

    [Fact]
    public async Task A_line_being_written_is_left_for_the_next_read_and_a_compacted_header_says_the_body_size()
    {
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0, At("running", _t0)));
        var line = "{\"t\":\"2026-11-27T08:00:30.0000000Z\",\"api\":\"" + Api + "\",\"ns\":\"" + Ns + "\",\"name\":\"mert\",\"state\":\"paused\",\"replicas\":0}\n";
        File.AppendAllText(PathOf(), line[..40]);                      // a writer half-way through its line
        var history = new UsageHistory(PathOf());
        Assert.Single(history.Read());
        Assert.Equal(0, history.SkippedLines);
        File.AppendAllText(PathOf(), line[40..]);
        Assert.Equal(new[] { "running", "paused" }, history.Read().Select(e => e.State));

        await history.CompactAsync();
        var header = JsonDocument.Parse(File.ReadLines(PathOf()).First()).RootElement;
        Assert.Equal(new FileInfo(PathOf()).Length - File.ReadLines(PathOf()).First().Length - 1, header.GetProperty("compactedBytes").GetInt64());
        Assert.Equal(new[] { "running", "paused" }, new UsageHistory(PathOf()).Read().Select(e => e.State));
    }

    [Fact]
    public async Task Appending_to_a_version_1_file_keeps_its_last_record()
    {
        File.WriteAllText(PathOf(), "\n{\"t\":\"2026-11-27T08:00:00.0000000Z\",\"api\":\"https://api.example/v2\",\"ns\":\"alice\",\"name\":\"mert\",\"state\":\"running\",\"replicas\":1}");
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0.AddSeconds(30), At("paused", _t0.AddSeconds(30), 0)));

        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(new[] { "running", "paused" }, events.Select(e => e.State));
        Assert.Equal(TimeSpan.FromSeconds(30), Assert.Single(UsageService.Summarize(events, _t0, _t0.AddHours(1))).BilledTime);
    }

    [Fact]
    public async Task Compaction_keeps_every_past_cost_exact_and_shrinks_the_file()
    {
        // A version 1 file full of repeats, as the previous module wrote one line per endpoint per process.
        var lines = new List<string>();
        var rng = new Random(7);
        var state = "paused";
        for (var i = 0; i < 3000; i++)
        {
            if (rng.Next(20) == 0) state = state == "running" ? "paused" : rng.Next(2) == 0 ? "running" : "initializing";
            var replicas = state == "paused" ? 0 : i % 200 < 100 ? 1 : 2;
            var t = _t0.AddSeconds(i * 7).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'");
            lines.Add($"{{\"t\":\"{t}\",\"api\":\"{Api}\",\"ns\":\"{Ns}\",\"name\":\"e{i % 3}\",\"state\":\"{state}\",\"replicas\":{replicas},\"type\":\"nvidia-a10g\",\"size\":\"x1\"}}");
        }
        File.WriteAllText(PathOf(), "\n" + string.Join("\n", lines));
        var before = new UsageHistory(PathOf()).Read();
        var periods = Enumerable.Range(0, 40).Select(_ => (From: _t0.AddSeconds(rng.Next(21000)), Length: TimeSpan.FromSeconds(rng.Next(1, 21000)))).ToList();
        var expected = periods.Select(p => Costs(before, p.From, p.From + p.Length)).ToList();
        var size = new FileInfo(PathOf()).Length;

        var history = new UsageHistory(PathOf());
        await history.CompactAsync();

        var after = new UsageHistory(PathOf()).Read();
        Assert.True(new FileInfo(PathOf()).Length < size / 2, $"{new FileInfo(PathOf()).Length} bytes after, {size} before");
        Assert.True(after.Count < before.Count);
        Assert.StartsWith("{\"v\":2,\"generation\":", File.ReadLines(PathOf()).First());
        for (var i = 0; i < periods.Count; i++)
            Assert.Equal(expected[i], Costs(after, periods[i].From, periods[i].From + periods[i].Length));
        // The instance that compacted knows the new file, and sees later appends.
        Assert.Equal(after.Count, history.Read().Count);
    }

    [Fact]
    public async Task Fresh_processes_reading_every_few_seconds_bound_a_change_nobody_stamped_by_the_sightings_around_it()
    {
        // A scheduled guard is a fresh process each run: the history records changes only, so its sightings of an
        // unchanged state lived in one process's memory and the next change's window fell back to the last recorded
        // change (here 10 minutes earlier, measured 21.4 s wide for sightings 4.5 s apart against the emulator).
        var fresh = () => new UsageService(new UsageHistory(PathOf()));
        await Record(fresh(), Seen(_t0, At("running", _t0)));
        DateTimeOffset t = _t0.AddMinutes(10);
        for (int i = 0; i < 5; i++, t = t.AddSeconds(4.5))   // a process every 4.5 s, each read taking 300 ms
            await Record(fresh(), new EndpointObservation(Api, Ns, ObservationKind.Read, [At("running", _t0)], null, t, t.AddMilliseconds(300)));
        // The service scaled it to zero on its own (no stamp: updatedAt is the resume's) between two sightings.
        await Record(fresh(), new EndpointObservation(Api, Ns, ObservationKind.Read, [At("scaledToZero", _t0, 0)], null, t, t.AddMilliseconds(300)));

        var change = new UsageHistory(PathOf()).Read()[^1];
        DateTimeOffset lastSighting = t.AddSeconds(-4.5);
        Assert.Equal("scaledToZero", change.State);
        Assert.Equal(lastSighting - UsageHistory.ReadLag, change.Earliest);  // from the last sighting of any process, less the read lag
        Assert.Equal(t.AddMilliseconds(300), change.Latest);
        Assert.True(change.Latest - change.Earliest <= TimeSpan.FromSeconds(4.5) + TimeSpan.FromMilliseconds(300) + UsageHistory.ReadLag);
        // The facts the window was concluded from are kept beside it, as they were: when the read that saw the change was
        // sent, the end of the previous state's run of sightings (before the read lag), and the updatedAt the read showed.
        Assert.Equal((t, lastSighting, _t0), (change.SentAt!.Value, change.PreviousSeen!.Value, change.ServiceStamp!.Value));
        string line = File.ReadAllLines(PathOf())[^1];
        Assert.Contains($"\"sent\":\"{UsageHistory.Stamp(t)}\"", line);
        Assert.Contains($"\"prev\":\"{UsageHistory.Stamp(lastSighting)}\"", line);
    }

    [Fact]
    public async Task A_sighting_written_by_a_clock_running_ahead_narrows_no_window()
    {
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0, At("running", _t0)));
        // A process whose clock runs 10 minutes ahead sees it running "at 8:20".
        DateTimeOffset ahead = _t0.AddMinutes(20);
        await Record(new UsageService(new UsageHistory(PathOf()), new FixedClock(ahead)), new EndpointObservation(Api, Ns, ObservationKind.Read,
            [At("running", _t0)], null, ahead, ahead.AddMilliseconds(300)));
        // At 8:10 by the right clock, it is seen scaled to zero: the change can have come any time since the last trusted sighting.
        DateTimeOffset now = _t0.AddMinutes(10);
        await Record(new UsageService(new UsageHistory(PathOf()), new FixedClock(now)), new EndpointObservation(Api, Ns, ObservationKind.Read,
            [At("scaledToZero", _t0, 0)], null, now, now.AddMilliseconds(300)));

        var change = new UsageHistory(PathOf()).Read()[^1];
        Assert.Equal("scaledToZero", change.State);
        Assert.True(change.Earliest <= _t0, $"{change.Earliest:o}: a sighting from a clock ahead narrowed the window");
    }

    [Fact]
    public async Task A_compaction_removes_what_an_interrupted_one_left_behind_and_nothing_younger()
    {
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0, At("running", _t0)));
        string abandoned = PathOf() + ".0badf00d.tmp", recent = PathOf() + ".index.12345678.tmp", other = PathOf("other.jsonl") + ".0badf00d.tmp";
        foreach (string f in new[] { abandoned, recent, other }) File.WriteAllText(f, "partial");
        File.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow - UsageHistory.AbandonedAfter - TimeSpan.FromMinutes(1));
        File.SetLastWriteTimeUtc(other, DateTime.UtcNow - TimeSpan.FromDays(1));

        await new UsageHistory(PathOf()).CompactAsync();

        Assert.False(File.Exists(abandoned));
        Assert.True(File.Exists(recent));   // another process may be writing it now
        Assert.True(File.Exists(other));    // another history's
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public async Task A_compaction_writes_its_file_without_the_lock_and_keeps_what_others_wrote_meanwhile()
    {
        // A cost report that compacts a large history takes seconds to write the new file. Holding the lock meanwhile, it
        // made every command that wrote then wait (or give up after 10 s and spool): a Get during a compaction must not.
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("running", _t0)));
        await Record(usage, Seen(_t0.AddSeconds(60), At("paused", _t0.AddSeconds(60), 0)));
        var compactor = new UsageHistory(PathOf()) { IndexEveryBytes = 1 };
        string? writtenMeanwhile = "not written";
        compactor.BeforeWriteOpen = path =>
        {
            if (!path.EndsWith(".tmp") || writtenMeanwhile != "not written") return;
            // Another process writes while the new file is being written: the lock is free, so it is not kept waiting.
            var other = new UsageHistory(PathOf()) { LockPatience = TimeSpan.FromMilliseconds(300) };
            writtenMeanwhile = other.RecordAsync([new UsageHistory.Observed(new UsageEvent { Api = Api, Namespace = Ns, Name = "mert", State = "running", Replicas = 1 },
                ObservationKind.Read, DateTimeOffset.MinValue, _t0.AddSeconds(120), _t0.AddSeconds(120))]).GetAwaiter().GetResult();
        };

        await compactor.CompactAsync();

        Assert.Null(writtenMeanwhile);
        Assert.Equal(new[] { "running", "paused", "running" }, new UsageHistory(PathOf()).Read().Select(e => e.State));
        Assert.Equal(new[] { "running", "paused", "running" }, compactor.Read().Select(e => e.State));
        Assert.Matches("\"compactedBytes\":[1-9]", File.ReadLines(PathOf()).First()); // it did compact
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        // The new file's index is in place with it: no command after the rename reads the whole file to find one.
        string generation = JsonDocument.Parse(File.ReadLines(PathOf()).First()).RootElement.GetProperty("generation").GetString()!;
        Assert.Equal(generation, JsonDocument.Parse(File.ReadLines(PathOf() + ".index").First()).RootElement.GetProperty("generation").GetString());
    }

    private static string Costs(IReadOnlyList<UsageEvent> events, DateTimeOffset from, DateTimeOffset to) =>
        string.Join(";", UsageService.Summarize(events, from, to).OrderBy(c => c.Name).Select(c => $"{c.Name}={c.BilledTime.Ticks},{c.BilledSince},{c.CurrentlyBilling}"));

    [Fact]
    public async Task Deleting_an_endpoint_the_history_never_saw_writes_nothing_and_warns_of_nothing()
    {
        // A first-ever history write that records nothing (Remove-MertEndpoint of an endpoint never seen, with no history
        // file yet) asked the missing file's length to decide on a compaction: a warning that the history was unwritable.
        var usage = new UsageService(new UsageHistory(PathOf()));
        usage.ObserverFor(Lines.Failing()).Observe(new EndpointObservation(Api, Ns, ObservationKind.Deleted, [], "mert", _t0, _t0.AddSeconds(1)));
        await usage.FlushAsync();
        Assert.False(File.Exists(PathOf()));
    }

    [Theory]
    [InlineData(64L << 20, false, true)] // a small file: the writer that read only the index reads it whole and compacts it
    [InlineData(1L, false, false)]       // past the cap: left to Optimize-MertEndpointHistory (CompactNowAsync)
    [InlineData(1L, true, false)]        // also by one that read every record (a cost report from the start): its process's end would cut it off
    public async Task A_writer_compacts_a_history_that_is_due_when_it_is_small(long cap, bool readWhole, bool compacts)
    {
        // Written by a process that never compacts, indexed as it goes: a scheduled guard's history past the index's first write.
        var builder = new UsageService(new UsageHistory(PathOf(), compactAboveBytes: long.MaxValue) { IndexEveryBytes = 1 });
        for (var i = 0; i < 40; i++)
            await Record(builder, Seen(_t0.AddMinutes(i), At(i % 2 == 0 ? "running" : "paused", _t0.AddMinutes(i), 1 - i % 2)));
        Assert.True(new FileInfo(PathOf()).Length > 2000);

        // A fresh process (a Get, a stop) reads the index, not the file, and writes a repeat; the file is past its threshold.
        var history = new UsageHistory(PathOf(), compactAboveBytes: 2000) { CompactOnWriteMaxBytes = cap };
        if (readWhole) Assert.Equal(40, history.Read().Count);
        await Record(new UsageService(history), Seen(_t0.AddMinutes(40), At("paused", _t0.AddMinutes(39), 0)));

        Assert.Equal(compacts, System.Text.RegularExpressions.Regex.IsMatch(File.ReadLines(PathOf()).First(), "\"compactedBytes\":[1-9]"));
        Assert.Equal(40, new UsageHistory(PathOf()).Read().Count); // nothing lost either way
        // It compacted through a history of its own: this one still answers from the tails, now of the new file.
        string key = UsageEvent.KeyOf(Api, Ns, "mert");
        Assert.Equal("paused", history.TailsOf([key])[key].Last.State);
    }

    [Fact]
    public async Task A_writer_that_read_only_the_index_leaves_a_compaction_under_way_or_cut_off_within_the_hour_be()
    {
        var builder = new UsageService(new UsageHistory(PathOf(), compactAboveBytes: long.MaxValue) { IndexEveryBytes = 1 });
        for (var i = 0; i < 40; i++)
            await Record(builder, Seen(_t0.AddMinutes(i), At(i % 2 == 0 ? "running" : "paused", _t0.AddMinutes(i), 1 - i % 2)));
        // What a compaction cut off at its process's end leaves (its name: the history's, 8 characters, ".tmp"); a cache's
        // own temporary file does not count.
        string cutOff = PathOf() + ".1a2b3c4d.tmp";
        File.WriteAllText(cutOff, "{\"v\":2,\"generation\":\"x\",\"compactedBytes\":0}\n");
        File.WriteAllText(PathOf() + ".index.1a2b3c4d.tmp", "");
        bool Compacted() => System.Text.RegularExpressions.Regex.IsMatch(File.ReadLines(PathOf()).First(), "\"compactedBytes\":[1-9]");

        await Record(new UsageService(new UsageHistory(PathOf(), compactAboveBytes: 2000)), Seen(_t0.AddMinutes(40), At("paused", _t0.AddMinutes(39), 0)));
        Assert.False(Compacted());   // under way, or cut off within the hour: not tried again

        File.SetLastWriteTimeUtc(cutOff, DateTime.UtcNow - UsageHistory.AbandonedAfter - TimeSpan.FromMinutes(1));
        await Record(new UsageService(new UsageHistory(PathOf(), compactAboveBytes: 2000)), Seen(_t0.AddMinutes(41), At("paused", _t0.AddMinutes(39), 0)));
        Assert.True(Compacted());    // an hour on: tried again, and the abandoned file removed
        Assert.False(File.Exists(cutOff));
    }

    [Fact]
    public async Task Compacting_now_takes_a_due_history_past_what_a_write_compacts_says_why_not_otherwise_and_a_cancelled_one_changes_nothing()
    {
        var builder = new UsageService(new UsageHistory(PathOf(), compactAboveBytes: long.MaxValue) { IndexEveryBytes = 1 });
        for (var i = 0; i < 40; i++)
            await Record(builder, Seen(_t0.AddMinutes(i), At(i % 2 == 0 ? "running" : "paused", _t0.AddMinutes(i), 1 - i % 2)));
        // Repeats of the last state, which a compaction drops (a module before runs of sightings wrote them).
        var lines = File.ReadAllLines(PathOf()).ToList();
        lines.AddRange(Enumerable.Repeat(lines[^1], 10));
        File.WriteAllLines(PathOf(), lines);
        var expected = new UsageHistory(PathOf()).Read().Select(e => (e.Time, e.State, e.Replicas)).Distinct().ToList();
        bool Compacted() => System.Text.RegularExpressions.Regex.IsMatch(File.ReadLines(PathOf()).First(), "\"compactedBytes\":[1-9]");

        // A writer that read only the index leaves a due file past its cap be (a Get, a stop, a guard's sightings).
        var history = new UsageHistory(PathOf(), compactAboveBytes: 2000) { CompactOnWriteMaxBytes = 1 };
        await Record(new UsageService(history), Seen(_t0.AddMinutes(40), At("paused", _t0.AddMinutes(39), 0)));
        Assert.False(Compacted());

        // Another compaction's file younger than an hour: not without force.
        string cutOff = PathOf() + ".1a2b3c4d.tmp";
        File.WriteAllText(cutOff, "");
        Assert.StartsWith("another compaction of it is under way", history.WhyNotCompact(force: false, out long length));
        Assert.Equal(new FileInfo(PathOf()).Length, length);
        Assert.Null(history.WhyNotCompact(force: true, out _));
        File.Delete(cutOff);
        Assert.Null(history.WhyNotCompact(force: false, out _));

        // A compaction under way (in this process or another) holds usage.jsonl.compacting: a second one says so at once,
        // forced or not, without reading the file, and a write leaves the file be.
        using (new FileStream(PathOf() + ".compacting", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            Assert.StartsWith("another compaction of it is under way", history.WhyNotCompact(force: false, out _));
            HistoryCompaction second = await new UsageHistory(PathOf(), 2000).CompactNowAsync(CancellationToken.None);
            Assert.False(second.Compacted);
            Assert.StartsWith("another compaction of it is under way", second.Reason);
            Assert.Null(second.RecordsBefore); // it read nothing
            var capless = new UsageHistory(PathOf(), compactAboveBytes: 2000) { CompactOnWriteMaxBytes = long.MaxValue };
            await Record(new UsageService(capless), Seen(_t0.AddMinutes(40).AddSeconds(1), At("paused", _t0.AddMinutes(39), 0)));
            Assert.False(Compacted());
        }

        // Cancelled before it begins, or while it writes its new file (Ctrl+C): the file stays as it was, byte for byte, and
        // its new file is gone.
        byte[] before = File.ReadAllBytes(PathOf());
        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new UsageHistory(PathOf(), 2000).CompactNowAsync(cancelled.Token));
        }
        using (var midway = new CancellationTokenSource())
        {
            var watched = new UsageHistory(PathOf(), 2000) { WorkReportedAboveBytes = 0 };
            var told = new CancelOnWriting(midway);
            using (watched.Watch(told))
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watched.CompactNowAsync(midway.Token));
            Assert.True(told.Cancelled);
        }
        Assert.Equal(before, File.ReadAllBytes(PathOf()));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(PathOf())!, Path.GetFileName(PathOf()) + ".*.tmp"));

        HistoryCompaction done = await history.CompactNowAsync(CancellationToken.None);
        Assert.True(done.Compacted, done.Reason);
        Assert.Equal((50, 40), (done.RecordsBefore, done.RecordsAfter)); // the 10 repeats dropped
        Assert.Equal(new FileInfo(PathOf()).Length, done.SizeAfter);
        Assert.True(done.SizeAfter < done.SizeBefore, $"{done.SizeBefore} to {done.SizeAfter}");
        Assert.True(Compacted());
        Assert.Equal(expected, new UsageHistory(PathOf()).Read().Select(e => (e.Time, e.State, e.Replicas)).ToList());
        // This history answers from the new file; compacted, it is not due again.
        string key = UsageEvent.KeyOf(Api, Ns, "mert");
        Assert.Equal("paused", history.TailsOf([key])[key].Last.State);
        Assert.StartsWith("not due: the file is", history.WhyNotCompact(force: false, out _));
    }

    /// <summary>Ctrl+C as a compaction writes its new file: cancels when the compaction first tells how its writing goes.</summary>
    [Fact]
    public void A_compaction_s_pace_ends_at_its_next_rest_once_cancelled_working_or_resting()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        // Cancelled before its slice of work is up: it ends at once, not after the slice.
        Assert.Throws<OperationCanceledException>(() => new UsageHistory.Pace(cancelled.Token).Breathe());

        // Cancelled while it rests (as long as it worked): the rest ends at once.
        using var later = new CancellationTokenSource();
        var pace = new UsageHistory.Pace(later.Token);
        var worked = System.Diagnostics.Stopwatch.StartNew();
        while (worked.ElapsedMilliseconds < 800) { } // 800 ms of work: a rest of 800 ms is due
        later.CancelAfter(50);
        var rest = System.Diagnostics.Stopwatch.StartNew();
        Assert.Throws<OperationCanceledException>(pace.Breathe);
        Assert.True(rest.Elapsed < TimeSpan.FromMilliseconds(600), $"{rest.Elapsed}: rested on after the cancellation");
    }

    private sealed class CancelOnWriting(CancellationTokenSource cancel) : Reporter
    {
        public bool Cancelled { get; private set; }

        public override void Working(string activity, string status, int percent)
        {
            if (activity != "Compacting the usage history" || !status.StartsWith("Wrote")) return;
            cancel.Cancel();
            Cancelled = true;
        }
    }

    [Fact]
    public async Task Four_writers_and_compactions_at_once_lose_no_change()
    {
        // Separate instances stand for separate processes; a tiny threshold makes them compact while the others write.
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var usage = new UsageService(new UsageHistory(PathOf(), compactAboveBytes: 2000));
            var observer = usage.ObserverFor(Lines.Failing());
            for (var i = 0; i < 60; i++)
            {
                var t = _t0.AddSeconds(i);
                observer.Observe(Seen(t, At(i % 2 == 0 ? "running" : "paused", t, i % 2 == 0 ? 1 : 0, $"w{w}")));
                observer.Observe(Seen(t, At(i % 2 == 0 ? "running" : "paused", t, i % 2 == 0 ? 1 : 0, $"w{w}"))); // a repeat
            }
            await usage.FlushAsync();
        }));
        await Task.WhenAll(writers);

        var events = new UsageHistory(PathOf()).Read();
        Assert.All(Enumerable.Range(0, 4), w => Assert.Equal(60, events.Count(e => e.Name == $"w{w}")));
        Assert.All(UsageService.Summarize(events, _t0, _t0.AddSeconds(60)), c => Assert.Equal(TimeSpan.FromSeconds(30), c.BilledTime));
        Assert.StartsWith("{\"v\":2,\"generation\":", File.ReadLines(PathOf()).First()); // it did compact
    }

    [Fact]
    public async Task An_unwritable_history_is_reported_not_thrown()
    {
        Directory.CreateDirectory(PathOf()); // a directory where the file should be
        var problems = new Lines();
        var usage = new UsageService(new UsageHistory(PathOf()));

        usage.ObserverFor(problems).Observe(Seen(_t0, At("running", _t0)));
        await usage.FlushAsync();

        var problem = Assert.Single(problems.Of("warning"));
        Assert.Contains(PathOf(), problem);
        Assert.Contains("MERT_ENDPOINT_HISTORY_PATH", problem);
    }

    [Fact]
    public async Task A_write_that_cannot_take_the_lock_is_kept_said_and_written_with_the_next_one()
    {
        var history = new UsageHistory(PathOf()) { LockPatience = TimeSpan.FromMilliseconds(300) };
        var usage = new UsageService(history);
        var problems = new Lines();
        await Record(usage, Seen(_t0, At("paused", _t0, 0)));
        using (new FileStream(PathOf() + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)) // another process holds it
        {
            usage.ObserverFor(problems).Observe(Seen(_t0.AddSeconds(10), At("running", _t0.AddSeconds(10))));
            await usage.FlushAsync();
        }
        var said = Assert.Single(problems.Of("warning"));
        Assert.Contains("lock", said);
        Assert.Contains("kept", said);
        Assert.Equal(new[] { "paused" }, new UsageHistory(PathOf()).Read().Select(e => e.State));

        // The next write of this process (the same command or the next) writes it first.
        await Record(usage, Seen(_t0.AddSeconds(40), At("paused", _t0.AddSeconds(40), 0)));

        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(new[] { "paused", "running", "paused" }, events.Select(e => e.State));
        Assert.Equal(TimeSpan.FromSeconds(30), Assert.Single(UsageService.Summarize(events, _t0, _t0.AddMinutes(1))).BilledTime);
    }

    [Fact]
    public async Task A_write_that_cannot_take_the_lock_outlives_its_process_and_the_next_writer_writes_it()
    {
        var first = new UsageService(new UsageHistory(PathOf()) { LockPatience = TimeSpan.FromMilliseconds(300) });
        var problems = new Lines();
        await Record(first, Seen(_t0, At("paused", _t0, 0)));
        using (new FileStream(PathOf() + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)) // another process holds it
        {
            first.ObserverFor(problems).Observe(Seen(_t0.AddSeconds(10), At("running", _t0.AddSeconds(10))));
            await first.FlushAsync();
        }
        Assert.Contains("kept", Assert.Single(problems.Of("warning")));
        // The process of the first service ends here (a pwsh -c ... that is done); another process writes next.
        var second = new UsageService(new UsageHistory(PathOf()));
        await Record(second, Seen(_t0.AddSeconds(40), At("paused", _t0.AddSeconds(40), 0)));

        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(new[] { "paused", "running", "paused" }, events.Select(e => e.State));
        Assert.Equal(TimeSpan.FromSeconds(30), Assert.Single(UsageService.Summarize(events, _t0, _t0.AddMinutes(1))).BilledTime);
        // Written once: the first service, writing again, does not write it a second time.
        await Record(first, Seen(_t0.AddSeconds(50), At("paused", _t0.AddSeconds(50), 0)));
        Assert.Equal(3, new UsageHistory(PathOf()).Read().Count);
        Assert.DoesNotContain(Directory.GetFiles(_dir, "*", SearchOption.AllDirectories), f => f.Contains(".pending", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_handed_off_write_goes_to_the_spool_at_once_and_the_next_writer_writes_it_once()
    {
        // Get-MertEndpoint does not wait for its writes; when its process ends first, a write still waiting for the lock
        // (another process holds it: a compaction, a slow disk) is handed to the spool, without a word, in milliseconds.
        var first = new UsageService(new UsageHistory(PathOf()));   // the default patience: 10 s
        var problems = new Lines();
        await Record(first, Seen(_t0, At("paused", _t0, 0)));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using (new FileStream(PathOf() + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)) // another process holds it
        {
            first.ObserverFor(problems).Observe(Seen(_t0.AddSeconds(10), At("running", _t0.AddSeconds(10))));
            first.ObserverFor(problems).Observe(Seen(_t0.AddSeconds(20), At("running", _t0.AddSeconds(10))));
            await Task.Delay(50);
            Task handOff = first.HandOff();
            Assert.Same(handOff, await Task.WhenAny(handOff, Task.Delay(TimeSpan.FromSeconds(5)))); // else it waited for the lock
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"{watch.Elapsed}");
        Assert.Empty(problems.All);
        Assert.Equal(new[] { "paused" }, new UsageHistory(PathOf()).Read().Select(e => e.State));
        Assert.Equal(2, Directory.GetFiles(PathOf() + ".pending", "*.jsonl").Length);

        // Another process writes next: the spool first, dated as it was seen.
        var second = new UsageService(new UsageHistory(PathOf()));
        await Record(second, Seen(_t0.AddSeconds(40), At("paused", _t0.AddSeconds(40), 0)));
        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(new[] { "paused", "running", "paused" }, events.Select(e => e.State));
        Assert.Equal(_t0.AddSeconds(10), events[1].Time);
        // Written once: the first service, writing again after its hand-off, waits for the lock as before and adds nothing twice.
        await Record(first, Seen(_t0.AddSeconds(50), At("paused", _t0.AddSeconds(50), 0)));
        Assert.Equal(3, new UsageHistory(PathOf()).Read().Count);
        Assert.Empty(Directory.GetFiles(PathOf() + ".pending", "*.jsonl"));
    }

    [Fact]
    public async Task A_spooled_reading_is_dated_as_if_it_had_been_written_at_once()
    {
        static UsageHistory.Observed Resume(DateTimeOffset t0) => new(
            new UsageEvent { Api = Api, Namespace = Ns, Name = "mert", State = "initializing", Replicas = 2, Vendor = "aws", Region = "us-east-1",
                InstanceType = "nvidia-a10g", InstanceSize = "x1", Url = "https://x.example" },
            ObservationKind.Action, t0.AddSeconds(1), t0, t0.AddSeconds(2))
        { CreatedAt = t0.AddDays(-1) };
        string Line(UsageEvent e) => $"{e.Time:O} {e.Earliest:O} {e.Latest:O} {e.State} {e.Replicas} {e.Source} {e.ServiceStamp:O} {e.Vendor} {e.Region} {e.InstanceType} {e.InstanceSize} {e.Url}";

        var direct = new UsageHistory(PathOf("direct.jsonl"));
        Assert.Null(await direct.RecordAsync([Resume(_t0)]));
        var spooling = new UsageHistory(PathOf("spooled.jsonl"));
        Assert.True(spooling.TrySpool([Resume(_t0)]));
        Assert.Null(await new UsageHistory(PathOf("spooled.jsonl")).RecordAsync([Resume(_t0.AddSeconds(30))])); // another process writes next

        var spooled = new UsageHistory(PathOf("spooled.jsonl")).Read();
        Assert.Equal(Line(Assert.Single(new UsageHistory(PathOf("direct.jsonl")).Read())), Line(spooled[0]));
    }

    [Fact]
    public async Task A_read_only_disk_is_named_as_such_at_once_and_what_it_refused_is_kept()
    {
        var history = new UsageHistory(PathOf());
        var readOnly = true;
        // What .NET throws on Unix for EROFS (an IOException carrying errno 30), on Windows ERROR_WRITE_PROTECT (19).
        history.BeforeWriteOpen = _ =>
        {
            if (readOnly) throw new IOException("Read-only file system", OperatingSystem.IsWindows() ? unchecked((int)0x80070013) : 30);
        };
        var usage = new UsageService(history);
        var problems = new Lines();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        usage.ObserverFor(problems).Observe(Seen(_t0, At("running", _t0)));
        usage.ObserverFor(problems).Observe(Seen(_t0.AddSeconds(30), At("paused", _t0.AddSeconds(30), 0)));
        await usage.FlushAsync();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{clock.Elapsed}: waited as if another process held the lock");
        Assert.All(problems.Of("warning"), w => Assert.Contains("read-only", w));
        Assert.Single(problems.Of("warning").Distinct()); // one text, so one warning per command
        Assert.DoesNotContain("another process", problems.Of("warning")[0]);
        // What a command that does not wait for its own write (Get-MertEndpoint) says at its end: the session's last write.
        Assert.Equal(problems.Of("warning")[0], usage.LastWriteProblem);

        readOnly = false; // the disk is writable again: the next write records what was kept
        await Record(usage, Seen(_t0.AddSeconds(60), At("paused", _t0.AddSeconds(30), 0)));
        Assert.Equal(new[] { "running", "paused" }, new UsageHistory(PathOf()).Read().Select(e => e.State));
        Assert.Null(usage.LastWriteProblem); // and a write that succeeds clears it, so the next Get says nothing
    }

    [Fact]
    public async Task A_slow_read_of_the_old_state_widens_the_window_from_when_it_was_sent()
    {
        // The service may compute a read's answer any time between its sending and its answer (and show the state as of
        // ReadLag before that): a read sent at 10 s and answered at 14 s proves the old state only as of 8 s. Counted from
        // its answer, the window began at 12 s, after an initializing that began at 9 s, unseen: CostHigh under the meter.
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("paused", DateTimeOffset.MinValue, 0)));
        usage.ObserverFor(Lines.Failing()).Observe(new EndpointObservation(Api, Ns, ObservationKind.Read,
            new[] { At("paused", DateTimeOffset.MinValue, 0) }, null, _t0.AddSeconds(10), _t0.AddSeconds(14)));
        await usage.FlushAsync();
        await Record(usage, Seen(_t0.AddSeconds(30), At("running", DateTimeOffset.MinValue, 1)));
        await Act(usage, At("paused", DateTimeOffset.MinValue, 0), _t0.AddSeconds(60));

        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(_t0.AddSeconds(10) - UsageHistory.ReadLag, events[1].Earliest);
        var cost = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddMinutes(5), TimeSpan.Zero));
        Assert.True(cost.BilledTimeHigh >= TimeSpan.FromSeconds(60 - 9), $"{cost.BilledTimeHigh}: the meter ran from 9 s");
        Assert.Equal(TimeSpan.FromSeconds(60 - 20), cost.BilledTime); // the estimate: the middle between the sightings (10..30)
    }

    [Fact]
    public async Task An_endpoint_first_seen_billing_can_have_billed_since_it_was_created()
    {
        // No process saw it before: created at 40 s, initializing unseen, running from 80 s (the service's stamp), first
        // read at 100 s. Its window runs back to its creation (less the clocks' allowance), not to the stamp.
        var usage = new UsageService(new UsageHistory(PathOf()));
        var running = At("running", _t0.AddSeconds(80));
        running.CreatedAt = _t0.AddSeconds(40);
        await Record(usage, Seen(_t0.AddSeconds(100), running));
        await Act(usage, At("paused", _t0.AddSeconds(120), 0), _t0.AddSeconds(120));

        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(_t0.AddSeconds(80), events[0].Time);                  // the estimate stays the stamp
        Assert.True(events[0].Earliest <= _t0.AddSeconds(40), $"{events[0].Earliest}");
        var cost = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddMinutes(5), TimeSpan.Zero));
        Assert.True(cost.BilledTimeHigh >= TimeSpan.FromSeconds(80), $"{cost.BilledTimeHigh}: the meter ran from 40 s");
        Assert.Equal(TimeSpan.FromSeconds(40), cost.BilledTime);
    }

    [Fact]
    public async Task A_writer_whose_clock_runs_ahead_does_not_blind_the_others()
    {
        // Process A's clock runs 10 minutes ahead; B's is right. A resumes the endpoint at (true) 10 s, someone pauses
        // it at 50 s, B sees it paused at 60 s. B's reading must be recorded (it was dropped as "older than the file"
        // for 10 minutes), and the bounds must hold the 40 s the meter ran.
        var ahead = TimeSpan.FromMinutes(10);
        var clockB = new TestClock(_t0);
        var b = new UsageService(new UsageHistory(PathOf()), clockB);
        var a = new UsageService(new UsageHistory(PathOf()), new TestClock(_t0.AddSeconds(10) + ahead));
        await Record(b, Seen(_t0, At("paused", DateTimeOffset.MinValue, 0)));
        a.ObserverFor(Lines.Failing()).Observe(new EndpointObservation(Api, Ns, ObservationKind.Action,
            new[] { At("initializing", _t0.AddSeconds(10), 1) }, null, _t0.AddSeconds(10) + ahead, _t0.AddSeconds(10) + ahead));
        await a.FlushAsync();
        clockB.Advance(TimeSpan.FromSeconds(40));
        await Record(b, Seen(_t0.AddSeconds(40), At("initializing", _t0.AddSeconds(10), 1)));   // a repeat: A's record holds it
        clockB.Advance(TimeSpan.FromSeconds(20));
        await Record(b, Seen(_t0.AddSeconds(60), At("paused", _t0.AddSeconds(50), 0)));

        foreach (var reader in new[] { b.History, new UsageHistory(PathOf()) })   // B itself, and a fresh process reading the file
        {
            var events = reader.Read();
            Assert.Equal(new[] { "paused", "initializing", "paused" }, events.Select(e => e.State));
            var cost = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddMinutes(5), TimeSpan.Zero));
            Assert.False(cost.CurrentlyBilling);
            Assert.InRange(TimeSpan.FromSeconds(40), cost.BilledTimeLow, cost.BilledTimeHigh);
            Assert.True(events.All(e => e.Time <= _t0.AddSeconds(60)), "A's record re-dated on B's clock, between its neighbours");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_writer_that_knows_its_clock_runs_ahead_dates_its_records_on_the_services_and_an_hour_later_they_still_line_up(bool stamped)
    {
        // As above, but A's answers carried a Date 10 minutes behind its clock (the offset measured, 0.6 s off by the
        // header's whole seconds): A dates its records on the service's clock. Read an hour later, when "10 minutes
        // ahead" no longer looks like the future to anyone, A's resume still sits at 10 s, not at 10 min 10 s after the
        // pause B saw (which would leave the endpoint "billing" ever since).
        var ahead = TimeSpan.FromMinutes(10);
        var b = new UsageService(new UsageHistory(PathOf()), new TestClock(_t0));
        var clockA = new TestClock(_t0.AddSeconds(10) + ahead);
        var a = new UsageService(new UsageHistory(PathOf()), clockA);
        await Record(b, Seen(_t0, At("paused", DateTimeOffset.MinValue, 0)));
        var told = new Lines();
        // Stamped: the resume's answer carries the service's updatedAt (10.1 s), which tells the offset to the millisecond.
        DateTimeOffset stamp = stamped ? _t0.AddSeconds(10.1) : DateTimeOffset.MinValue;
        a.ObserverFor(told).Observe(new EndpointObservation(Api, Ns, ObservationKind.Action, new[] { At("initializing", stamp, 1) }, null,
            _t0.AddSeconds(10) + ahead, _t0.AddSeconds(10.2) + ahead) { ClockAhead = ahead + TimeSpan.FromSeconds(0.6) });
        await a.FlushAsync();
        Assert.Contains("about 10 min ahead", Assert.Single(told.Of("warning")));   // still said: shown times and schedules follow A's clock
        Assert.True(a.StoppedByUsWithin(Api, Ns, "mert", TimeSpan.FromSeconds(30)) is false && a.ChangedByUsWithin(Api, Ns, "mert", TimeSpan.FromSeconds(30)),
            "on A's own (corrected) clock its resume is recent");
        await Record(b, new EndpointObservation(Api, Ns, ObservationKind.Read, new[] { At("running", DateTimeOffset.MinValue, 1) }, null,
            _t0.AddSeconds(40), _t0.AddSeconds(40)) { ClockAhead = TimeSpan.FromSeconds(0.4) });   // B's clock agrees: no correction
        await Record(b, Seen(_t0.AddSeconds(60), At("paused", DateTimeOffset.MinValue, 0)));

        var later = new UsageHistory(PathOf()) { Clock = new TestClock(_t0.AddHours(1)) };
        var events = later.Read();
        Assert.Equal(new[] { "paused", "initializing", "running", "paused" }, events.Select(e => e.State));
        UsageEvent resume = events[1];
        // Not at 10 min 10 s, nor re-dated at 20 s: never later than the truth, and early by no more than the offset's
        // excess (0.6 s by the Date; 0.1 s by the stamp, the answer's way back).
        if (stamped)
        {
            Assert.Equal(_t0.AddSeconds(10.1), resume.Time);
            Assert.Equal((_t0.AddSeconds(9.9), _t0.AddSeconds(10.1)), (resume.Earliest!.Value, resume.Latest!.Value));
        }
        else
        {
            Assert.InRange(resume.Time, _t0.AddSeconds(9.4), _t0.AddSeconds(10.2));
            Assert.InRange(resume.Latest!.Value, _t0.AddSeconds(9.6), _t0.AddSeconds(10.2));
        }
        var cost = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddHours(1), TimeSpan.Zero));
        Assert.False(cost.CurrentlyBilling);
        Assert.InRange(TimeSpan.FromSeconds(40), cost.BilledTimeLow, cost.BilledTimeHigh);
        Assert.InRange(cost.BilledTime, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(52));

        // Each record says how far its writer's clock was corrected ("off", seconds; none where the clocks agreed), and
        // keeps it through a compaction, so a reader can tell a corrected record and put it back on the writer's clock.
        Assert.Equal(new[] { true, false, true, true }, events.Select(e => e.ClockOffset == TimeSpan.Zero));
        Assert.InRange(resume.ClockOffset, ahead, ahead + TimeSpan.FromSeconds(0.6));
        string[] lines = File.ReadAllLines(PathOf());
        Assert.Single(lines, l => l.Contains("\"off\":", StringComparison.Ordinal));
        await later.CompactAsync();
        Assert.Equal(events.Select(e => e.ClockOffset), new UsageHistory(PathOf()).Read().Select(e => e.ClockOffset));
    }

    [Fact]
    public async Task The_clock_correction_keeps_the_smallest_bound_seen_and_follows_a_clock_that_was_set()
    {
        var usage = new UsageService(new UsageHistory(PathOf()), new TestClock(_t0));
        var observer = usage.ObserverFor(new Lines());
        TimeSpan After(double aheadSeconds)
        {
            observer.Observe(new EndpointObservation(Api, Ns, ObservationKind.Read, new[] { At("running", DateTimeOffset.MinValue, 1) }, null, _t0, _t0)
            { ClockAhead = TimeSpan.FromSeconds(aheadSeconds) });
            return usage.Correction;
        }

        Assert.Equal(TimeSpan.FromSeconds(600.9), After(600.9));
        Assert.Equal(TimeSpan.FromSeconds(600.2), After(600.2));   // each answer bounds it from above: the smallest is kept
        Assert.Equal(TimeSpan.FromSeconds(600.2), After(601.0));
        Assert.Equal(TimeSpan.Zero, After(3));                      // set right (NTP stepped it): within 5 s, no correction
        Assert.Equal(TimeSpan.FromSeconds(-120), After(-120));      // behind works the same way
        Assert.Equal(TimeSpan.FromSeconds(600), After(600));        // a step, not a better estimate: taken as it is
        await usage.FlushAsync();
    }

    [Fact]
    public async Task An_action_dated_ahead_of_our_clock_is_not_taken_as_a_recent_one_of_ours()
    {
        // A's clock runs 10 minutes ahead: its pause, recorded "in the future", is not a pause B made moments ago.
        var ahead = TimeSpan.FromMinutes(10);
        var a = new UsageService(new UsageHistory(PathOf()), new TestClock(_t0 + ahead));
        var b = new UsageService(new UsageHistory(PathOf()), new TestClock(_t0.AddSeconds(5)));
        a.ObserverFor(Lines.Failing()).Observe(new EndpointObservation(Api, Ns, ObservationKind.Action,
            new[] { At("paused", _t0, 0) }, null, _t0 + ahead, _t0 + ahead));
        await a.FlushAsync();

        Assert.False(b.StoppedByUsWithin(Api, Ns, "mert", TimeSpan.FromSeconds(30)));
        Assert.False(b.ChangedByUsWithin(Api, Ns, "mert", TimeSpan.FromSeconds(30)));
        Assert.True(a.StoppedByUsWithin(Api, Ns, "mert", TimeSpan.FromSeconds(30)));   // on A's own clock it is recent
    }

    [Fact]
    public async Task Bounds_hold_every_change_between_its_two_sightings()
    {
        // updatedAt is taken as nothing (the reading "it changes only on user actions"): every change the module did not
        // cause is known only to lie between the last sighting of the old state and the first of the new.
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("paused", DateTimeOffset.MinValue, 0)));
        await Record(usage, Seen(_t0.AddSeconds(20), At("paused", DateTimeOffset.MinValue, 0)));      // last seen paused
        await Record(usage, Seen(_t0.AddSeconds(50), At("running", DateTimeOffset.MinValue, 2)));     // someone started it: 20..50
        usage.ObserverFor().Observe(new EndpointObservation(Api, Ns, ObservationKind.Action,        // our pause: 79..80
            new[] { At("paused", DateTimeOffset.MinValue, 0) }, null, _t0.AddSeconds(79), _t0.AddSeconds(80)));
        await usage.FlushAsync();

        var events = new UsageHistory(PathOf()).Read();
        var cost = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddMinutes(5), TimeSpan.Zero)); // exact time: the windows alone

        Assert.Equal(TimeSpan.FromSeconds(2 * (80 - 35)), cost.BilledTime); // from the middle between the sightings (20..50) to the answer
        Assert.Equal(TimeSpan.FromSeconds(2 * 29), cost.BilledTimeLow);   // started as late, stopped as early as can be
        Assert.Equal(2 * (TimeSpan.FromSeconds(60) + UsageHistory.ReadLag), cost.BilledTimeHigh);  // started right after the last paused sighting (less the read lag)
        // As reported: each replica's 62 s counted as two started minutes.
        Assert.Equal(TimeSpan.FromMinutes(2 * 2), Assert.Single(UsageService.Summarize(events, _t0, _t0.AddMinutes(5))).BilledTimeHigh);
    }

    [Fact]
    public async Task A_late_read_of_the_state_before_our_own_action_is_not_a_change()
    {
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("paused", _t0, 0)));
        usage.ObserverFor().Observe(new EndpointObservation(Api, Ns, ObservationKind.Action,
            new[] { At("pending", _t0.AddSeconds(10), 1) }, null, _t0.AddSeconds(10), _t0.AddSeconds(10)));
        await Record(usage, Seen(_t0.AddSeconds(11), At("paused", _t0, 0)));                       // an eventually consistent read
        await Record(usage, Seen(_t0.AddSeconds(14), At("running", _t0.AddSeconds(13), 1)));

        Assert.Equal(new[] { "paused", "pending", "running" }, new UsageHistory(PathOf()).Read().Select(e => e.State));
    }

    [Fact]
    public async Task A_late_read_by_another_process_right_after_a_pause_is_not_a_restart()
    {
        var pausing = new UsageService(new UsageHistory(PathOf()));
        await Record(pausing, Seen(_t0, At("running", _t0, 1)));
        pausing.ObserverFor().Observe(new EndpointObservation(Api, Ns, ObservationKind.Action,
            new[] { At("paused", _t0.AddSeconds(30), 0) }, null, _t0.AddSeconds(30), _t0.AddSeconds(30)));
        await pausing.FlushAsync();

        // Another process, which never saw the pause itself, reads "running" a second later from a lagging replica.
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0.AddSeconds(31), At("running", _t0, 1)));

        var cost = Assert.Single(UsageService.Summarize(new UsageHistory(PathOf()).Read(), _t0, _t0.AddMinutes(10)));
        Assert.False(cost.CurrentlyBilling);
        Assert.Equal(TimeSpan.FromSeconds(30), cost.BilledTime);
    }

    [Fact]
    public async Task A_late_read_of_an_older_state_than_the_one_the_pause_ended_is_not_a_restart()
    {
        // The service answers reads "as of a moment ago": a pause soon after the endpoint came up can be followed by a read
        // that shows it still initializing, which is neither the state the pause ended nor a change. Its stamp (the
        // resume's) is older than the one the pause's own answer carried.
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("paused", _t0, 0)));
        await Act(usage, At("initializing", _t0.AddSeconds(10), 1), _t0.AddSeconds(10));
        await Record(usage, Seen(_t0.AddSeconds(25), At("running", _t0.AddSeconds(10), 1)));
        await Act(usage, At("paused", _t0.AddSeconds(26), 0), _t0.AddSeconds(26));
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0.AddSeconds(27), At("initializing", _t0.AddSeconds(10), 1)));

        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(new[] { "paused", "initializing", "running", "paused" }, events.Select(e => e.State));
        Assert.Equal(_t0.AddSeconds(26), events[3].ServiceStamp);
        var cost = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddMinutes(10)));
        Assert.False(cost.CurrentlyBilling);
        Assert.Equal(TimeSpan.FromSeconds(16), cost.BilledTime);
    }

    [Fact]
    public async Task A_lagging_read_right_after_a_sighting_of_running_is_not_a_change_back_and_a_change_back_that_holds_is_recorded()
    {
        // Stamps only on actions (the resume's, at 0): the sighting of running at 5 s is followed a second later by a read
        // answered from before it (still initializing). Seen in the emulator's pessimistic mode as a phantom restart.
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Act(usage, At("initializing", _t0, 1), _t0);
        await Record(usage, Seen(_t0.AddSeconds(5), At("running", _t0, 1)));
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0.AddSeconds(6), At("initializing", _t0, 1)));
        await Record(usage, Seen(_t0.AddSeconds(7), At("running", _t0, 1)));
        Assert.Equal(new[] { "initializing", "running" }, new UsageHistory(PathOf()).Read().Select(e => e.State));

        // The same read, later than the lag allows: it can only be the state now, and is recorded in the window since the
        // last sighting of running (so bounds still hold the truth whichever it was).
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0.AddSeconds(10), At("initializing", _t0, 1)));
        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(new[] { "initializing", "running", "initializing" }, events.Select(e => e.State));
        Assert.Equal(_t0.AddSeconds(7) - UsageHistory.ReadLag, events[2].Earliest);
    }

    [Fact]
    public async Task A_restart_by_someone_else_right_after_our_pause_is_recorded()
    {
        // The same moment, but the read carries a stamp newer than our pause: someone resumed it. That bills.
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("running", _t0, 1)));
        await Act(usage, At("paused", _t0.AddSeconds(30), 0), _t0.AddSeconds(30));
        await Record(new UsageService(new UsageHistory(PathOf())), Seen(_t0.AddSeconds(33), At("initializing", _t0.AddSeconds(32), 1)));

        var cost = Assert.Single(UsageService.Summarize(new UsageHistory(PathOf()).Read(), _t0, _t0.AddSeconds(60)));
        Assert.True(cost.CurrentlyBilling);
        Assert.Equal(TimeSpan.FromSeconds(30 + 28), cost.BilledTime);
    }

    [Fact]
    public async Task A_replica_change_nobody_stamped_is_dated_mid_window_and_a_state_change_at_its_sighting()
    {
        // updatedAt stays at the resume's stamp throughout: the service scaled under load, which no reading stamps.
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("running", _t0, 1)));
        await Record(usage, Seen(_t0.AddSeconds(10), At("running", _t0, 2)));     // the second replica came in (0, 10]
        await Record(usage, Seen(_t0.AddSeconds(20), At("running", _t0, 2)));
        await Record(usage, Seen(_t0.AddSeconds(24), At("running", _t0, 1)));     // and went in (20, 24]
        await Record(usage, Seen(_t0.AddSeconds(40), At("scaledToZero", _t0, 0))); // a state change: at its sighting

        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(new[] { _t0, _t0.AddSeconds(5), _t0.AddSeconds(22), _t0.AddSeconds(40) }, events.Select(e => e.Time));
        var cost = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddMinutes(1)));
        // The record stays at its sighting (a streak's end is never placed before anyone saw it); the estimate puts the
        // scale-to-zero, which nothing stamped, in the middle between its sightings (24..40), as likely as anywhere there.
        Assert.Equal(TimeSpan.FromSeconds(5 + 2 * 17 + 10), cost.BilledTime);
        // The bounds still span every placement: the second replica from 10 s (late) to 24 s, or from 0 s (less the
        // read lag, never before the last change) to 20 s.
        Assert.True(cost.BilledTimeLow <= TimeSpan.FromSeconds(40 + 10) && cost.BilledTimeHigh >= TimeSpan.FromSeconds(40 + 24));
    }

    /// <summary>A history whose first record is our resume, sent at 0 s and answered at 0.2 s, stamped by a service clock <paramref name="ahead"/> of ours.</summary>
    private async Task<UsageService> ResumedWithServiceAhead(TimeSpan ahead)
    {
        var usage = new UsageService(new UsageHistory(PathOf()));
        usage.ObserverFor().Observe(new EndpointObservation(Api, Ns, ObservationKind.Action,
            new[] { At("initializing", _t0.AddSeconds(0.1) + ahead, 1) }, null, _t0, _t0.AddSeconds(0.2)));
        await usage.FlushAsync();
        return usage;
    }

    [Fact]
    public async Task A_scale_up_is_dated_by_the_new_replicas_start_on_the_services_clock()
    {
        // The service's clock runs 5 s ahead of ours: the resume, sent at 0 s and answered at 0.2 s, carries 5.1 s.
        var ahead = TimeSpan.FromSeconds(5);
        var usage = await ResumedWithServiceAhead(ahead);
        var starts = new[] { _t0.AddSeconds(0.1) + ahead, _t0.AddSeconds(13) + ahead }; // the base replica, and one at 13 s (ours)
        await Record(usage, Seen(_t0.AddSeconds(4), At("running", _t0.AddSeconds(0.1) + ahead, 1)));
        await Record(usage, Seen(_t0.AddSeconds(10), At("running", _t0.AddSeconds(0.1) + ahead, 1)));
        await Record(usage, Seen(_t0.AddSeconds(20), At("running", _t0.AddSeconds(0.1) + ahead, 2)));
        await Record(usage, Seen(_t0.AddSeconds(25), At("running", _t0.AddSeconds(0.1) + ahead, 2)));

        // The record keeps what the reads knew; the replica list, read by a report, places the rise within that window.
        var recorded = new UsageHistory(PathOf()).Read();
        Assert.InRange(recorded[^1].Time, _t0.AddSeconds(12.9), _t0.AddSeconds(17.1));
        var (serviceAhead, spread) = usage.History.ServiceOffsetNow(Api);
        var events = ScaleUps.Dated(recorded, starts, serviceAhead, spread);
        var rise = events[^1];
        Assert.Equal((2, "read"), (rise.Replicas, rise.Source));
        Assert.InRange(rise.Time, _t0.AddSeconds(12.99), _t0.AddSeconds(13.01));
        // Bounded by that start (not before it, to the clocks' precision) and the sighting that showed it.
        Assert.InRange(rise.Earliest!.Value, _t0.AddSeconds(12.89), _t0.AddSeconds(13));
        Assert.Equal(_t0.AddSeconds(20), rise.Latest);
        var cost = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddSeconds(30), TimeSpan.Zero)); // exact time: the windows alone
        Assert.InRange(cost.BilledTime.TotalSeconds, 29.8 + 17 - 0.02, 29.8 + 17 + 0.02); // from the resume's answer, and the second replica
        // The start known to within the resume's round trip (0.2 s), the rise to 7.1 s (from its start to the sighting)
        // instead of the whole 12 s since the sighting before, less the read lag. With the 5 s lead unaccounted for, the
        // rise would have been placed at 18 s.
        Assert.InRange((cost.BilledTimeHigh - cost.BilledTimeLow).TotalSeconds, 7.25, 7.35);
    }

    [Fact]
    public async Task The_services_stamps_are_read_on_our_clock_when_the_two_differ()
    {
        // The service's clock runs 5 s ahead; it stamps the transition to running (our 6 s) as 11 s.
        var ahead = TimeSpan.FromSeconds(5);
        var usage = await ResumedWithServiceAhead(ahead);
        await Record(usage, Seen(_t0.AddSeconds(4), At("initializing", _t0.AddSeconds(0.1) + ahead, 1)));
        await Record(usage, Seen(_t0.AddSeconds(10), At("running", _t0.AddSeconds(6) + ahead, 1)));

        var running = new UsageHistory(PathOf()).Read()[^1];
        Assert.Equal("running", running.State);
        Assert.InRange(running.Time, _t0.AddSeconds(5.9), _t0.AddSeconds(6.1)); // read as our own clock, it would be the sighting (10 s)
    }

    [Fact]
    public async Task Absurd_stamps_neither_break_the_history_nor_move_its_clock()
    {
        // An action answered with a stamp near year 1, a read with one near year 9999, and a replica list with both.
        var usage = new UsageService(new UsageHistory(PathOf()));
        usage.ObserverFor().Observe(new EndpointObservation(Api, Ns, ObservationKind.Action,
            new[] { At("running", DateTimeOffset.MinValue.AddSeconds(1), 1) }, null, _t0, _t0.AddSeconds(0.1)));
        await usage.FlushAsync();
        await Record(usage, Seen(_t0.AddSeconds(10), At("running", DateTimeOffset.MaxValue.AddSeconds(-1), 1)));
        await Record(usage, Seen(_t0.AddSeconds(20), At("running", DateTimeOffset.MaxValue.AddSeconds(-1), 2)));

        var (ahead, spread) = usage.History.ServiceOffsetNow(Api);
        var events = ScaleUps.Dated(new UsageHistory(PathOf()).Read(),
            new[] { DateTimeOffset.MinValue.AddSeconds(1), DateTimeOffset.MaxValue.AddSeconds(-1), _t0.AddSeconds(13) }, ahead, spread);
        Assert.Equal(new[] { 1, 2 }, events.Select(e => e.Replicas));
        Assert.Equal(_t0.AddSeconds(13), events[^1].Time, TimeSpan.FromMilliseconds(1)); // the clocks taken as equal (to within 2 s)
    }

    [Fact]
    public async Task A_scale_up_the_replica_list_cannot_date_stays_in_the_middle_of_the_window()
    {
        // The list shows no replica that started between the sightings (a list lagging behind): nothing to tell.
        var usage = new UsageService(new UsageHistory(PathOf()));
        await Record(usage, Seen(_t0, At("running", _t0, 1)));
        await Record(usage, Seen(_t0.AddSeconds(10), At("running", _t0, 2)));
        var events = new UsageHistory(PathOf()).Read();
        Assert.Equal(_t0.AddSeconds(5), events[^1].Time);
        var (ahead, spread) = usage.History.ServiceOffsetNow(Api);
        Assert.Equal(events, ScaleUps.Dated(events, new[] { _t0.AddSeconds(-60) }, ahead, spread));
    }

    private static async Task Act(UsageService usage, EndpointInfo answer, DateTimeOffset at)
    {
        usage.ObserverFor().Observe(new EndpointObservation(Api, Ns, ObservationKind.Action, new[] { answer }, null, at, at));
        await usage.FlushAsync();
    }

    [Fact]
    public void Summarize_counts_replicas_clips_the_period_meters_no_update_and_keeps_the_streak_through_updates()
    {
        UsageEvent E(int seconds, string state, int replicas = 1) => new() { Time = _t0.AddSeconds(seconds), Namespace = Ns, Name = "mert", State = state, Replicas = replicas };
        var events = new[] { E(0, "running", 2), E(100, "updating"), E(110, "running"), E(200, "paused", 0) };

        var whole = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddSeconds(300)));
        // The estimate counts what the service says it meters (not the update); the upper bound counts the update too.
        Assert.Equal(TimeSpan.FromSeconds(100 * 2 + 90), whole.BilledTime);
        Assert.Equal(TimeSpan.FromSeconds(100 * 2 + 90), whole.BilledTimeLow);
        Assert.True(whole.BilledTimeHigh >= TimeSpan.FromSeconds(100 * 2 + 10 + 90), $"{whole.BilledTimeHigh}");

        var clipped = Assert.Single(UsageService.Summarize(events, _t0.AddSeconds(50), _t0.AddSeconds(150)));
        Assert.Equal(TimeSpan.FromSeconds(50 * 2 + 40), clipped.BilledTime);

        var live = Assert.Single(UsageService.Summarize(events.Take(3), _t0, _t0.AddSeconds(300)));
        Assert.True(live.CurrentlyBilling);
        Assert.Equal(_t0, live.BilledSince);                                     // the update did not restart the streak
    }
}
