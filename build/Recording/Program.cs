using System.Runtime.InteropServices;
using MertEndpoint;
using MertEndpoint.Recording;

// build.ps1 Record and Readings (docs/RECORDING.md):
//   record --out <file> [--force] [--namespace <ns>] [--fast-seconds <s>] [--no-scale-to-zero]
//   readings <file>
return args.FirstOrDefault() switch
{
    "readings" when args.Length == 2 => PrintReadings(args[1]),
    "record" => await RecordAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: record --out <file> [--force] [--namespace <ns>] [--fast-seconds <s>] [--no-scale-to-zero] | readings <file>");
    return 2;
}

static int PrintReadings(string path)
{
    if (!File.Exists(path)) { Console.Error.WriteLine($"No recording at {path}."); return 1; }
    foreach (var reading in Readings.FromFile(path)) Console.WriteLine(reading);
    return 0;
}

static async Task<int> RecordAsync(string[] args)
{
    string? outFile = null, ns = null;
    bool force = false;
    var options = new SessionOptions();
    for (int i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--out": outFile = args[++i]; break;
            case "--force": force = true; break;
            case "--namespace": ns = args[++i]; break;
            case "--fast-seconds": options.FastReads = TimeSpan.FromSeconds(double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture)); break;
            case "--no-scale-to-zero": options.ScaleToZero = false; break;
            default: return Usage();
        }
    }
    if (outFile == null) return Usage();
    if (File.Exists(outFile) && !force) { Console.Error.WriteLine($"{outFile} exists; give -Force to replace it."); return 1; }
    options.Namespace = ns;

    string token;
    try { token = TokenResolver.Resolve(null); }
    catch (EndpointException ex) { Console.Error.WriteLine(ex.Message); return 1; }
    var recorder = new RecordingHandler();
    var clientOptions = EndpointClientOptions.FromEnvironment();
    clientOptions.Handler = recorder;
    var client = new EndpointClient(token, clientOptions);
    Console.WriteLine($"Recording against {clientOptions.ApiBaseUri} (whoami at {clientOptions.HubBaseUri}).");

    // Ctrl+C, SIGTERM (a scheduler, a container's stop) and SIGHUP (a closed terminal or SSH session) cancel the session;
    // its clean-up (pause, delete) still runs. A second Ctrl+C is not caught.
    using var cts = new CancellationTokenSource();
    int interrupts = 0;
    ConsoleCancelEventHandler onCancel = (_, e) =>
    {
        if (Interlocked.Increment(ref interrupts) == 1) { e.Cancel = true; Console.Error.WriteLine("Interrupted: cleaning up (pause, delete)..."); cts.Cancel(); }
    };
    Console.CancelKeyPress += onCancel;
    Action<PosixSignalContext> onSignal = c =>
    {
        c.Cancel = true;
        Console.Error.WriteLine($"{(c.Signal == PosixSignal.SIGHUP ? "Hung up" : "Terminated")}: cleaning up (pause, delete)...");
        cts.Cancel();
    };
    using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal);
    using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, onSignal);

    var session = new RecordedSession(client, recorder, options, Console.Out);
    int code = 0;
    try
    {
        await session.RunAsync(plan =>
        {
            Console.WriteLine($"The session will {plan}.");
            if (force) return true;
            Console.Write("Start it? [y/N] ");
            return (Console.ReadLine() ?? "").Trim().StartsWith('y');
        }, cts.Token);
    }
    catch (OperationCanceledException) when (cts.IsCancellationRequested)
    {
        Console.Error.WriteLine("The session was interrupted; what it recorded so far is saved.");
        code = 130;
    }
    catch (Exception ex)
    {
        Console.Error.WriteLine($"The session stopped: {ex.GetType().Name}: {ex.Message}");
        code = 1;
    }
    finally
    {
        Console.CancelKeyPress -= onCancel;
    }
    if (recorder.Exchanges.Count == 0) return code;
    var (har, replaced) = HarWriter.Write(recorder.Exchanges, $"build.ps1 Record against {clientOptions.ApiBaseUri.Host}");
    Console.WriteLine("Replaced before saving:");
    foreach (var r in replaced) Console.WriteLine($"  {r}");
    var full = Path.GetFullPath(outFile);
    Directory.CreateDirectory(Path.GetDirectoryName(full)!);
    File.WriteAllText(full, har);
    Console.WriteLine($"Saved {recorder.Exchanges.Count} exchanges to {full}.");
    if (session.LeftBehind) code = 3;
    return code;
}
