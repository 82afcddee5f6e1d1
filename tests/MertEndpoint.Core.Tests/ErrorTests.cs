using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

public class ErrorTests
{
    private readonly TestClock _clock = new();

    [Theory]
    [InlineData(400, EndpointErrorKind.InvalidRequest, "Check the values you passed")]
    [InlineData(401, EndpointErrorKind.Unauthorized, "Check the token: set HF_TOKEN or pass -Token")]
    [InlineData(403, EndpointErrorKind.Forbidden, "may manage endpoints in namespace 'alice'")]
    [InlineData(404, EndpointErrorKind.EndpointNotFound, "Check the name with Get-MertEndpoint -Namespace alice")]
    [InlineData(409, EndpointErrorKind.EndpointConflict, "is changing state")]
    public async Task Status_maps_to_kind_with_a_helpful_message(int status, EndpointErrorKind kind, string advice)
    {
        // The service echoing the token must not leak it either.
        var handler = new FakeHandler(_clock,
            Respond.With(status, Respond.Error($"nope for {Token}"), h => h.Add("X-Request-Id", "req-42")));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => Client(_clock, handler).PauseAsync(Ns, "mert"));

        Assert.Equal(kind, ex.Kind);
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal("req-42", ex.RequestId);
        Assert.Equal("alice", ex.Namespace);
        Assert.Equal("mert", ex.EndpointName);
        Assert.Contains("endpoint 'mert' in namespace 'alice'", ex.Message);
        Assert.Contains(advice, ex.Message);
        Assert.Contains("Service said: nope for ***", ex.Message);
        Assert.EndsWith("(request id req-42).", ex.Message);
        Assert.DoesNotContain(Token, ex.ToString());
    }

    [Theory]
    [InlineData("""{"message": "from message"}""", null, "from message")]
    [InlineData("plain words", null, "plain words")]
    [InlineData("", "from header", "from header")]
    [InlineData("<html><body>Bad gateway</body></html>", "from header", "from header")]
    public async Task Service_message_is_read_from_body_or_header(string body, string? header, string expected)
    {
        var handler = new FakeHandler(_clock, Respond.With(400, body, h => { if (header != null) h.Add("X-Error-Message", header); }));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => Client(_clock, handler).GetAsync(Ns, "mert"));

        Assert.Equal(expected, ex.ServiceMessage);
        Assert.Null(ex.RequestId);
    }

    public static TheoryData<string, Func<EndpointClient, Task>> NonCreateOperations => new()
    {
        { "pause", c => c.PauseAsync(Ns, "mert") },
        { "resume", c => c.ResumeAsync(Ns, "mert") },
        { "scale to zero", c => c.ScaleToZeroAsync(Ns, "mert") },
        { "update", c => c.UpdateAsync(Ns, "mert", new EndpointUpdateSpec { MaxReplica = 2 }) },
    };

    [Theory]
    [MemberData(nameof(NonCreateOperations))]
    public async Task A_409_on_anything_but_a_create_is_a_conflict_saying_to_wait_and_retry(string verb, Func<EndpointClient, Task> call)
    {
        var handler = new FakeHandler(_clock, Respond.With(409, Respond.Error("Endpoint is updating"), h => h.Add("X-Request-Id", "req-9")));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => call(Client(_clock, handler)));

        Assert.Equal(EndpointErrorKind.EndpointConflict, ex.Kind);
        Assert.Equal(409, ex.StatusCode);
        Assert.StartsWith($"Could not {verb} endpoint 'mert' in namespace 'alice': the service refused it (409 Conflict): the endpoint is changing state", ex.Message);
        Assert.Contains("Wait until Get-MertEndpoint mert -Namespace alice shows it settled, then try again", ex.Message);
        Assert.DoesNotContain("already exists", ex.Message);
        Assert.EndsWith("Service said: Endpoint is updating (request id req-9).", ex.Message);
    }

    [Fact]
    public async Task A_409_on_a_create_stays_already_exists()
    {
        var handler = new FakeHandler(_clock, Respond.With(409, Respond.Error("Endpoint name already exists")));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => Client(_clock, handler).CreateAsync(Ns, new EndpointCreateSpec { Name = "mert" }));

        Assert.Equal(EndpointErrorKind.EndpointAlreadyExists, ex.Kind);
        Assert.Contains("Choose another name or use Start-MertEndpoint", ex.Message);
    }

    [Fact]
    public async Task Resume_of_a_running_endpoint_returns_it()
    {
        var handler = new FakeHandler(_clock,
            Respond.With(400, Respond.Error("Endpoint mert is already running")), Respond.With(200, Endpoint()));

        var endpoint = await Client(_clock, handler).ResumeAsync(Ns, "mert");

        Assert.Equal(EndpointStatus.Running, endpoint.Status);
        Assert.Equal(["POST /v2/endpoint/alice/mert/resume", "GET /v2/endpoint/alice/mert"], handler.Requests.Select(r => r.ToString()));
    }

    [Fact]
    public async Task Resume_rejected_for_another_reason_throws()
    {
        var handler = new FakeHandler(_clock, Respond.With(400, Respond.Error("Endpoint is in failed state")));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => Client(_clock, handler).ResumeAsync(Ns, "mert"));

        Assert.Equal(EndpointErrorKind.InvalidRequest, ex.Kind);
        Assert.StartsWith("Could not resume endpoint 'mert' in namespace 'alice'", ex.Message);
    }

    [Fact]
    public async Task TryGet_returns_null_for_a_missing_endpoint()
    {
        var handler = new FakeHandler(_clock, Respond.With(404, Respond.Error("not found")));

        Assert.Null(await Client(_clock, handler).TryGetAsync(Ns, "mert"));
    }

    [Fact]
    public async Task Success_with_a_body_that_is_not_json_is_reported()
    {
        var handler = new FakeHandler(_clock, _ => Respond.Make(200, "<html><body><h1>Captive   portal</h1> sign in</body></html>"));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Client(_clock, handler).GetAsync(Ns, "mert")));

        // Treated like a 5xx: a GET is retried, then reported with the status and a readable excerpt of the body.
        Assert.Equal(EndpointErrorKind.ServiceUnavailable, ex.Kind);
        Assert.Equal(5, handler.Requests.Count);
        Assert.Contains("answered 200", ex.Message);
        Assert.Contains("\"Captive portal sign in\"", ex.Message);
        Assert.Contains("endpoint 'mert'", ex.Message);
    }

    [Fact]
    public async Task A_truncated_answer_to_a_pause_is_not_retried_but_reported()
    {
        var handler = new FakeHandler(_clock, _ => Respond.Make(200, "{\"name\": \"mert\", \"status\": {\"sta"));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Client(_clock, handler).PauseAsync(Ns, "mert")));

        Assert.Single(handler.Requests); // a POST is not repeated on a hunch
        Assert.Contains("could not be read as the JSON expected", ex.Message);
    }

    [Fact]
    public async Task An_html_429_says_what_it_was_without_the_markup()
    {
        var handler = new FakeHandler(_clock, _ => Respond.Make(429, "<html><title>Too Many Requests</title></html>"));
        var options = Options(_clock, handler);
        options.MaxRetryAttempts = 0;

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(new EndpointClient(Token, options).GetAsync(Ns, "mert")));

        Assert.Equal(EndpointErrorKind.RateLimited, ex.Kind);
        Assert.Contains("Too Many Requests", ex.Message);
        Assert.DoesNotContain("<title>", ex.Message);
    }

    [Fact]
    public async Task A_rewrapped_error_keeps_every_field()
    {
        // A start that times out is paused again and says so: the rewrap must keep what the first error knew.
        var handler = new FakeHandler(_clock, Respond.With(503, Respond.Error("busy"), h => h.Add("X-Request-Id", "req-1")));
        var options = Options(_clock, handler);
        options.MaxRetryAttempts = 0;
        var original = await Assert.ThrowsAsync<EndpointException>(() => new EndpointClient(Token, options).GetAsync(Ns, "mert"));

        var rewrapped = original.WithMessage(original.Message + " " + Errors.PausedAgain);

        Assert.Equal((original.Kind, original.StatusCode, original.ServiceMessage, original.RequestId, original.Target),
            (rewrapped.Kind, rewrapped.StatusCode, rewrapped.ServiceMessage, rewrapped.RequestId, rewrapped.Target));
        Assert.Equal((EndpointErrorKind.ServiceUnavailable, (int?)503, "busy", "req-1", new EndpointId(Ns, "mert")),
            (rewrapped.Kind, rewrapped.StatusCode, rewrapped.ServiceMessage, rewrapped.RequestId, rewrapped.Target));
        Assert.Same(original, rewrapped.InnerException);
        Assert.EndsWith(Errors.PausedAgain, rewrapped.Message);
    }
}
