using System.Text.Json;
using System.Text.Json.Nodes;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

public class JsonTests
{
    private static EndpointInfo Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return Json.ToEndpoint(doc.RootElement, Ns);
    }

    [Fact]
    public void Reads_the_documented_endpoint()
    {
        var e = Parse(Endpoint());

        Assert.Equal(("mert", "alice", EndpointStatus.Running, "running"), (e.Name, e.Namespace, e.Status, e.StatusText));
        Assert.Equal("https://x.endpoints.huggingface.cloud", e.Url);
        Assert.Equal(("aws", "us-east-1", "gpu", "nvidia-a10g", "x1"), (e.Vendor, e.Region, e.Accelerator, e.InstanceType, e.InstanceSize));
        Assert.Equal((0, 1, (int?)15, 1, 1), (e.MinReplica, e.MaxReplica, e.ScaleToZeroTimeout, e.ReadyReplica, e.TargetReplica));
        Assert.Equal(("custom", "someone/mert:latest", "/health"), (e.ImageKind, e.ImageUrl, e.HealthRoute));
        Assert.Equal("1", e.Env["A"]);
        Assert.Equal("alice/mert", e.ToString());
    }

    [Fact]
    public void Nine_fractional_digits_are_parsed()
    {
        var e = Parse(Endpoint());

        Assert.Equal(new DateTimeOffset(2026, 11, 26, 12, 41, 53, TimeSpan.Zero).AddTicks(2630785), e.CreatedAt);
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 12, 45, 10, 1, TimeSpan.Zero), e.UpdatedAt);
        Assert.Equal(TimeSpan.Zero, e.CreatedAt.Offset);
    }

    [Theory]
    [InlineData("2023-10-26T12:41:53Z", 0L)]
    [InlineData("2023-10-26T12:41:53.5Z", 5_000_000L)]
    [InlineData("2023-10-26T12:41:53.123456789+00:00", 1_234_567L)]
    public void Timestamps_with_any_precision(string text, long ticks)
    {
        Assert.Equal(new DateTimeOffset(2023, 10, 26, 12, 41, 53, TimeSpan.Zero).AddTicks(ticks), Json.Timestamp(text));
    }

    [Fact]
    public void Unknown_state_is_kept_raw()
    {
        var e = Parse(Endpoint(state: "hibernating"));

        Assert.Equal(EndpointStatus.Unknown, e.Status);
        Assert.Equal("hibernating", e.StatusText);
    }

    [Fact]
    public void Unknown_fields_and_wrong_types_do_not_fail()
    {
        var json = JsonNode.Parse(Endpoint())!.AsObject();
        json["brandNew"] = new JsonObject { ["nested"] = new JsonArray(1, 2) };
        json["compute"]!["scaling"]!["minReplica"] = "2";   // string instead of number
        json["compute"]!["scaling"]!["maxReplica"] = true;  // nonsense
        json["tags"] = "not-an-array";
        json["model"]!["env"] = new JsonArray();
        json["status"]!["createdAt"] = 12345;
        json["status"]!["unexpected"] = null;

        var e = Parse(json.ToJsonString());

        Assert.Equal(2, e.MinReplica);
        Assert.Equal(0, e.MaxReplica);
        Assert.Empty(e.Tags);
        Assert.Empty(e.Env);
        Assert.Equal(DateTimeOffset.MinValue, e.CreatedAt);
        Assert.Equal(EndpointStatus.Running, e.Status);
    }

    [Fact]
    public void Duplicate_env_keys_keep_the_last_value()
    {
        var e = Parse(Endpoint().Replace("\"env\": {\"A\": \"1\"}", "\"env\": {\"A\": \"1\", \"A\": 2}"));
        Assert.Equal("2", e.Env["A"]);
    }

    [Fact]
    public void Health_route_falls_back_to_the_image_then_the_default()
    {
        var json = JsonNode.Parse(Endpoint())!.AsObject();
        json["model"]!["image"] = JsonNode.Parse("""{"custom": {"url": "u", "health_route": "/ready"}}""");
        Assert.Equal("/ready", Parse(json.ToJsonString()).HealthRoute);

        json["healthRoute"] = "/top";
        Assert.Equal("/top", Parse(json.ToJsonString()).HealthRoute);

        json.Remove("healthRoute");
        json["model"]!["image"] = JsonNode.Parse("""{"huggingface": {}}""");
        var e = Parse(json.ToJsonString());
        Assert.Equal(("/health", "huggingface", (string?)null), (e.HealthRoute, e.ImageKind, e.ImageUrl));
    }

    [Fact]
    public async Task List_hardware_and_whoami_are_read()
    {
        var clock = new TestClock();
        var handler = new FakeHandler(clock, r => r.Path switch
        {
            "/v2/endpoint/alice" => Respond.Make(200, $$"""{"items": [{{Endpoint("a")}}, {{Endpoint("b", "paused", null)}}]}"""),
            "/v2/provider/alice" => Respond.Make(200, """
                {"vendors": [{"name": "aws", "status": "available", "regions": [
                  {"name": "us-east-1", "label": "N. Virginia", "status": "available", "computes": [
                    {"id": "aws-us-east-1-nvidia-a10g-x1", "accelerator": "gpu", "numAccelerators": 1, "numCpus": 6,
                     "memoryGb": 30.0, "gpuMemoryGb": 24, "instanceType": "nvidia-a10g", "instanceSize": "x1",
                     "architecture": "Nvidia A10G", "status": "available", "pricePerHour": 1.0,
                     "quota": {"maxAccelerators": 4, "usedAccelerators": 0}},
                    {"id": "cpu-only", "accelerator": "cpu", "numAccelerators": 0, "numCpus": 2, "memoryGb": 4,
                     "instanceType": "intel-spr", "instanceSize": "x1", "status": "available", "pricePerHour": 0.033}]}]}]}
                """),
            "/api/whoami-v2" => Respond.Make(200, """{"type": "user", "name": "alice", "orgs": [{"name": "lab"}], "extra": 1}"""),
            _ => Respond.Make(404),
        });
        var client = Client(clock, handler, token: "hf_json_" + Guid.NewGuid());

        var list = await client.ListAsync(Ns);
        var hardware = await client.GetHardwareAsync(Ns);
        var me = await client.WhoAmIAsync();

        Assert.Equal(["a", "b"], list.Select(e => e.Name));
        Assert.Equal(EndpointStatus.Paused, list[1].Status);
        Assert.Null(list[1].Url);
        var gpu = hardware[0];
        Assert.Equal(("aws", "us-east-1", "N. Virginia", "aws-us-east-1-nvidia-a10g-x1"), (gpu.Vendor, gpu.Region, gpu.RegionLabel, gpu.Id));
        Assert.Equal((1, 6, 30.0, (double?)24, (decimal?)1.0m, (int?)4, (int?)0),
            (gpu.NumAccelerators, gpu.NumCpus, gpu.MemoryGb, gpu.GpuMemoryGb, gpu.PricePerHour, gpu.QuotaMaxAccelerators, gpu.QuotaUsedAccelerators));
        Assert.Null(hardware[1].GpuMemoryGb);
        Assert.Equal(0.033m, hardware[1].PricePerHour);
        Assert.Equal(("alice", "user"), (me.Name, me.Type));
        Assert.Equal(["lab"], me.Orgs);
    }
}
