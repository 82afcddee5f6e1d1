using System.Text;
using System.Text.Json;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

/// <summary>
/// The history's index (usage.jsonl.index) is a cache: a process that reads it and the lines after it must date, answer
/// and write exactly what one that reads the whole file does, whatever the file holds (several writers, one whose clock
/// runs ahead, compactions, deletions, stamped actions). Each test runs the same steps twice, with and without the
/// index, every step a fresh process (a fresh history read from disk), and compares everything.
/// </summary>
public sealed class HistoryIndexTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mert-index-test-").FullName;
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);
    private const string Api = "https://api.example/v2";
    private static readonly string[] Names = ["mert", "other", "third"];
    private static readonly string[] States = ["initializing", "running", "running", "paused", "scaledToZero", "updating", "failed"];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static EndpointInfo At(string state, DateTimeOffset updatedAt, int replicas, string name)
    {
        using var doc = JsonDocument.Parse(Endpoint(name: name, state: state).Replace("2026-11-26T12:45:10.001Z", updatedAt.UtcDateTime.ToString("o")));
        var e = Json.ToEndpoint(doc.RootElement, Ns);
        e.TargetReplica = replicas;
        return e;
    }

    /// <summary>One step of a run: who observes what, and when by its clock.</summary>
    private sealed record Step(bool Ahead, ObservationKind Kind, string Name, string State, int Replicas, TimeSpan StampBefore, bool Stamped, TimeSpan At, bool Listing);

    private static List<Step> Steps(int seed, int count)
    {
        var random = new Random(seed);
        var steps = new List<Step>();
        var t = TimeSpan.Zero;
        for (int i = 0; i < count; i++)
        {
            t += TimeSpan.FromSeconds(random.Next(1, 90)) + TimeSpan.FromMilliseconds(random.Next(0, 1000));
            var kind = random.Next(10) switch { < 6 => ObservationKind.Read, < 9 => ObservationKind.Action, _ => ObservationKind.Deleted };
            string state = States[random.Next(States.Length)];
            int replicas = state is "paused" or "scaledToZero" or "failed" ? 0 : random.Next(0, 4);
            steps.Add(new Step(random.Next(6) == 0, kind, Names[random.Next(Names.Length)], state, replicas,
                TimeSpan.FromSeconds(random.Next(0, 40)), random.Next(3) > 0, t, random.Next(5) == 0));
        }
        return steps;
    }

    private static EndpointObservation Observation(Step s)
    {
        // A process whose clock runs 10 minutes ahead sees (and stamps its sending and answering) 10 minutes later.
        DateTimeOffset at = T0 + s.At + (s.Ahead ? TimeSpan.FromMinutes(10) : TimeSpan.Zero);
        DateTimeOffset real = T0 + s.At;
        DateTimeOffset stamp = s.Stamped ? real - s.StampBefore : DateTimeOffset.MinValue;
        if (s.Kind == ObservationKind.Deleted)
            return new EndpointObservation(Api, Ns, ObservationKind.Deleted, [], s.Name, at.AddMilliseconds(-300), at);
        EndpointInfo[] endpoints = s.Listing
            ? Names.Select(n => At(n == s.Name ? s.State : "running", n == s.Name ? stamp : DateTimeOffset.MinValue, n == s.Name ? s.Replicas : 1, n)).ToArray()
            : [At(s.State, stamp, s.Replicas, s.Name)];
        return new EndpointObservation(Api, Ns, s.Kind, endpoints, null, at.AddMilliseconds(-250), at);
    }

    /// <summary>Runs the steps in a folder of its own; returns the history's lines (less its header) and the tails after every step.</summary>
    /// <param name="compactEvery">After every so many steps, a fresh process compacts the file (as a cost report past the threshold does).</param>
    private async Task<(string[] Lines, List<string> Tails)> Run(string folder, List<Step> steps, bool useIndex, int compactEvery = 0)
    {
        string path = Path.Combine(_dir, folder, "usage.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tails = new List<string>();
        var keys = Names.Select(n => UsageEvent.KeyOf(Api, Ns, n)).ToList();
        foreach (var (s, i) in steps.Select((s, i) => (s, i)))
        {
            if (compactEvery > 0 && i > 0 && i % compactEvery == 0) await Fresh(path, useIndex).CompactAsync();
            var clock = new FixedClock(T0 + s.At + (s.Ahead ? TimeSpan.FromMinutes(10) : TimeSpan.Zero));
            var history = Fresh(path, useIndex);
            var usage = new UsageService(history, clock);
            usage.ObserverFor(Lines.Failing()).Observe(Observation(s));
            await usage.FlushAsync();
            // What a fresh process asks of the tails, at the same moment.
            var fresh = Fresh(path, useIndex);
            var found = fresh.TailsOf(keys);
            tails.Add(string.Join("\n", keys.Select(k => found.TryGetValue(k, out EndpointTail? tail) ? tail.ToJson() : "-")));
        }
        return (File.ReadAllLines(path).Skip(1).ToArray(), tails);
    }

    /// <summary>A history as a fresh process opens it, with an index and checkpoints every few records (or none).</summary>
    private static UsageHistory Fresh(string path, bool useIndex) =>
        new(path, long.MaxValue) { UseIndex = useIndex, IndexEveryBytes = 1, CheckpointEveryBytes = 3000, CheckpointMargin = TimeSpan.FromMinutes(1) };

    /// <summary>Every figure of a cost report of the periods, as a fresh process computes it.</summary>
    private static (string Report, int FromCheckpoint) Costs(string path, bool useIndex, IEnumerable<DateTimeOffset> starts)
    {
        var lines = new List<string>();
        int fromCheckpoint = 0;
        foreach (DateTimeOffset since in starts)
        {
            var history = Fresh(path, useIndex);
            var usage = new UsageService(history, new FixedClock(T0.AddHours(5)));
            foreach (EndpointCost c in usage.BilledBetween(Api, _ => true, since, T0.AddHours(4)).OrderBy(c => c.Name))
                lines.Add($"{since:HH:mm} {c.Name} {c.BilledTime} [{c.BilledTimeLow}, {c.BilledTimeHigh}] {c.InstanceType} {c.InstanceSize} billing={c.CurrentlyBilling} " +
                    $"since={c.BilledSince:o} latest={c.BilledSinceLatest:o} source={c.BilledSinceSource} deleted={c.Deleted}");
            if (history.LastReadFrom > 0) fromCheckpoint++;
        }
        return (string.Join("\n", lines), fromCheckpoint);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public async Task A_cost_report_that_starts_from_a_checkpoint_gives_the_figures_of_one_that_reads_the_whole_file(int seed)
    {
        List<Step> steps = Steps(seed, 160);
        await Run("whole-" + seed, steps, useIndex: false, compactEvery: 70);
        await Run("indexed-" + seed, steps, useIndex: true, compactEvery: 70);
        var starts = new[] { -60, 20, 45, 70, 100, 130, 170, 200, 260 }.Select(m => T0.AddMinutes(m)).ToList();

        var (whole, none) = Costs(Path.Combine(_dir, "whole-" + seed, "usage.jsonl"), useIndex: false, starts);
        var (indexed, fromCheckpoint) = Costs(Path.Combine(_dir, "indexed-" + seed, "usage.jsonl"), useIndex: true, starts);

        Assert.Equal(0, none);
        // Compactions left only the checkpoints of the file as it is.
        string file = Path.Combine(_dir, "indexed-" + seed, "usage.jsonl");
        string generation = JsonDocument.Parse(File.ReadLines(file).First()).RootElement.GetProperty("generation").GetString()!;
        Assert.All(File.ReadLines(file + ".checkpoints"), l => Assert.Contains("\"generation\":\"" + generation + "\"", l));
        Assert.True(fromCheckpoint >= 4, $"only {fromCheckpoint} of {starts.Count} reports started from a checkpoint: the test proves little");
        Assert.Equal(whole, indexed);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    [InlineData(3, 25)]
    [InlineData(4, 25)]
    public async Task A_process_that_reads_the_index_dates_and_answers_as_one_that_reads_the_whole_file(int seed, int compactEvery)
    {
        List<Step> steps = Steps(seed, 120);
        var (wholeLines, wholeTails) = await Run("whole-" + seed, steps, useIndex: false, compactEvery);
        var (indexedLines, indexedTails) = await Run("indexed-" + seed, steps, useIndex: true, compactEvery);

        Assert.True(File.Exists(Path.Combine(_dir, "indexed-" + seed, "usage.jsonl.index")), "no index was written: the test proves nothing");
        Assert.False(File.Exists(Path.Combine(_dir, "whole-" + seed, "usage.jsonl.index")));
        Assert.True(wholeLines.Length > 20, $"only {wholeLines.Length} records: the steps changed too little to prove anything");
        Assert.Contains(wholeLines, l => l.Contains("\"src\":\"action\""));
        for (int i = 0; i < steps.Count; i++) Assert.True(wholeTails[i] == indexedTails[i], $"step {i} ({steps[i]}):\nwhole:\n{wholeTails[i]}\nindexed:\n{indexedTails[i]}");
        Assert.Equal(wholeLines, indexedLines);
    }

    [Fact]
    public async Task The_steps_include_a_clock_ahead_whose_records_only_the_whole_file_can_re_date()
    {
        // The runs above are worth something only when a writer ahead forced the indexed reader back to the whole file:
        // the history then re-dated that writer's records, which shows as a record dated before its predecessor's answer.
        List<Step> steps = Steps(1, 120);
        Assert.Contains(steps, s => s.Ahead);
        var (lines, _) = await Run("ahead", steps, useIndex: true);
        var history = new UsageHistory(Path.Combine(_dir, "ahead", "usage.jsonl"));
        var events = history.Read();
        Assert.Equal(lines.Length, events.Count);
        Assert.True(events.Zip(lines).Any(pair => !pair.Second.Contains(UsageHistory.Stamp(pair.First.Time))), "no record was re-dated when read");
    }

    [Fact]
    public async Task A_checkpoint_line_that_is_not_UTF8_is_no_checkpoint_and_the_report_still_answers()
    {
        string path = Path.Combine(_dir, "usage.jsonl");
        var usage = new UsageService(new UsageHistory(path) { IndexEveryBytes = 1, CheckpointEveryBytes = 1 }, new FixedClock(T0.AddMinutes(5)));
        var observer = usage.ObserverFor(Lines.Failing());
        for (var i = 0; i < 6; i++)
            observer.Observe(new EndpointObservation(Api, Ns, ObservationKind.Action, [At(i % 2 == 0 ? "running" : "paused", T0.AddMinutes(i), 1 - i % 2, "mert")], null, T0.AddMinutes(i), T0.AddMinutes(i).AddSeconds(1)));
        await usage.FlushAsync();
        Assert.True(File.Exists(path + ".checkpoints"));
        DateTimeOffset from = T0.AddMinutes(3), to = T0.AddMinutes(10);
        string Report(IReadOnlyList<UsageEvent> events) => string.Join(";", UsageService.Summarize(events, from, to)
            .Select(c => $"{c.Name}={c.BilledTime.Ticks},{c.BilledTimeLow.Ticks},{c.BilledTimeHigh.Ticks},{c.BilledSince}"));
        string whole = Report(new UsageHistory(path) { UseIndex = false }.ReadSince(from).Events);

        // A garbled block after a crash: a line whose key holds a byte that is not UTF-8.
        using (var f = new FileStream(path + ".checkpoints", FileMode.Append))
            f.Write([.. Encoding.ASCII.GetBytes("{\"checkpoint\":1,\"gen"), 0xFF, .. Encoding.ASCII.GetBytes("ration\":\"x\",\"offset\":1}\n")]);

        var fresh = new UsageHistory(path) { CheckpointMargin = TimeSpan.FromMinutes(1) };
        Assert.Equal(whole, Report(fresh.ReadSince(from).Events));   // it threw before; the report is the whole file's
        Assert.True(fresh.LastReadFrom > 0, "the report did not start from a good checkpoint");
    }

    [Fact]
    public async Task An_index_of_another_generation_or_cut_short_is_ignored_and_a_fresh_read_still_answers()
    {
        string path = Path.Combine(_dir, "usage.jsonl");
        var usage = new UsageService(new UsageHistory(path) { IndexEveryBytes = 1 }, new FixedClock(T0.AddMinutes(5)));
        usage.ObserverFor(Lines.Failing()).Observe(new EndpointObservation(Api, Ns, ObservationKind.Action, [At("running", T0, 1, "mert")], null, T0, T0.AddSeconds(1)));
        await usage.FlushAsync();
        string index = path + ".index";
        string good = File.ReadAllText(index);
        string key = UsageEvent.KeyOf(Api, Ns, "mert");

        File.WriteAllText(index, good.Replace("\"offset\":", "\"offset\":9"));          // past the file's end
        Assert.Equal("running", new UsageHistory(path).TailsOf([key])[key].Last.State);
        File.WriteAllText(index, good.Substring(0, good.Length / 2));                   // cut short
        Assert.Equal("running", new UsageHistory(path).TailsOf([key])[key].Last.State);
        File.WriteAllText(index, good.Replace("\"running\"", "\"paused\""));            // a lie of the same generation is believed: it is the cache's own
        Assert.Equal("paused", new UsageHistory(path).TailsOf([key])[key].Last.State);
        await new UsageHistory(path, compactAboveBytes: 1).CompactAsync();               // a new generation: the stale index is ignored
        Assert.Equal("running", new UsageHistory(path).TailsOf([key])[key].Last.State);
    }
}

/// <summary>The history's long work is told to whoever watches; a watcher that throws changes nothing it reads or writes.</summary>
public sealed class HistoryProgressTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mert-progress-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class Recording : Reporter
    {
        public readonly List<(string Activity, string Status, int Percent)> Told = [];
        public override void Working(string activity, string status, int percent) { lock (Told) Told.Add((activity, status, percent)); }
    }

    private sealed class Throwing : Reporter
    {
        public override void Working(string activity, string status, int percent) => throw new InvalidOperationException("a closed pipeline");
    }

    /// <summary>Starts watching with <paramref name="late"/> when first told, and takes its time over that report.</summary>
    private sealed class BringsInAnother(UsageHistory history, Reporter late) : Reporter
    {
        public IDisposable? Joined;
        public override void Working(string activity, string status, int percent)
        {
            if (Joined != null) return;
            Joined = history.Watch(late);
            Thread.Sleep(300); // past the quarter second a bar waits between reports
        }
    }

    private string OldHistory(int events)
    {
        string path = Path.Combine(_dir, "usage.jsonl");
        var t0 = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
        File.WriteAllLines(path, new[] { "{\"v\":2,\"generation\":\"old\",\"compactedBytes\":0}" }.Concat(Enumerable.Range(0, events).Select(i =>
        {
            string t = UsageHistory.Stamp(t0.AddMinutes(i));
            return $"{{\"v\":2,\"t\":\"{t}\",\"lo\":\"{t}\",\"hi\":\"{t}\",\"api\":\"https://api.example/v2\",\"ns\":\"alice\",\"name\":\"e{i % 3}\",\"state\":\"{(i % 2 == 0 ? "running" : "paused")}\",\"replicas\":{1 - i % 2},\"src\":\"action\"}}";
        })));
        return path;
    }

    [Fact]
    public async Task A_read_from_the_top_and_a_compaction_are_told_in_order_and_end_at_100_whatever_another_watcher_throws()
    {
        var history = new UsageHistory(OldHistory(8000)) { WorkReportedAboveBytes = 1 };
        var seen = new Recording();
        using (history.Watch(new Throwing()))
        using (history.Watch(seen))
        {
            Assert.Equal(8000, history.Read().Count);
            await history.CompactAsync();
        }
        var reading = seen.Told.Where(x => x.Activity == UsageHistory.ReadingActivity).ToList();
        var compacting = seen.Told.Where(x => x.Activity == UsageHistory.CompactingActivity).ToList();
        Assert.Equal(100, reading[^1].Percent);
        Assert.Contains(reading, x => x.Status.StartsWith("Read ") && x.Status.EndsWith(" of 2 MB") && x.Percent is > 0 and < 100); // read a megabyte at a time
        Assert.Equal(100, compacting[^1].Percent);
        Assert.Contains(compacting, x => x.Status.StartsWith("Wrote") && x.Percent < 50);
        Assert.Contains(compacting, x => x.Status.StartsWith("Checked") && x.Percent is >= 50 and < 100);
        Assert.Equal(compacting.Select(x => x.Percent).OrderBy(p => p), compacting.Select(x => x.Percent));
        Assert.Equal(8000, new UsageHistory(history.Path).Read().Count); // alternating states: compaction keeps each

        // No longer watched, a fresh read of the compacted file tells no one; a small one never anyone.
        int told = seen.Told.Count;
        var fresh = new UsageHistory(history.Path);
        using (fresh.Watch(seen)) fresh.Read();
        Assert.Equal(told, seen.Told.Count);
    }

    [Fact]
    public void A_command_that_starts_watching_while_a_long_read_is_under_way_is_told_the_rest_of_it()
    {
        // A cost report that begins while the reading a Get left in the background goes on waits for that reading: it is
        // told how it goes from then on, up to its end, though the reading began before it watched.
        var history = new UsageHistory(OldHistory(32000)) { WorkReportedAboveBytes = 1 };
        var late = new Recording();
        var first = new BringsInAnother(history, late);
        using (history.Watch(first))
            Assert.Equal(32000, history.Read().Count); // 8 MB, read a megabyte at a time
        first.Joined!.Dispose();
        Assert.Contains(late.Told, x => x.Activity == UsageHistory.ReadingActivity && x.Status.StartsWith("Read ") && x.Percent is > 0 and < 100);
        Assert.Equal((UsageHistory.ReadingActivity, 100), (late.Told[^1].Activity, late.Told[^1].Percent));
    }
}
