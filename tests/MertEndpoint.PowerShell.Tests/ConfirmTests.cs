using System.Net;
using System.Net.Http;

namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// A change is done when a read says so: a pause's answer counts only when it shows the endpoint paused; otherwise
/// the endpoint is read back within the stale-read grace (the pause sent again once if it still runs), and still
/// billing after that is EndpointStillBilling, naming it.
/// </summary>
public class ConfirmTests
{
    private static int Pauses(CmdletHost host) => host.Service.Requests.Count(r => r.Is("POST", "/pause"));

    [Theory]
    [InlineData("200 {}")]
    [InlineData("200 running")]
    [InlineData("204")]
    public async Task A_pause_answered_2xx_but_never_carried_out_is_EndpointStillBilling(string answer)
    {
        using var host = new CmdletHost();
        host.Service.Add("u");
        host.Service.Intercept = r => r.Is("POST", "/pause") ? Lie(host, answer) : null;
        var run = await host.RunAsync("Stop-MertEndpoint u -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith("EndpointStillBilling,", error.FullyQualifiedErrorId);
        Assert.Contains("MAY STILL BE BILLING", error.Exception.Message);
        Assert.Contains("Stop-MertEndpoint u -Namespace alice", error.Exception.Message);
        Assert.Equal(2, Pauses(host)); // sent again once
        Assert.Equal("running", host.Service.StateOf("u"));
    }

    [Theory]
    [InlineData("202 running")] // a stale answer: the pause lands a moment later
    [InlineData("204")]
    [InlineData("200 {}")]
    public async Task A_pause_carried_out_whatever_its_answer_said_is_confirmed_by_a_read(string answer)
    {
        using var host = new CmdletHost();
        host.Service.Add("u");
        host.Service.Intercept = r =>
        {
            if (!r.Is("POST", "/pause")) return null;
            var response = Lie(host, answer);
            host.Service.Add("u", state: "paused"); // carried out after the answer was made
            return response;
        };
        var run = (await host.RunAsync("Stop-MertEndpoint u -PassThru -Confirm:$false")).Succeeded();
        Assert.Equal("Paused", ((EndpointInfo)Assert.Single(run.Output).BaseObject).Status.ToString());
        Assert.Equal(1, Pauses(host));
        Assert.Contains(host.Service.Requests, r => r.Method == HttpMethod.Get && r.Path.EndsWith("/u"));
    }

    [Fact]
    public async Task A_pause_whose_answer_was_lost_is_sent_again_and_confirmed()
    {
        using var host = new CmdletHost();
        host.Service.Add("u");
        int seen = 0;
        host.Service.Intercept = r =>
        {
            if (!r.Is("POST", "/pause") || Interlocked.Increment(ref seen) > 1) return null;
            host.Service.Add("u", state: "paused");
            throw new HttpRequestException("The connection was closed before the answer.");
        };
        (await host.RunAsync("Stop-MertEndpoint u -Confirm:$false")).Succeeded();
        Assert.Equal("paused", host.Service.StateOf("u"));
    }

    [Fact]
    public async Task A_pause_answered_200_but_carried_out_only_when_sent_again_is_confirmed()
    {
        using var host = new CmdletHost();
        host.Service.Add("u");
        int seen = 0;
        host.Service.Intercept = r => r.Is("POST", "/pause") && Interlocked.Increment(ref seen) == 1 ? Lie(host, "200 {}") : null;
        (await host.RunAsync("Stop-MertEndpoint u -Confirm:$false")).Succeeded();
        Assert.Equal(2, Pauses(host));
        Assert.Equal("paused", host.Service.StateOf("u"));
    }

    [Fact]
    public async Task Use_whose_final_pause_is_answered_200_but_not_carried_out_reports_EndpointStillBilling()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        host.Service.Intercept = r => r.Is("POST", "/pause") ? Lie(host, "200 {}") : null;
        var run = await host.RunAsync("Use-MertEndpoint u -OwedPauseTimeoutSec 30 -Confirm:$false { 'ran' }");
        Assert.Equal(["ran"], run.Output.Select(o => o.ToString()));
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith("EndpointStillBilling,", error.FullyQualifiedErrorId);
        Assert.Equal("running", host.Service.StateOf("u"));
    }

    [Fact]
    public async Task A_delete_whose_answer_was_lost_is_done_not_a_404_failure()
    {
        using var host = new CmdletHost();
        host.Service.Add("gone", state: "paused");
        int seen = 0;
        host.Service.Intercept = r =>
        {
            if (r.Method != HttpMethod.Delete || Interlocked.Increment(ref seen) > 1) return null;
            host.Service.Remove("gone"); // carried out, then the connection drops before the answer
            throw new HttpRequestException("The connection was closed before the answer.");
        };
        (await host.RunAsync("Remove-MertEndpoint gone -Force -Confirm:$false")).Succeeded();
        Assert.Equal(2, seen);
        Assert.False(host.Service.Exists("gone"));
    }

    private static int Deletes(CmdletHost host) => host.Service.Requests.Count(r => r.Method == HttpMethod.Delete);

    [Theory]
    [InlineData("running", "EndpointStillBilling", "MAY STILL BE BILLING")]
    [InlineData("paused", "EndpointNotDeleted", "was not deleted")]
    public async Task A_delete_answered_200_but_never_carried_out_is_an_error_naming_what_reads_show(string state, string id, string says)
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: state);
        host.Service.Intercept = r => r.Method == HttpMethod.Delete ? FakeService.Json(200, "{}") : null; // answered, never done
        var run = await host.RunAsync("Remove-MertEndpoint u -Force -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith(id + ",", error.FullyQualifiedErrorId);
        Assert.Contains(says, error.Exception.Message);
        Assert.Contains($"still show it {state}", error.Exception.Message);
        Assert.Contains("Remove-MertEndpoint u -Namespace alice", error.Exception.Message);
        if (state == "running") Assert.Contains("Stop-MertEndpoint u -Namespace alice", error.Exception.Message);
        Assert.Equal(2, Deletes(host)); // sent again once
        Assert.True(host.Service.Exists("u"));
        Assert.DoesNotContain(run.Verbose, v => v.StartsWith("Deleted ", StringComparison.Ordinal));
        // The usage history was not told it is gone: its last record of u is still the state the reads showed.
        var history = (await host.RunAsync("Get-MertEndpointHistory u")).Succeeded().Output.Select(o => o.BaseObject).OfType<EndpointStateChange>().ToList();
        Assert.Equal(state, history.Last().State);
    }

    [Fact]
    public async Task A_confirmed_delete_is_recorded_as_this_module_s_own_from_when_it_was_sent()
    {
        // Last seen an hour before the delete: the confirming read's 404 must not date the deletion back to that sighting.
        using var host = new CmdletHost();
        host.Service.Add("u", state: "running");
        (await host.RunAsync("Get-MertEndpoint u")).Succeeded();
        host.Clock.Advance(TimeSpan.FromHours(1));
        (await host.RunAsync("Remove-MertEndpoint u -Force -Confirm:$false")).Succeeded();
        var history = (await host.RunAsync("Get-MertEndpointHistory u")).Succeeded().Output.Select(o => o.BaseObject).OfType<EndpointStateChange>().ToList();
        var gone = history.Last();
        Assert.Equal(("deleted", "action"), (gone.State, gone.Source)); // this module deleted it
        Assert.Equal(host.Service.Requests.Single(r => r.Method == HttpMethod.Delete).Time, gone.Earliest);
    }

    [Fact]
    public async Task A_delete_whose_reads_lag_is_confirmed_by_a_later_read()
    {
        // The service deletes at once but its reads show the endpoint for a second more (a stale read): the module reads
        // on until a 404, without sending the delete again, and says it is deleted.
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        string body = host.Service.BodyOf("u");
        int staleReads = 0;
        host.Service.Intercept = r =>
        {
            if (r.Method == HttpMethod.Delete) { host.Service.Remove("u"); return FakeService.Json(200, "{}"); }
            if (r.Method == HttpMethod.Get && r.Path.EndsWith("/u", StringComparison.Ordinal) && !host.Service.Exists("u")
                && Interlocked.Increment(ref staleReads) <= 2) return FakeService.Json(200, body);
            return null;
        };
        var run = (await host.RunAsync("Remove-MertEndpoint u -Force -Confirm:$false -Verbose")).Succeeded();
        Assert.Equal(1, Deletes(host));
        Assert.Equal(3, staleReads); // two stale answers, then the 404
        Assert.Contains(run.Verbose, v => v == "Deleted alice/u.");
    }

    private static int Puts(CmdletHost host) => host.Service.Requests.Count(r => r.Method == HttpMethod.Put);

    [Fact]
    public async Task An_update_answered_200_but_never_carried_out_is_EndpointNotUpdated_naming_what_reads_show()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused"); // min 0, idle timeout 15 minutes
        host.Service.Intercept = r => r.Method == HttpMethod.Put ? FakeService.Json(200, "{}") : null; // answered, never done
        var run = await host.RunAsync("Set-MertEndpoint u -IdleTimeout 00:30:00 -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith("EndpointNotUpdated,", error.FullyQualifiedErrorId);
        Assert.Contains("show replicas 0-1 with scale to zero after 15 idle minutes instead of replicas 0-1 with scale to zero after 30 idle minutes "
            + "(the update was sent again once)", error.Exception.Message);
        Assert.Contains("Get-MertEndpoint u -Namespace alice", error.Exception.Message);
        Assert.Equal(2, Puts(host));
    }

    [Fact]
    public async Task A_start_whose_scaling_is_never_put_back_fails_says_to_start_again_and_pauses_it()
    {
        // After the resume the start sets the idle timeout asked for (30 minutes), answered 200 {} and never done: without
        // it nothing on the service side would stop the billing should this process die, so the start fails and pauses.
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused"); // idle timeout 15 minutes
        host.Service.Intercept = r => r.Method == HttpMethod.Put ? FakeService.Json(200, "{}") : null;
        var run = await host.RunAsync("Start-MertEndpoint u -IdleTimeout 00:30:00 -Confirm:$false");
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith("EndpointNotUpdated,", error.FullyQualifiedErrorId);
        Assert.StartsWith("The start could not put back the scaling of endpoint 'u' in namespace 'alice' after its resume", error.Exception.Message);
        Assert.Contains("Start it again: Start-MertEndpoint u -Namespace alice", error.Exception.Message);
        Assert.Contains("paused again", error.Exception.Message);
        Assert.Equal(1, Pauses(host));
        Assert.Equal("paused", host.Service.StateOf("u"));
    }

    [Fact]
    public async Task An_update_whose_answer_shows_the_settings_before_it_is_confirmed_by_a_read()
    {
        // A stale answer: the update lands, but its answer still shows the idle timeout it replaced. A read shows the
        // new one, without the update being sent again.
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        host.Service.Intercept = r =>
        {
            if (r.Method != HttpMethod.Put) return null;
            string before = host.Service.BodyOf("u");
            host.Service.Serve(r).Dispose(); // carried out
            return FakeService.Json(200, before);
        };
        var run = (await host.RunAsync("Set-MertEndpoint u -IdleTimeout 00:30:00 -Confirm:$false")).Succeeded();
        Assert.Equal(30, ((EndpointInfo)Assert.Single(run.Output).BaseObject).ScaleToZeroTimeout);
        Assert.Equal(1, Puts(host));
    }

    private static HttpResponseMessage Lie(CmdletHost host, string answer) => answer switch
    {
        "200 {}" => FakeService.Json(200, "{}"),
        "200 running" => FakeService.Json(200, host.Service.BodyOf("u")),
        "202 running" => FakeService.Json(202, host.Service.BodyOf("u")),
        "204" => new HttpResponseMessage(HttpStatusCode.NoContent),
        _ => throw new ArgumentException(answer),
    };
}
