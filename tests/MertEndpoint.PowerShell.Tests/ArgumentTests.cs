namespace MertEndpoint.PowerShell.Tests;

/// <summary>Arguments no request could serve are refused before the first request, with the module's own ids.</summary>
public class ArgumentTests
{
    [Theory]
    [InlineData("Use-MertEndpoint u -MaxDuration 50.00:00:00 -Confirm:$false { 'ran' }", "InvalidMaxDuration")]
    [InlineData("Use-MertEndpoint u -MaxDuration ([TimeSpan]::MaxValue) -Confirm:$false { 'ran' }", "InvalidMaxDuration")]
    [InlineData("Get-MertEndpointCost u -Until ([datetime]::MaxValue)", "InvalidPeriod")]
    [InlineData("Get-MertEndpointMetric u -Until ([datetime]::MaxValue)", "InvalidPeriod")]
    [InlineData("Get-MertEndpointLog u -Until ([datetime]::MaxValue)", "InvalidPeriod")]
    [InlineData("Get-MertEndpoint -BilledLongerThan -00:01:00", "InvalidArgument")]
    public async Task Refused_before_any_request(string command, string id)
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var run = await host.RunAsync(command);
        Assert.Empty(run.Output);
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith(id + ",", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Empty(host.Service.Requests);
    }
}

/// <summary>Duration parameters take a TimeSpan, seconds as a number or a string, or a TimeSpan string.</summary>
public class DurationTests
{
    [Theory]
    [InlineData(600, 600.0)]
    [InlineData(1.5, 1.5)]
    [InlineData("600", 600.0)]
    [InlineData(" 90 ", 90.0)]
    [InlineData("1.5", 1.5)]
    [InlineData("00:10:00", 600.0)]
    [InlineData("1.02:00:00", 93600.0)]
    public void Reads_seconds_and_TimeSpan_strings(object input, double seconds)
    {
        var read = new DurationAttribute().Transform(null!, input);
        Assert.Equal(TimeSpan.FromSeconds(seconds), Assert.IsType<TimeSpan>(read));
        Assert.Equal(TimeSpan.FromMinutes(3), new DurationAttribute().Transform(null!, new PSObject(TimeSpan.FromMinutes(3))));
    }

    [Theory]
    [InlineData("ten minutes")]
    [InlineData("1e300")]
    [InlineData("NaN")]
    public void Refuses_what_is_no_duration_naming_the_forms_it_takes(string input)
    {
        var ex = Assert.Throws<ArgumentTransformationMetadataException>(() => new DurationAttribute().Transform(null!, input));
        Assert.Contains($"'{input}' is not a duration", ex.Message);
        Assert.Contains("00:10:00", ex.Message);
    }

    [Fact]
    public async Task MaxDuration_numbers_are_seconds_whether_given_as_a_number_or_a_string()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        // 5,000,000 s is 57.9 days, past the 49.7-day limit (PowerShell alone reads it as 0.5 s and lets it run).
        var tooLong = await host.RunAsync("Use-MertEndpoint u -MaxDuration 5000000 -Confirm:$false { 'ran' }");
        Assert.StartsWith("InvalidMaxDuration,", Assert.Single(tooLong.AllErrors).FullyQualifiedErrorId);
        // '4000000' is 46.3 days as seconds, within the limit (PowerShell alone reads it as 4,000,000 days).
        (await host.RunAsync("Use-MertEndpoint u -MaxDuration '4000000' -WhatIf { 'ran' }")).Succeeded();
        (await host.RunAsync("Get-MertEndpoint -BilledLongerThan '600'; Get-MertEndpoint -BilledLongerThan 1.5")).Succeeded();
        Assert.Empty(host.Service.Writes);
    }

    [Fact]
    public async Task A_bad_duration_is_refused_before_any_request()
    {
        using var host = new CmdletHost();
        host.Service.Add("u", state: "paused");
        var run = await host.RunAsync("Use-MertEndpoint u -MaxDuration 'two hours' -Confirm:$false { 'ran' }");
        Assert.Empty(run.Output);
        Assert.Contains("'two hours' is not a duration", Assert.Single(run.AllErrors).Exception.Message);
        Assert.Empty(host.Service.Requests);
    }
}

/// <summary>
/// One convention for every duration parameter: a TimeSpan, seconds as a number or a string, a TimeSpan string, bound by
/// name or by property name from the pipeline; the old names (hidden) in their old units; one idle-timeout parameter.
/// </summary>
public class DurationParameterTests
{
    [Theory]
    [InlineData("Wait-MertEndpoint w -Timeout ([TimeSpan]::FromSeconds(90))", "90 s")]
    [InlineData("Wait-MertEndpoint w -Timeout 90", "90 s")]
    [InlineData("Wait-MertEndpoint w -Timeout '90'", "90 s")]
    [InlineData("Wait-MertEndpoint w -Timeout 1.5", "1.5 s")]
    [InlineData("Wait-MertEndpoint w -Timeout '00:01:30'", "90 s")]
    [InlineData("Wait-MertEndpoint w -TimeoutSec 90", "90 s")]
    [InlineData("[pscustomobject]@{ Name = 'w'; Timeout = '90' } | Wait-MertEndpoint", "90 s")]
    [InlineData("Start-MertEndpoint w -Timeout 90 -Confirm:$false", "90 s")]
    [InlineData("[pscustomobject]@{ Name = 'w'; Timeout = 1.5 } | Start-MertEndpoint -Confirm:$false", "1.5 s")]
    [InlineData("Start-MertEndpoint w -TimeoutSec 90 -Confirm:$false", "90 s")]
    [InlineData("Use-MertEndpoint w -Timeout '00:01:30' -Confirm:$false { 'ran' }", "90 s")]
    [InlineData("[pscustomobject]@{ Name = 'w'; Timeout = 90 } | Use-MertEndpoint -Confirm:$false -ScriptBlock { 'ran' }", "90 s")]
    [InlineData("Use-MertEndpoint w -TimeoutSec 90 -Confirm:$false { 'ran' }", "90 s")]
    public async Task Timeout_is_a_duration_under_every_form_and_its_old_name(string script, string said)
    {
        using var host = new CmdletHost();
        host.Service.Add("w", state: "initializing", boot: TimeSpan.FromHours(1));
        var began = host.Clock.GetUtcNow();
        var run = await host.RunAsync(script);
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith("WaitTimeout,", error.FullyQualifiedErrorId);
        Assert.Contains($"was not ready after {said}", error.Exception.Message);
        Assert.DoesNotContain("ran", run.Output.Select(o => o.ToString()));
        // The wait took the time asked for (fake time), not 10 minutes nor ticks nor days.
        var waited = host.Clock.GetUtcNow() - began;
        var asked = said == "1.5 s" ? TimeSpan.FromSeconds(1.5) : TimeSpan.FromSeconds(90);
        Assert.InRange(waited, asked, asked + TimeSpan.FromSeconds(15));
    }

    [Theory]
    [InlineData("Set-MertEndpoint s -IdleTimeout 600 -Confirm:$false", true)]
    [InlineData("Set-MertEndpoint s -IdleTimeout '600' -Confirm:$false", true)]
    [InlineData("Set-MertEndpoint s -IdleTimeout '00:10:00' -Confirm:$false", true)]
    [InlineData("Set-MertEndpoint s -IdleTimeout ([TimeSpan]::FromMinutes(10)) -Confirm:$false", true)]
    [InlineData("Set-MertEndpoint s -ScaleToZeroTimeout 10 -Confirm:$false", true)]
    [InlineData("[pscustomobject]@{ Name = 's'; IdleTimeout = 600 } | Set-MertEndpoint -Confirm:$false", true)]
    [InlineData("New-MertEndpoint s -ImageUrl i:1 -IdleTimeout 600 -Confirm:$false", false)]
    [InlineData("New-MertEndpoint s -ImageUrl i:1 -ScaleToZeroTimeout 10 -Confirm:$false", false)]
    [InlineData("[pscustomobject]@{ Name = 's'; IdleTimeout = '00:10:00' } | New-MertEndpoint -ImageUrl i:1 -Confirm:$false", false)]
    [InlineData("Start-MertEndpoint s -IdleTimeout 600 -Confirm:$false", true)]
    [InlineData("Start-MertEndpoint s -IdleTimeoutMinutes 10 -Confirm:$false", true)]
    [InlineData("[pscustomobject]@{ Name = 's'; IdleTimeout = 600 } | Start-MertEndpoint -Confirm:$false", true)]
    [InlineData("Start-MertEndpoint s -CreateIfMissing -ImageUrl i:1 -IdleTimeout 600 -Confirm:$false", false)]
    [InlineData("Use-MertEndpoint s -IdleTimeout 600 -AfterAction Leave -Confirm:$false { }", true)]
    [InlineData("Use-MertEndpoint s -IdleTimeoutMinutes 10 -AfterAction Leave -Confirm:$false { }", true)]
    [InlineData("[pscustomobject]@{ Name = 's'; IdleTimeout = 600 } | Use-MertEndpoint -AfterAction Leave -Confirm:$false -ScriptBlock { }", true)]
    public async Task IdleTimeout_is_one_parameter_in_whole_minutes_and_its_old_names_still_work(string script, bool exists)
    {
        using var host = new CmdletHost();
        if (exists) host.Service.Add("s", state: "paused", scaleToZeroTimeout: 30);
        var run = (await host.RunAsync(script)).Succeeded();
        var scaling = System.Text.Json.Nodes.JsonNode.Parse(host.Service.BodyOf("s"))!["compute"]!["scaling"]!;
        Assert.Equal(10, (int?)scaling["scaleToZeroTimeout"]);
        Assert.Equal(0, (int?)scaling["minReplica"]);
    }

    [Fact]
    public async Task New_keeps_its_default_idle_timeout()
    {
        using var host = new CmdletHost();
        (await host.RunAsync("New-MertEndpoint s -ImageUrl i:1 -Confirm:$false")).Succeeded();
        var scaling = System.Text.Json.Nodes.JsonNode.Parse(host.Service.BodyOf("s"))!["compute"]!["scaling"]!;
        Assert.Equal(MertDefaults.ScaleToZeroTimeout, (int?)scaling["scaleToZeroTimeout"]);
    }

    [Theory]
    [InlineData("Set-MertEndpoint s -IdleTimeout 90 -Confirm:$false", "not a whole number of minutes", "00:02:00")]
    [InlineData("New-MertEndpoint s -ImageUrl i:1 -IdleTimeout 150 -Confirm:$false", "not a whole number of minutes", "00:03:00")]
    [InlineData("Start-MertEndpoint s -IdleTimeout 30 -Confirm:$false", "out of range", "00:01:00")]
    [InlineData("Wait-MertEndpoint s -Timeout 0", "out of range", "a bare number is seconds")]
    [InlineData("Invoke-MertEndpoint s -Body @{} -Timeout 2.00:00:00", "out of range", "1.00:00:00")]
    [InlineData("Use-MertEndpoint s -OwedPauseTimeout 7200 -Confirm:$false { }", "out of range", "01:00:00")]
    public async Task A_duration_out_of_range_is_refused_before_any_request_naming_what_it_takes(string script, string problem, string hint)
    {
        using var host = new CmdletHost();
        host.Service.Add("s", state: "paused");
        var run = await host.RunAsync(script);
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith("ParameterArgumentValidationError,", error.FullyQualifiedErrorId);
        Assert.Contains(problem, error.Exception.Message);
        Assert.Contains(hint, error.Exception.Message);
        Assert.Empty(host.Service.Requests);
    }

    [Theory]
    [InlineData("Wait-MertEndpoint s -Timeout 60 -TimeoutSec 60", "-Timeout and -TimeoutSec")]
    [InlineData("Start-MertEndpoint s -IdleTimeout 600 -IdleTimeoutMinutes 10 -Confirm:$false", "-IdleTimeout and -IdleTimeoutMinutes")]
    [InlineData("Set-MertEndpoint s -IdleTimeout 600 -ScaleToZeroTimeout 10 -Confirm:$false", "-IdleTimeout and -ScaleToZeroTimeout")]
    [InlineData("New-MertEndpoint s -IdleTimeout 600 -ScaleToZeroTimeout 10 -Confirm:$false", "-IdleTimeout and -ScaleToZeroTimeout")]
    [InlineData("Start-MertEndpoint s -CreateIfMissing -ImageUrl i:1 -IdleTimeout 600 -ScaleToZeroTimeout 10 -Confirm:$false", "-IdleTimeout and -ScaleToZeroTimeout")]
    [InlineData("Use-MertEndpoint s -OwedPauseTimeout 60 -OwedPauseTimeoutSec 60 -Confirm:$false { }", "-OwedPauseTimeout and -OwedPauseTimeoutSec")]
    [InlineData("Invoke-MertEndpoint s -Body @{} -Timeout 60 -TimeoutSec 60", "-Timeout and -TimeoutSec")]
    public async Task A_new_name_and_its_old_name_together_are_refused_before_any_request(string script, string named)
    {
        using var host = new CmdletHost();
        host.Service.Add("s", state: "paused");
        var run = await host.RunAsync(script);
        var error = Assert.Single(run.AllErrors);
        Assert.StartsWith("InvalidArgument,", error.FullyQualifiedErrorId);
        Assert.Contains(named + " set the same thing", error.Exception.Message);
        Assert.Empty(host.Service.Writes);
    }

    [Fact]
    public void The_old_names_are_hidden_from_help_and_completion_but_kept()
    {
        foreach (var (cmdlet, old) in new[]
        {
            (typeof(Cmdlets.StartMertEndpoint), "TimeoutSec"), (typeof(Cmdlets.StartMertEndpoint), "IdleTimeoutMinutes"),
            (typeof(Cmdlets.StartMertEndpoint), "OwedPauseTimeoutSec"), (typeof(Cmdlets.UseMertEndpoint), "TimeoutSec"),
            (typeof(Cmdlets.UseMertEndpoint), "IdleTimeoutMinutes"), (typeof(Cmdlets.UseMertEndpoint), "OwedPauseTimeoutSec"),
            (typeof(Cmdlets.WaitMertEndpoint), "TimeoutSec"), (typeof(Cmdlets.InvokeMertEndpoint), "TimeoutSec"),
            (typeof(Cmdlets.SetMertEndpoint), "ScaleToZeroTimeout"), (typeof(CreateParameters), "ScaleToZeroTimeout"),
        })
        {
            var parameter = cmdlet.GetProperty(old)!.GetCustomAttributes(typeof(ParameterAttribute), false).Cast<ParameterAttribute>().Single();
            Assert.True(parameter.DontShow, $"{cmdlet.Name} -{old}");
        }
    }
}
