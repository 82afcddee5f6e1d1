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
