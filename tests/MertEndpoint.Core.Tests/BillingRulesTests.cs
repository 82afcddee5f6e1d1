using System.Text.Json.Nodes;

namespace MertEndpoint.Tests;

/// <summary>The billing rules and the create defaults, each written once in Core.</summary>
public class BillingRulesTests
{
    [Fact]
    public void Only_initializing_running_and_updating_bill_by_status_and_by_the_service_word()
    {
        var billed = Enum.GetValues<EndpointStatus>().Where(BillingRules.Bills).ToList();
        Assert.Equal([EndpointStatus.Initializing, EndpointStatus.Updating, EndpointStatus.Running], billed);
        foreach (var word in new[] { "pending", "updateFailed", "paused", "failed", "scaledToZero", "", "someNewState" })
            Assert.False(BillingRules.Bills(word), word);
        Assert.True(BillingRules.Bills("initializing"));
        Assert.True(BillingRules.Bills("running"));
        Assert.True(BillingRules.Bills("updating"));
        Assert.True(new UsageEvent { State = "running" }.IsBilled);
        Assert.False(new UsageEvent { State = "paused" }.IsBilled);
    }

    [Fact]
    public void The_meter_the_service_describes_counts_initializing_and_running_only()
    {
        // hf-endpoints-api.md, "Billing": the estimate follows it; an update may bill (the upper bound and the streak count it).
        Assert.Equal([EndpointStatus.Initializing, EndpointStatus.Running], Enum.GetValues<EndpointStatus>().Where(BillingRules.Metered).ToList());
        Assert.False(BillingRules.Metered("updating"));
        Assert.True(BillingRules.Metered("initializing"));
        Assert.All(Enum.GetValues<EndpointStatus>().Where(BillingRules.Metered), s => Assert.True(BillingRules.Bills(s)));
    }

    [Theory]
    [InlineData(true, 0, 1)]
    [InlineData(true, 1, 1)]
    [InlineData(true, 3, 3)]
    [InlineData(false, 3, 0)]
    public void A_billed_state_bills_every_replica_and_at_least_one(bool billed, int replicas, int rate) =>
        Assert.Equal(rate, BillingRules.BilledReplicas(billed, replicas));

    [Fact]
    public void Cost_is_the_price_per_replica_hour_times_replica_time()
    {
        Assert.Equal(1.5m, BillingRules.Cost(1.0m, TimeSpan.FromMinutes(90)));
        // Two replicas for half an hour bill as one replica-hour.
        var events = new[]
        {
            new UsageEvent { Namespace = "a", Name = "e", State = "running", Replicas = 2, Time = DateTimeOffset.UnixEpoch },
            new UsageEvent { Namespace = "a", Name = "e", State = "paused", Replicas = 0, Time = DateTimeOffset.UnixEpoch.AddMinutes(30) },
        };
        var cost = Assert.Single(UsageService.Summarize(events, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddHours(2)));
        Assert.Equal(TimeSpan.FromHours(1), cost.BilledTime);
        Assert.Equal(1.2m, BillingRules.Cost(1.2m, cost.BilledTime));
    }

    [Theory]
    [InlineData(0, 15, 15)]
    [InlineData(1, 15, null)]
    [InlineData(0, null, null)]
    public void A_scale_to_zero_timeout_goes_only_with_min_replicas_0(int min, int? timeout, int? sent)
    {
        Assert.Equal(sent, BillingRules.ScaleToZeroTimeoutFor(min, timeout));
        var body = JsonNode.Parse(Json.CreateBody(new EndpointCreateSpec { Name = "e", MinReplica = min, MaxReplica = 2, ScaleToZeroTimeout = timeout }))!;
        Assert.Equal(sent, (int?)body["compute"]!["scaling"]!["scaleToZeroTimeout"]);
    }

    [Fact]
    public void A_create_with_no_settings_sends_the_MertDefaults()
    {
        var body = JsonNode.Parse(Json.CreateBody(new EndpointCreateSpec { Name = "e" }))!;
        Assert.Equal(MertDefaults.Repository, (string?)body["model"]!["repository"]);
        Assert.Equal(MertDefaults.Framework, (string?)body["model"]!["framework"]);
        Assert.Equal(MertDefaults.Task, (string?)body["model"]!["task"]);
        Assert.Equal(MertDefaults.Vendor, (string?)body["provider"]!["vendor"]);
        Assert.Equal(MertDefaults.Region, (string?)body["provider"]!["region"]);
        Assert.Equal(MertDefaults.Accelerator, (string?)body["compute"]!["accelerator"]);
        Assert.Equal(MertDefaults.InstanceType, (string?)body["compute"]!["instanceType"]);
        Assert.Equal(MertDefaults.InstanceSize, (string?)body["compute"]!["instanceSize"]);
        Assert.Equal(MertDefaults.MinReplica, (int?)body["compute"]!["scaling"]!["minReplica"]);
        Assert.Equal(MertDefaults.MaxReplica, (int?)body["compute"]!["scaling"]!["maxReplica"]);
        Assert.Equal(MertDefaults.ScaleToZeroTimeout, (int?)body["compute"]!["scaling"]!["scaleToZeroTimeout"]);
        Assert.Equal(MertDefaults.Type, (string?)body["type"]);
        Assert.Equal(MertDefaults.Task, MertDefaults.TaskFor("M-A-P/mert-v1-95m"));
        Assert.Null(MertDefaults.TaskFor("someone/other-model"));
    }

    [Fact]
    public void A_replica_count_near_ints_limit_never_makes_the_billed_time_or_the_cost_negative()
    {
        // A reading of int.MaxValue replicas for two hours: 7.2e10 ticks × 2.1e9 does not fit in a long.
        var t0 = new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);
        var events = new[]
        {
            new UsageEvent { Namespace = "a", Name = "e", State = "paused", Replicas = 0, Time = t0.AddMinutes(-10) },
            new UsageEvent { Namespace = "a", Name = "e", State = "running", Replicas = int.MaxValue, Time = t0, Earliest = t0.AddMinutes(-1), Latest = t0.AddMinutes(1) },
            new UsageEvent { Namespace = "a", Name = "e", State = "running", Replicas = int.MaxValue - 1, Time = t0.AddHours(1) },
            new UsageEvent { Namespace = "a", Name = "e", State = "paused", Replicas = 0, Time = t0.AddHours(2), Earliest = t0.AddHours(2).AddMinutes(-1), Latest = t0.AddHours(2).AddMinutes(1) },
        };

        var cost = Assert.Single(UsageService.Summarize(events, t0.AddHours(-1), t0.AddHours(3)));

        Assert.True(cost.BilledTimeLow > TimeSpan.Zero, $"low {cost.BilledTimeLow}");
        Assert.True(cost.BilledTimeLow <= cost.BilledTime && cost.BilledTime <= cost.BilledTimeHigh, $"{cost.BilledTimeLow} {cost.BilledTime} {cost.BilledTimeHigh}");
        // Beyond what a TimeSpan holds (29,000 years), held at its largest value rather than wrapped round.
        Assert.Equal(TimeSpan.MaxValue, cost.BilledTimeHigh);
        Assert.True(BillingRules.Cost(5.0m, cost.BilledTimeHigh) > 0);
        Assert.True(BillingRules.Cost(5.0m, cost.BilledTimeLow) > 0);
    }

    [Fact]
    public void CostHigh_counts_each_started_minute_of_each_replicas_billed_interval_and_CostLow_exact_time()
    {
        // A service that bills per minute counts a started minute whole: the upper bound rounds each interval in which a
        // replica bills, from its start to its stop (an update in between does not stop it), up to whole minutes.
        var t0 = new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);
        UsageEvent E(string name, string state, double seconds, int replicas = 1, double? lo = null, double? hi = null) => new()
        {
            Namespace = "a", Name = name, State = state, Replicas = replicas, Time = t0.AddSeconds(seconds),
            Earliest = t0.AddSeconds(lo ?? seconds), Latest = t0.AddSeconds(hi ?? seconds),
        };
        var events = new[]
        {
            // Two replicas seen from 10 s (started in 8..12), one from 70 s (the second stopped in 65..75), paused at 100..101.
            E("two", "paused", 0, 0), E("two", "running", 10, 2, 8, 12), E("two", "running", 70, 1, 65, 75), E("two", "paused", 100.5, 0, 100, 101),
            // One replica through an update: one interval of 100 s, not three.
            E("upd", "running", 0), E("upd", "updating", 50), E("upd", "running", 60), E("upd", "paused", 100, 0),
            // Exactly a minute, and a second more.
            E("min", "running", 0), E("min", "paused", 60, 0),
            E("more", "running", 0), E("more", "paused", 61, 0),
        };

        var costs = UsageService.Summarize(events, t0, t0.AddHours(1)).ToDictionary(c => c.Name);

        Assert.Equal(TimeSpan.FromMinutes(1), BillingRules.HighGranularity);

        // The first replica 8..101 s (93 s: 2 min), the second 8..75 s (67 s: 2 min).
        Assert.Equal(TimeSpan.FromMinutes(4), costs["two"].BilledTimeHigh);
        Assert.Equal(TimeSpan.FromSeconds(88 + 53), costs["two"].BilledTimeLow);   // 12..100 and 12..65: exact
        Assert.Equal(TimeSpan.FromMinutes(2), costs["upd"].BilledTimeHigh);
        Assert.Equal(TimeSpan.FromSeconds(90), costs["upd"].BilledTimeLow);        // the update is not on the meter the service describes
        Assert.Equal(TimeSpan.FromSeconds(90), costs["upd"].BilledTime);
        Assert.Equal(TimeSpan.FromMinutes(1), costs["min"].BilledTimeHigh);
        Assert.Equal(TimeSpan.FromMinutes(2), costs["more"].BilledTimeHigh);
        Assert.Equal(TimeSpan.FromSeconds(61), costs["more"].BilledTimeLow);
        // Still billing at the end of the period: the minute it is in counts whole.
        var live = Assert.Single(UsageService.Summarize(new[] { E("live", "running", 0) }, t0, t0.AddSeconds(90)));
        Assert.Equal(TimeSpan.FromMinutes(2), live.BilledTimeHigh);
        Assert.Equal(TimeSpan.FromSeconds(90), live.BilledTime);
    }
}
