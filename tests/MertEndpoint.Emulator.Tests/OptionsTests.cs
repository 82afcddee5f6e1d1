using Xunit;

namespace MertEndpoint.Emulator.Tests;

public class OptionsTests
{
    [Fact]
    public void Defaults_AreTheContractsOnes()
    {
        var o = EmulatorOptions.Parse([]);
        Assert.Equal("http://127.0.0.1:5080", o.Urls);
        Assert.Equal(["hf_emulator_token"], o.Tokens);
        Assert.Equal("emulator-user", o.User);
        Assert.Empty(o.Orgs);
        Assert.Equal(3, o.BootSeconds);
        Assert.Null(o.StateFile);
        Assert.Equal(60, o.SecondsPerMinute);
        Assert.False(o.Help);
        // Every reading switch defaults to today's reading.
        Assert.False(o.UpdatedAtOnActionsOnly);
        Assert.False(o.UrlFromRunning);
        Assert.False(o.ResumeKeepsScaling);
        Assert.Equal(503, o.ScaleToZeroStatus);
        Assert.False(o.RandomUrls);
        Assert.False(o.EnforceQuota);
        Assert.Equal(0, o.StaleReadMs);
        Assert.False(o.FailedLogsBuildOnly);
        Assert.False(o.ColumnarMetrics);
        Assert.Equal(60, o.ScaleUpRequests);
        Assert.Equal(0, o.ListPageSize);
    }

    [Fact]
    public void ReadingSwitches_AreParsed()
    {
        var o = EmulatorOptions.Parse(["--updated-at", "actions", "--url-from", "running", "--resume-scaling", "keep", "--scale-to-zero-status", "502",
            "--url-scheme", "random", "--quota", "enforce", "--stale-read-ms", "1500", "--failed-logs", "build-only", "--metrics-shape", "columnar",
            "--scale-up-requests", "5", "--list-page-size", "2"]);
        Assert.True(o.UpdatedAtOnActionsOnly);
        Assert.True(o.UrlFromRunning);
        Assert.True(o.ResumeKeepsScaling);
        Assert.Equal(502, o.ScaleToZeroStatus);
        Assert.True(o.RandomUrls);
        Assert.True(o.EnforceQuota);
        Assert.Equal(1500, o.StaleReadMs);
        Assert.True(o.FailedLogsBuildOnly);
        Assert.True(o.ColumnarMetrics);
        Assert.Equal(5, o.ScaleUpRequests);
        Assert.Equal(2, o.ListPageSize);
        var back = EmulatorOptions.Parse(["--updated-at", "transitions", "--url-from", "initializing", "--resume-scaling", "reset",
            "--scale-to-zero-status", "503", "--url-scheme", "path", "--quota", "off", "--failed-logs", "keep", "--metrics-shape", "points",
            "--list-page-size", "0"]);
        var defaults = EmulatorOptions.Parse([]);
        Assert.Equal(defaults, back with { Tokens = defaults.Tokens, Orgs = defaults.Orgs }); // the lists are new objects
    }

    [Fact]
    public void Options_AreParsed_AndTokenAndOrgRepeat()
    {
        var o = EmulatorOptions.Parse(["--urls", "http://127.0.0.1:0", "--token", "a", "--token", "b", "--user", "alice",
            "--org", "lab", "--org", "team", "--boot-seconds", "0.25", "--seconds-per-minute", "1.5", "--state-file", "s.json"]);
        Assert.Equal("http://127.0.0.1:0", o.Urls);
        Assert.Equal(["a", "b"], o.Tokens);
        Assert.Equal("alice", o.User);
        Assert.Equal(["lab", "team"], o.Orgs);
        Assert.Equal(0.25, o.BootSeconds);
        Assert.Equal(1.5, o.SecondsPerMinute);
        Assert.Equal(Path.GetFullPath("s.json"), o.StateFile);
        Assert.True(EmulatorOptions.Parse(["--help"]).Help);
    }

    [Theory]
    [InlineData("--boot-seconds", "-1")]
    [InlineData("--boot-seconds", "soon")]
    [InlineData("--seconds-per-minute", "NaN")]
    [InlineData("--user", "")]
    [InlineData("--token", " ")]
    [InlineData("--urls")]
    [InlineData("--verbose")]
    [InlineData("--updated-at", "always")]
    [InlineData("--url-from", "pending")]
    [InlineData("--scale-to-zero-status", "504")]
    [InlineData("--url-scheme", "Random")]
    [InlineData("--quota", "on")]
    [InlineData("--stale-read-ms", "-5")]
    [InlineData("--stale-read-ms", "1.5")]
    [InlineData("--failed-logs", "none")]
    [InlineData("--metrics-shape", "rows")]
    [InlineData("--scale-up-requests", "0")]
    [InlineData("--resume-scaling")]
    public void BadCommandLines_AreRejected(params string[] args) =>
        Assert.Throws<ArgumentException>(() => EmulatorOptions.Parse(args));

    [Fact]
    public async Task InProcess_WritesTheListeningLineWithTheRealPort()
    {
        await using var emulator = await TestEmulator.StartAsync();
        Assert.Equal($"Emulator listening on {emulator.BaseUrl}{Environment.NewLine}", emulator.Output.ToString());
        Assert.Matches(@"^http://127\.0\.0\.1:[1-9]\d*$", emulator.BaseUrl);
    }
}
