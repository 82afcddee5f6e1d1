using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

public class WaiterTests
{
    private readonly TestClock _clock = new();
    private readonly DateTimeOffset _t0;
    private readonly Lines _lines = new();
    private List<WaitProgress> _progress => _lines.Progressed;

    public WaiterTests() => _t0 = _clock.GetUtcNow();

    private TimeSpan Since(DateTimeOffset t) => t - _t0;

    /// <summary>A service whose state and health are functions of fake time since the test began.</summary>
    private FakeHandler Service(Func<TimeSpan, (string State, string? Url)> control, Func<TimeSpan, int>? health = null,
        string? message = null) =>
        new(_clock, r => r.Path switch
        {
            "/v2/endpoint/alice/mert" => Respond.Make(200, Endpoint(state: control(Since(r.Time)).State, url: control(Since(r.Time)).Url, message: message)),
            "/health" => Respond.Make(health?.Invoke(Since(r.Time)) ?? 200),
            _ => Respond.Make(404),
        });

    private WaitOptions Options(TimeSpan? timeout = null) => new()
    {
        Timeout = timeout ?? TimeSpan.FromMinutes(10),
    };

    private Task<EndpointInfo> Wait(FakeHandler handler, WaitOptions? options = null, CancellationToken ct = default) =>
        new EndpointLifecycle(Client(_clock, handler).With(_lines)).WaitForReadyAsync(Ns, "mert", options ?? Options(), ct);

    private const string Url = "https://x.endpoints.huggingface.cloud";

    [Theory]
    [InlineData("failed")]
    [InlineData("updateFailed")]
    public async Task Failure_ends_the_wait_at_once(string state)
    {
        var handler = Service(_ => (state, null), message: "Image pull failed");

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Wait(handler)));

        Assert.Equal(EndpointErrorKind.EndpointFailed, ex.Kind);
        Assert.Equal("Image pull failed", ex.ServiceMessage);
        Assert.Contains("Service said: Image pull failed", ex.Message);
        Assert.Equal(state, ex.Endpoint!.StatusText);
        Assert.Single(handler.Requests, r => !r.Path.EndsWith("/logs")); // one read of the state,
        Assert.Single(handler.Requests, r => r.Path.EndsWith("/logs"));  // and one of its logs, as evidence
    }

    [Fact]
    public async Task Paused_during_the_wait_is_not_ready()
    {
        var handler = Service(t => t < TimeSpan.FromSeconds(3) ? ("initializing", null) : ("paused", null));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Wait(handler)));

        Assert.Equal(EndpointErrorKind.EndpointNotReady, ex.Kind);
        Assert.Contains("is paused; nothing will start it", ex.Message);
        Assert.Contains("Start-MertEndpoint", ex.Message);
        Assert.InRange(Since(handler.Requests[^1].Time), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(6));
    }

    [Fact]
    public async Task Scaled_to_zero_at_start_is_not_ready()
    {
        var handler = Service(_ => ("scaledToZero", Url));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Wait(handler)));

        Assert.Equal(EndpointErrorKind.EndpointNotReady, ex.Kind);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task Out_of_time_carries_the_last_state_and_polls_with_backoff()
    {
        var handler = Service(_ => ("initializing", Url), _ => 503); // the health probe watches, so the control plane may back off

        var ex = await Assert.ThrowsAsync<EndpointException>(() =>
            _clock.Drive(Wait(handler, Options(TimeSpan.FromMinutes(1)))));

        Assert.Equal(EndpointErrorKind.WaitTimeout, ex.Kind);
        Assert.Equal(EndpointStatus.Initializing, ex.Endpoint!.Status);
        Assert.Contains("not ready after 1 min", ex.Message);
        Assert.InRange(_clock.GetUtcNow() - _t0, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(61));
        // 2, 3, 4.5, 6.75, then every 10 s: about 9 polls in a minute, not 60.
        Assert.InRange(handler.Requests.Count(r => r.Path.StartsWith("/v2/")), 7, 11);
    }

    [Fact]
    public async Task Serving_while_the_state_lags_is_confirmed_at_once_not_after_the_poll_interval()
    {
        // The container answers from 5.1 s on; the control plane says running from 5.1 s on too.
        var ready = TimeSpan.FromSeconds(5.1);
        var handler = Service(t => (t < ready ? "initializing" : "running", Url), t => t < ready ? 503 : 200);

        var endpoint = await _clock.Drive(Wait(handler));

        Assert.Equal(EndpointStatus.Running, endpoint.Status);
        // Noticed within a probe interval (250 ms) plus a step of fake time, not at the next scheduled poll (9.5 s).
        Assert.InRange(_clock.GetUtcNow() - _t0, ready, ready + TimeSpan.FromMilliseconds(400));
    }

    [Fact]
    public async Task Running_waits_for_the_health_route()
    {
        int probes = 0;
        var handler = Service(_ => ("running", Url), _ => ++probes <= 2 ? 503 : 200);

        var endpoint = await _clock.Drive(Wait(handler));

        Assert.Equal(EndpointStatus.Running, endpoint.Status);
        Assert.Equal(3, handler.Requests.Count(r => r.Path == "/health"));
        Assert.All(handler.Requests, r => Assert.Equal($"Bearer {Token}", r.Authorization));
        Assert.Contains(_progress, p => p.Activity.Contains("answered 503"));
        Assert.Equal(handler.Requests.Count, _progress.Count); // one report per observation
        Assert.StartsWith("ready", _progress[^1].Activity);
    }

    [Fact]
    public async Task Readiness_is_noticed_within_a_probe_interval()
    {
        var ready = TimeSpan.FromSeconds(10);
        var handler = Service(_ => ("running", Url), t => t < ready ? 503 : 200);

        await _clock.Drive(Wait(handler));

        Assert.InRange(Since(handler.Requests[^1].Time), ready, ready + TimeSpan.FromMilliseconds(250)); // exact: time moves only at the waiter's own timers
        // The control plane was polled with backoff meanwhile, not at the probe rate.
        Assert.InRange(handler.Requests.Count(r => r.Path != "/health"), 3, 6);
    }

    [Fact]
    public async Task Health_ahead_of_the_state_makes_the_control_plane_look_again_soon()
    {
        var handler = Service(t => (t < TimeSpan.FromSeconds(4) ? "initializing" : "running", Url), t => t < TimeSpan.FromSeconds(2) ? 503 : 200);

        var endpoint = await _clock.Drive(Wait(handler));

        Assert.Equal(EndpointStatus.Running, endpoint.Status);
        Assert.InRange(Since(handler.Requests[^1].Time), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5.3));
    }

    [Fact]
    public async Task Known_initial_state_saves_the_first_get()
    {
        var handler = Service(_ => ("running", Url));
        var initial = await Client(_clock, new FakeHandler(_clock, Respond.With(200, Endpoint()))).GetAsync(Ns, "mert");

        await _clock.Drive(new ReadinessWaiter(Client(_clock, handler), Ns, "mert", Options()).RunAsync(initial, CancellationToken.None));

        Assert.Equal("/health", Assert.Single(handler.Requests).Path);
    }

    [Fact]
    public async Task Cancellation_ends_the_wait_promptly()
    {
        var handler = Service(_ => ("initializing", null));
        using var cts = new CancellationTokenSource();
        var wait = Wait(handler, ct: cts.Token);
        await Bounded.Until(() => handler.Requests.Count > 0, "the first request");

        var sent = handler.Requests.Count;
        cts.Cancel(); // fake time stands still: only the cancellation can end it

        // Ends without any time passing, as the caller's cancellation (not reported as a WaitTimeout), and asks nothing more.
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(ex.CancellationToken.IsCancellationRequested);
        Assert.Equal(TimeSpan.Zero, Since(_clock.GetUtcNow()));
        Assert.Equal(sent, handler.Requests.Count);
    }

    [Fact]
    public async Task With_the_URL_known_only_at_running_the_previous_URL_is_probed_and_readiness_noticed_within_a_probe()
    {
        // The pessimistic reading: status.url appears only with running. The endpoint keeps its URL across a pause, so
        // the waiter probes the one it had before and asks the control plane the moment it answers.
        var ready = TimeSpan.FromSeconds(17.3);
        var handler = Service(t => t < ready ? ("initializing", null) : ("running", Url), t => t < ready ? 503 : 200);
        var waiter = new ReadinessWaiter(Client(_clock, handler), Ns, "mert", Options(), hintUrl: Url);

        var endpoint = await _clock.Drive(waiter.RunAsync(null, CancellationToken.None));

        Assert.Equal((EndpointStatus.Running, Url), (endpoint.Status, endpoint.Url));
        Assert.InRange(Since(handler.Requests[^1].Time) - ready, TimeSpan.Zero, TimeSpan.FromMilliseconds(250));
        var controlPerMinute = handler.Requests.Count(r => r.Path.StartsWith("/v2/")) / Since(handler.Requests[^1].Time).TotalMinutes;
        Assert.True(controlPerMinute <= 30, $"{controlPerMinute:0.0} control-plane requests per minute");
    }

    [Fact]
    public async Task After_our_own_resume_a_200_from_its_own_URL_is_ready_though_reads_lag()
    {
        // Reads lag (an eventually consistent control plane) and show the URL only once running: the health route of the
        // URL the endpoint had before is the first sign, and for an endpoint this module resumed it is enough.
        var serving = TimeSpan.FromSeconds(8);
        var handler = Service(t => t < TimeSpan.FromSeconds(20) ? ("initializing", null) : ("running", Url), t => t < serving ? 503 : 200);
        var waiter = new ReadinessWaiter(Client(_clock, handler), Ns, "mert", Options(), hintUrl: Url, staleGrace: TimeSpan.FromSeconds(10));

        var endpoint = await _clock.Drive(waiter.RunAsync(null, CancellationToken.None));

        Assert.Equal((EndpointStatus.Running, Url), (endpoint.Status, endpoint.Url));
        Assert.InRange(_clock.GetUtcNow() - _t0 - serving, TimeSpan.Zero, TimeSpan.FromMilliseconds(250));
    }

    [Fact]
    public async Task Without_any_URL_the_control_plane_is_asked_at_least_every_3_seconds()
    {
        var ready = TimeSpan.FromSeconds(40);
        var handler = Service(t => t < ready ? ("initializing", null) : ("running", Url), t => t < ready ? 503 : 200);

        await _clock.Drive(Wait(handler));

        var gets = handler.Requests.Where(r => r.Path.StartsWith("/v2/")).Select(r => Since(r.Time)).ToList();
        Assert.All(gets.Zip(gets.Skip(1), (a, b) => b - a), gap => Assert.True(gap <= TimeSpan.FromSeconds(3), $"a gap of {gap}"));
    }

    [Fact]
    public async Task A_late_paused_read_right_after_our_resume_is_ridden_over_within_the_grace()
    {
        // An eventually consistent service still answers "paused" for 1.5 s after the resume was accepted.
        var handler = Service(t => t < TimeSpan.FromSeconds(1.5) ? ("paused", null) : t < TimeSpan.FromSeconds(6) ? ("initializing", Url) : ("running", Url),
            t => t < TimeSpan.FromSeconds(6) ? 503 : 200);
        var client = Client(_clock, handler);
        var resumed = await client.GetAsync(Ns, "mert"); // stands for the resume's answer: "paused", read at once

        var withGrace = await _clock.Drive(new ReadinessWaiter(client, Ns, "mert", Options(), staleGrace: TimeSpan.FromSeconds(10)).RunAsync(resumed, CancellationToken.None));
        Assert.Equal(EndpointStatus.Running, withGrace.Status);

        var without = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(
            new ReadinessWaiter(client, Ns, "mert", Options()).RunAsync(resumed, CancellationToken.None)));
        Assert.Equal(EndpointErrorKind.EndpointNotReady, without.Kind);
    }
}
