namespace MertEndpoint.PowerShell.Tests;

/// <summary>Each error of the contract: its exact id, category and target, from the service's answer.</summary>
public class ErrorRecordTests
{
    [Theory]
    [InlineData(404, "EndpointNotFound", ErrorCategory.ObjectNotFound)]
    [InlineData(401, "Unauthorized", ErrorCategory.AuthenticationError)]
    [InlineData(403, "Forbidden", ErrorCategory.PermissionDenied)]
    [InlineData(400, "InvalidRequest", ErrorCategory.InvalidArgument)]
    [InlineData(429, "RateLimited", ErrorCategory.LimitsExceeded)]
    [InlineData(503, "ServiceUnavailable", ErrorCategory.ConnectionError)]
    public async Task A_status_on_a_read_becomes_its_error(int status, string id, ErrorCategory category)
    {
        using var host = new CmdletHost();
        host.Service.Add("x");
        host.Service.Intercept = r => r.Path == "/v2/endpoint/alice/x" ? FakeService.Json(status, FakeService.Error("refused for a test")) : null;
        var run = await host.RunAsync("Get-MertEndpoint x -Namespace alice; 'next'");
        Assert.Equal(["next"], run.Output.Select(o => o.ToString()));
        var error = Assert.Single(run.AllErrors);
        Assert.Equal(id + ",MertEndpoint.PowerShell.Cmdlets.GetMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Equal(category, error.CategoryInfo.Category);
        Assert.Equal("alice/x", error.TargetObject?.ToString());
        Assert.IsType<EndpointException>(error.Exception);
        Assert.DoesNotContain(FakeService.Token, error.ToString());
    }

    [Fact]
    public async Task A_missing_endpoint_names_the_endpoint_and_the_namespace()
    {
        using var host = new CmdletHost();
        var run = await host.RunAsync("Get-MertEndpoint nope");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("EndpointNotFound,MertEndpoint.PowerShell.Cmdlets.GetMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Contains("nope", error.Exception.Message);
        Assert.Contains("alice", error.Exception.Message);
        Assert.IsType<EndpointId>(error.TargetObject);
    }

    [Fact]
    public async Task A_wrong_token_is_Unauthorized_and_never_shown()
    {
        using var host = new CmdletHost();
        host.Service.Add("x");
        var run = await host.RunAsync("Get-MertEndpoint x -Token $args[0]", CmdletHost.SecureToken("hf_wrongSECRET_1234567890"));
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("Unauthorized", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
        Assert.DoesNotContain("hf_wrongSECRET", error.ToString());
    }

    [Fact]
    public async Task A_duplicate_New_is_EndpointAlreadyExists()
    {
        using var host = new CmdletHost();
        host.Service.Add("dup");
        var run = await host.RunAsync("New-MertEndpoint dup -ImageUrl someone/img:1 -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("EndpointAlreadyExists,MertEndpoint.PowerShell.Cmdlets.NewMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceExists, error.CategoryInfo.Category);
    }

    [Fact]
    public async Task A_409_on_a_pause_is_EndpointConflict_saying_to_wait_and_try_again_not_EndpointAlreadyExists()
    {
        using var host = new CmdletHost();
        host.Service.Add("busy");
        int conflicts = 0;
        host.Service.Intercept = r => r.Is("POST", "/busy/pause") && Interlocked.Increment(ref conflicts) == 1
            ? FakeService.Json(409, FakeService.Error("the endpoint is being updated")) : null;
        var run = await host.RunAsync("Stop-MertEndpoint busy -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("EndpointConflict,MertEndpoint.PowerShell.Cmdlets.StopMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceBusy, error.CategoryInfo.Category);
        Assert.Contains("Could not pause endpoint 'busy' in namespace 'alice'", error.Exception.Message);
        Assert.Contains("changing state", error.Exception.Message);
        Assert.Contains("try again", error.Exception.Message);
        Assert.Equal(409, Assert.IsType<EndpointException>(error.Exception).StatusCode);
        Assert.Equal(1, conflicts);
    }

    [Fact]
    public async Task An_invalid_name_is_refused_before_any_request()
    {
        using var host = new CmdletHost();
        var run = await host.RunAsync("Stop-MertEndpoint 'Bad_Name!' -Namespace alice -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("InvalidEndpointName,MertEndpoint.PowerShell.Cmdlets.StopMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Empty(host.Service.Requests);
    }

    [Fact]
    public async Task Remove_refuses_wildcards_so_a_typo_never_deletes_many()
    {
        using var host = new CmdletHost();
        host.Service.Add("wild-a");
        var run = await host.RunAsync("Remove-MertEndpoint 'wild-*' -Force");
        Assert.Equal("WildcardNotAllowed", Assert.Single(run.AllErrors).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Empty(host.Service.Writes);
    }

    [Fact]
    public async Task A_per_endpoint_error_is_non_terminating_and_the_rest_goes_on()
    {
        using var host = new CmdletHost();
        host.Service.Add("ok-one");
        var run = await host.RunAsync("Stop-MertEndpoint missing-one, ok-one -Confirm:$false");
        var error = Assert.Single(run.Errors);
        Assert.Null(run.Terminating);
        Assert.Equal("alice/missing-one", error.TargetObject?.ToString());
        Assert.Equal("paused", host.Service.StateOf("ok-one"));
    }

    [Fact]
    public async Task A_start_that_fails_is_EndpointFailed_and_leaves_nothing_billing()
    {
        using var host = new CmdletHost();
        host.Service.Add("broken", state: "paused", image: "someone/fail:1");
        var run = await host.RunAsync("Start-MertEndpoint broken -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("EndpointFailed,MertEndpoint.PowerShell.Cmdlets.StartMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceUnavailable, error.CategoryInfo.Category);
        Assert.Equal("failed", host.Service.StateOf("broken"));
    }

    [Fact]
    public async Task A_start_that_times_out_is_WaitTimeout_and_the_endpoint_it_resumed_is_paused_again()
    {
        using var host = new CmdletHost();
        host.Service.Add("slow", state: "paused", boot: TimeSpan.FromMinutes(30));
        var run = await host.RunAsync("Start-MertEndpoint slow -TimeoutSec 60 -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.Equal("WaitTimeout,MertEndpoint.PowerShell.Cmdlets.StartMertEndpoint", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);
        Assert.Equal("alice/slow", error.TargetObject?.ToString());
        Assert.Equal(["resume", "pause"], host.Service.Writes.Select(r => r.Path.Split('/')[^1]));
        Assert.Equal("paused", host.Service.StateOf("slow"));
        // On the test clock: the wait gave up at its bound, not after the boot.
        Assert.InRange(host.Clock.GetUtcNow() - new TestClock().GetUtcNow(), TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task A_start_that_leaves_no_service_side_idle_timeout_warns_and_says_how_to_set_one()
    {
        using var host = new CmdletHost();
        host.Service.Add("always", state: "paused", minReplica: 1, scaleToZeroTimeout: null);
        var run = (await host.RunAsync("Start-MertEndpoint always -Confirm:$false")).Succeeded();
        var warning = Assert.Single(run.Warnings);
        Assert.Contains("no idle timeout", warning);
        Assert.Contains("-IdleTimeout 00:15:00", warning);
    }

    [Fact]
    public async Task Set_with_nothing_to_change_is_refused()
    {
        using var host = new CmdletHost();
        host.Service.Add("s");
        var run = await host.RunAsync("Set-MertEndpoint s -ThrottleLimit 3 -Confirm:$false");
        Assert.Single(run.AllErrors);
        Assert.Empty(host.Service.Writes);
    }
}
