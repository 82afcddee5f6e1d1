using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

public sealed class UsageHistoryTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"mert-history-test-{Guid.NewGuid():n}.jsonl");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero));
    private const string Api = "https://api.example/v2";

    public void Dispose() => File.Delete(_path);

    private static EndpointInfo At(string state, DateTimeOffset updatedAt, int replicas = 1, string name = "mert")
    {
        using var doc = JsonDocument.Parse(Endpoint(name: name, state: state).Replace("2026-11-26T12:45:10.001Z", updatedAt.UtcDateTime.ToString("o")));
        var e = Json.ToEndpoint(doc.RootElement, Ns);
        e.TargetReplica = replicas;
        return e;
    }

    [Fact]
    public void Records_only_changes_dated_by_the_services_updatedAt()
    {
        var history = new UsageHistory(_path, _clock);
        var t0 = _clock.GetUtcNow();
        history.Observe(Api, At("initializing", t0));
        _clock.Advance(TimeSpan.FromSeconds(5));
        history.Observe(Api, At("initializing", t0));              // no change: not written
        history.Observe(Api, At("running", t0.AddSeconds(3)));     // stamped by the service 2 s ago
        _clock.Advance(TimeSpan.FromSeconds(10));
        history.Observe(Api, At("paused", t0.AddSeconds(15), replicas: 0));

        var events = history.Read();
        Assert.Equal(new[] { "initializing", "running", "paused" }, events.Select(e => e.State));
        Assert.Equal(new[] { t0, t0.AddSeconds(3), t0.AddSeconds(15) }, events.Select(e => e.Time));
        var cost = Assert.Single(UsageHistory.Summarize(events, t0.AddHours(-1), t0.AddHours(1)));
        Assert.Equal(TimeSpan.FromSeconds(15), cost.BilledTime);
        Assert.False(cost.CurrentlyBilling);
        Assert.DoesNotContain(Token, File.ReadAllText(_path));
    }

    [Fact]
    public void Skips_a_torn_line_and_keeps_what_follows()
    {
        var history = new UsageHistory(_path, _clock);
        history.Observe(Api, At("running", _clock.GetUtcNow()));
        File.AppendAllText(_path, "\n{\"t\":\"2026-11-27T08:00:01Z\",\"api\":\"ht");  // a process died mid-write
        _clock.Advance(TimeSpan.FromSeconds(4));
        new UsageHistory(_path, _clock).Observe(Api, At("paused", _clock.GetUtcNow(), replicas: 0));

        var events = new UsageHistory(_path, _clock).Read();
        Assert.Equal(new[] { "running", "paused" }, events.Select(e => e.State));
    }

    [Fact]
    public async Task Several_writers_at_once_lose_no_line()
    {
        // Separate instances stand for separate processes: each append takes an exclusive lock on the file.
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var history = new UsageHistory(_path, _clock);
            for (var i = 0; i < 100; i++)
                history.Observe(Api, At(i % 2 == 0 ? "running" : "paused", _clock.GetUtcNow(), name: $"w{w}"));
        }));
        await Task.WhenAll(writers);

        var events = new UsageHistory(_path, _clock).Read();
        Assert.Equal(400, events.Count);
        Assert.All(Enumerable.Range(0, 4), w => Assert.Equal(100, events.Count(e => e.Name == $"w{w}")));
    }

    [Fact]
    public void Summarize_counts_replicas_clips_the_period_and_keeps_the_streak_through_updates()
    {
        var t0 = new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);
        UsageEvent E(int seconds, string state, int replicas = 1) => new() { Time = t0.AddSeconds(seconds), Namespace = Ns, Name = "mert", State = state, Replicas = replicas };
        var events = new[] { E(0, "running", 2), E(100, "updating"), E(110, "running"), E(200, "paused", 0) };

        var whole = Assert.Single(UsageHistory.Summarize(events, t0, t0.AddSeconds(300)));
        Assert.Equal(TimeSpan.FromSeconds(100 * 2 + 90), whole.BilledTime);   // updating itself is not billed

        var clipped = Assert.Single(UsageHistory.Summarize(events, t0.AddSeconds(50), t0.AddSeconds(150)));
        Assert.Equal(TimeSpan.FromSeconds(50 * 2 + 40), clipped.BilledTime);

        var live = Assert.Single(UsageHistory.Summarize(events.Take(3), t0, t0.AddSeconds(300)));
        Assert.True(live.CurrentlyBilling);
        Assert.Equal(t0, live.BilledSince);                                     // the update did not restart the streak
    }
}
