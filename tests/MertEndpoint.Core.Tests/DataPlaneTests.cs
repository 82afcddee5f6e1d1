using System.Net.Http.Headers;
using System.Text;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

public class DataPlaneTests
{
    private readonly TestClock _clock = new();
    private int _opened;

    /// <summary>Records each attempt's X-Scale-Up-Timeout before the fake handler answers.</summary>
    private sealed class ScaleUpSpy(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public List<string?> Values { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Values.Add(request.Headers.TryGetValues("X-Scale-Up-Timeout", out var v) ? string.Join(",", v) : null);
            return base.SendAsync(request, ct);
        }
    }

    private (EndpointClient Client, FakeHandler Handler, ScaleUpSpy Spy) Make(params Func<Recorded, CancellationToken, Task<HttpResponseMessage>>[] script)
    {
        var handler = new FakeHandler(_clock, script);
        var spy = new ScaleUpSpy(handler);
        var options = Options(_clock, handler);
        options.Handler = spy;
        return (new EndpointClient(Token, options), handler, spy);
    }

    private HttpContent Body()
    {
        _opened++;
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("RIFF-audio"));
        content.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        return content;
    }

    private static DataPlaneOptions For(string input, double timeoutSec = 600) =>
        new() { InputName = input, Timeout = TimeSpan.FromSeconds(timeoutSec) };

    private async Task<EndpointInfo> Endpoint(string state = "running", string? url = "https://x.endpoints.huggingface.cloud")
    {
        var handler = new FakeHandler(_clock, Respond.With(200, Samples.Endpoint(state: state, url: url)));
        return await Client(_clock, handler).GetAsync(Ns, "mert");
    }

    [Fact]
    public async Task A_waking_endpoint_is_retried_on_503_with_a_fresh_body_until_it_answers()
    {
        var (client, handler, spy) = Make(Respond.With(503), Respond.With(503), Respond.With(200, "{\"layers\": 13}"));

        var response = await _clock.Drive(client.SendDataAsync(await Endpoint(), "/", Body, For("a.wav")));

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("{\"layers\": 13}", Encoding.UTF8.GetString(response.Body));
        Assert.Equal(3, response.Attempts);
        Assert.Equal(10, response.BytesSent);
        Assert.Equal(3, _opened); // the body is made again for every attempt
        Assert.All(handler.Requests, r => Assert.Equal($"Bearer {Token}", r.Authorization));
        Assert.All(handler.Requests, r => Assert.Equal("RIFF-audio", r.Body));
        // Every attempt asks the proxy to hold it while the endpoint wakes, for no longer than the time left.
        Assert.Equal("600", spy.Values[0]);
        Assert.All(spy.Values, v => Assert.InRange(int.Parse(v!), 590, 600));
    }

    [Fact]
    public async Task A_500_is_not_retried_and_names_the_input_the_status_and_the_service_message()
    {
        var (client, handler, _) = Make(Respond.With(500, Respond.Error("CUDA out of memory"), h => h.Add("X-Request-Id", "req-7")));

        var ex = await Assert.ThrowsAsync<EndpointException>(async () => await client.SendDataAsync(await Endpoint(), "/", Body, For("a/track.wav")));

        Assert.Single(handler.Requests);
        Assert.Equal(EndpointErrorKind.ModelError, ex.Kind);
        Assert.Equal(500, ex.StatusCode);
        Assert.Equal("req-7", ex.RequestId);
        Assert.Contains("'a/track.wav'", ex.Message);
        Assert.Contains("endpoint 'mert' in namespace 'alice'", ex.Message);
        Assert.Contains("500", ex.Message);
        Assert.Contains("CUDA out of memory", ex.Message);
    }

    [Fact]
    public async Task Invalid_state_means_paused_and_says_how_to_start_it()
    {
        var (client, _, _) = Make(Respond.With(400, Respond.Error("Bad Request: Invalid state")));

        var ex = await Assert.ThrowsAsync<EndpointException>(async () => await client.SendDataAsync(await Endpoint(), "/", Body, For("a.wav")));

        Assert.Equal(EndpointErrorKind.EndpointNotReady, ex.Kind);
        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("paused", ex.Message);
        Assert.Contains("Start-MertEndpoint mert -Namespace alice", ex.Message);
        Assert.Contains("Use-MertEndpoint", ex.Message);
    }

    [Fact]
    public async Task Other_400s_are_this_inputs_fault()
    {
        var (client, _, _) = Make(Respond.With(400, Respond.Error("not a WAV file")));

        var ex = await Assert.ThrowsAsync<EndpointException>(async () => await client.SendDataAsync(await Endpoint(), "/", Body, For("a.wav")));

        Assert.Equal(EndpointErrorKind.InvalidRequest, ex.Kind);
        Assert.Contains("not a WAV file", ex.Message);
    }

    [Fact]
    public async Task A_503_that_never_ends_gives_up_within_the_timeout()
    {
        var (client, handler, _) = Make(Enumerable.Range(0, 50).Select(_ => Respond.With(503)).ToArray());
        var start = _clock.GetUtcNow();

        var ex = await Assert.ThrowsAsync<EndpointException>(() =>
            _clock.Drive(client.SendDataAsync(new Uri("https://x.endpoints.huggingface.cloud"), "/", Body, For("a.wav", timeoutSec: 60))));

        Assert.Equal(EndpointErrorKind.ServiceUnavailable, ex.Kind);
        Assert.Equal(503, ex.StatusCode);
        Assert.InRange(_clock.GetUtcNow() - start, TimeSpan.Zero, TimeSpan.FromSeconds(60));
        Assert.InRange(handler.Requests.Count, 4, 8); // backoff 1, 2, 4, 8, 16, 30 s (with jitter) fits 60 s a few times
        Assert.Contains("-Timeout", ex.Message);
    }

    [Fact]
    public async Task Dropped_connections_are_retried_a_few_times_only()
    {
        var (client, handler, _) = Make(Enumerable.Range(0, 10).Select(_ => Respond.Drop()).ToArray());

        var ex = await Assert.ThrowsAsync<EndpointException>(() =>
            _clock.Drive(client.SendDataAsync(new Uri("https://x.endpoints.huggingface.cloud"), "/", Body, For("a.wav"))));

        Assert.Equal(EndpointErrorKind.ServiceUnavailable, ex.Kind);
        Assert.Equal(5, handler.Requests.Count); // 1 + MaxRetryAttempts (4)
    }

    [Fact]
    public async Task Paused_endpoints_and_clear_text_urls_are_refused_before_sending()
    {
        var (client, handler, _) = Make();
        var pausedEndpoint = await Endpoint("paused", null);

        var paused = await Assert.ThrowsAsync<EndpointException>(() =>
            client.SendDataAsync(pausedEndpoint, "/", Body, For("a.wav")));
        var clear = await Assert.ThrowsAsync<EndpointException>(() =>
            client.SendDataAsync(new Uri("http://203.0.113.9/ep"), "/", Body, For("a.wav")));

        Assert.Equal(EndpointErrorKind.EndpointNotReady, paused.Kind);
        Assert.Contains("Start-MertEndpoint mert -Namespace alice", paused.Message);
        Assert.Equal(EndpointErrorKind.InvalidArgument, clear.Kind);
        Assert.Empty(handler.Requests);
        Assert.Equal(0, _opened);
    }

    [Fact]
    public async Task The_route_is_joined_to_the_url_without_a_double_slash()
    {
        var (client, handler, _) = Make(Respond.With(200, "{}"), Respond.With(200, "{}"));

        await client.SendDataAsync(new Uri("https://x.endpoints.huggingface.cloud/"), "embed", Body);
        await client.SendDataAsync(new Uri("https://x.endpoints.huggingface.cloud/"), null, Body);

        Assert.Equal(["/embed", "/"], handler.Requests.Select(r => r.Path));
    }
}
