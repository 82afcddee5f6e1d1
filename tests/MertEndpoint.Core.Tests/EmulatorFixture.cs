using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;

namespace MertEndpoint.Tests;

[CollectionDefinition(nameof(EmulatorCollection))]
public class EmulatorCollection : ICollectionFixture<EmulatorFixture>;

/// <summary>
/// Runs the built emulator (src/MertEndpoint.Emulator) as a separate process on a free loopback port,
/// for the whole collection. Tests call <see cref="ResetAsync"/> to start from an empty service.
/// </summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    public const string Token = "hf_emulator_token";
    public const string User = "emulator-user";

    private EmulatorProcess? _process;

    public Uri BaseUri { get; private set; } = null!;
    public HttpClient Admin { get; } = new();

    public async Task InitializeAsync()
    {
        _process = await EmulatorProcess.StartAsync(["--boot-seconds", "0.5"]);
        BaseUri = _process.BaseUri;
        Admin.BaseAddress = BaseUri;
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        if (_process != null) await _process.DisposeAsync();
    }

    public string Output => _process?.Output ?? "";

    public async Task ResetAsync() => (await Admin.PostAsync("/_emulator/reset", null)).EnsureSuccessStatusCode();

    public async Task AddFaultAsync(object rule) => (await Admin.PostAsJsonAsync("/_emulator/faults", rule)).EnsureSuccessStatusCode();

    public EndpointClientOptions Options() => new()
    {
        ApiBaseUri = new Uri(BaseUri, "/v2"),
        HubBaseUri = BaseUri,
        RetryBaseDelay = TimeSpan.FromMilliseconds(50),
        MaxRetryDelay = TimeSpan.FromSeconds(1),
        AttemptTimeout = TimeSpan.FromSeconds(10),
        RetryAfterGate = new RetryAfterGate(),
    };

    public EndpointClient Client(string token = Token) => new(token, Options());

    /// <summary>
    /// MERT_EMULATOR_DLL when set (build.ps1 Test points it at its own build), else
    /// src/MertEndpoint.Emulator/bin/&lt;Configuration&gt;/net10.0/MertEndpoint.Emulator.dll under the repository root,
    /// preferring the configuration this test assembly was built with.
    /// </summary>
    internal static string LocateEmulator()
    {
        var given = Environment.GetEnvironmentVariable("MERT_EMULATOR_DLL");
        if (!string.IsNullOrEmpty(given))
            return File.Exists(given) ? given : throw new FileNotFoundException($"MERT_EMULATOR_DLL names {given}, which does not exist.");
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var ownConfiguration = here.Parent?.Name ?? "Debug"; // .../bin/<Configuration>/net10.0/
        for (var dir = here; dir != null; dir = dir.Parent)
        {
            var project = Path.Combine(dir.FullName, "src", "MertEndpoint.Emulator");
            if (!Directory.Exists(project)) continue;
            var candidates = new[] { ownConfiguration, "Debug", "Release" }.Distinct()
                .Select(c => Path.Combine(project, "bin", c, "net10.0", "MertEndpoint.Emulator.dll"));
            return candidates.FirstOrDefault(File.Exists)
                ?? throw new FileNotFoundException($"The emulator is not built; looked for {string.Join(", ", candidates)}. Run 'dotnet build'.");
        }
        throw new DirectoryNotFoundException($"No src/MertEndpoint.Emulator above {AppContext.BaseDirectory}.");
    }
}

/// <summary>The built emulator as a process of its own on a free loopback port, started with the given switches.</summary>
public sealed partial class EmulatorProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private readonly StringBuilder _output;
    private readonly Process _process;

    private EmulatorProcess(Process process, Uri baseUri, StringBuilder output) => (_process, BaseUri, _output) = (process, baseUri, output);

    public Uri BaseUri { get; }
    /// <summary>What the emulator printed so far (its listening line, its request log).</summary>
    public string Output => Text(_output);

    public static async Task<EmulatorProcess> StartAsync(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { EmulatorFixture.LocateEmulator(), "--urls", "http://127.0.0.1:0" }.Concat(arguments)) start.ArgumentList.Add(arg);
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            lock (output) output.AppendLine(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"The emulator exited early:\n{Text(output)}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            return new EmulatorProcess(process, await listening.Task.WaitAsync(StartTimeout), output);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The emulator did not print its listening line within {StartTimeout.TotalSeconds} s:\n{Text(output)}");
        }
    }

    private static string Text(StringBuilder b) { lock (b) return b.ToString(); }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"Emulator listening on (http://\S+)")]
    private static partial Regex ListeningLine();
}
