using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit;

namespace MertEndpoint.Emulator.Tests;

/// <summary>The built DLL started the way the contract says: <c>dotnet MertEndpoint.Emulator.dll --urls ...</c>.</summary>
public class ProcessTests
{
    static readonly string Dll = typeof(EmulatorApp).Assembly.Location;

    static Process Launch(params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return Process.Start(start)!;
    }

    static async Task<(int Exit, string Out, string Err)> RunToExit(params string[] args)
    {
        using var process = Launch(args);
        var (stdout, stderr) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Dll_PrintsOnlyTheListeningLineFirst_ServesEmptyList_AndStreamsA200MbUpload()
    {
        using var process = Launch("--urls", "http://127.0.0.1:0", "--boot-seconds", "0.2");
        try
        {
            var firstLine = process.StandardOutput.ReadLineAsync();
            // Bounded generously: a cold dotnet start at the xunit runs' low priority took up to 6.7 s on a loaded machine
            // (about 0.3 s idle); how fast it starts is not this test's point.
            Assert.Same(firstLine, await Task.WhenAny(firstLine, Task.Delay(TimeSpan.FromSeconds(30))));
            var match = Regex.Match(await firstLine ?? "", @"^Emulator listening on (http://127\.0\.0\.1:(\d+))$");
            Assert.True(match.Success, $"unexpected first line '{await firstLine}'");
            Assert.NotEqual("0", match.Groups[2].Value);

            using var client = new HttpClient { BaseAddress = new Uri(match.Groups[1].Value) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestEmulator.Token);
            Assert.Equal("""{"items":[]}""", await client.GetStringAsync("/v2/endpoint/emulator-user"));

            // A 200 MB upload is hashed as it streams: the process never holds it in memory.
            using var created = await client.PostAsync("/v2/endpoint/emulator-user", TestEmulator.Json(TestEmulator.CreateBody("big")));
            Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
            await Task.Delay(400);
            const long size = 200L * 1024 * 1024;
            using var response = await client.PostAsync("/endpoints/emulator-user/big/", new GeneratedContent(size));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(size, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["bytes"]!.GetValue<long>());
            process.Refresh();
            Assert.True(process.PeakWorkingSet64 < 160L * 1024 * 1024, $"peak working set {process.PeakWorkingSet64 / 1024 / 1024} MB");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        // Nothing else was written to stdout: the listening line is easy to find.
        Assert.Equal("", await process.StandardOutput.ReadToEndAsync());
    }

    [Fact]
    public async Task Help_PrintsEveryOption_AndExitsZero()
    {
        var (exit, stdout, _) = await RunToExit("--help");
        Assert.Equal(0, exit);
        foreach (var option in new[] { "--urls", "--token", "--user", "--org", "--boot-seconds", "--state-file", "--seconds-per-minute",
                     "--updated-at", "--url-from", "--resume-scaling", "--scale-to-zero-status", "--url-scheme", "--quota", "--stale-read-ms",
                     "--failed-logs", "--metrics-shape", "--scale-up-requests", "--list-page-size" })
            Assert.Contains(option, stdout);
    }

    [Fact]
    public async Task AnAddressInUse_ExitsOne_WithOneLineOnStderr()
    {
        await using var running = await TestEmulator.StartAsync();
        var (exit, stdout, stderr) = await RunToExit("--urls", running.BaseUrl);
        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("Emulator failed to start: ", stderr);
        Assert.Contains("address already in use", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task UnknownOption_ExitsTwo_WithAClearMessage()
    {
        var (exit, stdout, stderr) = await RunToExit("--bogus");
        Assert.Equal(2, exit);
        Assert.Contains("Unknown option '--bogus'", stderr);
        Assert.Equal("", stdout);
    }
}
