namespace MertEndpoint.Tests;

/// <summary>
/// The cost model alone: records in, billed time out, no file and no clock. Each refinement of the estimate is tested
/// on its own against the same records, and the bounds are shown not to depend on the refinements that only date.
/// </summary>
public sealed class CostModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);
    private static DateTimeOffset M(double minutes) => T0.AddMinutes(minutes);

    private static UsageEvent Record(string src, string state, int replicas, double lo, double t, double hi) => new()
    {
        Api = "https://api.example/v2", Namespace = "alice", Name = "m", State = state, Replicas = replicas, Source = src,
        Earliest = M(lo), Time = M(t), Latest = M(hi), InstanceType = "nvidia-a10g", InstanceSize = "x1",
    };

    /// <summary>
    /// Paused by this module at 0; seen running at 15 (last seen paused at 10), dated by the service's stamp at 12; seen
    /// with a second replica at 30 (one replica last seen at 20), placed in the middle at 25; a replica list read at 31
    /// shows that replica started at 22; paused by this module at 40.
    /// </summary>
    private static List<UsageEvent> Day() =>
    [
        Record("action", "paused", 0, 0, 0, 0),
        Record("read", "running", 1, 10, 12, 15),
        Record("read", "running", 2, 20, 25, 30),
        new UsageEvent
        {
            Api = "https://api.example/v2", Namespace = "alice", Name = "m", State = "running", Replicas = 2, Source = UsageEvent.ReplicaListSource,
            Earliest = M(31), Time = M(31), Latest = M(31), ReplicaStarts = [M(11), M(22)], StartsSpread = TimeSpan.Zero,
        },
        Record("action", "paused", 0, 40, 40, 40),
    ];

    // Replica-minutes the estimate counts, under each set of strategies; then the least and the most.
    [Theory]
    [InlineData("All", 46, 35, 48)]                          // running 12-22 one replica, 22-40 two
    [InlineData("None", 35, 35, 50)]                         // each change where it was seen: 15-30 one, 30-40 two
    [InlineData("ServiceStamps", 38, 35, 50)]                // 12-30 one, 30-40 two
    [InlineData("Midpoint", 40, 35, 50)]                     // 15-25 one, 25-40 two
    [InlineData("ReplicaStarts", 43, 35, 48)]                // 15-22 one, 22-40 two; the start narrows the rise's window
    [InlineData("ServiceStamps, Midpoint", 43, 35, 50)]
    public void Each_refinement_of_the_estimate_works_alone_on_the_same_records(string which, double estimate, double low, double high)
    {
        var strategies = Enum.Parse<EstimateStrategies>(which);
        List<UsageEvent> records = Day();
        string Windows() => string.Join("|", records.Select(e => $"{e.Earliest:o} {e.Time:o} {e.Latest:o}"));
        string before = Windows();

        var cost = Assert.Single(CostModel.Summarize(records, T0, M(60), TimeSpan.Zero, strategies));

        Assert.Equal(TimeSpan.FromMinutes(estimate), cost.BilledTime);
        Assert.Equal(TimeSpan.FromMinutes(low), cost.BilledTimeLow);
        Assert.Equal(TimeSpan.FromMinutes(high), cost.BilledTimeHigh);
        Assert.InRange(cost.BilledTime, cost.BilledTimeLow, cost.BilledTimeHigh);
        Assert.False(cost.CurrentlyBilling);
        Assert.Equal(before, Windows());   // the records themselves never move
    }

    [Fact]
    public void Without_the_stamps_a_re_dated_change_stays_before_the_record_after_it()
    {
        // Seen running at 15 and dated by its stamp at 12; this module paused it at 14 (its answer came before the read's
        // did). Dated where it was seen, the start would fall after the pause: it is held just before the pause instead,
        // the pause keeps its own time, and the bounds (0 to 4 minutes) stay those of the windows.
        List<UsageEvent> records = [Record("read", "running", 1, 10, 12, 15), Record("action", "paused", 0, 14, 14, 14)];

        var cost = Assert.Single(CostModel.Summarize(records, T0, M(60), TimeSpan.Zero, EstimateStrategies.None));
        var dated = CostModel.Estimated(records, EstimateStrategies.None);

        Assert.Equal(TimeSpan.FromTicks(1), cost.BilledTime);
        Assert.Equal((TimeSpan.Zero, TimeSpan.FromMinutes(4)), (cost.BilledTimeLow, cost.BilledTimeHigh));
        Assert.Equal([M(14).AddTicks(-1), M(14)], dated.Select(e => e.Time));
        Assert.Equal(M(12), records[0].Time);
    }

    [Theory]
    [InlineData(0, 1)]     // a running endpoint bills at least one replica
    [InlineData(3, 3)]
    public void A_running_endpoint_bills_each_replica_and_at_least_one_whatever_the_strategies(int replicas, int billed)
    {
        List<UsageEvent> records = [Record("action", "running", replicas, 0, 0, 0)];
        foreach (var strategies in new[] { EstimateStrategies.None, EstimateStrategies.All })
        {
            var cost = Assert.Single(CostModel.Summarize(records, T0, M(60), TimeSpan.Zero, strategies));
            Assert.Equal(TimeSpan.FromMinutes(60 * billed), cost.BilledTime);
            Assert.True(cost.CurrentlyBilling);
            Assert.Equal(T0, cost.BilledSince);
        }
    }

    [Theory]
    [InlineData(null, "Midpoint")]      // an older file: a replica count alone is taken as placed in the middle
    [InlineData("stamp", "ServiceStamps")]
    [InlineData("mid", "Midpoint")]
    public void A_record_says_which_refinement_placed_it_and_only_that_one_takes_it_back(string? datedBy, string placedBy)
    {
        // Running with one replica since 0 (this module's start); a second seen at 30 (one replica last seen at 20), placed
        // at 25 by its writer: by the service's stamp, by the middle of the window, or (an older file) it does not say.
        List<UsageEvent> records = [Record("action", "running", 1, 0, 0, 0), Record("read", "running", 2, 20, 25, 30)];
        records[1].DatedBy = datedBy;
        var placing = Enum.Parse<EstimateStrategies>(placedBy);
        var other = placing == EstimateStrategies.Midpoint ? EstimateStrategies.ServiceStamps : EstimateStrategies.Midpoint;

        TimeSpan Billed(EstimateStrategies s) => Assert.Single(CostModel.Summarize(records, T0, M(40), TimeSpan.Zero, s)).BilledTime;

        Assert.Equal(TimeSpan.FromMinutes(25 + 2 * 15), Billed(EstimateStrategies.All));
        Assert.Equal(TimeSpan.FromMinutes(25 + 2 * 15), Billed(placing));              // only its own refinement keeps it at 25
        Assert.Equal(TimeSpan.FromMinutes(30 + 2 * 10), Billed(other));                // without it: where it was seen, 30
    }

    [Fact]
    public void A_change_nothing_placed_is_estimated_in_the_middle_of_its_window_but_never_an_endpoints_first_record()
    {
        // Written with its facts (a send time) and nothing placing it: seen running at 15 (first seen at 0, last seen
        // paused at 10), seen scaled to zero at 40 (last seen running at 20). An older record (no send time) may have been
        // the service's stamp at its sighting, and stays there; an endpoint's first record may reach back to its creation.
        UsageEvent Seen(string state, int replicas, double lo, double hi, bool facts) =>
            new()
            {
                Api = "https://api.example/v2", Namespace = "alice", Name = "m", State = state, Replicas = replicas, Source = "read",
                Earliest = M(lo), Time = M(hi), Latest = M(hi), SentAt = facts ? M(hi).AddSeconds(-0.3) : null,
            };
        TimeSpan Billed(bool facts, EstimateStrategies s) => Assert.Single(CostModel.Summarize(
            [Seen("paused", 0, -600, 0, facts), Seen("running", 1, 10, 15, facts), Seen("scaledToZero", 0, 20, 40, facts)],
            T0, M(60), TimeSpan.Zero, s)).BilledTime;

        Assert.Equal(TimeSpan.FromMinutes(30 - 12.5), Billed(facts: true, EstimateStrategies.All));              // 12.5 to 30
        Assert.Equal(TimeSpan.FromMinutes(30 - 12.5), Billed(facts: true, EstimateStrategies.SightingMidpoint));
        Assert.Equal(TimeSpan.FromMinutes(40 - 15), Billed(facts: true, EstimateStrategies.None));               // at the sightings
        Assert.Equal(TimeSpan.FromMinutes(40 - 15), Billed(facts: false, EstimateStrategies.All));               // an older file
    }

    [Theory]
    // The last sighting of the state before (prev) inside the window: the middle counts from it (as the writer places a
    // replica count alone); the read lag below it widens the bounds only. Missing or outside the window: from its start.
    [InlineData(18.0, 29.0)]
    [InlineData(null, 28.0)]
    [InlineData(12.0, 28.0)]
    [InlineData(45.0, 28.0)]
    public void The_middle_counts_from_the_last_sighting_of_the_state_before(double? prev, double stopped)
    {
        // Running since this module's start at 0; seen scaled to zero at 40, its window from 16 (a sighting at 18, less the read lag).
        List<UsageEvent> records = [Record("action", "running", 1, 0, 0, 0), Record("read", "scaledToZero", 0, 16, 40, 40)];
        records[1].SentAt = M(40).AddSeconds(-0.3);
        records[1].PreviousSeen = prev is double p ? M(p) : null;

        var cost = Assert.Single(CostModel.Summarize(records, T0, M(60), TimeSpan.Zero, EstimateStrategies.All));

        Assert.Equal(TimeSpan.FromMinutes(stopped), cost.BilledTime);
        Assert.Equal((TimeSpan.FromMinutes(16), TimeSpan.FromMinutes(40)), (cost.BilledTimeLow, cost.BilledTimeHigh)); // the bounds never move
    }
}
