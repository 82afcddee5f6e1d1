using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

public class ControlPlaneTests
{
    [Fact]
    public async Task Create_AnswersTheReferenceEndpointShape()
    {
        await using var emulator = await StartAsync();
        var body = CreateBody();
        body["model"]!["secrets"] = new JsonObject { ["HF_SECRET"] = "s3cr3t-value" };
        using var response = await emulator.Client.PostAsync("/v2/endpoint/emulator-user", Json(body));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var e = JsonNode.Parse(text)!.AsObject();

        Assert.Equal(["name", "type", "accountId", "provider", "healthRoute", "compute", "model", "tags", "status"], e.Select(p => p.Key));
        Assert.Equal("mert-spike6-inference", e["name"]!.GetValue<string>());
        Assert.Equal("authenticated", e["type"]!.GetValue<string>());
        Assert.Null(e["accountId"]);
        Assert.Equal("/health", e["healthRoute"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"vendor":"aws","region":"us-east-1"}"""), e["provider"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"accelerator":"gpu","instanceType":"nvidia-a10g","instanceSize":"x1","scaling":{"minReplica":0,"maxReplica":1,"scaleToZeroTimeout":15}}
            """), e["compute"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"repository":"m-a-p/MERT-v1-95M","revision":null,"task":"feature-extraction","framework":"pytorch",
             "image":{"custom":{"url":"someone/mert-inference:latest","healthRoute":"/health","port":8080}},"env":{"KEY":"value"}}
            """), e["model"]));
        Assert.Equal(["mert"], e["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.DoesNotContain("s3cr3t-value", text);

        var status = e["status"]!.AsObject();
        Assert.Equal(["createdAt", "createdBy", "updatedAt", "updatedBy", "private", "state", "message", "url", "readyReplica", "targetReplica"],
            status.Select(p => p.Key));
        Assert.Equal("emulator-user", status["createdBy"]!["name"]!.GetValue<string>());
        Assert.Equal("emulator-user", status["updatedBy"]!["name"]!.GetValue<string>());
        Assert.Null(status["private"]);
        Assert.Equal("pending", status["state"]!.GetValue<string>());
        Assert.Equal("Endpoint waiting to be scheduled", status["message"]!.GetValue<string>());
        Assert.Null(status["url"]);
        Assert.Equal(0, status["readyReplica"]!.GetValue<int>());
        Assert.Equal(1, status["targetReplica"]!.GetValue<int>());
        foreach (var key in new[] { "createdAt", "updatedAt" })
        {
            var stamp = status[key]!.GetValue<string>();
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", stamp);
            var parsed = DateTimeOffset.ParseExact(stamp[..^3] + "Z", "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            Assert.InRange(DateTimeOffset.UtcNow - parsed, TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task Create_FillsDefaults_AcceptsHealthRouteSnakeCase_AndRedactsCredentials()
    {
        await using var emulator = await StartAsync();
        var e = await emulator.CreateAsync("snake", body =>
        {
            body.Remove("type");
            body["model"]!.AsObject().Remove("framework");
            body["compute"]!.AsObject().Remove("scaling");
            body["model"]!["image"] = JsonNode.Parse("""
                {"custom": {"url": "registry/x:1", "health_route": "/ping", "credentials": {"username": "bob", "password": "hunter2-pass"}}}
                """);
        });
        Assert.Equal("authenticated", e["type"]!.GetValue<string>());
        Assert.Equal("pytorch", e["model"]!["framework"]!.GetValue<string>());
        Assert.Equal(1, e["compute"]!["scaling"]!["minReplica"]!.GetValue<int>());
        Assert.Equal(1, e["compute"]!["scaling"]!["maxReplica"]!.GetValue<int>());
        Assert.Null(e["compute"]!["scaling"]!["scaleToZeroTimeout"]);
        Assert.Equal("/ping", e["healthRoute"]!.GetValue<string>());
        var custom = e["model"]!["image"]!["custom"]!;
        Assert.Equal("/ping", custom["healthRoute"]!.GetValue<string>());
        Assert.Equal(80, custom["port"]!.GetValue<int>());
        Assert.Equal("bob", custom["credentials"]!["username"]!.GetValue<string>());
        Assert.DoesNotContain("hunter2-pass", (await emulator.Client.GetStringAsync(EndpointPath("snake"))));
        Assert.DoesNotContain("hunter2-pass", (await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user")));

        var hub = await emulator.CreateAsync("hub-image", body => body["model"]!["image"] = JsonNode.Parse("""{"huggingface": {}}"""));
        Assert.Equal("/health", hub["healthRoute"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"huggingface": {}}"""), hub["model"]!["image"]));
    }

    [Fact]
    public async Task ListGetDelete_AndNameLimits()
    {
        await using var emulator = await StartAsync();
        Assert.Equal("""{"items":[]}""", await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"));
        var longest = new string('a', 31) + "9";
        await emulator.CreateAsync("first");
        await emulator.CreateAsync(longest);

        var items = JsonNode.Parse(await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"))!["items"]!.AsArray();
        Assert.Equal(["first", longest], items.Select(i => i!["name"]!.GetValue<string>()));
        Assert.Equal("first", (await emulator.GetAsync("first"))["name"]!.GetValue<string>());

        using var deleted = await emulator.Client.DeleteAsync(EndpointPath("first"));
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal("{}", await deleted.Content.ReadAsStringAsync());
        foreach (var response in new[] { await emulator.Client.GetAsync(EndpointPath("first")), await emulator.Client.DeleteAsync(EndpointPath("first")),
                     await emulator.Client.PostAsync($"{EndpointPath("first")}/pause", null) })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("Endpoint 'first' not found in namespace 'emulator-user'", (await ReadObject(response))["error"]!.GetValue<string>());
        }
        items = JsonNode.Parse(await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"))!["items"]!.AsArray();
        Assert.Equal([longest], items.Select(i => i!["name"]!.GetValue<string>()));

        // A deleted name can be used again.
        Assert.Equal("pending", State(await emulator.CreateAsync("first")));
    }

    [Fact]
    public async Task DuplicateName_Is409()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("twin");
        using var response = await emulator.Client.PostAsync("/v2/endpoint/emulator-user", Json(CreateBody("twin")));
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("An endpoint named 'twin' already exists in namespace 'emulator-user'", (await ReadObject(response))["error"]!.GetValue<string>());
        Assert.NotEmpty(response.Headers.GetValues("X-Error-Message").Single());
    }

    [Fact]
    public async Task Update_MergesPartialBodies_AndKeepsWhatWasNotSent()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("merge");
        await emulator.WaitForStateAsync("merge", "running");

        using var response = await emulator.Client.PutAsync(EndpointPath("merge"), Json(JsonNode.Parse("""{"compute": {"scaling": {"maxReplica": 3}}}""")!));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var e = await ReadObject(response);
        Assert.Equal("updating", State(e));
        var expected = CreateBody("merge");
        expected["compute"]!["scaling"]!["maxReplica"] = 3;
        foreach (var key in new[] { "compute", "provider", "type", "tags" }) Assert.True(JsonNode.DeepEquals(expected[key], e[key]), key);
        Assert.Equal("value", e["model"]!["env"]!["KEY"]!.GetValue<string>());
        Assert.Equal("someone/mert-inference:latest", e["model"]!["image"]!["custom"]!["url"]!.GetValue<string>());

        // env is a value: sent, it replaces the old map; the image is always sent whole.
        using var second = await emulator.Client.PutAsync(EndpointPath("merge"), Json(JsonNode.Parse("""
            {"model": {"env": {"OTHER": "1"}, "image": {"custom": {"url": "someone/mert:v2", "healthRoute": "/ready"}}}, "name": "merge"}
            """)!));
        e = await ReadObject(second);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"OTHER": "1"}"""), e["model"]!["env"]));
        Assert.Equal("/ready", e["healthRoute"]!.GetValue<string>());
        Assert.Equal("m-a-p/MERT-v1-95M", e["model"]!["repository"]!.GetValue<string>());
        Assert.Equal(3, e["compute"]!["scaling"]!["maxReplica"]!.GetValue<int>());
        Assert.Equal("running", State(await emulator.WaitForStateAsync("merge", "running")));

        // Sent nulls clear nullable fields, as they do on the service.
        using var third = await emulator.Client.PutAsync(EndpointPath("merge"), Json(JsonNode.Parse("""{"model": {"task": null}}""")!));
        Assert.Null((await ReadObject(third))["model"]!["task"]);
    }

    [Fact]
    public async Task Catalog_ListsPricesAndQuota()
    {
        await using var emulator = await StartAsync();
        var catalog = JsonNode.Parse(await emulator.Client.GetStringAsync("/v2/provider/emulator-user"))!;
        var aws = Assert.Single(catalog["vendors"]!.AsArray(), v => v!["name"]!.GetValue<string>() == "aws")!;
        var region = Assert.Single(aws["regions"]!.AsArray(), r => r!["name"]!.GetValue<string>() == "us-east-1")!;
        Assert.Equal("N. Virginia", region["label"]!.GetValue<string>());
        var computes = region["computes"]!.AsArray().Select(c => c!.AsObject()).ToList();
        double Price(string type, string size) =>
            computes.Single(c => c["instanceType"]!.GetValue<string>() == type && c["instanceSize"]!.GetValue<string>() == size)["pricePerHour"]!.GetValue<double>();

        Assert.Equal(1.00, Price("nvidia-a10g", "x1"));
        Assert.Equal(5.00, Price("nvidia-a10g", "x4"));
        Assert.Equal(0.50, Price("nvidia-t4", "x1"));
        Assert.Equal(0.80, Price("nvidia-l4", "x1"));
        Assert.Equal(1.80, Price("nvidia-l40s", "x1"));
        Assert.Equal(2.50, Price("nvidia-a100", "x1"));
        Assert.Equal(5.00, Price("nvidia-a100", "x2"));
        Assert.Equal(5.00, Price("nvidia-h200", "x1"));
        Assert.Equal(0.033, Price("intel-spr", "x1"));
        var a10g = computes.Single(c => c["id"]!.GetValue<string>() == "aws-us-east-1-nvidia-a10g-x1");
        foreach (var key in new[] { "accelerator", "numAccelerators", "numCpus", "memoryGb", "gpuMemoryGb", "architecture", "status", "quota" })
            Assert.NotNull(a10g[key]);
        Assert.Equal("gpu", a10g["accelerator"]!.GetValue<string>());
        Assert.Equal(0, a10g["quota"]!["usedAccelerators"]!.GetValue<int>());
        Assert.Equal("cpu", computes.First(c => c["instanceType"]!.GetValue<string>() == "intel-spr")["accelerator"]!.GetValue<string>());

        // Used accelerators: live and scaled-to-zero endpoints count, paused ones do not.
        async Task<int> Used() => JsonNode.Parse(await emulator.Client.GetStringAsync("/v2/provider/emulator-user"))!["vendors"]![0]!["regions"]![0]!["computes"]!
            .AsArray().Single(c => c!["id"]!.GetValue<string>() == "aws-us-east-1-nvidia-a10g-x1")!["quota"]!["usedAccelerators"]!.GetValue<int>();
        await emulator.CreateAsync("q1");
        await emulator.CreateAsync("q2", b => b["compute"]!["scaling"]!["maxReplica"] = 2);
        Assert.Equal(3, await Used());
        await emulator.ActAsync("q2", "pause");
        Assert.Equal(1, await Used());
        await emulator.ActAsync("q1", "scale-to-zero");
        Assert.Equal(1, await Used());
    }

    [Fact]
    public async Task OpenMetrics_CountsDataPlaneRequestsByStatus()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("metered", b => b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}"""));
        // The counters must equal what the clients were answered, status by status.
        var seen = new List<int>();
        async Task Get(string path)
        {
            using var r = await emulator.Client.GetAsync(emulator.DataUrl("metered", path));
            seen.Add((int)r.StatusCode);
        }
        await Get("/health"); // 503 while starting, or 200 if a busy machine let the short boot finish first
        await emulator.WaitForStateAsync("metered", "running");
        for (var i = 0; i < 3; i++) await Get("/health");
        await Get("/missing");
        Assert.Contains(404, seen);
        Assert.Contains(200, seen);

        using var response = await emulator.Client.GetAsync($"{EndpointPath("metered")}/open-metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/openmetrics-text", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("# TYPE http_requests counter", lines);
        foreach (var group in seen.GroupBy(s => s))
            Assert.True(lines.Contains($"http_requests{{replica_id=\"metered-emulator-0\",status_code=\"{group.Key}\"}} {group.Count()}"),
                $"expected {group.Count()} x {group.Key} in:\n{text}");
        Assert.Equal(seen.Distinct().Count(), lines.Count(l => l.StartsWith("http_requests{", StringComparison.Ordinal)));
        Assert.Equal("# EOF", lines[^1]);

        using var missing = await emulator.Client.GetAsync($"{EndpointPath("nope")}/open-metrics");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData("""{"huggingface": {}}""", "registry.internal.huggingface.tech/hf-endpoints/huggingface:latest")]
    [InlineData("""{"custom": {"url": "someone/mert:1", "healthRoute": "/health", "port": 8080}}""", "someone/mert:1")]
    [InlineData("""{"tgi": {"url": "ghcr.io/huggingface/text-generation-inference:3.0", "healthRoute": "/health", "port": 80, "maxBatchPrefillTokens": 4096}}""", "ghcr.io/huggingface/text-generation-inference:3.0")]
    [InlineData("""{"tei": {"url": "ghcr.io/huggingface/text-embeddings-inference:1.6", "healthRoute": "/health", "port": 80, "pooling": "cls"}}""", "ghcr.io/huggingface/text-embeddings-inference:1.6")]
    [InlineData("""{"vLLM": {"url": "vllm/vllm-openai:latest", "healthRoute": "/health", "port": 80}}""", "vllm/vllm-openai:latest")]
    [InlineData("""{"llamacpp": {"url": "ghcr.io/ggml-org/llama.cpp:server", "healthRoute": "/health", "port": 80, "modelPath": "model.gguf"}}""", "ghcr.io/ggml-org/llama.cpp:server")]
    [InlineData("""{"sGLang": {"url": "lmsysorg/sglang:latest", "healthRoute": "/health", "port": 80}}""", "lmsysorg/sglang:latest")]
    public async Task EveryImageKind_IsAcceptedOnCreateAndUpdate_Boots_AndIsPulledInTheLogs(string image, string pulled)
    {
        await using var emulator = await StartAsync();
        var created = await emulator.CreateAsync("kind", b => b["model"]!["image"] = JsonNode.Parse(image));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(image), created["model"]!["image"]), created["model"]!["image"]!.ToJsonString());
        await emulator.WaitForStateAsync("kind", "running");
        Assert.Equal(HttpStatusCode.OK, (await emulator.Client.GetAsync(emulator.DataUrl("kind", "/health"))).StatusCode);
        Assert.Contains(await emulator.LogsAsync("kind"), l => l.Contains($"Pulling image {pulled} "));

        // Updated to another kind, and back: the image is replaced whole.
        using (var update = await emulator.Client.PutAsync(EndpointPath("kind"), Json(JsonNode.Parse("""{"model": {"image": {"huggingface": {}}}}""")!)))
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"huggingface": {}}"""), (await ReadObject(update))["model"]!["image"]));
        using (var back = await emulator.Client.PutAsync(EndpointPath("kind"), Json(new JsonObject { ["model"] = new JsonObject { ["image"] = JsonNode.Parse(image) } })))
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(image), (await ReadObject(back))["model"]!["image"]));
        Assert.Equal("running", State(await emulator.WaitForStateAsync("kind", "running")));
    }

    [Fact]
    public async Task AnyImageKindWhoseUrlSaysFail_FailsToBoot()
    {
        await using var emulator = await StartAsync();
        await emulator.CreateAsync("bad-tgi", b => b["model"]!["image"] = JsonNode.Parse("""{"tgi": {"url": "ghcr.io/someone/tgi-will-fail:1"}}"""));
        await emulator.WaitForStateAsync("bad-tgi", "failed");
    }

    [Fact]
    public async Task List_UnderAPageSize_AnswersPagesLinkedByTheLinkHeader_EachEndpointOnce()
    {
        await using var emulator = await StartAsync("--list-page-size", "2");
        string[] names = ["e1", "e2", "e3", "e4", "e5"];
        foreach (var name in names) await emulator.CreateAsync(name);

        var listed = new List<string>();
        var pages = 0;
        string? next = $"/v2/endpoint/{User}";
        while (next != null)
        {
            using var response = await emulator.Client.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            pages++;
            var items = (await ReadObject(response))["items"]!.AsArray();
            listed.AddRange(items.Select(i => i!["name"]!.GetValue<string>()));
            next = response.Headers.TryGetValues("Link", out var links) ? links.Single() : null;
            if (next == null) Assert.Single(items);
            else
            {
                Assert.Equal(2, items.Count);
                Assert.Matches("^<http://127\\.0\\.0\\.1:\\d+/v2/endpoint/emulator-user\\?page=\\d>; rel=\"next\"$", next);
                next = new Uri(next[1..next.IndexOf('>')]).PathAndQuery;
            }
        }
        Assert.Equal(3, pages);
        Assert.Equal(names, listed);

        // Without the switch: one page, no Link (the documented answer).
        await using var whole = await StartAsync();
        foreach (var name in names) await whole.CreateAsync(name);
        using var all = await whole.Client.GetAsync($"/v2/endpoint/{User}");
        Assert.False(all.Headers.Contains("Link"));
        Assert.Equal(5, (await ReadObject(all))["items"]!.AsArray().Count);
    }
}
