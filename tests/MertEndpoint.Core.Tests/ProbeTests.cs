using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

public class ProbeTests
{
    private readonly TestClock _clock = new();

    private async Task<EndpointInfo> Running(string? url = "https://x.endpoints.huggingface.cloud/", string state = "running") =>
        await Client(_clock, new FakeHandler(_clock, Respond.With(200, Endpoint(state: state, url: url)))).GetAsync(Ns, "mert");

    [Fact]
    public async Task Returns_the_status_of_the_health_route()
    {
        var handler = new FakeHandler(_clock, Respond.With(503));

        Assert.Equal(503, await Client(_clock, handler).ProbeHealthAsync(await Running()));

        var request = Assert.Single(handler.Requests);
        Assert.Equal("/health", request.Path); // no double slash from the URL's trailing one
        Assert.Equal($"Bearer {Token}", request.Authorization);
    }

    [Fact]
    public async Task No_url_or_no_answer_is_zero()
    {
        var handler = new FakeHandler(_clock, Respond.Drop(), Respond.Hang(_clock));
        var client = Client(_clock, handler);
        var endpoint = await Running();

        Assert.Equal(0, await client.ProbeHealthAsync(await Running(state: "paused", url: null)));
        Assert.Equal(0, await client.ProbeHealthAsync(endpoint));
        var start = _clock.GetUtcNow();
        Assert.Equal(0, await _clock.Drive(client.ProbeHealthAsync(endpoint)));
        Assert.InRange(_clock.GetUtcNow() - start, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)); // gave up after 5 s
        Assert.Equal(2, handler.Requests.Count); // single attempt each, no retries
    }

    [Fact]
    public async Task Cancellation_is_not_swallowed()
    {
        var handler = new FakeHandler(_clock, Respond.Hang(_clock));
        using var cts = new CancellationTokenSource();
        var probe = Client(_clock, handler).ProbeHealthAsync(await Running(), cts.Token);
        await Bounded.Until(() => handler.Requests.Count > 0, "the first request");

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => probe.WaitAsync(Bounded.Limit));
    }

    [Fact]
    public async Task Token_is_not_sent_in_clear_text_off_this_machine()
    {
        var handler = new FakeHandler(_clock, _ => Respond.Make(200));
        var client = Client(_clock, handler);

        await client.ProbeHealthAsync(await Running("http://203.0.113.9/ep"));
        await client.ProbeHealthAsync(await Running("http://127.0.0.1:5080/endpoints/alice/mert"));

        Assert.Null(handler.Requests[0].Authorization);
        Assert.Equal($"Bearer {Token}", handler.Requests[1].Authorization);
        Assert.Equal("/endpoints/alice/mert/health", handler.Requests[1].Path);
    }
}
