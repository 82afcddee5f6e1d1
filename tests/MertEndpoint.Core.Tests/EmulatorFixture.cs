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
public sealed partial class EmulatorFixture : IAsyncLifetime
{
    public const string Token = "hf_emulator_token";
    public const string User = "emulator-user";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly StringBuilder _output = new();
    private Process? _process;

    public Uri BaseUri { get; private set; } = null!;
    public HttpClient Admin { get; } = new();

    public async Task InitializeAsync()
    {
        var dll = LocateEmulator();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, "--urls", "http://127.0.0.1:0", "--boot-seconds", "0.5" }) start.ArgumentList.Add(arg);

        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            lock (_output) _output.AppendLine(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
        };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_output) _output.AppendLine(e.Data); };
        _process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"The emulator exited early:\n{Output}"));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            BaseUri = await listening.Task.WaitAsync(StartTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The emulator did not print its listening line within {StartTimeout.TotalSeconds} s:\n{Output}");
        }
        Admin.BaseAddress = BaseUri;
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

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

    [GeneratedRegex(@"Emulator listening on (http://\S+)")]
    private static partial Regex ListeningLine();
}
