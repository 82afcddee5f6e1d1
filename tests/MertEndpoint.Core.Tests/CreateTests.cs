using System.Text.Json.Nodes;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

/// <summary>Create is not idempotent: it must never be duplicated, nor fail when an earlier attempt succeeded.</summary>
public class CreateTests
{
    private readonly TestClock _clock = new();
    private static EndpointCreateSpec Spec => new() { Name = "mert", ImageUrl = "someone/mert:latest" };

    [Fact]
    public async Task Timed_out_post_is_settled_by_get_when_the_endpoint_exists()
    {
        var handler = new FakeHandler(_clock, Respond.Hang(_clock), Respond.With(200, Endpoint(state: "pending", url: null)));

        var endpoint = await _clock.Drive(Client(_clock, handler).CreateAsync(Ns, Spec));

        Assert.Equal(EndpointStatus.Pending, endpoint.Status);
        Assert.Equal(["POST /v2/endpoint/alice", "GET /v2/endpoint/alice/mert"], handler.Requests.Select(r => r.ToString()));
    }

    [Fact]
    public async Task Conflict_after_an_ambiguous_attempt_is_settled_by_get()
    {
        var handler = new FakeHandler(_clock,
            Respond.Hang(_clock),                              // POST: times out; created or not?
            Respond.With(404, Respond.Error("not yet")), // GET: not visible yet, so post again
            Respond.With(409, Respond.Error("already exists")), // POST: the first one did land
            Respond.With(200, Endpoint(state: "pending", url: null)));

        var endpoint = await _clock.Drive(Client(_clock, handler).CreateAsync(Ns, Spec));

        Assert.Equal("mert", endpoint.Name);
        Assert.Equal(2, handler.Requests.Count(r => r.Method == HttpMethod.Post));
        Assert.Equal(HttpMethod.Get, handler.Requests[^1].Method);
    }

    [Fact]
    public async Task Server_error_is_checked_with_get_before_posting_again()
    {
        var handler = new FakeHandler(_clock,
            Respond.With(503), Respond.With(404, Respond.Error("no")), Respond.With(202, Endpoint(state: "pending", url: null)));

        await _clock.Drive(Client(_clock, handler).CreateAsync(Ns, Spec));

        Assert.Equal(["POST /v2/endpoint/alice", "GET /v2/endpoint/alice/mert", "POST /v2/endpoint/alice"],
            handler.Requests.Select(r => r.ToString()));
    }

    [Fact]
    public async Task Rate_limited_post_is_retried_without_get()
    {
        var handler = new FakeHandler(_clock,
            Respond.With(429, null, h => h.Add("Retry-After", "2")), Respond.With(201, Endpoint(state: "pending", url: null)));

        await _clock.Drive(Client(_clock, handler).CreateAsync(Ns, Spec));

        Assert.All(handler.Requests, r => Assert.Equal(HttpMethod.Post, r.Method));
        Assert.True(handler.Requests[1].Time - handler.Requests[0].Time >= TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Conflict_on_first_attempt_is_already_exists()
    {
        var handler = new FakeHandler(_clock, Respond.With(409, Respond.Error("Endpoint name already exists")));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => Client(_clock, handler).CreateAsync(Ns, Spec));

        Assert.Equal(EndpointErrorKind.EndpointAlreadyExists, ex.Kind);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task Invalid_name_sends_nothing()
    {
        var handler = new FakeHandler(_clock);

        var ex = await Assert.ThrowsAsync<EndpointException>(() => Client(_clock, handler).CreateAsync(Ns, new() { Name = "Bad_Name" }));

        Assert.Equal(EndpointErrorKind.InvalidEndpointName, ex.Kind);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Body_has_the_documented_shape_and_no_nulls()
    {
        var handler = new FakeHandler(_clock, Respond.With(202, Endpoint()));
        var spec = Spec;
        spec.Env = new Dictionary<string, string> { ["KEY"] = "value" };
        spec.Tags = ["mert"];

        await Client(_clock, handler).CreateAsync(Ns, spec);

        var body = JsonNode.Parse(handler.Requests[0].Body!)!;
        Assert.Equal("""{"url":"someone/mert:latest","healthRoute":"/health","port":8080}""", body["model"]!["image"]!["custom"]!.ToJsonString());
        Assert.Equal(15, (int)body["compute"]!["scaling"]!["scaleToZeroTimeout"]!);
        Assert.Equal("value", (string?)body["model"]!["env"]!["KEY"]);
        Assert.Equal("mert", (string?)body["tags"]![0]);
        Assert.Equal("us-east-1", (string?)body["provider"]!["region"]);
        Assert.DoesNotContain("null", handler.Requests[0].Body);
    }

    [Fact]
    public async Task Default_image_and_no_scale_to_zero_timeout_with_a_minimum_replica()
    {
        var handler = new FakeHandler(_clock, Respond.With(202, Endpoint("plain")));

        await Client(_clock, handler).CreateAsync(Ns, new() { Name = "plain", MinReplica = 1, Revision = null });

        var body = JsonNode.Parse(handler.Requests[0].Body!)!;
        Assert.Equal("""{"huggingface":{}}""", body["model"]!["image"]!.ToJsonString());
        Assert.Null(body["compute"]!["scaling"]!["scaleToZeroTimeout"]);
        Assert.Null(body["model"]!["revision"]);
    }
}
