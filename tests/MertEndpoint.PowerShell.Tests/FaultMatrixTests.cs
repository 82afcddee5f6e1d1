namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// Cells of the fault matrix (docs/ERRORS.md, "The fault matrix"): a fault shape against a command that owes a pause or
/// changes state. Each test was committed failing before its fix. The signal cells run real child processes (Pester's
/// Endings.Tests.ps1); these run in-process on the fake service.
/// </summary>
public class FaultMatrixTests
{
    [Fact]
    public async Task New_whose_create_is_carried_out_but_answered_202_with_an_empty_body_reads_the_endpoint_back()
    {
        using var host = new CmdletHost();
        host.Service.Intercept = r => r.Is("POST", "/endpoint/alice")
            ? (host.Service.Serve(r) is var served && served.IsSuccessStatusCode ? FakeService.Json(202, "{}") : served)
            : null;
        var run = (await host.RunAsync("New-MertEndpoint made -ImageUrl someone/mert:1 -Confirm:$false")).Succeeded();
        var created = Assert.IsType<EndpointInfo>(Assert.Single(run.Output).BaseObject);
        Assert.Equal("made", created.Name);
        Assert.Equal("alice", created.Namespace);
        Assert.Equal(EndpointStatus.Initializing, created.Status);
        Assert.Contains(host.Service.Requests, r => r.Is("GET", "/alice/made"));
    }

    [Fact]
    public async Task Use_whose_block_is_stuck_in_an_uncancellable_call_pauses_at_once_when_stopped()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        using var gate = new ManualResetEventSlim(false);
        using var ps = host.Create("param($gate) Use-MertEndpoint u -Confirm:$false { 'in block'; $gate.Wait() }", gate);
        var output = new PSDataCollection<PSObject>();
        var invoking = Task.Factory.StartNew(() => ps.Invoke(null, output), TaskCreationOptions.LongRunning);
        await host.Clock.Until(() => output.Count > 0).WaitAsync(CmdletHost.Bound);

        var stopping = Task.Run(ps.Stop);
        bool pausedWhileStuck;
        try
        {
            // The block cannot be interrupted: the pause goes out while it is still stuck, not after it returns.
            // ... and the host says so while the block is still stuck, not when it returns (it may never).
            await host.Clock.Until(() => host.Service.StateOf("u") == "paused" && host.Host.HostLines.Any(l => l.Contains("has not returned yet", StringComparison.Ordinal)),
                TimeSpan.FromMinutes(2)).WaitAsync(CmdletHost.Bound);
            pausedWhileStuck = !gate.IsSet;
        }
        catch (TimeoutException)
        {
            pausedWhileStuck = false;
        }
        finally
        {
            gate.Set(); // a failed assertion must not leave the pipeline stuck
        }
        await host.Clock.Drive(stopping).WaitAsync(CmdletHost.Bound);
        await CmdletHost.AssertStopped(ps, invoking);

        Assert.True(pausedWhileStuck, "no pause went out while the block was stuck: " + string.Join(", ", host.Service.Writes));
        Assert.Equal(["resume", "pause"], host.Service.Writes.Select(r => r.Path.Split('/')[^1]));
        Assert.Contains(host.Host.HostLines, l => l.StartsWith("WARNING: alice/u: paused (a read shows it paused); the script block was told to stop", StringComparison.Ordinal));
    }
}

public class FaultMatrixStopTests
{
    [Fact]
    public async Task Stop_whose_pipeline_is_stopped_while_the_pause_hangs_says_the_endpoint_may_still_bill()
    {
        using var host = new CmdletHost();
        host.Service.Add("slow");
        host.Service.Hold(r => r.Is("POST", "/pause"));
        using var ps = host.Create("Stop-MertEndpoint slow -Confirm:$false");
        var invoking = Task.Factory.StartNew(() => ps.Invoke(), TaskCreationOptions.LongRunning);
        await PipelineTests.Until(() => host.Service.Held == 1);

        await Task.Run(ps.Stop).WaitAsync(CmdletHost.Bound);

        await CmdletHost.AssertStopped(ps, invoking);
        Assert.Equal("running", host.Service.StateOf("slow"));
        // Ctrl+C abandoned the pause: the user hears that it may still bill and what to run, not nothing.
        Assert.Contains(host.Host.HostLines, l => l.Contains("alice/slow", StringComparison.Ordinal) || l.Contains("'slow'", StringComparison.Ordinal));
        Assert.Contains(host.Host.HostLines, l => l.Contains("MAY STILL BE BILLING", StringComparison.Ordinal)
            && l.Contains("Stop-MertEndpoint slow", StringComparison.Ordinal));
    }

    [Fact]
    public async Task New_whose_pipeline_is_stopped_while_the_create_is_unanswered_says_it_may_exist_and_bill()
    {
        using var host = new CmdletHost();
        host.Service.Hold(r => r.Is("POST", "/endpoint/alice"));
        using var ps = host.Create("New-MertEndpoint fresh -ImageUrl someone/mert:1 -Confirm:$false");
        var invoking = Task.Factory.StartNew(() => ps.Invoke(), TaskCreationOptions.LongRunning);
        await PipelineTests.Until(() => host.Service.Held == 1);

        await Task.Run(ps.Stop).WaitAsync(CmdletHost.Bound);

        await CmdletHost.AssertStopped(ps, invoking);
        // The create may have reached the service: the user hears that it may exist and bill, and how to check and remove it.
        Assert.Contains(host.Host.HostLines, l => l.Contains("'fresh' in namespace 'alice'", StringComparison.Ordinal)
            && l.Contains("MAY BE BILLING", StringComparison.Ordinal) && l.Contains("Remove-MertEndpoint fresh -Namespace alice", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_read_that_waits_on_a_long_Retry_After_says_so_as_a_warning_and_a_short_retry_in_verbose()
    {
        using var host = new CmdletHost();
        host.Service.Add("w");
        int limited = 0;
        host.Service.Intercept = r => r.Is("GET", "/alice/w") && Interlocked.Increment(ref limited) == 1 ? TooMany(6) : null;
        var waited = (await host.RunAsync("Get-MertEndpoint w")).Succeeded();
        Assert.Equal(["w"], waited.Names);
        Assert.Contains(waited.Warnings, w => w.Contains("answered 429 (Retry-After); trying again in 6 s", StringComparison.Ordinal));

        int failed = 0;
        host.Service.Intercept = r => r.Is("GET", "/alice/w") && Interlocked.Increment(ref failed) == 1 ? FakeService.Json(503, FakeService.Error("busy")) : null;
        var quick = (await host.RunAsync("Get-MertEndpoint w -Verbose")).Succeeded();
        Assert.Equal(["w"], quick.Names);
        Assert.Empty(quick.Warnings);
        Assert.Contains(quick.Verbose, v => v.Contains("answered 503; trying again in", StringComparison.Ordinal));
    }

    private static HttpResponseMessage TooMany(int seconds)
    {
        var response = FakeService.Json(429, FakeService.Error("Rate limit reached"));
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds));
        return response;
    }

    [Fact]
    public async Task Use_whose_owed_pause_is_answered_429_waits_the_Retry_After_in_full_and_pauses()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        int refused = 0;
        DateTimeOffset? firstRefusal = null, paused = null;
        host.Service.Intercept = r =>
        {
            if (!r.Is("POST", "/pause")) return null;
            if (Interlocked.Increment(ref refused) <= 2) { firstRefusal ??= r.Time; return TooMany(45); }
            paused = r.Time;
            return null;
        };
        var run = (await host.RunAsync("Use-MertEndpoint u -Confirm:$false -Verbose { 'ran' }")).Succeeded();
        Assert.Equal(["ran"], run.Output.Select(o => o.ToString()));
        Assert.Equal("paused", host.Service.StateOf("u"));
        // Never sent before the server said: two refusals of 45 s each, then the pause that went through; three in all.
        Assert.True(paused - firstRefusal >= TimeSpan.FromSeconds(90), $"the pause went out {paused - firstRefusal} after the first refusal");
        Assert.Equal(3, host.Service.Requests.Count(r => r.Is("POST", "/u/pause")));
        // And it says so each time it waits: a wait this long as a warning (a short one is a verbose line).
        Assert.Equal(2, run.Warnings.Count(w => w.Contains("alice/u: The service answered 429 (Retry-After); trying again in 45 s", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Stop_answered_429_with_a_Retry_After_past_its_budget_fails_at_once_naming_the_wait()
    {
        using var host = new CmdletHost();
        host.Service.Add("busy");
        host.Service.Intercept = r => r.Is("POST", "/pause") ? TooMany(3600) : null;
        var began = host.Clock.GetUtcNow();
        var run = await host.RunAsync("Stop-MertEndpoint busy -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("RateLimited", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Matches("(60 min|1 h|3600 s)", error.Exception.Message);
        Assert.Single(host.Service.Requests, r => r.Is("POST", "/pause"));
        Assert.True(host.Clock.GetUtcNow() - began < TimeSpan.FromSeconds(5), "it waited instead of failing at once");
        Assert.Equal("running", host.Service.StateOf("busy"));
    }

    /// <summary>Carries the first request matching out, then loses its answer (the connection drops).</summary>
    private static Func<Seen, HttpResponseMessage?> LoseFirstAnswer(FakeService service, string method, string pathEnd)
    {
        int lost = 0;
        return r =>
        {
            if (!r.Is(method, pathEnd) || Interlocked.Exchange(ref lost, 1) == 1) return null;
            service.Serve(r).Dispose();
            throw new HttpRequestException("The response ended prematurely.");
        };
    }

    [Fact]
    public async Task Start_whose_resume_answer_is_lost_after_it_landed_waits_for_running()
    {
        using var host = new CmdletHost();
        host.Service.Add("s", state: "paused");
        host.Service.Intercept = LoseFirstAnswer(host.Service, "POST", "/resume");
        var run = (await host.RunAsync("Start-MertEndpoint s -Confirm:$false")).Succeeded();
        Assert.Equal(EndpointStatus.Running, Assert.IsType<EndpointInfo>(Assert.Single(run.Output).BaseObject).Status);
        Assert.Equal("running", host.Service.StateOf("s"));
        Assert.DoesNotContain(host.Service.Writes, w => w.Is("POST", "/pause"));
    }

    [Fact]
    public async Task Start_whose_resume_is_answered_200_empty_but_not_carried_out_still_ends_running()
    {
        using var host = new CmdletHost();
        host.Service.Add("s", state: "paused");
        int lied = 0;
        host.Service.Intercept = r => r.Is("POST", "/resume") && Interlocked.Exchange(ref lied, 1) == 0 ? FakeService.Json(200, "{}") : null;
        var run = await host.RunAsync("Start-MertEndpoint s -Timeout 00:05:00 -Confirm:$false");
        // The read back shows it paused: the start resumes it again (a late read) or waits it out; never a "running"
        // object while the service says paused, never an error about an empty name.
        run.Succeeded();
        Assert.Equal("running", host.Service.StateOf("s"));
        Assert.Equal(EndpointStatus.Running, Assert.IsType<EndpointInfo>(Assert.Single(run.Output).BaseObject).Status);
    }

    [Fact]
    public async Task Stop_whose_pause_answer_is_lost_after_it_landed_is_paused_without_an_error()
    {
        using var host = new CmdletHost();
        host.Service.Add("p");
        host.Service.Intercept = LoseFirstAnswer(host.Service, "POST", "/pause");
        var run = (await host.RunAsync("Stop-MertEndpoint p -PassThru -Confirm:$false")).Succeeded();
        Assert.Equal(EndpointStatus.Paused, Assert.IsType<EndpointInfo>(Assert.Single(run.Output).BaseObject).Status);
        Assert.Equal("paused", host.Service.StateOf("p"));
    }

    [Fact]
    public async Task Remove_whose_pipeline_is_stopped_while_the_delete_is_unanswered_says_the_endpoint_may_still_exist_and_bill()
    {
        using var host = new CmdletHost();
        host.Service.Add("old");
        host.Service.Hold(r => r.Method == HttpMethod.Delete);
        using var ps = host.Create("Remove-MertEndpoint old -Confirm:$false");
        var invoking = Task.Factory.StartNew(() => ps.Invoke(), TaskCreationOptions.LongRunning);
        await PipelineTests.Until(() => host.Service.Held == 1);

        await Task.Run(ps.Stop).WaitAsync(CmdletHost.Bound);

        await CmdletHost.AssertStopped(ps, invoking);
        Assert.Contains(host.Host.HostLines, l => l.Contains("'old' in namespace 'alice'", StringComparison.Ordinal)
            && l.Contains("MAY STILL EXIST", StringComparison.Ordinal) && l.Contains("Get-MertEndpoint old -Namespace alice", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_answered_500_every_time_is_ServiceUnavailable_naming_the_endpoint_which_still_runs()
    {
        using var host = new CmdletHost();
        host.Service.Add("down");
        host.Service.Intercept = r => r.Is("POST", "/pause") ? FakeService.Json(500, FakeService.Error("internal error")) : null;
        var run = await host.RunAsync("Stop-MertEndpoint down -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("ServiceUnavailable", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("'down' in namespace 'alice'", error.Exception.Message);
        Assert.Equal("running", host.Service.StateOf("down"));
    }

    [Fact]
    public async Task Stop_whose_pause_hangs_past_the_command_deadline_is_CommandTimedOut_and_says_it_may_still_bill()
    {
        using var host = new CmdletHost();
        host.Factory.CommandTimeout = TimeSpan.FromSeconds(30);
        host.Service.Add("hung");
        host.Service.Hold(r => r.Is("POST", "/pause"));
        using var ps = host.Create("Stop-MertEndpoint hung -Confirm:$false");
        var invoking = Task.Factory.StartNew(() => ps.Invoke(), TaskCreationOptions.LongRunning);
        await PipelineTests.Until(() => host.Service.Held == 1);
        host.Clock.Advance(TimeSpan.FromSeconds(30));

        var error = await CmdletHost.FirstError(ps, invoking);
        Assert.NotNull(error);
        Assert.StartsWith("CommandTimedOut,", error.FullyQualifiedErrorId);
        Assert.Contains(host.Host.HostLines, l => l.Contains("'hung' in namespace 'alice' MAY STILL BE BILLING", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_whose_owed_pause_is_answered_200_empty_but_not_carried_out_says_it_may_still_bill()
    {
        using var host = new CmdletHost();
        host.Service.Add("slow", state: "paused", boot: TimeSpan.FromHours(1));
        host.Service.Intercept = r => r.Is("POST", "/pause") ? FakeService.Json(200, "{}") : null;
        var run = await host.RunAsync("Start-MertEndpoint slow -Timeout 00:00:05 -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.Contains("MAY STILL BE BILLING", error.Exception.Message);
        Assert.Contains("Stop-MertEndpoint slow -Namespace alice", error.Exception.Message);
        Assert.DoesNotContain("paused again", error.Exception.Message);
        Assert.Equal("initializing", host.Service.StateOf("slow"));
    }

    [Fact]
    public async Task Start_of_several_ended_downstream_by_Select_First_pauses_again_the_ones_still_booting()
    {
        using var host = new CmdletHost();
        host.Service.Add("quick", state: "paused", boot: TimeSpan.FromSeconds(10));
        host.Service.Add("slow", state: "paused", boot: TimeSpan.FromHours(1));
        var run = await host.RunAsync("Start-MertEndpoint quick, slow -Confirm:$false | Select-Object -First 1");
        Assert.Equal(["quick"], run.Names);
        Assert.Equal("running", host.Service.StateOf("quick"));
        Assert.Equal("paused", host.Service.StateOf("slow"));
    }

    [Fact]
    public async Task Use_whose_final_pause_answer_is_lost_after_it_landed_says_paused_without_an_error()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        host.Service.Intercept = LoseFirstAnswer(host.Service, "POST", "/pause");
        var run = (await host.RunAsync("Use-MertEndpoint u -Confirm:$false { 'ran' }")).Succeeded();
        Assert.Equal(["ran"], run.Output.Select(o => o.ToString()));
        Assert.Equal("paused", host.Service.StateOf("u"));
        Assert.Contains(run.Information, l => l.Contains("; paused after", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Use_whose_final_pause_hangs_ends_in_EndpointStillBilling_within_its_OwedPauseTimeout()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var hold = host.Service.Hold(r => r.Is("POST", "/pause"));
        using var ps = host.Create("Use-MertEndpoint u -OwedPauseTimeout 00:00:30 -Confirm:$false { 'ran' }");
        var output = new PSDataCollection<PSObject>();
        var invoking = Task.Factory.StartNew(() => ps.Invoke(null, output), TaskCreationOptions.LongRunning);
        try
        {
            // Up to the held pause, time moves only when the command waits on a timer (the boot, the waits): moved on
            // blindly, a starved pipeline could see its start time out first.
            await host.Clock.Until(() => host.Service.Held == 1, TimeSpan.FromMinutes(10)).WaitAsync(CmdletHost.Bound);
            // A request that never answers ends only at its attempt timeout, a timer the fake clock must be moved past.
            var deadline = DateTime.UtcNow + CmdletHost.Bound;
            while (!invoking.IsCompleted && DateTime.UtcNow < deadline)
            {
                host.Clock.Advance(TimeSpan.FromSeconds(1));
                await Task.Delay(2);
            }
        }
        finally
        {
            hold.TrySetResult(); // a failed test must not leave the pipeline waiting
        }
        await invoking.WaitAsync(CmdletHost.Bound);
        Assert.Equal(["ran"], output.Select(o => o.ToString()));
        var error = Assert.Single(ps.Streams.Error);
        Assert.Equal("EndpointStillBilling", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("Stop-MertEndpoint u -Namespace alice", error.Exception.Message);
    }

    [Fact]
    public async Task New_whose_create_answer_is_lost_after_it_landed_outputs_the_endpoint_once()
    {
        using var host = new CmdletHost();
        host.Service.Intercept = LoseFirstAnswer(host.Service, "POST", "/endpoint/alice");
        var run = (await host.RunAsync("New-MertEndpoint once -ImageUrl someone/mert:1 -Confirm:$false")).Succeeded();
        Assert.Equal(["once"], run.Names);
        Assert.Single(host.Service.Requests, r => r.Is("POST", "/endpoint/alice"));
    }

    [Theory]
    [InlineData(500, "ServiceUnavailable")]
    [InlineData(429, "RateLimited")]
    public async Task Remove_answered_an_error_every_time_names_the_endpoint_which_still_exists(int status, string id)
    {
        using var host = new CmdletHost();
        host.Service.Add("keep");
        host.Service.Intercept = r => r.Method == HttpMethod.Delete ? (status == 429 ? TooMany(3600) : FakeService.Json(status, FakeService.Error("no"))) : null;
        var run = await host.RunAsync("Remove-MertEndpoint keep -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal(id, error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("'keep' in namespace 'alice'", error.Exception.Message);
        Assert.True(host.Service.Exists("keep"));
    }
}
