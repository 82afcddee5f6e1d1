namespace MertEndpoint.Tests;

/// <summary>
/// The billing streak the guard pauses on: its start as well as it is known (BilledSince), the latest it can have begun
/// (what the evidence proves), and how it is known. A first sighting dated back by the service's stamp alone proves
/// only the sighting.
/// </summary>
public class StreakTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);

    private static UsageEvent Seen(string state, double hours, double? earliestHours, double latestHours, string source = "read") => new()
    {
        Namespace = "a", Name = "e", State = state, Replicas = state is "running" or "initializing" or "updating" ? 1 : 0, Source = source,
        Time = T0.AddHours(hours), Earliest = earliestHours is double e ? T0.AddHours(e) : null, Latest = T0.AddHours(latestHours),
    };

    [Fact]
    public void A_first_sighting_dated_back_by_updatedAt_is_only_suggested_by_it_and_proves_the_sighting()
    {
        // Never seen before, read at 3:00, its updatedAt says 0:00.
        var cost = Assert.Single(UsageService.Summarize(new[] { Seen("running", 0, null, 3) }, DateTimeOffset.MinValue, T0.AddHours(3)));
        Assert.Equal(T0, cost.BilledSince);
        Assert.Equal(T0.AddHours(3), cost.BilledSinceLatest);
        Assert.Equal("updatedAt", cost.BilledSinceSource);
    }

    [Fact]
    public void A_change_seen_between_two_sightings_is_a_sighting_and_this_modules_start_an_action()
    {
        var seen = Assert.Single(UsageService.Summarize(new[] { Seen("paused", 0, null, 0), Seen("running", 1.1, 1, 1.25) },
            DateTimeOffset.MinValue, T0.AddHours(3)));
        Assert.Equal(("sighting", T0.AddHours(1.25)), (seen.BilledSinceSource, seen.BilledSinceLatest));
        var ours = Assert.Single(UsageService.Summarize(new[] { Seen("paused", 0, null, 0), Seen("initializing", 1, 1, 1, "action"), Seen("running", 1.1, 1.05, 1.1) },
            DateTimeOffset.MinValue, T0.AddHours(3)));
        Assert.Equal(("action", T0.AddHours(1)), (ours.BilledSinceSource, ours.BilledSinceLatest));
    }

    [Fact]
    public void An_update_carries_the_streak_on_and_a_pause_ends_it()
    {
        var updated = Assert.Single(UsageService.Summarize(new[] { Seen("running", 1, 0.9, 1, "action"), Seen("updating", 2, 1.9, 2, "action"), Seen("running", 2.1, 2, 2.1) },
            DateTimeOffset.MinValue, T0.AddHours(3)));
        Assert.Equal(T0.AddHours(1), updated.BilledSince);
        var paused = Assert.Single(UsageService.Summarize(new[] { Seen("running", 1, 0.9, 1, "action"), Seen("paused", 2, 1.9, 2, "action") },
            DateTimeOffset.MinValue, T0.AddHours(3)));
        Assert.Null(paused.BilledSince);
        Assert.Null(paused.BilledSinceLatest);
        Assert.Null(paused.BilledSinceSource);
    }
}
