using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace MertEndpoint.Tests;

/// <summary>
/// build.ps1 Record as a real process told to end once its endpoint exists: Ctrl+C without a console (SIGINT), a
/// scheduler's SIGTERM, a closed terminal's SIGHUP. Each time it pauses and deletes what it created, says so, saves what
/// it recorded and exits 130; the namespace is empty afterwards.
/// </summary>
public sealed class RecordSignalTests
{
    private const string Token = "hf_recordsignal_token";

    [Theory]
    [InlineData("INT", false)]
    [InlineData("TERM", false)]
    [InlineData("HUP", false)]
    [InlineData("INT", true)]
    public async Task Record_told_to_end_once_its_endpoint_exists_deletes_it_and_says_so(string signal, bool pessimistic)
    {
        Assert.False(OperatingSystem.IsWindows(), "Signals are a Unix matter; this test runs on Linux and macOS.");
        // The pessimistic readings too: stale reads (1.5 s) must not make the clean-up think the endpoint is gone.
        string[] readings = pessimistic ? ["--updated-at", "actions", "--url-from", "running", "--url-scheme", "random", "--stale-read-ms", "1500"] : [];
        await using var emulator = await EmulatorProcess.StartAsync(["--boot-seconds", "1", "--token", Token, .. readings]);
        string folder = Directory.CreateTempSubdirectory("mert-record-signal-").FullName;
        string har = Path.Combine(folder, "session.har");
        string tool = Path.Combine(AppContext.BaseDirectory, "MertEndpoint.Recording.dll");

        // A test run started in the background ignores SIGINT, one started by nohup SIGHUP, and a child inherits that:
        // env puts the defaults back.
        bool resetSignals = File.Exists("/usr/bin/env") && OperatingSystem.IsLinux();
        var start = new ProcessStartInfo(resetSignals ? "/usr/bin/env" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in (resetSignals ? new[] { "--default-signal=INT,HUP,TERM", "dotnet" } : []).Concat([tool, "record", "--out", har, "--force", "--no-scale-to-zero"]))
            start.ArgumentList.Add(arg);
        start.Environment["MERT_ENDPOINT_API_URL"] = new Uri(emulator.BaseUri, "/v2").ToString();
        start.Environment["HF_ENDPOINT"] = emulator.BaseUri.ToString().TrimEnd('/');
        start.Environment["HF_TOKEN"] = Token;
        start.Environment["MERT_ENDPOINT_CACHE_DIR"] = Path.Combine(folder, "accounts");

        var output = new StringBuilder();
        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data == null) return; lock (output) output.AppendLine(e.Data); if (e.Data.Contains("after create: running", StringComparison.Ordinal)) created.TrySetResult(); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            // A fresh dotnet process at the xunit runs' low priority, on a loaded machine: seen to take over 30 s to its create.
            await created.Task.WaitAsync(TimeSpan.FromSeconds(90));
            using (var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"SIG{signal}: the session did not get to its endpoint, or did not end:\n{Text(output)}");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }

        string said = Text(output);
        Assert.True(process.ExitCode == 130, $"SIG{signal}: exit {process.ExitCode}\n{said}");
        Assert.Contains("clean-up: deleted", said);
        Assert.True(File.Exists(har), $"SIG{signal}: nothing saved\n{said}");
        using var http = new HttpClient { BaseAddress = emulator.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        if (pessimistic) await Task.Delay(TimeSpan.FromSeconds(2)); // reads lag 1.5 s behind the delete
        using var list = JsonDocument.Parse(await http.GetStringAsync("/v2/endpoint/emulator-user"));
        Assert.Equal(0, list.RootElement.GetProperty("items").GetArrayLength());
        Directory.Delete(folder, recursive: true);
    }

    private static string Text(StringBuilder b) { lock (b) return b.ToString(); }
}
