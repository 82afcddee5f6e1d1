using System.Net;
using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

/// <summary>Replicas and the load rule, on a manual clock (boot 1 s; a minute is 0.5 s; one more replica above
/// 3 requests per replica in the last minute).</summary>
public class ReplicaTests
{
    static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    static async Task<(TestEmulator, ManualClock)> StartManual()
    {
        var clock = new ManualClock(Start);
        return (await StartAsync(clock, "--boot-seconds", "1", "--scale-up-requests", "3"), clock);
    }

    static Action<JsonObject> Scaling(int min, int max) => b => b["compute"]!["scaling"] = new JsonObject { ["minReplica"] = min, ["maxReplica"] = max };

    static (int Ready, int Target) Replicas(JsonObject e) => (e["status"]!["readyReplica"]!.GetValue<int>(), e["status"]!["targetReplica"]!.GetValue<int>());

    static async Task<List<JsonObject>> ReplicaList(TestEmulator emulator, string name)
    {
        using var response = await emulator.Client.GetAsync($"{EndpointPath(name)}/replica");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await ReadObject(response))["items"]!.AsArray().Select(r => r!.AsObject()).ToList();
    }

    static async Task Requests(TestEmulator emulator, string name, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await emulator.Client.GetAsync(emulator.DataUrl(name, "/health"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task UnderLoad_OneMoreReplicaBoots_ServesAndBills_ThenLeavesAfterAnIdleMinute()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("busy", Scaling(1, 2));
        clock.Advance(1); // running at 1.0
        Assert.Equal((1, 1), Replicas(await emulator.GetAsync("busy")));

        await Requests(emulator, "busy", 3); // 3 per replica: at the threshold, not above
        Assert.Equal((1, 1), Replicas(await emulator.GetAsync("busy")));
        await Requests(emulator, "busy", 1);
        Assert.Equal((1, 2), Replicas(await emulator.GetAsync("busy"))); // the second replica boots (0.8 s)
        var replicas = await ReplicaList(emulator, "busy");
        Assert.Equal(["running", "initializing"], replicas.Select(r => r["state"]!.GetValue<string>()));
        Assert.Equal("2026-11-26T12:00:01.000000000Z", replicas[1]["startedAt"]!.GetValue<string>());
        Assert.All(replicas, r => Assert.StartsWith("busy-", r["id"]!.GetValue<string>()));

        clock.Advance(0.4);
        await Requests(emulator, "busy", 1); // load goes on: no idle minute yet
        Assert.Equal((1, 2), Replicas(await emulator.GetAsync("busy")));
        clock.Advance(0.4);
        Assert.Equal((2, 2), Replicas(await emulator.GetAsync("busy")));
        Assert.Equal("2026-11-26T12:00:01.800000000Z", (await ReplicaList(emulator, "busy"))[1]["readyAt"]!.GetValue<string>());
        await Requests(emulator, "busy", 4); // round robin over both: two access lines each
        foreach (var replica in replicas)
            Assert.Equal(2, (await emulator.LogsAsync("busy", $"?replica={replica["id"]}&from={((Start.ToUnixTimeMilliseconds() + 1800) / 1000.0).ToString(System.Globalization.CultureInfo.InvariantCulture)}"))
                .Count(l => l.Contains("\"GET /health HTTP/1.1\" 200")));

        // One service minute (0.5 s) after the last request the extra replica stops.
        clock.Advance(0.4999999);
        Assert.Equal((2, 2), Replicas(await emulator.GetAsync("busy")));
        clock.Advance(0.0000001);
        Assert.Equal((1, 1), Replicas(await emulator.GetAsync("busy")));
        Assert.Equal([replicas[0]["id"]!.GetValue<string>()], (await ReplicaList(emulator, "busy")).Select(r => r["id"]!.GetValue<string>()));
        Assert.Contains("INFO:     Shutting down", (await emulator.LogsAsync("busy", $"?replica={replicas[1]["id"]}"))[^2]);

        // Billed: 0.8 s initializing and 1.3 s running for the first replica, 1.3 s for the second (booting included).
        clock.Advance(1);
        Assert.Equal(0.8 + 1.3 + 1.3 + 1, (await emulator.BillingFor("busy"))["billedSeconds"]!.GetValue<double>(), 6);
    }

    [Fact]
    public async Task MaxReplicaOne_NeverScales_AndPauseStopsEveryReplica()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("single", Scaling(1, 1));
        await emulator.CreateAsync("pair", Scaling(0, 3));
        clock.Advance(1);
        await Requests(emulator, "single", 10);
        Assert.Equal((1, 1), Replicas(await emulator.GetAsync("single")));
        await Requests(emulator, "pair", 7); // above 3 and above 6: two more replicas, one per crossing
        Assert.Equal((1, 3), Replicas(await emulator.GetAsync("pair")));

        Assert.Equal((0, 0), Replicas(await emulator.ActAsync("pair", "pause")));
        Assert.Empty(await ReplicaList(emulator, "pair"));
        clock.Advance(10);
        Assert.Equal(0.8 + 0 /* replicas stopped at once */, (await emulator.BillingFor("pair"))["billedSeconds"]!.GetValue<double>(), 6);
    }

    [Fact]
    public async Task ReplicaRoute_FollowsTheBoot_AndA404ForAnUnknownEndpoint()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("phases", Scaling(2, 2));
        Assert.Equal(["pending", "pending"], (await ReplicaList(emulator, "phases")).Select(r => r["state"]!.GetValue<string>()));
        clock.Advance(0.2);
        Assert.Equal(["initializing", "initializing"], (await ReplicaList(emulator, "phases")).Select(r => r["state"]!.GetValue<string>()));
        clock.Advance(0.8);
        var running = await ReplicaList(emulator, "phases");
        Assert.Equal(["running", "running"], running.Select(r => r["state"]!.GetValue<string>()));
        Assert.Equal(2, running.Select(r => r["id"]!.GetValue<string>()).Distinct().Count());

        // A resume starts new replicas.
        await emulator.ActAsync("phases", "pause");
        await emulator.ActAsync("phases", "resume");
        Assert.Empty((await ReplicaList(emulator, "phases")).Select(r => r["id"]!.GetValue<string>()).Intersect(running.Select(r => r["id"]!.GetValue<string>())));

        using var missing = await emulator.Client.GetAsync($"{EndpointPath("nobody")}/replica");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task FollowingOneReplica_EndsWhenTheLoadRuleStopsIt()
    {
        var (emulator, clock) = await StartManual();
        await using var _ = emulator;
        await emulator.CreateAsync("burst", Scaling(1, 2));
        clock.Advance(1);
        await Requests(emulator, "burst", 4);
        var extra = (await ReplicaList(emulator, "burst"))[1]["id"]!.GetValue<string>();
        using var response = await emulator.Client.GetAsync($"{EndpointPath("burst")}/logs?follow=true&replica={extra}", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Contains($"Pulling image someone/mert-inference:latest for replica {extra}", await reader.ReadLineAsync());

        clock.Advance(0.5); // one idle minute: the extra replica (still booting) stops
        var rest = await reader.ReadToEndAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.EndsWith("INFO:     Finished server process [1]\n", rest);
        Assert.Equal((1, 1), Replicas(await emulator.GetAsync("burst")));
    }
}
