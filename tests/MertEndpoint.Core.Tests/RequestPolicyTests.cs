using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

/// <summary>
/// Issue 19: one request policy, one executor. The exact attempts of every operation under a permanent failure, against
/// the table generated from the policy objects; the one Retry-After rule, also across a fan-out; the generated table.
/// </summary>
public class RequestPolicyTests
{
    private readonly TestClock _clock = new();

    /// <summary>A client whose waits are at their longest (jitter 1), as the table assumes, and whose gate is its own.</summary>
    private EndpointClient Worst(FakeHandler handler, Action<EndpointClientOptions>? tune = null)
    {
        var options = Options(_clock, handler);
        options.Jitter = () => 1.0;
        tune?.Invoke(options);
        return new EndpointClient(Token, options);
    }

    private static RequestPolicies Policies => RequestPolicies.Defaults;

    private static Func<Recorded, CancellationToken, Task<HttpResponseMessage>> Forever(string failure, TimeProvider clock) => failure switch
    {
        "503" => Respond.With(503, Respond.Error("overloaded")),
        "drop" => Respond.Drop(),
        _ => Respond.Hang(clock),
    };

    private FakeHandler Failing(string failure, Func<Recorded, bool>? passes = null, string? passAnswer = null)
    {
        var step = Forever(failure, _clock);
        return new FakeHandler(_clock, Enumerable.Range(0, 300).Select(_ => (Func<Recorded, CancellationToken, Task<HttpResponseMessage>>)((r, ct) =>
            passes?.Invoke(r) == true ? Task.FromResult(Respond.Make(200, passAnswer ?? Endpoint())) : step(r, ct))).ToArray());
    }

    private static FailureKind Kind(string failure) => failure switch { "503" => FailureKind.Status, "drop" => FailureKind.Dropped, _ => FailureKind.Hung };

    public static TheoryData<string> Failures => new() { "503", "drop", "hang" };

    [Theory, MemberData(nameof(Failures))]
    public async Task Get_makes_exactly_the_attempts_and_takes_the_time_the_table_says(string failure)
    {
        var handler = Failing(failure);
        var started = _clock.GetUtcNow();

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Worst(handler).GetAsync(Ns, "mert")));

        var (attempts, elapsed) = Policies.ControlRead.WorstCase(Kind(failure));
        Assert.Equal(EndpointErrorKind.ServiceUnavailable, ex.Kind);
        Assert.Equal(attempts, handler.Requests.Count);
        Assert.Equal(elapsed, _clock.GetUtcNow() - started);
        Assert.True(elapsed <= EndpointClientOptions.DefaultRetryBudget, "the worst case is the budget, never more");
    }

    [Theory, MemberData(nameof(Failures))]
    public async Task Pause_makes_exactly_the_attempts_the_table_says(string failure)
    {
        var handler = Failing(failure);

        await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Worst(handler).PauseAsync(Ns, "mert")));

        Assert.Equal(Policies.ControlWrite.WorstCase(Kind(failure)).Attempts, handler.Requests.Count);
    }

    [Theory, MemberData(nameof(Failures))]
    public async Task Create_makes_exactly_the_attempts_the_table_says_each_after_the_first_checked_by_one_get(string failure)
    {
        // The create check (a GET) answers 404 at once: the endpoint is not there, so post again.
        var step = Forever(failure, _clock);
        var handler = new FakeHandler(_clock, Enumerable.Range(0, 100).Select(_ => (Func<Recorded, CancellationToken, Task<HttpResponseMessage>>)((r, ct) =>
            r.Method == HttpMethod.Get ? Task.FromResult(Respond.Make(404, Respond.Error("no"))) : step(r, ct))).ToArray());

        await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Worst(handler).CreateAsync(Ns, new EndpointCreateSpec { Name = "mert" })));

        int attempts = Policies.Create.WorstCase(Kind(failure)).Attempts;
        Assert.Equal(attempts, handler.Requests.Count(r => r.Method == HttpMethod.Post));
        Assert.Equal(attempts - 1, handler.Requests.Count(r => r.Method == HttpMethod.Get));
    }

    [Theory, MemberData(nameof(Failures))]
    public async Task The_owed_pause_makes_exactly_the_attempts_the_table_says_within_its_bound(string failure)
    {
        var handler = Failing(failure);
        var lifecycle = new EndpointLifecycle(Worst(handler));
        var started = _clock.GetUtcNow();

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(lifecycle.PauseOwedAsync(Ns, "mert", new OwedPauseOptions())));

        var (attempts, elapsed) = Policies.OwedPause.WorstCase(Kind(failure));
        Assert.Equal(EndpointErrorKind.EndpointStillBilling, ex.Kind);
        Assert.Equal(attempts, handler.Requests.Count);
        Assert.Equal(elapsed, _clock.GetUtcNow() - started);
        Assert.True(elapsed <= TimeSpan.FromMinutes(5));
    }

    [Theory]
    [InlineData("503")]
    [InlineData("drop")]
    public async Task The_data_plane_makes_exactly_the_attempts_the_table_says(string failure)
    {
        var handler = Failing(failure);
        var started = _clock.GetUtcNow();

        await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Worst(handler).SendDataAsync(
            new Uri("https://x.endpoints.huggingface.cloud"), "/", () => new StringContent("{}"))));

        var (attempts, elapsed) = Policies.DataPlane.WorstCase(Kind(failure));
        Assert.Equal(attempts, handler.Requests.Count);
        Assert.Equal(elapsed, _clock.GetUtcNow() - started);
    }

    [Theory, MemberData(nameof(Failures))]
    public async Task A_log_read_makes_exactly_the_attempts_the_table_says(string failure)
    {
        var handler = Failing(failure);

        await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Worst(handler).GetLogsAsync(Ns, "mert", 10)));

        Assert.Equal(Policies.LogStream.WorstCase(Kind(failure)).Attempts, handler.Requests.Count);
    }

    [Fact]
    public async Task A_hung_control_plane_holds_a_plain_get_no_longer_than_the_retry_budget()
    {
        var handler = Failing("hang");
        var started = _clock.GetUtcNow();

        await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Client(_clock, handler).GetAsync(Ns, "mert")));

        Assert.InRange(_clock.GetUtcNow() - started, TimeSpan.FromSeconds(20), EndpointClientOptions.DefaultRetryBudget);
    }

    // ---- the one Retry-After rule ----

    private static HttpResponseMessage RateLimited(int seconds) =>
        Respond.Make(429, Respond.Error("Too many requests"), h => h.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task A_Retry_After_of_45_s_on_an_ordinary_get_fails_at_once_with_RateLimited_naming_the_time()
    {
        var handler = new FakeHandler(_clock, _ => RateLimited(45));
        var started = _clock.GetUtcNow();

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(Client(_clock, handler).GetAsync(Ns, "mert")));

        Assert.Equal(EndpointErrorKind.RateLimited, ex.Kind);
        Assert.Single(handler.Requests);
        Assert.Equal(started, _clock.GetUtcNow()); // at once: no wait at all
        Assert.Contains("45 s", ex.Message);
        Assert.Contains("2026-11-27 08:00:45 UTC", ex.Message); // when to try again, as a time
        Assert.Contains("MERT_ENDPOINT_RETRY_BUDGET_SEC", ex.Message);
        Assert.Equal(TimeSpan.FromSeconds(45), ex.RetryAfter);
    }

    [Fact]
    public async Task A_raised_budget_waits_for_the_Retry_After_in_full_and_never_sends_before_it()
    {
        var handler = new FakeHandler(_clock, Respond.With(429, null, h => h.Add("Retry-After", "45")), Respond.With(200, Endpoint()));

        await _clock.Drive(Worst(handler, o => o.RetryBudget = TimeSpan.FromMinutes(5)).GetAsync(Ns, "mert"));

        Assert.Equal(TimeSpan.FromSeconds(45), handler.Requests[1].Time - handler.Requests[0].Time);
    }

    [Fact]
    public async Task The_owed_pause_waits_a_Retry_After_of_45_s_in_full()
    {
        int pauses = 0;
        var handler = new FakeHandler(_clock, r => pauses++ == 0 ? RateLimited(45) : Respond.Make(200, Endpoint(state: "paused", url: null)));

        var paused = await _clock.Drive(new EndpointLifecycle(Client(_clock, handler)).PauseOwedAsync(Ns, "mert", new OwedPauseOptions()));

        Assert.Equal(EndpointStatus.Paused, paused!.Status);
        Assert.Equal(2, handler.Requests.Count);
        Assert.Equal(TimeSpan.FromSeconds(45), handler.Requests[1].Time - handler.Requests[0].Time);
    }

    [Fact]
    public async Task A_fan_out_of_100_stops_sends_one_request_into_the_rate_limit_and_none_before_its_Retry_After()
    {
        var t0 = _clock.GetUtcNow();
        var handler = new FakeHandler(_clock, r => r.Time < t0.AddSeconds(45) ? RateLimited(45) : Respond.Make(200, Endpoint(name: r.Path.Split('/')[4], state: "paused", url: null)));
        var client = Worst(handler, o => o.RetryBudget = TimeSpan.FromMinutes(2));
        var lifecycle = new EndpointLifecycle(client);

        var stops = Enumerable.Range(0, 100).Select(i => lifecycle.StopAsync(Ns, $"ep-{i}")).ToArray();
        await _clock.Drive(Task.WhenAll(stops));

        Assert.Single(handler.Requests, r => r.Time < t0.AddSeconds(45));
        Assert.Equal(101, handler.Requests.Count);
        Assert.All(handler.Requests.Skip(1), r => Assert.True(r.Time >= t0.AddSeconds(45), $"{r} sent at {r.Time:HH:mm:ss.fff}"));
    }

    [Fact]
    public async Task A_fan_out_that_cannot_wait_fails_at_once_without_sending_into_the_rate_limit()
    {
        var handler = new FakeHandler(_clock, _ => RateLimited(120));
        var client = Client(_clock, handler);

        var gets = Enumerable.Range(0, 20).Select(i => client.GetAsync(Ns, $"ep-{i}")).ToArray();
        foreach (var get in gets)
        {
            var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(get, TimeSpan.FromMinutes(1)));
            Assert.Equal(EndpointErrorKind.RateLimited, ex.Kind);
        }

        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task The_gate_is_per_host_so_another_host_is_not_held()
    {
        var gate = new RetryAfterGate();
        gate.Hold("api.example", _clock.GetUtcNow().AddMinutes(10));
        var handler = new FakeHandler(_clock, _ => Respond.Make(200, "{\"name\":\"alice\",\"type\":\"user\",\"orgs\":[]}"));
        var options = Options(_clock, handler);
        options.RetryAfterGate = gate;

        await _clock.Drive(new EndpointClient(Token, options).WhoAmIAsync());                       // hub.example: not held
        var ex = await Assert.ThrowsAsync<EndpointException>(() => new EndpointClient(Token, options).ListAsync(Ns)); // api.example: held

        Assert.Single(handler.Requests);
        Assert.Equal(EndpointErrorKind.RateLimited, ex.Kind);
        Assert.Contains("nothing was sent", ex.Message);
    }

    // ---- the generated table ----

    [Fact]
    public void The_policy_table_is_generated_from_the_policy_objects_and_written_for_the_docs()
    {
        string table = Policies.ToMarkdown();

        foreach (var policy in Policies.All)
        {
            Assert.Contains($"| {policy.Name} |", table);
            var (attempts, elapsed) = policy.WorstCase(FailureKind.Status, 503);
            Assert.Contains($"{attempts} in {Errors.Duration(elapsed)}", table);
        }
        string? root = FindRepoRoot();
        if (root != null)
        {
            string path = Path.Combine(root, "docs", "RELIABILITY-GENERATED.md");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string existing = File.Exists(path) ? File.ReadAllText(path) : "";
            // The committed page must be what the policies say: a stale one fails (CI never rewrites it quietly).
            // MERT_WRITE_DOCS=1 dotnet test ... --filter RequestPolicyTests writes it afresh.
            if (existing.ReplaceLineEndings("\n") != table.ReplaceLineEndings("\n"))
            {
                if (Environment.GetEnvironmentVariable("MERT_WRITE_DOCS") == "1") File.WriteAllText(path, table);
                else Assert.Fail("docs/RELIABILITY-GENERATED.md differs from the request policies: run the Core tests with MERT_WRITE_DOCS=1 to write it, then commit it.");
            }
        }
    }

    internal static string? FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MertEndpoint.PowerShell.sln"))) return dir.FullName;
        return null;
    }

    // ---- nothing else retries or waits ----

    [Fact]
    public void No_retry_loop_or_delay_in_Core_outside_the_executor_and_the_waiter()
    {
        string root = FindRepoRoot() ?? throw new InvalidOperationException("The repository is not above the test's output folder.");
        string core = Path.Combine(root, "src", "MertEndpoint.Core");
        // Where waiting is the job: the executor (between tries) and the readiness waiter (between reads of a state).
        // The usage history's file lock is not a request: it waits a few milliseconds for another process's write.
        var allowed = new Dictionary<string, string>
        {
            ["Request/RequestExecutor.cs"] = "the one executor",
            ["Lifecycle/ReadinessWaiter.cs"] = "the readiness waiter",
            ["Usage/UsageHistory.cs"] = "the history file's lock, not a request",
            ["Request/RequestPolicy.cs"] = "the worst-case arithmetic of the generated table: counts, never waits",
        };
        // Any wait, any counter of tries, any Polly retry.
        var patterns = new Regex(@"Task\.Delay\(|\.Delay\(|\b(attempt|attempts|retry|retries|round|rounds|tries|failures)\s*(\+\+|\+=|=\s*\w+\s*\+\s*1\b)|\+\+\s*(attempt|attempts|retry|retries|round|tries|failures)\b|Polly\.Retry|AddRetry",
            RegexOptions.CultureInvariant);
        var found = new List<string>();
        foreach (string file in Directory.EnumerateFiles(core, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(core, file).Replace('\\', '/');
            if (relative.StartsWith("obj/") || relative.StartsWith("bin/") || allowed.ContainsKey(relative)) continue;
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                string code = lines[i].Split("//")[0];
                // A wait that only ends on cancellation is not a delay.
                if (patterns.IsMatch(code) && !code.Contains("Task.Delay(Timeout.Infinite")) found.Add($"{relative}:{i + 1}: {lines[i].Trim()}");
            }
        }
        Assert.True(found.Count == 0, "retry loops or delays outside the executor and the waiter:\n" + string.Join("\n", found));
        Assert.True(File.Exists(Path.Combine(core, "Request", "RequestExecutor.cs")), "the scan looks where the code is");
    }
}
