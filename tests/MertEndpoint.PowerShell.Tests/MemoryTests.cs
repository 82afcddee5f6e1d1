namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// The lifecycle's own memory drives late-read handling: a usage history that cannot be written no longer switches
/// it off.
/// </summary>
public class MemoryTests
{
    [Fact]
    public async Task A_late_booting_read_right_after_our_pause_is_resumed_even_when_the_history_cannot_be_written()
    {
        using var host = new CmdletHost();
        // The history's file is a folder: every write fails (a warning), as on a full or read-only disk.
        Directory.CreateDirectory(Path.Combine(host.DataDirectory, "usage.jsonl"));
        host.Service.Add("u");
        bool lateReadServed = false;
        host.Service.Intercept = r =>
        {
            // The first read after the pause answers the state of a moment before it: still booting.
            if (r.Method == HttpMethod.Get && r.Path.EndsWith("/u") && host.Service.StateOf("u") == "paused" && !lateReadServed)
            {
                lateReadServed = true;
                return FakeService.Json(200, host.Service.BodyOf("u").Replace("\"paused\"", "\"initializing\""));
            }
            return null;
        };
        var run = await host.RunAsync("Stop-MertEndpoint u -Confirm:$false -WarningAction SilentlyContinue; Start-MertEndpoint u -Confirm:$false -WarningAction SilentlyContinue");
        Assert.True(lateReadServed);
        Assert.Empty(run.AllErrors);
        // Taken for what it is, a late answer: the endpoint is paused, so the start resumed it.
        Assert.Contains(host.Service.Requests, r => r.Is("POST", "/resume"));
        Assert.Equal("running", host.Service.StateOf("u"));
    }
}
