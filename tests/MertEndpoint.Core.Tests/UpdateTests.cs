using System.Text.Json.Nodes;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

public class UpdateTests
{
    private readonly TestClock _clock = new();

    [Fact]
    public async Task Only_the_given_fields_are_sent()
    {
        // The answer shows the idle timeout sent (an answer that did not would be read back until one does).
        var handler = new FakeHandler(_clock, Respond.With(200, Endpoint(state: "updating").Replace("\"scaleToZeroTimeout\": 15", "\"scaleToZeroTimeout\": 30")));

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
    public async Task An_image_change_reads_the_endpoint_first_then_sends_the_image_whole()
    {
        var handler = new FakeHandler(_clock, Respond.With(200, Endpoint()), Respond.With(200, Endpoint(state: "updating")));

        await Client(_clock, handler).UpdateAsync(Ns, "mert", new() { ImageUrl = "me/new:2", ImagePort = 80, HealthRoute = "/h" });

        Assert.Equal(new[] { HttpMethod.Get, HttpMethod.Put }, handler.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task An_image_with_registry_credentials_is_never_resent_without_them()
    {
        // The service redacts credentials in responses: resending the image would silently drop them.
        var withCredentials = Endpoint().Replace("\"port\": 8080}", "\"port\": 8080, \"credentials\": {\"username\": \"me\", \"password\": null}}");
        var handler = new FakeHandler(_clock, Respond.With(200, withCredentials));

        var ex = await Assert.ThrowsAsync<EndpointException>(() =>
            Client(_clock, handler).UpdateAsync(Ns, "mert", new() { ImageUrl = "me/new:2" }));

        Assert.Equal(EndpointErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("registry credentials", ex.Message);
        Assert.DoesNotContain(handler.Requests, r => r.Method == HttpMethod.Put);
    }
}
