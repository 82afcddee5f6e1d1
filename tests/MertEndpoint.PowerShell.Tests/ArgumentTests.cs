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
