using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

/// <summary>Bad input gets the service's status and <c>{"error": ...}</c> body, never a 500.</summary>
public class ValidationTests
{
    static string Body(Action<JsonObject> change)
    {
        var body = CreateBody("valid-name");
        change(body);
        return body.ToJsonString();
    }

    static JsonObject Scaling(JsonObject b) => b["compute"]!["scaling"]!.AsObject();
    static JsonObject Custom(JsonObject b) => b["model"]!["image"]!["custom"]!.AsObject();
    const string InvalidName = "Invalid endpoint name";
    const string NotFound = "' not found";

    public static TheoryData<string, string, int, string> CreateCases => new()
    {
        { "uppercase name", Body(b => b["name"] = "Mert"), 400, InvalidName },
        { "33-character name", Body(b => b["name"] = new string('a', 33)), 400, InvalidName },
        { "leading dash", Body(b => b["name"] = "-mert"), 400, InvalidName },
        { "trailing dash", Body(b => b["name"] = "mert-"), 400, InvalidName },
        { "underscore", Body(b => b["name"] = "mert_x"), 400, InvalidName },
        { "dot", Body(b => b["name"] = "mert.x"), 400, InvalidName },
        { "empty name", Body(b => b["name"] = ""), 400, InvalidName },
        { "missing name", Body(b => b.Remove("name")), 400, "Missing required field 'name'" },
        { "null name", Body(b => b["name"] = null), 400, "Missing required field 'name'" },
        { "numeric name", Body(b => b["name"] = 5), 400, "Field 'name' must be a string" },
        { "timeout with minReplica 1", Body(b => Scaling(b)["minReplica"] = 1), 400, "scaleToZeroTimeout can only be set when minReplica is 0" },
        { "zero timeout", Body(b => Scaling(b)["scaleToZeroTimeout"] = 0), 400, "scaleToZeroTimeout" },
        { "unknown size", Body(b => b["compute"]!["instanceSize"] = "x9"), 400, "Instance compute 'aws-us-east-1-gpu-nvidia-a10g-x9' not found" },
        { "unknown type", Body(b => b["compute"]!["instanceType"] = "nvidia-v100"), 400, NotFound },
        { "wrong accelerator", Body(b => b["compute"]!["accelerator"] = "cpu"), 400, NotFound },
        { "unknown region", Body(b => b["provider"]!["region"] = "mars-1"), 400, NotFound },
        { "unknown vendor", Body(b => b["provider"]!["vendor"] = "acme"), 400, NotFound },
        { "string minReplica", Body(b => Scaling(b)["minReplica"] = "zero"), 400, "Field 'compute.scaling.minReplica' must be an integer" },
        { "fractional maxReplica", Body(b => Scaling(b)["maxReplica"] = 1.5), 400, "Field 'compute.scaling.maxReplica' must be an integer" },
        { "negative minReplica", Body(b => { Scaling(b)["minReplica"] = -1; Scaling(b).Remove("scaleToZeroTimeout"); }), 400, "minReplica" },
        { "maxReplica 0", Body(b => Scaling(b)["maxReplica"] = 0), 400, "maxReplica" },
        { "maxReplica below min", Body(b => { Scaling(b)["minReplica"] = 3; Scaling(b)["maxReplica"] = 2; Scaling(b).Remove("scaleToZeroTimeout"); }), 400, "maxReplica" },
        { "scaling not an object", Body(b => b["compute"]!["scaling"] = 1), 400, "Field 'compute.scaling' must be an object" },
        { "compute an array", Body(b => b["compute"] = new JsonArray()), 400, "Field 'compute' must be an object" },
        { "missing compute", Body(b => b.Remove("compute")), 400, "Missing required field 'compute'" },
        { "missing instanceType", Body(b => b["compute"]!.AsObject().Remove("instanceType")), 400, "Missing required field 'compute.instanceType'" },
        { "missing instanceSize", Body(b => b["compute"]!.AsObject().Remove("instanceSize")), 400, "Missing required field 'compute.instanceSize'" },
        { "missing accelerator", Body(b => b["compute"]!.AsObject().Remove("accelerator")), 400, "Missing required field 'compute.accelerator'" },
        { "missing provider", Body(b => b.Remove("provider")), 400, "Missing required field 'provider'" },
        { "missing vendor", Body(b => b["provider"]!.AsObject().Remove("vendor")), 400, "Missing required field 'provider.vendor'" },
        { "missing region", Body(b => b["provider"]!.AsObject().Remove("region")), 400, "Missing required field 'provider.region'" },
        { "missing model", Body(b => b.Remove("model")), 400, "Missing required field 'model'" },
        { "missing repository", Body(b => b["model"]!.AsObject().Remove("repository")), 400, "Missing required field 'model.repository'" },
        { "empty repository", Body(b => b["model"]!["repository"] = ""), 400, "model.repository" },
        { "numeric framework", Body(b => b["model"]!["framework"] = 1), 400, "Field 'model.framework' must be a string" },
        { "missing image", Body(b => b["model"]!.AsObject().Remove("image")), 400, "Missing required field 'model.image'" },
        { "image with two keys", Body(b => b["model"]!["image"] = JsonNode.Parse("""{"custom": {"url": "x"}, "huggingface": {}}""")), 400, "model.image" },
        { "image variant not an object", Body(b => b["model"]!["image"] = JsonNode.Parse("""{"custom": "x"}""")), 400, "model.image" },
        { "custom image without url", Body(b => Custom(b).Remove("url")), 400, "Missing required field 'model.image.custom.url'" },
        { "string port", Body(b => Custom(b)["port"] = "8080"), 400, "Field 'model.image.custom.port' must be an integer" },
        { "health route without slash", Body(b => Custom(b)["healthRoute"] = "health"), 400, "must start with '/'" },
        { "credentials without password", Body(b => Custom(b)["credentials"] = JsonNode.Parse("""{"username": "u"}""")), 400, "Missing required field 'model.image.custom.credentials.password'" },
        { "numeric env value", Body(b => b["model"]!["env"] = JsonNode.Parse("""{"A": 1}""")), 400, "Field 'model.env.A' must be a string" },
        { "env an array", Body(b => b["model"]!["env"] = new JsonArray()), 400, "Field 'model.env' must be an object" },
        { "tags a string", Body(b => b["tags"] = "mert"), 400, "Field 'tags' must be an array of strings" },
        { "numeric tag", Body(b => b["tags"] = new JsonArray(1)), 400, "Field 'tags[0]' must be a string" },
        { "unknown type", Body(b => b["type"] = "secret"), 400, "Invalid type 'secret'" },
        { "malformed JSON", """{"name": "x", """, 400, "Malformed JSON body" },
        { "trailing garbage", """{"name": "x"} x""", 400, "Malformed JSON body" },
        { "duplicate keys", """{"name": "a", "name": "b"}""", 400, "Malformed JSON body" },
        { "array body", "[]", 400, "Request body must be a JSON object" },
        { "string body", "\"hello\"", 400, "Request body must be a JSON object" },
        { "empty body", "", 400, "Request body must be a JSON object" },
    };

    [Theory]
    [MemberData(nameof(CreateCases))]
    public async Task Create_RejectsBadInput(string because, string body, int status, string error)
    {
        await using var emulator = await StartAsync();
        using var response = await emulator.Client.PostAsync("/v2/endpoint/emulator-user", new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertError(response, status, error, because);
        Assert.Equal("""{"items":[]}""", await emulator.Client.GetStringAsync("/v2/endpoint/emulator-user"));
    }

    public static TheoryData<string, string, int, string> UpdateCases => new()
    {
        { "rename", """{"name": "other"}""", 400, "cannot be renamed" },
        { "minReplica 1 while a timeout is set", """{"compute": {"scaling": {"minReplica": 1}}}""", 400, "scaleToZeroTimeout can only be set when minReplica is 0" },
        { "wrong type", """{"compute": {"scaling": {"maxReplica": "two"}}}""", 400, "must be an integer" },
        { "unknown size", """{"compute": {"instanceSize": "x3"}}""", 400, "Instance compute '" },
        { "null model", """{"model": null}""", 400, "Missing required field 'model'" },
        { "image without url", """{"model": {"image": {"custom": {"port": 80}}}}""", 400, "Missing required field 'model.image.custom.url'" },
        { "malformed JSON", "{", 400, "Malformed JSON body" },
        { "empty body", "", 400, "Request body must be a JSON object" },
    };

    [Theory]
    [MemberData(nameof(UpdateCases))]
    public async Task Update_RejectsBadInput_AndChangesNothing(string because, string body, int status, string error)
    {
        await using var emulator = await StartAsync();
        var before = await emulator.CreateAsync("valid-name");
        using var response = await emulator.Client.PutAsync(EndpointPath("valid-name"), new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertError(response, status, error, because);
        var after = await emulator.GetAsync("valid-name");
        foreach (var key in new[] { "name", "compute", "model", "provider", "type", "tags" }) Assert.True(JsonNode.DeepEquals(before[key], after[key]), key);
    }

    [Fact]
    public async Task Update_OfAnUnknownEndpoint_Is404()
    {
        await using var emulator = await StartAsync();
        using var response = await emulator.Client.PutAsync(EndpointPath("ghost"), Json(JsonNode.Parse("""{"tags": []}""")!));
        await AssertError(response, 404, "Endpoint 'ghost' not found in namespace 'emulator-user'", "unknown endpoint");
    }

    [Fact]
    public async Task InvalidUtf8_Is400()
    {
        await using var emulator = await StartAsync();
        var body = Encoding.UTF8.GetBytes("""{"name": "xx"}""");
        body[10] = 0xFF;
        using var response = await emulator.Client.PostAsync("/v2/endpoint/emulator-user", new ByteArrayContent(body));
        await AssertError(response, 400, "invalid UTF-8", "0xFF inside a string");
    }

    [Fact]
    public async Task OversizedControlPlaneBody_Is413()
    {
        await using var emulator = await StartAsync();
        using var response = await emulator.Client.PostAsync("/v2/endpoint/emulator-user", new StringContent(new string(' ', 2 << 20)));
        await AssertError(response, 413, "Request body exceeds", "2 MB body");
    }

    static async Task AssertError(HttpResponseMessage response, int status, string error, string because)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{because}: expected {status}, got {(int)response.StatusCode} {text}");
        var message = JsonNode.Parse(text)!["error"]!.GetValue<string>();
        Assert.True(message.Contains(error), $"{because}: '{message}' does not contain '{error}'");
        Assert.Equal(message, response.Headers.GetValues("X-Error-Message").Single());
    }
}
