using System.Text.Json;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

/// <summary>What the cost report says of an endpoint beyond its figures: still billing, since when, gone.</summary>
public sealed class CostReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mert-cost-test-").FullName;
    private readonly DateTimeOffset _t0 = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private UsageEvent Event(string name, string state, int minutes, int replicas = 1) => new()
    {
        Api = "https://api.example/v2", Namespace = Ns, Name = name, State = state, Replicas = replicas, Time = _t0.AddMinutes(minutes),
        InstanceType = "nvidia-a10g", InstanceSize = "x1",
    };

    [Fact]
    public void Billing_since_is_its_own_figure_and_only_an_endpoint_that_bills_has_it()
    {
        var costs = UsageService.Summarize(new[]
        {
            Event("on", "running", 0), Event("off", "running", 0), Event("off", "paused", 30, 0),
        }, _t0, _t0.AddHours(1)).ToDictionary(c => c.Name);

        Assert.True(costs["on"].CurrentlyBilling);
        Assert.Equal(_t0, costs["on"].BilledSince);
        Assert.False(costs["off"].CurrentlyBilling);
        Assert.Null(costs["off"].BilledSince);
        Assert.False(costs["on"].Deleted);
        Assert.False(costs["off"].Deleted);
    }

    [Fact]
    public void An_endpoint_whose_deletion_the_history_recorded_is_marked_deleted_and_not_billing()
    {
        var cost = Assert.Single(UsageService.Summarize(new[] { Event("gone", "running", 0), Event("gone", "deleted", 30, 0) },
            _t0, _t0.AddHours(1)));

        Assert.True(cost.Deleted);
        Assert.False(cost.CurrentlyBilling);
        Assert.Equal(TimeSpan.FromMinutes(30), cost.BilledTime);
    }

    [Fact]
    public void A_recreated_endpoint_of_the_same_name_is_not_deleted()
    {
        var cost = Assert.Single(UsageService.Summarize(new[]
        {
            Event("again", "running", 0), Event("again", "deleted", 10, 0), Event("again", "running", 20),
        }, _t0, _t0.AddHours(1)));

        Assert.False(cost.Deleted);
        Assert.True(cost.CurrentlyBilling);
    }

    [Fact]
    public async Task An_endpoint_the_listing_no_longer_has_is_marked_deleted_and_not_billing()
    {
        // Both were seen running; "gone" was then deleted from the web page, so no process recorded its deletion.
        var (usage, clock, client) = await SeenBothThenGone(_t0.AddHours(1));

        var costs = (await clock.Drive(usage.GetCostAsync(client, Ns, _t0.AddHours(-1), _t0.AddHours(1)))).ToDictionary(c => c.Name);

        Assert.True(costs["gone"].Deleted);
        Assert.False(costs["gone"].CurrentlyBilling);
        Assert.Null(costs["gone"].BilledSince);
        Assert.False(costs["kept"].Deleted);
        Assert.True(costs["kept"].CurrentlyBilling);

        // Its billing ended for good: a report two hours later does not count it on, and the history itself says it is gone.
        clock.Advance(TimeSpan.FromHours(2));
        var later = (await clock.Drive(usage.GetCostAsync(client, Ns, _t0.AddHours(-1), _t0.AddHours(3)))).ToDictionary(c => c.Name);
        Assert.True(later["gone"].Deleted);
        Assert.Equal(costs["gone"].BilledTime, later["gone"].BilledTime);
        Assert.True(later["gone"].BilledTimeHigh <= costs["gone"].BilledTimeHigh, $"{later["gone"].BilledTimeHigh} after {costs["gone"].BilledTimeHigh}");
        Assert.True(later["gone"].BilledTimeLow <= TimeSpan.FromSeconds(1), $"{later["gone"].BilledTimeLow}: it can have gone right after its sighting");
        Assert.Equal(TimeSpan.FromHours(4), later["kept"].BilledTime);   // the whole period: dated by its stamp, a day before
        var gone = Assert.Single(UsageService.Summarize(usage.History.Read(), _t0, _t0.AddHours(3)), c => c.Name == "gone");
        Assert.True(gone.Deleted);
    }

    [Theory]
    [InlineData("a listing")]
    [InlineData("a read of it")]
    public async Task Any_read_that_finds_an_endpoint_gone_ends_its_billing_but_not_within_10_s_of_its_last_record(string how)
    {
        // Seen running at _t0; deleted from the web page afterwards. A listing (the guard's, a Get of the namespace) or a
        // Get of the name (a 404) finds it gone: the history records it, between its last sighting and that read.
        var (usage, clock, client) = await SeenBothThenGone(_t0.AddSeconds(5));
        string path = usage.History.Path;
        async Task Look()
        {
            if (how == "a listing") await clock.Drive(client.ListAsync(Ns));
            else await Assert.ThrowsAsync<EndpointException>(() => clock.Drive(client.GetAsync(Ns, "gone")));
            await usage.FlushAsync();
        }

        await Look(); // 5 s after its last record: an eventually consistent service may not show it yet
        Assert.DoesNotContain(new UsageHistory(path).Read(), e => e.State == "deleted");

        clock.Advance(TimeSpan.FromMinutes(15));
        await Look();
        var deleted = Assert.Single(new UsageHistory(path).Read(), e => e.State == "deleted");
        Assert.Equal("gone", deleted.Name);
        Assert.Equal(_t0 - UsageHistory.ReadLag, deleted.Earliest); // since it was last seen (the read at 5 s could not tell)
        Assert.Equal(_t0.AddMinutes(15).AddSeconds(5), deleted.Latest);
        var cost = Assert.Single(UsageService.Summarize(new UsageHistory(path).Read(), _t0, _t0.AddHours(1)), c => c.Name == "gone");
        Assert.True(cost.Deleted);
        Assert.False(cost.CurrentlyBilling);
    }

    /// <summary>
    /// A history where "kept" and "gone" were seen running at _t0, and a service (on a clock at <paramref name="now"/>)
    /// whose listing has only "kept" and where "gone" answers 404: as a command's client, its observer the service's.
    /// </summary>
    private async Task<(UsageService Usage, TestClock Clock, EndpointClient Client)> SeenBothThenGone(DateTimeOffset now)
    {
        var usage = new UsageService(new UsageHistory(Path.Combine(_dir, "usage.jsonl")));
        using (var doc = JsonDocument.Parse($$"""{"items": [{{Endpoint("kept")}}, {{Endpoint("gone")}}]}"""))
        {
            var seen = doc.RootElement.GetProperty("items").EnumerateArray().Select(e => Json.ToEndpoint(e, Ns)).ToArray();
            usage.ObserverFor(Lines.Failing()).Observe(new EndpointObservation("https://api.example/v2", Ns, ObservationKind.Read, seen, null, _t0, _t0));
            await usage.FlushAsync();
        }
        var clock = new TestClock(now);
        var handler = new FakeHandler(clock, r => r.Path switch
        {
            "/v2/endpoint/alice" => Respond.Make(200, $$"""{"items": [{{Endpoint("kept")}}]}"""),
            _ => Respond.Make(404, Respond.Error("Endpoint not found")),
        });
        var options = Options(clock, handler);
        options.Observer = usage.ObserverFor(Lines.Failing());
        return (usage, clock, new EndpointClient(Token, options));
    }

    [Fact]
    public async Task A_read_shows_the_files_streaks_at_once_and_waits_only_for_an_endpoint_whose_reading_waits_unwritten()
    {
        // a and b bill, both in the file. A process that ended handed a reading of b to the spool; another process holds
        // the lock (a compaction, say) far longer than the read waits. a's streak is the file's, shown without waiting;
        // b's may have changed in that reading: waited for (StreakPatience), then the service's stamp.
        var usage = new UsageService(new UsageHistory(Path.Combine(_dir, "usage.jsonl"))) { StreakPatience = TimeSpan.FromMilliseconds(300) };
        using (var doc = JsonDocument.Parse($$"""{"items": [{{Endpoint("a")}}, {{Endpoint("b")}}]}"""))
        {
            var seen = doc.RootElement.GetProperty("items").EnumerateArray().Select(e => Json.ToEndpoint(e, Ns)).ToArray();
            usage.ObserverFor(Lines.Failing()).Observe(new EndpointObservation("https://api.example/v2", Ns, ObservationKind.Read, seen, null, _t0, _t0));
            await usage.FlushAsync();
            var b = seen[1];
            Assert.True(usage.History.TrySpool([new UsageHistory.Observed(
                new UsageEvent { Api = "https://api.example/v2", Namespace = Ns, Name = "b", State = b.StatusText, Replicas = b.TargetReplica },
                ObservationKind.Read, b.UpdatedAt, _t0.AddSeconds(30), _t0.AddSeconds(30))]));
        }
        var clock = new TestClock(_t0.AddMinutes(1));
        var handler = new FakeHandler(clock, r => Respond.Make(200, $$"""{"items": [{{Endpoint("a")}}, {{Endpoint("b")}}]}"""));
        var options = Options(clock, handler);
        options.Observer = usage.ObserverFor(new Lines());
        var client = new EndpointClient(Token, options);

        IReadOnlyList<EndpointInfo> shown;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using (new FileStream(usage.History.Path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var listed = await clock.Drive(client.ListAsync(Ns)); // its write waits for the lock
            shown = await usage.WithBillingAsync(client, listed, fetchPrices: false);
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"{watch.Elapsed}: it waited for the lock");

        var a = shown.Single(e => e.Name == "a");
        var b2 = shown.Single(e => e.Name == "b");
        Assert.NotNull(a.BilledSinceLatest);                       // the file's streak
        Assert.Equal(("updatedAt", (DateTimeOffset?)null, (DateTimeOffset?)b2.UpdatedAt), (b2.BilledSinceSource, b2.BilledSinceLatest, b2.BilledSince));
        await usage.FlushAsync();                                  // the lock free: the spool and the listing written
        Assert.Empty(Directory.GetFiles(usage.History.Path + ".pending", "*.jsonl"));
    }

    [Fact]
    public async Task On_a_machine_whose_clock_runs_ten_minutes_ahead_the_history_is_dated_on_the_services_clock_and_results_on_its_own()
    {
        // The service's clock says 8:00 (its Date); this machine's says 8:10. The endpoint runs since its stamp, 12:45:10
        // the day before (the service's clock).
        var ahead = TimeSpan.FromMinutes(10);
        var clock = new TestClock(_t0 + ahead);
        var usage = new UsageService(new UsageHistory(Path.Combine(_dir, "usage.jsonl")), clock);
        var handler = new FakeHandler(clock, r => r.Path switch
        {
            "/v2/endpoint/alice" => Respond.Make(200, $$"""{"items": [{{Endpoint("on")}}]}""", h => h.Date = clock.GetUtcNow() - ahead),
            _ => Respond.Make(404, Respond.Error("Endpoint not found"), h => h.Date = clock.GetUtcNow() - ahead),
        });
        var options = Options(clock, handler);
        var told = new Lines();
        options.Observer = usage.ObserverFor(told);
        var client = new EndpointClient(Token, options);
        var stamp = new DateTimeOffset(2026, 11, 26, 12, 45, 10, 1, TimeSpan.Zero);

        var listed = await clock.Drive(client.ListAsync(Ns));
        var shown = Assert.Single(await clock.Drive(usage.WithBillingAsync(client, listed, fetchPrices: false)));
        Assert.Equal(stamp + ahead, shown.BilledSince);   // on this machine's clock, which BilledFor counts with

        var record = Assert.Single(new UsageHistory(usage.History.Path).Read());
        Assert.Equal(_t0, record.Latest);   // on the service's clock (its Date, exact here), not this one

        var cost = Assert.Single(await clock.Drive(usage.GetCostAsync(client, Ns, _t0 + ahead - TimeSpan.FromHours(1), _t0 + ahead)));
        Assert.Equal((_t0 + ahead - TimeSpan.FromHours(1), _t0 + ahead), (cost.Since, cost.Until));   // the period as asked
        Assert.Equal(stamp + ahead, cost.BilledSince);
        Assert.Equal(TimeSpan.FromHours(1), cost.BilledTime);
        Assert.Contains(told.Of("warning"), w => w.Contains("about 10 min ahead"));

        // An open period (a caller of the library, not the cmdlet, which bounds it) is not pushed off the calendar.
        var all = Assert.Single(await clock.Drive(usage.GetCostAsync(client, Ns, DateTimeOffset.MinValue, DateTimeOffset.MaxValue)));
        Assert.Equal((DateTimeOffset.MinValue, DateTimeOffset.MaxValue), (all.Since, all.Until));
    }

    private UsageEvent Seconds(UsageEvent e, double time, double lo, double hi)
    {
        (e.Time, e.Earliest, e.Latest) = (_t0.AddSeconds(time), _t0.AddSeconds(lo), _t0.AddSeconds(hi));
        return e;
    }

    [Theory]
    // paused last seen at 18 s, an initializing nobody saw from 30 s, running stamped at 45 s and seen at 50 s, our pause 99..100 s
    [InlineData(18, 45, 50, 30, 99.5)]
    // the same with no stamp: dated at its sighting
    [InlineData(18, 50, 50, 30, 99.5)]
    // first seen running, its window back to its creation at 5 s
    [InlineData(5, 45, 50, 6, 99.5)]
    public void An_initializing_nobody_saw_widens_the_bounds_and_never_moves_the_estimate(double lo, double time, double hi, double meterFrom, double meterTo)
    {
        var events = new[]
        {
            Seconds(Event("e", "running", 0), time, lo, hi),
            Seconds(Event("e", "paused", 0, 0), 100, 99, 100),
        };
        var cost = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddHours(1)));
        var exact = Assert.Single(UsageService.Summarize(events, _t0, _t0.AddHours(1), TimeSpan.Zero));

        Assert.Equal(TimeSpan.FromSeconds(100 - time), cost.BilledTime);
        Assert.Equal(TimeSpan.FromSeconds(100 - lo), exact.BilledTimeHigh);
        Assert.Equal(TimeSpan.FromSeconds(99 - hi), exact.BilledTimeLow);
        Assert.InRange(TimeSpan.FromSeconds(meterTo - meterFrom), cost.BilledTimeLow, cost.BilledTimeHigh);
    }
}
