using System.Text.Json.Nodes;
using Xunit;
using static MertEndpoint.Emulator.Tests.TestEmulator;

namespace MertEndpoint.Emulator.Tests;

public sealed class PersistenceTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("emulator-state-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Endpoints_SurviveARestart_AndTheFileIsWrittenAtomically()
    {
        var file = Path.Combine(_dir, "state.json");
        JsonObject before;
        await using (var first = await StartAsync("--state-file", file))
        {
            await first.CreateAsync("kept", b => b["model"]!["secrets"] = new JsonObject { ["TOKEN"] = "kept-secret" });
            await first.CreateAsync("paused");
            await first.CreateAsync("deleted");
            await first.WaitForStateAsync("paused", "running");
            await first.ActAsync("paused", "pause");
            (await first.Client.DeleteAsync(EndpointPath("deleted"))).Dispose();
            before = await first.GetAsync("kept");
        }
        Assert.Equal(["state.json"], Directory.GetFiles(_dir).Select(Path.GetFileName)); // no temp file left behind
        Assert.NotNull(JsonNode.Parse(await File.ReadAllTextAsync(file)));

        await using var second = await StartAsync("--state-file", file);
        var names = JsonNode.Parse(await second.Client.GetStringAsync("/v2/endpoint/emulator-user"))!["items"]!.AsArray()
            .Select(e => e!["name"]!.GetValue<string>());
        Assert.Equal(["kept", "paused"], names);
        var after = await second.GetAsync("kept");
        foreach (var key in new[] { "name", "compute", "model", "provider", "tags" }) Assert.True(JsonNode.DeepEquals(before[key], after[key]), key);
        Assert.Equal(before["status"]!["createdAt"]!.GetValue<string>(), after["status"]!["createdAt"]!.GetValue<string>());
        Assert.Equal("paused", State(await second.GetAsync("paused")));
        Assert.Contains((await second.AdminAsync("billing"))["endpoints"]!.AsArray(),
            e => e!["name"]!.GetValue<string>() == "deleted" && e["deleted"]!.GetValue<bool>());

        // Secrets were persisted (the service keeps them) even though responses never show them.
        Assert.Contains("kept-secret", await File.ReadAllTextAsync(file));
        Assert.Equal("pending", State(await second.ActAsync("paused", "resume"))); // and it still works
    }

    [Fact]
    public async Task TheStateFile_IsOwnerOnly_AndKeepsNoSecretsOfDeletedEndpoints()
    {
        var file = Path.Combine(_dir, "private.json");
        await using var emulator = await StartAsync("--state-file", file);
        await emulator.CreateAsync("alive", b => b["model"]!["secrets"] = new JsonObject { ["KEY"] = "alive-secret" });
        await emulator.CreateAsync("doomed", b =>
        {
            b["model"]!["secrets"] = new JsonObject { ["KEY"] = "doomed-secret" };
            b["model"]!["env"] = new JsonObject { ["API_KEY"] = "doomed-env-value" };
            b["model"]!["image"]!["custom"]!["credentials"] = new JsonObject { ["username"] = "bob", ["password"] = "doomed-password" };
        });
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Contains("doomed-password", await File.ReadAllTextAsync(file));

        (await emulator.Client.DeleteAsync(EndpointPath("doomed"))).Dispose();
        var text = await File.ReadAllTextAsync(file);
        foreach (var secret in new[] { "doomed-secret", "doomed-env-value", "doomed-password" }) Assert.DoesNotContain(secret, text);
        Assert.Contains("alive-secret", text); // a live endpoint's secrets are the service's to keep
        Assert.Contains((await emulator.AdminAsync("billing"))["endpoints"]!.AsArray(),
            e => e!["name"]!.GetValue<string>() == "doomed" && e["deleted"]!.GetValue<bool>() && e["pricePerHour"]!.GetValue<double>() == 1.0);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [Fact]
    public async Task RandomUrls_SurviveARestart()
    {
        var file = Path.Combine(_dir, "urls.json");
        string? url;
        await using (var first = await StartAsync("--state-file", file, "--url-scheme", "random"))
        {
            await first.CreateAsync("kept");
            url = (await first.WaitForStateAsync("kept", "running"))["status"]!["url"]!.GetValue<string>();
        }
        await using var second = await StartAsync("--state-file", file, "--url-scheme", "random");
        var path = new Uri(url).AbsolutePath;
        Assert.Equal(second.BaseUrl + path, (await second.GetAsync("kept"))["status"]!["url"]!.GetValue<string>());
        Assert.Equal(System.Net.HttpStatusCode.OK, (await second.Client.GetAsync(path + "/health")).StatusCode);
    }

    [Fact]
    public void AnUnreadableStateFile_StopsStartUpWithAClearError()
    {
        var file = Path.Combine(_dir, "broken.json");
        File.WriteAllText(file, "{ not json");
        var error = Assert.Throws<InvalidOperationException>(() => EmulatorApp.Build(["--urls", "http://127.0.0.1:0", "--state-file", file]));
        Assert.Contains(file, error.Message);
    }
}
