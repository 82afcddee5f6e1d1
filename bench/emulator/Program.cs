// Emulator benchmark: start-up time to the listening line, and GET latency under concurrent clients.
// Prints figures only; it never asserts on time. Usage:
//   dotnet run -c Release --project bench/emulator -- [--emulator <dll>] [--clients 50] [--seconds 5] [--starts 5]
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

var options = args.Select((a, i) => (a, i)).Where(p => p.a.StartsWith("--") && p.i + 1 < args.Length).ToDictionary(p => p.a, p => args[p.i + 1]);
var dll = options.GetValueOrDefault("--emulator") ?? FindEmulator();
var clients = int.Parse(options.GetValueOrDefault("--clients", "50"));
var seconds = double.Parse(options.GetValueOrDefault("--seconds", "5"), System.Globalization.CultureInfo.InvariantCulture);
var starts = int.Parse(options.GetValueOrDefault("--starts", "5"));
Console.WriteLine($"emulator: {dll}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");

// 1. Start-up: process start to the listening line, several cold starts.
var startTimes = new List<double>();
for (var i = 0; i < starts; i++)
{
    var clock = Stopwatch.StartNew();
    var (process, _) = await Launch(dll);
    startTimes.Add(clock.Elapsed.TotalMilliseconds);
    process.Kill(entireProcessTree: true);
    await process.WaitForExitAsync();
}
Console.WriteLine($"start-up to listening line: median {Median(startTimes):F0} ms (min {startTimes.Min():F0}, max {startTimes.Max():F0}, n={starts})");

// 2. Latency: one emulator, one running endpoint, N clients each sending GETs back to back.
var (emulator, baseUrl) = await Launch(dll, "--boot-seconds", "0.2");
try
{
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients * 2 }) { BaseAddress = new Uri(baseUrl) };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "hf_emulator_token");
    const string body = """
        {"compute": {"accelerator": "gpu", "instanceType": "nvidia-a10g", "instanceSize": "x1", "scaling": {"minReplica": 1, "maxReplica": 1}},
         "model": {"repository": "m-a-p/MERT-v1-95M", "framework": "pytorch", "task": "feature-extraction",
                   "image": {"custom": {"url": "someone/mert-inference:latest", "healthRoute": "/health", "port": 8080}}},
         "name": "bench", "provider": {"vendor": "aws", "region": "us-east-1"}, "type": "authenticated"}
        """;
    (await http.PostAsync("/v2/endpoint/emulator-user", new StringContent(body, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
    await Task.Delay(500);

    (string Label, string Path)[] routes =
    [
        ("GET /v2/endpoint/{ns}/{name}", "/v2/endpoint/emulator-user/bench"),
        ("GET /v2/endpoint/{ns} (list)", "/v2/endpoint/emulator-user"),
        ("GET /api/whoami-v2", "/api/whoami-v2"),
        ("GET /v2/provider/{ns} (catalog)", "/v2/provider/emulator-user"),
        ("GET {url}/health (data plane)", "/endpoints/emulator-user/bench/health"),
    ];
    // Warm up every route first: JIT tiering and dynamic PGO otherwise penalize whichever is measured first.
    foreach (var (_, path) in routes) await Measure(path, TimeSpan.FromSeconds(2));
    foreach (var (label, path) in routes)
    {
        var latencies = await Measure(path, TimeSpan.FromSeconds(seconds));
        latencies.Sort();
        Console.WriteLine($"{label}, {clients} concurrent clients, {seconds:F0} s: median {Median(latencies):F2} ms, " +
                          $"p90 {latencies[(int)(latencies.Count * 0.9)]:F2} ms, p99 {latencies[(int)(latencies.Count * 0.99)]:F2} ms, {latencies.Count / seconds:F0} req/s");
    }

    // One client posting 1 MB bodies: hashing, embeddings generation and the ~100 KB answer.
    var payload = new byte[1024 * 1024];
    new Random(1).NextBytes(payload);
    var posts = new List<double>();
    for (var i = 0; i < 60; i++)
    {
        var start = Stopwatch.GetTimestamp();
        using var response = await http.PostAsync("/endpoints/emulator-user/bench/", new ByteArrayContent(payload));
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync();
        if (i >= 10) posts.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds); // first 10 are warm-up
    }
    Console.WriteLine($"POST {{url}}/ 1 MB body -> 13x768 embeddings, 1 client: median {Median(posts):F2} ms (n={posts.Count})");

    async Task<List<double>> Measure(string path, TimeSpan duration)
    {
        var stop = Stopwatch.StartNew();
        var perClient = await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            var samples = new List<double>();
            while (stop.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(path, HttpCompletionOption.ResponseContentRead);
                response.EnsureSuccessStatusCode();
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            return samples;
        }));
        return perClient.SelectMany(s => s).ToList();
    }
}
finally
{
    emulator.Kill(entireProcessTree: true);
    await emulator.WaitForExitAsync();
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

static async Task<(Process, string)> Launch(string dll, params string[] extra)
{
    var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
    foreach (var arg in new[] { dll, "--urls", "http://127.0.0.1:0" }.Concat(extra)) start.ArgumentList.Add(arg);
    var process = Process.Start(start)!;
    var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? "";
    var match = Regex.Match(line, @"^Emulator listening on (http://\S+)$");
    if (!match.Success) throw new InvalidOperationException($"unexpected first line: '{line}'");
    return (process, match.Groups[1].Value);
}

static string FindEmulator()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MertEndpoint.PowerShell.sln"))) dir = dir.Parent;
    if (dir is null) throw new InvalidOperationException("Run from inside the repository, or pass --emulator <path to MertEndpoint.Emulator.dll>.");
    string[] candidates =
    [
        Path.Combine(dir.FullName, "out", "emulator", "MertEndpoint.Emulator.dll"),
        Path.Combine(dir.FullName, "src", "MertEndpoint.Emulator", "bin", "Release", "net10.0", "MertEndpoint.Emulator.dll"),
        Path.Combine(dir.FullName, "src", "MertEndpoint.Emulator", "bin", "Debug", "net10.0", "MertEndpoint.Emulator.dll"),
    ];
    return candidates.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("No built emulator found: run 'dotnet build -c Release src/MertEndpoint.Emulator' or pass --emulator.");
}
