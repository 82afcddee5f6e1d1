using System.Text.Json;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

/// <summary>
/// Scale-ups only reads saw: the history records them where the reads place them, and a cost report (never the writer)
/// reads the replica list to place them at the new replicas' starts. The rule alone first, on tables (no file, no clock).
/// </summary>
public sealed class ScaleUpTests : IDisposable
{
    private const string Api = "https://api.example/v2";
    private readonly string _dir = Directory.CreateTempSubdirectory("mert-scaleup-test-").FullName;
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // A record: "state replicas time [earliest latest] source" in seconds after T0.
    private static UsageEvent R(string state, int replicas, double time, double? lo = null, double? hi = null, string source = "read") => new()
    {
        Api = Api, Namespace = Ns, Name = "m", State = state, Replicas = replicas, Time = T0.AddSeconds(time),
        Earliest = lo is double l ? T0.AddSeconds(l) : null, Latest = hi is double h ? T0.AddSeconds(h) : null, Source = source,
    };

    private static string Shape(IEnumerable<UsageEvent> events) =>
        string.Join(" | ", events.Select(e => $"{e.State} {e.Replicas} {(e.Time - T0).TotalSeconds:0.###} [{(e.Earliest - T0)?.TotalSeconds:0.###} {(e.Latest - T0)?.TotalSeconds:0.###}]"));

    public static TheoryData<string, UsageEvent[], double[], double, string> Rules => new()
    {
        {
            "one rise, its start inside the window: placed at the start, the window from there to the sighting",
            [R("running", 1, 0, null, null, "action"), R("running", 2, 15, 8, 20)], [0, 13], 0,
            "running 1 0 [ ] | running 2 13 [11 20]"
        },
        {
            "the service's clock 5 s ahead: its start read on ours",
            [R("running", 1, 0, null, null, "action"), R("running", 2, 15, 8, 20)], [5, 18], 5,
            "running 1 0 [ ] | running 2 13 [11 20]"
        },
        {
            "a rise by two, two starts inside: one record per replica, in order",
            [R("running", 1, 0, null, null, "action"), R("running", 3, 15, 8, 20)], [0, 16, 12], 0,
            "running 1 0 [ ] | running 2 12 [10 20] | running 3 16 [14 20]"
        },
        {
            "a rise by two, one start inside (one replica started and stopped unseen): kept as the read placed it",
            [R("running", 1, 0, null, null, "action"), R("running", 3, 15, 8, 20)], [0, 12], 0,
            "running 1 0 [ ] | running 3 15 [8 20]"
        },
        {
            "no start inside (a list lagging behind): kept",
            [R("running", 1, 0, null, null, "action"), R("running", 2, 15, 8, 20)], [0, -60], 0,
            "running 1 0 [ ] | running 2 15 [8 20]"
        },
        {
            "a start just outside the window, within the clocks' spread: placed at the window's edge",
            [R("running", 1, 0, null, null, "action"), R("running", 2, 15, 8, 20)], [0, 21], 0,
            "running 1 0 [ ] | running 2 20 [18 20]"
        },
        {
            "a change of state is no scale-up, whatever the list says",
            [R("initializing", 1, 0, null, null, "action"), R("running", 2, 15, 8, 20)], [0, 13], 0,
            "initializing 1 0 [ ] | running 2 15 [8 20]"
        },
        {
            "a rise this module caused (an action's answer) is dated by the action, not the list",
            [R("running", 1, 0, null, null, "action"), R("running", 2, 15, 14, 16, "action")], [0, 13], 0,
            "running 1 0 [ ] | running 2 15 [14 16]"
        },
        {
            "each start dates one rise only: the second rise's window holds the first's start too",
            [R("running", 1, 0, null, null, "action"), R("running", 2, 15, 8, 20), R("running", 3, 25, 18, 30)], [0, 19, 26], 0,
            "running 1 0 [ ] | running 2 19 [17 20] | running 3 26 [24 30]"
        },
        {
            "a start at or after the next record (stamped inside the window) contradicts the records: kept",
            [R("running", 1, 0, null, null, "action"), R("running", 2, 15, 8, 20), R("paused", 0, 17, 16, 17, "action")], [0, 19], 0,
            "running 1 0 [ ] | running 2 15 [8 20] | paused 0 17 [16 17]"
        },
        {
            "absurd starts (year 1, year 9999) are not times",
            [R("running", 1, 0, null, null, "action"), R("running", 2, 15, 8, 20)], [0, -63_000_000_000, 250_000_000_000], 0,
            "running 1 0 [ ] | running 2 15 [8 20]"
        },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void A_seen_rise_is_placed_at_its_replicas_starts_only_when_they_account_for_it(string why, UsageEvent[] records, double[] starts,
        double serviceAhead, string expected)
    {
        var given = Shape(records);
        var startTimes = starts.Select(s => s < -1e9 ? DateTimeOffset.MinValue.AddSeconds(1) : s > 1e9 ? DateTimeOffset.MaxValue.AddSeconds(-1) : T0.AddSeconds(s)).ToArray();

        var dated = ScaleUps.Dated(records, startTimes, TimeSpan.FromSeconds(serviceAhead), TimeSpan.FromSeconds(2));

        Assert.True(expected == Shape(dated), $"{why}\nexpected {expected}\nactual   {Shape(dated)}");
        Assert.Equal(given, Shape(records)); // the records given (the history's own) are never changed
        // Never outside the window the reads gave: the bounds can only narrow.
        var exact = Assert.Single(UsageService.Summarize(records, T0, T0.AddMinutes(1), TimeSpan.Zero));
        var refined = Assert.Single(UsageService.Summarize(dated, T0, T0.AddMinutes(1), TimeSpan.Zero));
        Assert.InRange(refined.BilledTimeLow, exact.BilledTimeLow, exact.BilledTimeHigh);
        Assert.InRange(refined.BilledTimeHigh, exact.BilledTimeLow, exact.BilledTimeHigh);
        Assert.InRange(refined.BilledTime, exact.BilledTimeLow, exact.BilledTimeHigh);
    }

    public static TheoryData<string, UsageEvent[], bool> Asking => new()
    {
        { "still at two replicas since a seen rise", [R("running", 1, 0), R("running", 2, 15, 8, 20)], true },
        { "back to one replica: the rise's replica has stopped", [R("running", 1, 0), R("running", 2, 15, 8, 20), R("running", 1, 30, 25, 35)], false },
        { "down from three to two since the rise: the list may no longer show its replicas", [R("running", 1, 0), R("running", 3, 15, 8, 20), R("running", 2, 30, 25, 35)], false },
        { "paused since", [R("running", 1, 0), R("running", 2, 15, 8, 20), R("paused", 0, 30, 25, 35)], false },
        { "two replicas from the start, no rise seen", [R("running", 2, 0)], false },
        { "a rise this module caused", [R("running", 1, 0), R("running", 2, 15, 14, 16, "action")], false },
        { "a later rise on top of an earlier one", [R("running", 1, 0), R("running", 2, 15, 8, 20), R("running", 3, 30, 25, 35)], true },
    };

    [Theory]
    [MemberData(nameof(Asking))]
    public void A_replica_list_is_worth_reading_only_while_a_seen_rise_may_still_be_running(string why, UsageEvent[] records, bool worth) =>
        Assert.True(worth == ScaleUps.WorthAsking(records, T0), why);

    [Fact]
    public void A_rise_before_the_period_is_not_worth_a_request() =>
        Assert.False(ScaleUps.WorthAsking([R("running", 1, 0), R("running", 2, 15, 8, 20)], T0.AddSeconds(21)));

    private static EndpointInfo At(string name, int replicas)
    {
        using var doc = JsonDocument.Parse(Endpoint(name: name).Replace("2026-11-26T12:45:10.001Z", T0.UtcDateTime.ToString("o")));
        var e = Json.ToEndpoint(doc.RootElement, Ns);
        e.TargetReplica = replicas;
        return e;
    }

    private static string Listing(params (string Name, int Replicas)[] endpoints) =>
        "{\"items\": [" + string.Join(",", endpoints.Select(e => Endpoint(e.Name).Replace("\"targetReplica\": 1", $"\"targetReplica\": {e.Replicas}"))) + "]}";

    private static string Replicas(params DateTimeOffset[] starts) =>
        "[" + string.Join(",", starts.Select((s, i) => $$"""{"id": "r{{i}}", "state": "running", "startedAt": "{{s.UtcDateTime:o}}"}""")) + "]";

    private static HttpResponseMessage Route(Recorded r, Func<string, string?> replicas, string listing) =>
        r.Path == "/v2/endpoint/alice" ? Respond.Make(200, listing)
        : r.Path.EndsWith("/replica", StringComparison.Ordinal) && replicas(r.Path.Split('/')[^2]) is string body ? Respond.Make(200, body)
        : Respond.Make(404, Respond.Error("not here"));

    [Fact]
    public async Task The_cost_report_reads_the_replica_lists_it_needs_and_keeps_them_as_facts_the_writer_reads_none()
    {
        // a and b scale from one replica to two between sightings at 10 s and 20 s; c keeps one.
        var path = Path.Combine(_dir, "usage.jsonl");
        var usage = new UsageService(new UsageHistory(path));
        var observer = usage.ObserverFor(Lines.Failing());
        observer.Observe(new EndpointObservation(Api, Ns, ObservationKind.Action, [At("a", 1), At("b", 1), At("c", 1)], null, T0, T0));
        observer.Observe(new EndpointObservation(Api, Ns, ObservationKind.Read, [At("a", 1), At("b", 1), At("c", 1)], null, T0.AddSeconds(10), T0.AddSeconds(10)));
        observer.Observe(new EndpointObservation(Api, Ns, ObservationKind.Read, [At("a", 2), At("b", 2), At("c", 1)], null, T0.AddSeconds(20), T0.AddSeconds(20)));
        await usage.FlushAsync();
        var recorded = usage.History.Read().Where(e => e.Replicas == 2).ToDictionary(e => e.Name, e => e.Time);
        Assert.Equal(T0.AddSeconds(15), recorded["a"]); // the middle of the window between the sightings

        var clock = new TestClock(T0.AddSeconds(30));
        bool running = true; // the extra replicas still run at the first report, not at the second
        var handler = new FakeHandler(clock, r => Route(r, name => name switch
        {
            "a" => Replicas(running ? [T0, T0.AddSeconds(12)] : [T0]),
            "b" => Replicas(running ? [T0, T0.AddSeconds(17)] : [T0]),
            _ => null,
        }, Listing(("a", 2), ("b", 2), ("c", 1))));
        var said = new Lines();
        var client = Client(clock, handler).With(said);

        var costs = (await clock.Drive(usage.GetCostAsync(client, Ns, T0, T0.AddSeconds(30)))).ToDictionary(c => c.Name);

        Assert.Equal(["/v2/endpoint/alice/a/replica", "/v2/endpoint/alice/b/replica"],
            handler.Requests.Select(r => r.Path).Where(p => p.EndsWith("/replica", StringComparison.Ordinal)).Order());
        // a: one replica for 30 s and the second from 12 s; b from 17 s; c one replica throughout.
        Assert.InRange(costs["a"].BilledTime.TotalSeconds, 30 + 18 - 0.005, 30 + 18 + 0.005);
        Assert.InRange(costs["b"].BilledTime.TotalSeconds, 30 + 13 - 0.005, 30 + 13 + 0.005);
        Assert.Equal(TimeSpan.FromSeconds(30), costs["c"].BilledTime);
        Assert.Contains(said.Of("detail"), l => l.StartsWith("Read 2 of 2 replica list(s) in 'alice'", StringComparison.Ordinal));

        // Kept as facts beside the changes, which keep what the reads knew: a later report (the replicas gone, so nothing
        // left to read), and a fresh process reading the file, place the rises the same way without a request.
        var lines = File.ReadAllLines(path).Where(l => l.Contains("\"src\":\"replicas\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(T0.AddSeconds(15), usage.History.Read().First(e => e.Name == "a" && e.Replicas == 2).Time);
        running = false;
        int before = handler.Requests.Count;
        var later = (await clock.Drive(usage.GetCostAsync(client, Ns, T0, T0.AddSeconds(30)))).ToDictionary(c => c.Name);
        Assert.DoesNotContain(handler.Requests.Skip(before), r => r.Path.EndsWith("/replica", StringComparison.Ordinal));
        Assert.Equal(costs["a"].BilledTime, later["a"].BilledTime);
        var fresh = UsageService.Summarize(new UsageHistory(path).Read(), T0, T0.AddSeconds(30)).ToDictionary(c => c.Name);
        Assert.Equal(costs["b"].BilledTime, fresh["b"].BilledTime);
        Assert.Equal(costs["b"].BilledTimeLow, fresh["b"].BilledTimeLow);
        Assert.Equal(costs["b"].BilledTimeHigh, fresh["b"].BilledTimeHigh);
    }

    [Fact]
    public async Task On_a_machine_whose_clock_runs_ten_minutes_ahead_the_replica_list_places_the_rise_on_the_services_clock()
    {
        // The service's clock (its Date, the replicas' starts) says T0 when this machine's says T0 + 10 min. Reads at 0, 10
        // and 20 s (the service's) see one, one and two replicas; the second replica started at 12 s.
        var ahead = TimeSpan.FromMinutes(10);
        var path = Path.Combine(_dir, "usage.jsonl");
        var clock = new TestClock(T0 + ahead);
        var usage = new UsageService(new UsageHistory(path), clock);
        int replicas = 1;
        var handler = new FakeHandler(clock, r =>
        {
            HttpResponseMessage answer = Route(r, name => name == "a" ? Replicas(T0 - TimeSpan.FromHours(1), T0.AddSeconds(12)) : null, Listing(("a", replicas)));
            answer.Headers.Date = clock.GetUtcNow() - ahead;
            return answer;
        });
        var options = Options(clock, handler);
        var told = new Lines();
        options.Observer = usage.ObserverFor(told);
        var client = new EndpointClient(Token, options);
        foreach (var (at, count) in new[] { (0, 1), (10, 1), (20, 2) })
        {
            clock.Advance(T0 + ahead + TimeSpan.FromSeconds(at) - clock.GetUtcNow());
            replicas = count;
            await clock.Drive(client.ListAsync(Ns));
        }
        await usage.FlushAsync();

        clock.Advance(T0 + ahead + TimeSpan.FromSeconds(30) - clock.GetUtcNow());
        var cost = Assert.Single(await clock.Drive(usage.GetCostAsync(client, Ns, T0 + ahead, T0 + ahead + TimeSpan.FromSeconds(30))));

        // One replica for the 30 s, the second from its start at 12 s: 48 s. Taken 10 minutes off (the machine's clock), the
        // start would fall outside the rise's window and the rise would stay in the middle of it (45 s).
        Assert.Contains(handler.Requests, q => q.Path == "/v2/endpoint/alice/a/replica");
        Assert.InRange(cost.BilledTime.TotalSeconds, 48 - 0.01, 48 + 0.01);
        var list = Assert.Single(new UsageHistory(path).Read(), e => e.IsReplicaList);
        Assert.Equal(T0.AddSeconds(12), list.ReplicaStarts![1]);   // kept on the history's clock, the service's
        Assert.Equal(ahead, list.ClockOffset);                       // and how far ahead its writer's clock ran
        Assert.Contains(told.Of("warning"), w => w.Contains("about 10 min ahead"));
    }

    [Fact]
    public async Task A_command_that_sees_a_scale_up_reads_the_list_once_and_the_fact_survives_compaction()
    {
        var path = Path.Combine(_dir, "usage.jsonl");
        var clock = new TestClock(T0);
        var usage = new UsageService(new UsageHistory(path), clock);
        var replicaLists = 0;
        var handler = new FakeHandler(clock, r =>
        {
            if (r.Path.EndsWith("/replica", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref replicaLists);
                return Respond.Make(200, Replicas(T0, T0.AddSeconds(12)));
            }
            int replicas = clock.GetUtcNow() >= T0.AddSeconds(20) ? 2 : 1;
            return Respond.Make(200, Endpoint("a").Replace("\"targetReplica\": 1", $"\"targetReplica\": {replicas}"));
        });
        var said = new Lines();
        var options = Options(clock, handler);
        options.Observer = usage.ObserverFor(Lines.Failing());
        var client = new EndpointClient(Token, options).With(said);

        async Task<EndpointInfo> Get()
        {
            var seen = await clock.Drive(client.GetAsync(Ns, "a"));
            return Assert.Single(await clock.Drive(usage.WithBillingAsync(client, [seen], fetchPrices: false)));
        }

        await Get();                                   // one replica: nothing to read
        clock.Advance(TimeSpan.FromSeconds(10));
        await Get();
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, (await Get()).TargetReplica);  // the rise: its list read by this command
        clock.Advance(TimeSpan.FromSeconds(5));
        await Get();                                   // the same two replicas: nothing more to read
        await usage.FlushAsync();

        Assert.Equal(1, replicaLists);
        Assert.Contains(said.Of("detail"), l => l.StartsWith("Read 1 of 1 replica list(s) in 'alice' to place the scale-ups this command saw", StringComparison.Ordinal));
        var cost = Assert.Single(UsageService.Summarize(usage.History.Read(), T0, T0.AddSeconds(30), TimeSpan.Zero));
        Assert.InRange(cost.BilledTime.TotalSeconds, 30 + 18 - 0.01, 30 + 18 + 0.01); // the second replica from its start at 12 s

        // A compaction keeps the fact (it repeats the change before it, which a compaction otherwise drops).
        await usage.History.CompactAsync();
        var compacted = Assert.Single(UsageService.Summarize(new UsageHistory(path).Read(), T0, T0.AddSeconds(30), TimeSpan.Zero));
        Assert.Equal(cost.BilledTime, compacted.BilledTime);
        Assert.Equal(cost.BilledTimeLow, compacted.BilledTimeLow);
    }

    [Fact]
    public async Task A_replica_list_the_control_plane_refuses_is_not_read_again_and_the_report_stands()
    {
        var usage = new UsageService(new UsageHistory(Path.Combine(_dir, "usage.jsonl")));
        var observer = usage.ObserverFor(Lines.Failing());
        observer.Observe(new EndpointObservation(Api, Ns, ObservationKind.Read, [At("a", 1)], null, T0, T0));
        observer.Observe(new EndpointObservation(Api, Ns, ObservationKind.Read, [At("a", 2)], null, T0.AddSeconds(10), T0.AddSeconds(10)));
        await usage.FlushAsync();
        var clock = new TestClock(T0.AddSeconds(30));
        var handler = new FakeHandler(clock, r => r.Path switch
        {
            "/v2/endpoint/alice" => Respond.Make(200, Listing(("a", 2))),
            "/v2/endpoint/alice/a/replica" => Respond.Make(403, Respond.Error("no")),
            _ => Respond.Make(404, Respond.Error("not here")),
        });
        var client = Client(clock, handler);

        var first = Assert.Single(await clock.Drive(usage.GetCostAsync(client, Ns, T0, T0.AddSeconds(30))));
        var second = Assert.Single(await clock.Drive(usage.GetCostAsync(client, Ns, T0, T0.AddSeconds(30))));

        Assert.Single(handler.Requests, r => r.Path.EndsWith("/replica", StringComparison.Ordinal));
        Assert.InRange(first.BilledTime.TotalSeconds, 30 + 25 - 0.005, 30 + 25 + 0.005); // the rise where the read placed it (5 s)
        Assert.Equal(first.BilledTime, second.BilledTime);
    }
}
