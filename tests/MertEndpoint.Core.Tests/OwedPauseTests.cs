using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

/// <summary>
/// The pause this module owes after a failed or cancelled start (issue 11, items 1, 2, 5, 6): it keeps trying through
/// 429 and 5xx, honours Retry-After in full, has its own bound, treats 404 as nothing to pause, and otherwise ends in
/// EndpointStillBilling. All on fake time.
/// </summary>
public class OwedPauseTests
{
    private readonly TestClock _clock = new();
    private readonly Lines _log = new();
    private const string Pause = "/v2/endpoint/alice/mert/pause";

    /// <summary>A paused endpoint that resumes into an endless initializing; the pause route answers from <paramref name="pause"/>.</summary>
    private FakeHandler Service(Func<int, HttpResponseMessage> pause) => new(_clock, r => (r.Method.Method, r.Path) switch
    {
        ("GET", "/v2/endpoint/alice/mert") => Respond.Make(200, Endpoint(state: Count(r) == 0 ? "paused" : "initializing", url: null)),
        ("POST", "/v2/endpoint/alice/mert/resume") => Respond.Make(200, Endpoint(state: "initializing", url: null)),
        ("POST", Pause) => pause(Count(r)),
        _ => Respond.Make(404),
    });

    private int _gets, _pauses;
    private int Count(Recorded r) => r.Path == Pause ? _pauses++ : _gets++;

    private static HttpResponseMessage Paused() => Respond.Make(200, Endpoint(state: "paused", url: null));

    private static HttpResponseMessage RateLimited(int seconds) =>
        Respond.Make(429, Respond.Error("Too many requests"), h => h.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds)));

    private StartOptions Options(TimeSpan? owedTimeout = null, CancellationToken abandon = default) => new()
    {
        Wait = new WaitOptions { Timeout = TimeSpan.FromSeconds(20) },
        OwedPause = new OwedPauseOptions { Timeout = owedTimeout ?? TimeSpan.FromMinutes(5), Abandon = abandon },
    };

    private Task<StartResult> Start(FakeHandler handler, StartOptions options, CancellationToken ct = default) =>
        new EndpointLifecycle(Client(_clock, handler).With(_log)).StartAsync(Ns, "mert", options, ct);

    /// <summary>Drives fake time, one timer at a time, until the condition holds.</summary>
    private Task Until(Func<bool> condition) => _clock.Until(condition);

    private IEnumerable<Recorded> Pauses(FakeHandler handler) => handler.Requests.Where(r => r.Path == Pause);

    [Fact]
    public async Task A_Retry_After_of_60_s_is_honoured_in_full_and_the_endpoint_is_paused_again()
    {
        var handler = Service(n => n < 2 ? RateLimited(60) : Paused());

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Start(handler, Options())));

        Assert.Equal(EndpointErrorKind.WaitTimeout, ex.Kind);
        Assert.EndsWith(Errors.PausedAgain, ex.Message);
        var times = Pauses(handler).Select(r => r.Time).ToList();
        Assert.Equal(3, times.Count);
        Assert.All(times.Zip(times.Skip(1), (a, b) => b - a), gap => Assert.True(gap >= TimeSpan.FromSeconds(60), $"tried again after {gap}"));
        Assert.Contains(_log.All, l => l.Contains("trying again in 1 min"));
    }

    [Fact]
    public async Task A_pause_that_keeps_failing_ends_in_EndpointStillBilling_within_its_bound_naming_the_command()
    {
        var handler = Service(_ => Respond.Make(500, Respond.Error("boom")));
        var started = _clock.GetUtcNow();

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Start(handler, Options(TimeSpan.FromSeconds(40)))));

        Assert.Equal(EndpointErrorKind.EndpointStillBilling, ex.Kind);
        Assert.Equal(new EndpointId(Ns, "mert"), ex.Target);
        Assert.Contains("MAY STILL BE BILLING", ex.Message);
        Assert.Contains("Stop-MertEndpoint mert -Namespace alice", ex.Message);
        Assert.StartsWith("Endpoint 'mert' in namespace 'alice' was not ready after 20 s", ex.Message); // what failed first stays first
        Assert.True(Pauses(handler).Count() >= 4, "it kept trying");
        Assert.True(_clock.GetUtcNow() - started <= TimeSpan.FromSeconds(20 + 40 + 2), "within the start's and the pause's bounds");
    }

    [Fact]
    public async Task A_Retry_After_beyond_the_bound_gives_up_at_once_instead_of_trying_in_vain()
    {
        var handler = Service(_ => RateLimited(3600));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Start(handler, Options())));

        Assert.Equal(EndpointErrorKind.EndpointStillBilling, ex.Kind);
        Assert.Single(Pauses(handler));
    }

    [Fact]
    public async Task A_404_on_the_owed_pause_means_nothing_to_pause_not_still_billing()
    {
        var handler = Service(_ => Respond.Make(404, Respond.Error("Endpoint not found")));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Start(handler, Options())));

        Assert.Equal(EndpointErrorKind.WaitTimeout, ex.Kind);
        Assert.EndsWith(Errors.NothingToPause, ex.Message);
        Assert.DoesNotContain("BILLING", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Single(Pauses(handler));
    }

    [Fact]
    public async Task A_cancelled_start_whose_pause_fails_throws_EndpointStillBilling_not_a_bare_cancellation()
    {
        var handler = Service(_ => Respond.Make(500, Respond.Error("boom")));
        using var cts = new CancellationTokenSource();
        var start = Start(handler, Options(TimeSpan.FromSeconds(30)), cts.Token);
        await Until(() => handler.Requests.Any(r => r.Path.EndsWith("/resume"))); // it resumed: a pause is owed
        cts.Cancel();

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(start));

        Assert.Equal(EndpointErrorKind.EndpointStillBilling, ex.Kind);
        Assert.StartsWith("The start was cancelled.", ex.Message);
        Assert.Contains("Stop-MertEndpoint mert -Namespace alice", ex.Message);
    }

    [Fact]
    public async Task Abandoning_the_owed_pause_a_second_Ctrl_C_ends_it_at_once()
    {
        var handler = Service(_ => RateLimited(120));
        using var abandon = new CancellationTokenSource();
        var start = Start(handler, Options(abandon: abandon.Token));
        await Until(() => Pauses(handler).Any());
        var asked = _clock.GetUtcNow();
        abandon.Cancel();

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(start));

        Assert.Equal(EndpointErrorKind.EndpointStillBilling, ex.Kind);
        Assert.True(_clock.GetUtcNow() - asked < TimeSpan.FromSeconds(5));
        Assert.Single(Pauses(handler));
    }

    [Fact]
    public async Task Refusals_that_retrying_cannot_fix_end_the_owed_pause_at_once()
    {
        var handler = Service(_ => Respond.Make(403, Respond.Error("Forbidden")));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Start(handler, Options())));

        Assert.Equal(EndpointErrorKind.EndpointStillBilling, ex.Kind);
        Assert.Contains("403", ex.Message);
        Assert.Single(Pauses(handler));
    }

    [Fact]
    public async Task A_Retry_After_past_the_start_timeout_fails_the_start_at_once_saying_when_to_try_again()
    {
        // Item 5, changed deliberately by issue 19: a control plane that answers 429 with Retry-After: 3600 to everything
        // no longer holds the start until its timeout (WaitTimeout): it cannot be sent to before the time it named, so
        // the start fails at once with RateLimited naming that time.
        var handler = new FakeHandler(_clock, _ => RateLimited(3600));
        var options = Options();
        options.Wait.Timeout = TimeSpan.FromSeconds(5);
        var started = _clock.GetUtcNow();

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Start(handler, options)));

        Assert.Equal(EndpointErrorKind.RateLimited, ex.Kind);
        Assert.Equal(started, _clock.GetUtcNow());
        Assert.Single(handler.Requests);
        Assert.Contains("Retry-After", ex.Message);
        Assert.Contains("Try again after 2026-11-27 09:00:00 UTC", ex.Message);
    }

    [Fact]
    public async Task PauseOwedAsync_scales_to_zero_when_asked_and_returns_null_for_a_deleted_endpoint()
    {
        var handler = new FakeHandler(_clock, r => r.Path.EndsWith("/scale-to-zero") ? Respond.Make(200, Endpoint(state: "scaledToZero")) : Respond.Make(404));
        var lifecycle = new EndpointLifecycle(Client(_clock, handler));

        var scaled = await _clock.Drive(lifecycle.PauseOwedAsync(Ns, "mert", new OwedPauseOptions { ScaleToZero = true }));
        var gone = await _clock.Drive(lifecycle.PauseOwedAsync(Ns, "other", new OwedPauseOptions()));

        Assert.Equal(EndpointStatus.ScaledToZero, scaled!.Status);
        Assert.Null(gone);
    }
}
