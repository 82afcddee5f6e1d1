using System.Net;
using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

/// <summary>States and billing on a manual clock (boot 1 s: 0.2 s pending, 0.8 s initializing; a minute
/// is 0.5 s), so transitions and bills are checked to the tick rather than within a tolerance.</summary>
public class ClockTests
{
    static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    static async Task<(TestEmulator, ManualClock)> StartManual()
    {
        var clock = new ManualClock(Start);
        return (await StartAsync(clock, "--boot-seconds", "1"), clock);
    }

    static string UpdatedAt(JsonObject e) => e["status"]!["updatedAt"]!.GetValue<string>();

    async Task<HttpStatusCode> Health(TestEmulator emulator, string name)
    {
        using var response = await emulator.Client.GetAsync(emulator.DataUrl(name, "/health"));
        return response.StatusCode;
    }

    [Fact]
    public async Task BootPhases_ChangeAtTheirExactInstants()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        var created = await emulator.CreateAsync("exact");
        Assert.Equal("2026-11-26T12:00:00.000000000Z", created["status"]!["createdAt"]!.GetValue<string>());

        clock.Advance(0.1999999);
        Assert.Equal("pending", State(await emulator.GetAsync("exact")));
        clock.Advance(0.0000001);
        var initializing = await emulator.GetAsync("exact");
        Assert.Equal("initializing", State(initializing));
        Assert.Equal("2026-11-26T12:00:00.200000000Z", UpdatedAt(initializing));

        clock.Advance(0.7999999);
        Assert.Equal("initializing", State(await emulator.GetAsync("exact")));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await Health(emulator, "exact"));
        clock.Advance(0.0000001);
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, "exact"));
        var running = await emulator.GetAsync("exact");
        Assert.Equal("running", State(running));
        Assert.Equal("2026-11-26T12:00:01.000000000Z", UpdatedAt(running));

        // Reading late still reports each transition at the instant it happened.
        await emulator.CreateAsync("late", b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}"""));
        clock.Advance(50);
        Assert.Equal("2026-11-26T12:00:02.000000000Z", UpdatedAt(await emulator.GetAsync("late")));
    }

    [Fact]
    public async Task IdleScaleToZero_HappensExactlyTimeoutMinutesAfterTheLastRequest()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("idle", b => b["compute"]!["scaling"]!["scaleToZeroTimeout"] = 4); // 4 × 0.5 s = 2 s
        clock.Advance(1); // running at 1.0
        clock.Advance(1.5);
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, "idle")); // a request at 2.5 restarts the idle timer
        clock.Advance(1.9999999);
        Assert.Equal("running", State(await emulator.GetAsync("idle")));
        clock.Advance(0.0000001);
        var scaled = await emulator.GetAsync("idle");
        Assert.Equal("scaledToZero", State(scaled));
        Assert.Equal("2026-11-26T12:00:04.500000000Z", UpdatedAt(scaled));

        // Billed: 0.8 s initializing + 3.5 s running, then nothing while scaled to zero.
        clock.Advance(100);
        var bill = await emulator.BillingFor("idle");
        Assert.Equal(4.3, bill["billedSeconds"]!.GetValue<double>());
        Assert.Equal(Math.Round(4.3 / 3600, 6), bill["cost"]!.GetValue<double>());
    }

    [Fact]
    public async Task MinReplicaZeroWithoutTimeout_IdlesAfterTheUiDefaultOf60Minutes()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("default-idle", b => b["compute"]!["scaling"]!.AsObject().Remove("scaleToZeroTimeout"));
        clock.Advance(1 + 29.9999999); // 60 minutes × 0.5 s
        Assert.Equal("running", State(await emulator.GetAsync("default-idle")));
        clock.Advance(0.0000001);
        Assert.Equal("scaledToZero", State(await emulator.GetAsync("default-idle")));
    }

    [Fact]
    public async Task Billing_CountsInitializingRunningAndUpdatingOnly_PerReplica_AtTheCatalogPrice()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("billed", b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}"""));
        await emulator.CreateAsync("pair", b =>
        {
            b["compute"]!["instanceType"] = "nvidia-t4";
            b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 2, "maxReplica": 2}""");
        });
        clock.Advance(1 + 2); // boot, then 2 s running
        await emulator.ActAsync("billed", "pause");
        clock.Advance(10); // paused: adds nothing
        var bill = await emulator.BillingFor("billed");
        Assert.Equal(2.8, bill["billedSeconds"]!.GetValue<double>());
        Assert.Equal(1.0, bill["pricePerHour"]!.GetValue<double>());
        Assert.Equal(Math.Round(2.8 / 3600, 6), bill["cost"]!.GetValue<double>());

        // Two replicas bill twice: (0.8 + 12) s × 2 at 0.50 USD/h.
        var pair = await emulator.BillingFor("pair");
        Assert.Equal(25.6, pair["billedSeconds"]!.GetValue<double>());
        Assert.Equal(0.5, pair["pricePerHour"]!.GetValue<double>());
        Assert.Equal(Math.Round(25.6 * 0.5 / 3600, 6), pair["cost"]!.GetValue<double>());

        // Resume: 0.2 s pending is free, then 0.8 s initializing and 1 s running are billed.
        await emulator.ActAsync("billed", "resume");
        clock.Advance(2);
        Assert.Equal(4.6, (await emulator.BillingFor("billed"))["billedSeconds"]!.GetValue<double>());
    }

    [Fact]
    public async Task Update_ServesNothingWhileUpdating_UsesThePriceOfEachSpan_AndUpdatingIsNotMetered()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("switch", b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}"""));
        clock.Advance(2); // 0.8 s initializing + 1 s running on an A10G (1.00/h)
        using (var response = await emulator.Client.PutAsync(EndpointPath("switch"), Json(JsonNode.Parse("""{"compute": {"instanceType": "nvidia-t4"}}""")!)))
            Assert.Equal("updating", State(await ReadObject(response)));
        clock.Advance(0.9999999);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await Health(emulator, "switch"));
        Assert.Equal("updating", State(await emulator.GetAsync("switch")));
        clock.Advance(0.0000001);
        Assert.Equal(HttpStatusCode.OK, await Health(emulator, "switch"));
        clock.Advance(1); // 1 s updating (not metered: the service meters initializing and running), then 1 s running on a T4 (0.50/h)
        var bill = await emulator.BillingFor("switch");
        Assert.Equal(2.8, bill["billedSeconds"]!.GetValue<double>());
        Assert.Equal(0.5, bill["pricePerHour"]!.GetValue<double>());
        Assert.Equal(Math.Round((1.8 * 1.0 + 1.0 * 0.5) / 3600, 6), bill["cost"]!.GetValue<double>());
    }

    [Fact]
    public async Task DeletedEndpoints_KeepTheirBill()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("gone", b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}"""));
        clock.Advance(3);
        (await emulator.Client.DeleteAsync(EndpointPath("gone"))).Dispose();
        clock.Advance(10);
        await emulator.CreateAsync("gone");
        clock.Advance(0.5);

        var rows = (await emulator.AdminAsync("billing"))["endpoints"]!.AsArray();
        Assert.Equal(2, rows.Count);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"namespace": "emulator-user", "name": "gone", "billedSeconds": 2.8, "pricePerHour": 1.0, "cost": 0.000778, "deleted": true}
            """), rows[0]));
        Assert.Equal(0.3, rows[1]!["billedSeconds"]!.GetValue<double>());
        Assert.False(rows[1]!["deleted"]!.GetValue<bool>());
    }
    [Fact]
    public async Task Changes_ListEveryTrueChangeAtItsExactInstant_TheDeletionIncluded()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("truth");
        clock.Advance(3);
        await emulator.GetAsync("truth"); // a read changes nothing
        await emulator.ActAsync("truth", "pause");
        clock.Advance(1);
        await emulator.ActAsync("truth", "resume");
        clock.Advance(2);
        (await emulator.Client.DeleteAsync(EndpointPath("truth"))).Dispose();
        clock.Advance(5);

        var row = Assert.Single((await emulator.AdminAsync("changes"))["endpoints"]!.AsArray())!;
        Assert.Equal(("emulator-user", "truth", true), (row["namespace"]!.GetValue<string>(), row["name"]!.GetValue<string>(), row["deleted"]!.GetValue<bool>()));
        Assert.Equal(new[]
        {
            "12:00:00.000 pending 1", "12:00:00.200 initializing 1", "12:00:01.000 running 1", "12:00:03.000 paused 0",
            "12:00:04.000 pending 1", "12:00:04.200 initializing 1", "12:00:05.000 running 1", "12:00:06.000 deleted 0",
        }, row["changes"]!.AsArray().Select(c => $"{DateTimeOffset.Parse(c!["time"]!.GetValue<string>()).UtcDateTime:HH:mm:ss.fff} {c["state"]} {c["replicas"]}"));
    }
}
