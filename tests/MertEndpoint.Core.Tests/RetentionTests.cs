namespace MertEndpoint.Tests;

/// <summary>
/// The history's retention (MERT_ENDPOINT_HISTORY_RETENTION_DAYS): a compaction drops what is older than the cut-off and
/// no later period needs, so every figure of a period from the cut-off on is exactly what it was; the header says since
/// when the history is whole.
/// </summary>
public sealed class RetentionTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("mert-retention-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Line(string name, string state, int replicas, double daysAgo)
    {
        DateTimeOffset at = Now.AddDays(-daysAgo);
        string t = UsageHistory.Stamp(at), lo = UsageHistory.Stamp(at.AddMinutes(-5));
        return $"{{\"v\":2,\"t\":\"{t}\",\"lo\":\"{lo}\",\"hi\":\"{t}\",\"api\":\"https://api.example/v2\",\"ns\":\"alice\",\"name\":\"{name}\",\"state\":\"{state}\",\"replicas\":{replicas},\"src\":\"read\"}}";
    }

    /// <summary>
    /// gone: ran, paused and was deleted long before the cut-off. long: paused, then billing since before the cut-off
    /// without a break (a rise to two replicas on the way). cycle: on and off every ten days for 800 days. idle: paused once, 900 days ago.
    /// </summary>
    private string History()
    {
        var lines = new List<(double DaysAgo, string Line)>
        {
            (600, Line("gone", "running", 1, 600)), (590, Line("gone", "paused", 0, 590)), (500, Line("gone", "deleted", 0, 500)),
            (700, Line("long", "paused", 0, 700)), (450, Line("long", "running", 1, 450)), (420, Line("long", "running", 2, 420)), (30, Line("long", "running", 1, 30)),
            (900, Line("idle", "paused", 0, 900)),
        };
        for (int d = 800; d > 0; d -= 10)
            lines.Add((d, Line("cycle", d % 20 == 0 ? "running" : "paused", d % 20 == 0 ? 1 : 0, d)));
        string path = Path.Combine(_dir, "usage.jsonl");
        File.WriteAllLines(path, new[] { "{\"v\":2,\"generation\":\"g\",\"compactedBytes\":0}" }.Concat(lines.OrderByDescending(l => l.DaysAgo).Select(l => l.Line)));
        return path;
    }

    private static List<string> Figures(IReadOnlyList<UsageEvent> events, DateTimeOffset since, DateTimeOffset until) =>
        UsageService.Summarize(events, since, until).OrderBy(c => c.Name)
            .Select(c => $"{c.Name} {c.BilledTime.Ticks} [{c.BilledTimeLow.Ticks}, {c.BilledTimeHigh.Ticks}] {c.CurrentlyBilling} {c.BilledSince:o}").ToList();

    [Fact]
    public async Task A_compaction_drops_what_no_period_after_the_cut_off_needs_and_every_such_period_costs_the_same()
    {
        string path = History();
        DateTimeOffset cutoff = Now.AddDays(-400);
        var periods = new[] { (cutoff, Now), (Now.AddDays(-30), Now), (cutoff.AddDays(1), cutoff.AddDays(100)) };
        var before = new UsageHistory(path) { Clock = new TestClock(Now), Retention = TimeSpan.FromDays(400) };
        var expected = periods.Select(p => Figures(before.Read(), p.Item1, p.Item2)).ToList();
        var older = Figures(before.Read(), Now.AddDays(-610), Now);

        await before.CompactAsync();

        var after = new UsageHistory(path) { Clock = new TestClock(Now) };
        IReadOnlyList<UsageEvent> kept = after.Read();
        Assert.Equal(cutoff, after.KeptSince);
        Assert.Equal(cutoff, before.KeptSince);
        Assert.DoesNotContain(kept, e => e.Name == "gone");
        Assert.Equal(4, kept.Count(e => e.Name == "long")); // billing since 450 days ago: its streak and the pause before it stay
        Assert.Single(kept, e => e.Name == "idle");
        var cycle = kept.Where(e => e.Name == "cycle").ToList();
        Assert.Equal(("paused", Now.AddDays(-410)), (cycle[0].State, cycle[0].Time)); // the state at the cut-off, and nothing older
        Assert.Equal(41, cycle.Count);
        // The same figures, but for the endpoint deleted long before: a row of nothing, gone with it.
        for (int i = 0; i < 3; i++)
        {
            Assert.Contains("gone 0 [0, 0] False ", expected[i]);
            Assert.Equal(expected[i].Where(f => !f.StartsWith("gone ")), Figures(kept, periods[i].Item1, periods[i].Item2));
        }
        // BilledSince of the endpoint billing for 450 days is still when that began.
        Assert.Contains(Figures(kept, Now.AddDays(-30), Now), f => f.StartsWith("long ") && f.EndsWith(Now.AddDays(-450).ToString("o")));
        // A period from before the cut-off is not whole any more: what the cost report warns about.
        Assert.NotEqual(older.Where(f => !f.StartsWith("gone ")), Figures(kept, Now.AddDays(-610), Now));
    }

    [Fact]
    public async Task Without_a_retention_nothing_is_dropped_and_a_later_compaction_keeps_the_cut_off_it_had()
    {
        string path = History();
        var all = new UsageHistory(path) { Clock = new TestClock(Now), Retention = null };
        int count = all.Read().Count;
        await all.CompactAsync();
        var read = new UsageHistory(path);
        Assert.Equal(count, read.Read().Count);
        Assert.Null(read.KeptSince);

        await new UsageHistory(path) { Clock = new TestClock(Now), Retention = TimeSpan.FromDays(400) }.CompactAsync();
        // Nothing left older than the cut-off to drop: the next compaction still says since when the history is whole.
        File.AppendAllLines(path, [Line("idle", "running", 1, 1)]);
        await new UsageHistory(path) { Clock = new TestClock(Now), Retention = TimeSpan.FromDays(400) }.CompactAsync();
        var last = new UsageHistory(path);
        last.Read();
        Assert.Equal(Now.AddDays(-400), last.KeptSince);
    }

    [Theory]
    [InlineData(null, 400.0, null)]
    [InlineData(" ", 400.0, null)]
    [InlineData("30", 30.0, null)]
    [InlineData(" 730 ", 730.0, null)]
    [InlineData("0", null, null)]
    [InlineData("-5", null, "'-5' is not a whole number of days from 0 (keep everything) to 36500")]
    [InlineData("1.5", null, "'1.5' is not a whole number of days from 0 (keep everything) to 36500")]
    [InlineData("99999", null, "'99999' is not a whole number of days from 0 (keep everything) to 36500")]
    public void The_setting_is_whole_days_0_keeps_everything_and_one_not_understood_drops_nothing(string? text, double? days, string? problem)
    {
        (TimeSpan? retention, string? said) = UsageHistory.RetentionFrom(text);
        Assert.Equal(days, retention?.TotalDays);
        Assert.Equal(problem, said);
    }
}
