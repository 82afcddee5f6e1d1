using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

public class UpdateTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public async Task Only_the_given_fields_are_sent()
    {
        var handler = new FakeHandler(_clock, Respond.With(200, Endpoint(state: "updating")));

        await Client(_clock, handler).UpdateAsync(Ns, "mert", new() { MinReplica = 0, ScaleToZeroTimeout = 30 });

        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Put, request.Method);
        Assert.Equal("/v2/endpoint/alice/mert", request.Path);
        Assert.Equal("""{"compute":{"scaling":{"minReplica":0,"scaleToZeroTimeout":30}}}""", request.Body);
    }

    [Fact]
    public async Task Env_goes_into_the_model()
    {
        var handler = new FakeHandler(_clock, Respond.With(200, Endpoint()));

        await Client(_clock, handler).UpdateAsync(Ns, "mert", new() { Env = new Dictionary<string, string> { ["BATCH"] = "8" }, Revision = "abc" });

        Assert.Equal("""{"model":{"revision":"abc","env":{"BATCH":"8"}}}""", handler.Requests[0].Body);
    }

    [Fact]
    public async Task A_partial_image_change_sends_the_whole_image()
    {
        var handler = new FakeHandler(_clock, Respond.With(200, Endpoint()), Respond.With(200, Endpoint(state: "updating")));

        await Client(_clock, handler).UpdateAsync(Ns, "mert", new() { HealthRoute = "/ready" });

        Assert.Equal(HttpMethod.Get, handler.Requests[0].Method);
        var body = JsonNode.Parse(handler.Requests[1].Body!)!;
        Assert.Equal("""{"model":{"image":{"custom":{"url":"someone/mert:latest","healthRoute":"/ready","port":8080}}}}""", body.ToJsonString());
    }

    [Fact]
    public async Task A_complete_image_change_needs_no_read()
    {
        var handler = new FakeHandler(_clock, Respond.With(200, Endpoint(state: "updating")));

        await Client(_clock, handler).UpdateAsync(Ns, "mert", new() { ImageUrl = "me/new:2", ImagePort = 80, HealthRoute = "/h" });

        Assert.Equal(HttpMethod.Put, Assert.Single(handler.Requests).Method);
    }
}
