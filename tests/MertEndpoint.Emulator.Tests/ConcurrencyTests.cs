using System.Net;
using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

/// <summary>Many parallel clients: no lost update, no torn read, no double create.</summary>
public class ConcurrencyTests
{
    [Fact]
    public async Task ParallelCreatesOfOneName_ExactlyOneWins()
    {
        await using var emulator = await StartAsync();
        var statuses = await Task.WhenAll(Enumerable.Range(0, 24).Select(async _ =>
        {
            using var response = await emulator.Client.PostAsync("/v2/endpoint/emulator-user", Json(CreateBody("race")));
            return response.StatusCode;
        }));
        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.Accepted));
        Assert.Equal(23, statuses.Count(s => s == HttpStatusCode.Conflict));

        await Task.WhenAll(Enumerable.Range(0, 30).Select(i => emulator.CreateAsync($"many-{i}")));
        var names = JsonNode.Parse(await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"))!["items"]!.AsArray()
            .Select(e => e!["name"]!.GetValue<string>()).ToHashSet();
        Assert.Equal(31, names.Count);
    }

    [Fact]
    public async Task ParallelPartialUpdatesOfDifferentFields_AreAllKept_AndReadsAreNeverTorn()
    {
        await using var emulator = await StartAsync();
        for (var round = 0; round < 5; round++)
        {
            var name = $"merge-{round}";
            await emulator.CreateAsync(name);
            string[] patches =
            [
                """{"compute": {"scaling": {"maxReplica": 4}}}""",
                """{"model": {"framework": "custom"}}""",
                """{"model": {"revision": "abc123"}}""",
                """{"model": {"env": {"NEW": "1"}}}""",
                """{"tags": ["t1", "t2"]}""",
                """{"type": "public"}""",
                """{"accountId": "acct"}""",
            ];
            var reads = Enumerable.Range(0, 20).Select(async _ =>
            {
                var e = await emulator.GetAsync(name);
                // A read sees each field either before or after its update, never a mix inside one object.
                var scaling = e["compute"]!["scaling"]!;
                Assert.Equal(0, scaling["minReplica"]!.GetValue<int>());
                Assert.Contains(scaling["maxReplica"]!.GetValue<int>(), new[] { 1, 4 });
                Assert.Equal("m-a-p/MERT-v1-95M", e["model"]!["repository"]!.GetValue<string>());
            });
            var writes = patches.Select(async patch =>
            {
                using var response = await emulator.Client.PutAsync(EndpointPath(name), Json(JsonNode.Parse(patch)!));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            });
            await Task.WhenAll(reads.Concat(writes));

            var final = await emulator.GetAsync(name);
            Assert.Equal(4, final["compute"]!["scaling"]!["maxReplica"]!.GetValue<int>());
            Assert.Equal("custom", final["model"]!["framework"]!.GetValue<string>());
            Assert.Equal("abc123", final["model"]!["revision"]!.GetValue<string>());
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"NEW": "1"}"""), final["model"]!["env"]));
            Assert.Equal(["t1", "t2"], final["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
            Assert.Equal("public", final["type"]!.GetValue<string>());
            Assert.Equal("acct", final["accountId"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ParallelDataPlaneRequests_AreAllCounted()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("counted", b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}"""));
        await emulator.WaitForStateAsync("counted", "running");
        const int requests = 300;
        var statuses = await Task.WhenAll(Enumerable.Range(0, requests).Select(async i =>
        {
            using var response = i % 2 == 0
                ? await emulator.Client.GetAsync(emulator.DataUrl("counted", "/health"))
                : await emulator.Client.PostAsync(emulator.DataUrl("counted"), new ByteArrayContent(BitConverter.GetBytes(i)));
            return response.StatusCode;
        }));
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        var metrics = await emulator.Client.GetStringAsync($"{EndpointPath("counted")}/open-metrics");
        Assert.Contains($$"""http_requests{replica_id="counted-emulator-0",status_code="200"} {{requests}}""", metrics);
        Assert.Equal(requests, (await emulator.AdminAsync("requests"))["requests"]!.AsArray().Count(r => r!["path"]!.GetValue<string>().StartsWith("/endpoints/")));
    }
}
