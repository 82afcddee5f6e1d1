namespace MertEndpoint.PowerShell.Tests;

/// <summary>
/// The module against a session of the service played back (<see cref="ReplayService"/>, the committed recording in
/// tests/recordings), beside the same commands against the fake service: the same objects, as far as a recording can
/// answer (it answers what the service answered then, not what this request asked for).
/// </summary>
public class ReplayTests
{
    private static string Recording(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MertEndpoint.PowerShell.sln"))) return File.ReadAllText(Path.Combine(dir.FullName, "tests", "recordings", file));
        throw new InvalidOperationException("The repository is not above the test's output folder.");
    }

    private static string Script(string name) =>
        $"Get-MertEndpoint {name}; Start-MertEndpoint {name} -Confirm:$false; Stop-MertEndpoint {name} -PassThru -Confirm:$false; Get-MertEndpoint {name}";

    private static IEnumerable<string> Seen(Run run) => run.Output.Select(o => o.BaseObject).OfType<EndpointInfo>()
        .Select(e => $"{e.Namespace}/{e.Name} {e.Status} min {e.MinReplica} idle {e.ScaleToZeroTimeout}");

    [Fact]
    public async Task Get_Start_Stop_and_Get_against_the_recorded_session_give_what_they_give_against_the_fake_service()
    {
        var replay = new ReplayService(Recording("emulator-defaults.har"), startAfter: "pause");
        using var recorded = new CmdletHost(service: replay);
        var fromRecording = (await recorded.RunAsync(Script(replay.Name))).Succeeded();
        Assert.Empty(replay.Unanswered);
        // The module's start resumes, then restores the scaling the resume reset; its stop pauses.
        Assert.Equal(["resume", "update", "pause"], replay.Actions);

        using var fake = new CmdletHost();
        fake.Service.Add(replay.Name, state: "paused");
        var fromFake = (await fake.RunAsync(Script(replay.Name))).Succeeded();

        var expected = Seen(fromFake).ToList();
        Assert.Equal(["Paused", "Running", "Paused", "Paused"], expected.Select(e => e.Split(' ')[1]));
        Assert.Equal(expected, Seen(fromRecording));
    }
}
