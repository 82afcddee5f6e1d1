using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using MertEndpoint.Recording;

namespace MertEndpoint.Tests;

/// <summary>
/// The scripted session of build.ps1 Record, run through the module's client against an emulator started with the given
/// switches (boots of 1 s), recorded and written as HAR. One recording per class, shared by its tests.
/// </summary>
public abstract partial class EmulatorRecording : IAsyncLifetime
{
    private static readonly string Letters = "abcdefghijklmnopqrstuvwxyz0123456789";
    private EmulatorProcess? _emulator;

    // Random per run: the redaction test scans for exactly these.
    public string Token { get; } = "hf_" + RecordingScan.Random(34, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    public string User { get; } = "u" + RecordingScan.Random(11, Letters);
    public string Org { get; } = "o" + RecordingScan.Random(11, Letters);

    public string Har { get; private set; } = "";
    public IReadOnlyList<Replacement> Replaced { get; private set; } = [];
    public IReadOnlyList<Reading> Readings { get; private set; } = [];
    public string SessionLog { get; private set; } = "";

    protected abstract string[] Switches { get; }
    protected virtual bool ScaleToZero => true;
    protected virtual TimeSpan FastReads => TimeSpan.FromSeconds(2.5);

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorProcess.StartAsync(new[] { "--boot-seconds", "1", "--token", Token, "--user", User, "--org", Org }.Concat(Switches));
        _baseUri = _emulator.BaseUri;

        var recorder = new RecordingHandler();
        var client = Client(recorder);
        var log = new StringWriter();
        var session = new RecordedSession(client, recorder, new SessionOptions { FastReads = FastReads, ScaleToZero = ScaleToZero }, log);
        await session.RunAsync(_ => true, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));
        // The org's namespace in a URL too, so the scan covers a namespace learned from a path.
        recorder.Step = "list the org's endpoints";
        await client.ListAsync(Org);
        SessionLog = log.ToString();
        (Har, Replaced) = HarWriter.Write(recorder.Exchanges);
        Readings = MertEndpoint.Recording.Readings.FromHar(Har);
    }

    private Uri _baseUri = null!;

    /// <summary>A client of this emulator, recording through <paramref name="recorder"/>.</summary>
    public EndpointClient Client(RecordingHandler recorder) => new(Token, new EndpointClientOptions
    {
        ApiBaseUri = new Uri(_baseUri, "/v2"), HubBaseUri = _baseUri, Handler = recorder, RetryAfterGate = new RetryAfterGate(),
        Accounts = new AccountCache(directory: Path.Combine(Path.GetTempPath(), "mert-rec-" + Guid.NewGuid().ToString("n"))),
    });

    /// <summary>
    /// A session interrupted (Ctrl+C and SIGTERM cancel this token in build.ps1 Record) once its endpoint exists: it must
    /// say it cleaned up, and the namespace must be empty once reads have caught up (the stale-read lag is at most 1.5 s).
    /// </summary>
    public async Task InterruptedSessionLeavesNothingAsync()
    {
        var recorder = new RecordingHandler();
        var client = Client(recorder);
        var log = new StringWriter();
        using var cts = new CancellationTokenSource();
        var session = new RecordedSession(client, recorder, new SessionOptions { FastReads = FastReads, ScaleToZero = false }, log);
        var run = session.RunAsync(_ => true, cts.Token);
        await Bounded.Until(() => recorder.Exchanges.Any(e => e.Method == "POST" && e.Status == 202), "the create's answer");
        await Task.Delay(300);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("clean-up: deleted", log.ToString());
        Assert.False(session.LeftBehind);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Empty(await client.ListAsync(User));
    }

    public async Task DisposeAsync()
    {
        if (_emulator != null) await _emulator.DisposeAsync();
    }

    public string Value(string name) => Readings.Single(r => r.Switch == name).Value;

    public string Explain() => string.Join("\n", Readings) + "\n--- session\n" + SessionLog;
}

public sealed class DefaultRecording : EmulatorRecording
{
    protected override string[] Switches => [];
}

public sealed class PessimisticRecording : EmulatorRecording
{
    protected override string[] Switches => ["--updated-at", "actions", "--url-from", "running", "--url-scheme", "random", "--stale-read-ms", "1500"];
    protected override bool ScaleToZero => false;
}

/// <summary>The other value of each switch the pessimistic set leaves at its default and the session can show.</summary>
public sealed class OtherValuesRecording : EmulatorRecording
{
    protected override string[] Switches => ["--resume-scaling", "keep", "--scale-to-zero-status", "502", "--metrics-shape", "columnar"];
}

public sealed class RecordingDefaultsTests(DefaultRecording recording) : IClassFixture<DefaultRecording>
{
    [Fact]
    public void No_token_user_or_organization_survives_in_any_form()
    {
        foreach (var secret in new[] { recording.Token, recording.User, recording.Org })
            foreach (var form in RecordingScan.Forms(secret))
                Assert.False(recording.Har.Contains(form, StringComparison.OrdinalIgnoreCase), $"'{form}' (a form of a secret) is in the recording");
        // The scan looks at a file that holds the session, with the placeholders where the secrets were.
        Assert.Contains("\"Bearer <token>\"", recording.Har);
        Assert.Contains("/v2/endpoint/<user>/mert-rec-", recording.Har);
        Assert.Contains("/v2/endpoint/<org-1>", recording.Har);
        Assert.Contains(recording.Replaced, r => r.Placeholder == "<user>" && r.Count > 10);
    }

    [Fact]
    public void Readings_of_the_defaults_are_the_defaults()
    {
        var expected = new Dictionary<string, string>
        {
            ["updated-at"] = "transitions", ["url-from"] = "initializing", ["url-scheme"] = "path", ["resume-scaling"] = "reset",
            ["scale-to-zero-status"] = "503", ["quota"] = "unknown", ["stale-read-ms"] = "0", ["failed-logs"] = "unknown",
            ["metrics-shape"] = "points",
        };
        Assert.Equal(expected.Keys.Order(), recording.Readings.Select(r => r.Switch).Order());
        foreach (var (name, value) in expected) Assert.True(value == recording.Value(name), $"{name}: expected {value}\n{recording.Explain()}");
        // Each known reading names its evidence: two entries by index and time (the metric's shape is one answer).
        Assert.All(recording.Readings.Where(r => r.Value != Readings.Unknown), r =>
            Assert.Matches(r.Switch == "metrics-shape" ? @"#\d+ \+\d+\.\d{3} s" : @"#\d+ \+\d+\.\d{3} s.*#\d+ \+\d+\.\d{3} s", r.Evidence));
    }

    [Fact]
    public Task An_interrupted_session_pauses_and_deletes_what_it_created() => recording.InterruptedSessionLeavesNothingAsync();

    [Fact]
    public void Readings_come_from_the_answers_in_the_file()
    {
        // The same file with every "initializing" answer made to say "pending": nothing shows the boot's second step any more.
        var changed = recording.Har.Replace("\\\"state\\\":\\\"initializing\\\"", "\\\"state\\\":\\\"pending\\\"");
        Assert.NotEqual(recording.Har, changed);
        var readings = Readings.FromHar(changed);
        Assert.Equal("unknown", readings.Single(r => r.Switch == "url-from").Value);
    }
}

public sealed class RecordingPessimisticTests(PessimisticRecording recording) : IClassFixture<PessimisticRecording>
{
    [Fact]
    public Task An_interrupted_session_pauses_and_deletes_what_it_created() => recording.InterruptedSessionLeavesNothingAsync();

    [Fact]
    public void Readings_of_the_pessimistic_switches_are_those_switches()
    {
        Assert.True("actions" == recording.Value("updated-at"), recording.Explain());
        Assert.True("running" == recording.Value("url-from"), recording.Explain());
        Assert.True("random" == recording.Value("url-scheme"), recording.Explain());
        Assert.True("unknown" == recording.Value("scale-to-zero-status"), recording.Explain()); // this session did not scale to zero
        var stale = Regex.Match(recording.Value("stale-read-ms"), @"^(\d+)-(\d+)$");
        Assert.True(stale.Success, recording.Explain());
        Assert.InRange(1500, int.Parse(stale.Groups[1].Value), int.Parse(stale.Groups[2].Value));
        Assert.True(int.Parse(stale.Groups[2].Value) - int.Parse(stale.Groups[1].Value) <= 1000, recording.Explain()); // a range that says something
    }

    [Fact]
    public void No_token_user_or_organization_survives_in_any_form()
    {
        foreach (var secret in new[] { recording.Token, recording.User, recording.Org })
            foreach (var form in RecordingScan.Forms(secret))
                Assert.False(recording.Har.Contains(form, StringComparison.OrdinalIgnoreCase), $"'{form}' (a form of a secret) is in the recording");
    }
}

public sealed class RecordingOtherValuesTests(OtherValuesRecording recording) : IClassFixture<OtherValuesRecording>
{
    [Fact]
    public void Readings_of_keep_502_and_columnar_are_those_values()
    {
        Assert.True("keep" == recording.Value("resume-scaling"), recording.Explain());
        Assert.True("502" == recording.Value("scale-to-zero-status"), recording.Explain());
        Assert.True("columnar" == recording.Value("metrics-shape"), recording.Explain());
        // The switches left at their defaults still read as the defaults.
        Assert.True("transitions" == recording.Value("updated-at"), recording.Explain());
        Assert.True("0" == recording.Value("stale-read-ms"), recording.Explain());
    }
}
