using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

public class DataPlaneTests
{
    static Action<JsonObject> Pinned(string type = "authenticated") => b =>
    {
        b["type"] = type;
        b["compute"]!["scaling"] = JsonNode.Parse("""{"minReplica": 1, "maxReplica": 1}""");
    };

    static async Task<TestEmulator> StartWithRunning(string name, Action<JsonObject>? change = null)
    {
        var emulator = await StartAsync();
        await emulator.CreateAsync(name, change ?? Pinned());
        await emulator.WaitForStateAsync(name, "running");
        return emulator;
    }

    [Fact]
    public async Task Post_AnswersDeterministicMertEmbeddings_FromTheBytesReceived()
    {
        await using var emulator = await StartWithRunning("mert");
        async Task<JsonObject> Embed(byte[] bytes, string path = "/")
        {
            using var response = await emulator.Client.PostAsync(emulator.DataUrl("mert", path), new ByteArrayContent(bytes));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            return await ReadObject(response);
        }
        var audio = Encoding.UTF8.GetBytes("RIFF....WAVEfmt a short fake clip");
        var first = await Embed(audio);
        Assert.Equal(["model", "bytes", "layers", "dim", "embeddings"], first.Select(p => p.Key));
        Assert.Equal("m-a-p/MERT-v1-95M", first["model"]!.GetValue<string>());
        Assert.Equal(audio.Length, first["bytes"]!.GetValue<int>());
        Assert.Equal(13, first["layers"]!.GetValue<int>());
        Assert.Equal(768, first["dim"]!.GetValue<int>());
        var layers = first["embeddings"]!.AsArray();
        Assert.Equal(13, layers.Count);
        Assert.All(layers, layer => Assert.Equal(768, layer!.AsArray().Count));
        var values = layers.SelectMany(l => l!.AsArray().Select(v => v!.GetValue<double>())).ToList();
        Assert.All(values, v => Assert.InRange(v, -1, 1));
        Assert.True(values.Distinct().Count() > 9000, "values should look random");
        Assert.InRange(values.Average(), -0.05, 0.05);

        Assert.True(JsonNode.DeepEquals(first, await Embed(audio, "/any/path")), "same bytes, same numbers");
        audio[0] ^= 1;
        var other = await Embed(audio);
        Assert.False(JsonNode.DeepEquals(first["embeddings"], other["embeddings"]), "other bytes, other numbers");
    }

    [Fact]
    public async Task LargeUploads_AreStreamedAndCounted()
    {
        await using var emulator = await StartWithRunning("big");
        const long size = 48L * 1024 * 1024 + 123;
        using var request = new HttpRequestMessage(HttpMethod.Post, emulator.DataUrl("big")) { Content = new GeneratedContent(size) };
        request.Headers.TransferEncodingChunked = true; // no Content-Length: the server cannot size a buffer up front
        using var response = await emulator.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(size, (await ReadObject(response))["bytes"]!.GetValue<long>());
    }

    [Fact]
    public async Task OtherTasks_AnswerTheByteCountAndHash()
    {
        await using var emulator = await StartWithRunning("classify", b => { Pinned()(b); b["model"]!["task"] = "text-classification"; });
        using var response = await emulator.Client.PostAsync(emulator.DataUrl("classify"), new StringContent("abc"));
        var body = await ReadObject(response);
        Assert.Equal(3, body["bytes"]!.GetValue<int>());
        Assert.Equal("text-classification", body["task"]!.GetValue<string>());
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", body["sha256"]!.GetValue<string>());
        Assert.Null(body["embeddings"]);
    }

    [Fact]
    public async Task AuthenticatedAndPrivateEndpoints_NeedTheToken_PublicOnesDoNot()
    {
        await using var emulator = await StartAsync();
        foreach (var type in new[] { "authenticated", "private", "public" }) await emulator.CreateAsync(type, Pinned(type));
        foreach (var type in new[] { "authenticated", "private", "public" }) await emulator.WaitForStateAsync(type, "running");

        foreach (var type in new[] { "authenticated", "private" })
        {
            using var anonymous = await emulator.Anonymous.GetAsync(emulator.DataUrl(type, "/health"));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("A valid user or organization token, sent as a Bearer, is required", (await ReadObject(anonymous))["error"]!.GetValue<string>());
            using var wrong = new HttpRequestMessage(HttpMethod.Post, emulator.DataUrl(type)) { Content = new StringContent("x") };
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "hf_wrong");
            Assert.Equal(HttpStatusCode.Unauthorized, (await emulator.Anonymous.SendAsync(wrong)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await emulator.Client.GetAsync(emulator.DataUrl(type, "/health"))).StatusCode);
        }
        using var open = await emulator.Anonymous.PostAsync(emulator.DataUrl("public"), new StringContent("x"));
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
    }

    [Fact]
    public async Task UnauthenticatedRequests_DoNotWakeAScaledToZeroEndpoint()
    {
        await using var emulator = await StartWithRunning("sleepy");
        await emulator.ActAsync("sleepy", "scale-to-zero");
        Assert.Equal(HttpStatusCode.Unauthorized, (await emulator.Anonymous.GetAsync(emulator.DataUrl("sleepy", "/health"))).StatusCode);
        Assert.Equal("scaledToZero", State(await emulator.GetAsync("sleepy")));
    }

    [Fact]
    public async Task WrongRequests_GetClearErrors()
    {
        await using var emulator = await StartWithRunning("strict");
        async Task Expect(HttpResponseMessage response, HttpStatusCode status, string error)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Contains(error, (await ReadObject(response))["error"]!.GetValue<string>());
            Assert.NotEmpty(response.Headers.GetValues("X-Error-Message").Single());
        }
        await Expect(await emulator.Client.PostAsync(emulator.DataUrl("strict"), new ByteArrayContent([])), HttpStatusCode.BadRequest, "empty");
        await Expect(await emulator.Client.GetAsync(emulator.DataUrl("strict", "/other")), HttpStatusCode.NotFound, "Not Found");
        await Expect(await emulator.Client.PutAsync(emulator.DataUrl("strict"), new StringContent("x")), HttpStatusCode.MethodNotAllowed, "Method Not Allowed");
        await Expect(await emulator.Client.GetAsync(emulator.DataUrl("nobody", "/health")), HttpStatusCode.NotFound, "Endpoint 'nobody' not found");
        Assert.Equal(HttpStatusCode.OK, (await emulator.Client.GetAsync(emulator.DataUrl("strict", "/health"))).StatusCode);
    }
}
