using System.Text.Json.Nodes;

namespace MertEndpoint.Tests;

/// <summary>The client over real HTTP against the emulator, which was written from the API reference, not from Core.</summary>
[Collection(nameof(EmulatorCollection))]
public sealed class EmulatorTests(EmulatorFixture emulator) : IAsyncLifetime
{
    private const string Ns = EmulatorFixture.User;
    private static readonly WaitOptions Fast = new()
    {
        Timeout = TimeSpan.FromSeconds(20),
        HealthProbeInterval = TimeSpan.FromMilliseconds(100),
        ControlPollInterval = TimeSpan.FromMilliseconds(200),
        ControlPollMaxInterval = TimeSpan.FromSeconds(1),
    };

    public Task InitializeAsync() => emulator.ResetAsync();
    public Task DisposeAsync() => Task.CompletedTask;

    private static EndpointCreateSpec Spec(string name, string image = "someone/mert-inference:latest") =>
        new() { Name = name, ImageUrl = image, Tags = ["test"] };

    [Fact]
    public async Task Full_lifecycle()
    {
        var client = emulator.Client();

        var created = await client.CreateAsync(Ns, Spec("life"));
        Assert.Equal(("life", Ns), (created.Name, created.Namespace));
        Assert.NotEqual(EndpointStatus.Running, created.Status);

        var ready = await new EndpointLifecycle(client).WaitForReadyAsync(Ns, "life", Fast);
        Assert.Equal(EndpointStatus.Running, ready.Status);
        Assert.NotNull(ready.Url);
        Assert.Equal(200, await client.ProbeHealthAsync(ready));
        Assert.True(ready.CreatedAt > DateTimeOffset.UtcNow.AddMinutes(-5), "timestamps with 9 fractional digits are parsed");

        var paused = await client.PauseAsync(Ns, "life");
        Assert.Equal(EndpointStatus.Paused, paused.Status);
        Assert.Null(paused.Url);
        var notReady = await Assert.ThrowsAsync<EndpointException>(() => new EndpointLifecycle(client).WaitForReadyAsync(Ns, "life", Fast));
        Assert.Equal(EndpointErrorKind.EndpointNotReady, notReady.Kind);

        var resumed = await client.ResumeAsync(Ns, "life");
        Assert.NotEqual(EndpointStatus.Paused, resumed.Status);
        var again = await new EndpointLifecycle(client).WaitForReadyAsync(Ns, "life", Fast);
        Assert.Equal(ready.Url, again.Url); // the URL survives a pause

        var stillRunning = await client.ResumeAsync(Ns, "life"); // the service says "already running"
        Assert.Equal(EndpointStatus.Running, stillRunning.Status);

        var scaled = await client.ScaleToZeroAsync(Ns, "life");
        Assert.Equal(EndpointStatus.ScaledToZero, scaled.Status);

        await client.DeleteAsync(Ns, "life");
        Assert.Null(await client.TryGetAsync(Ns, "life"));
        var gone = await Assert.ThrowsAsync<EndpointException>(() => client.GetAsync(Ns, "life"));
        Assert.Equal(EndpointErrorKind.EndpointNotFound, gone.Kind);
        Assert.Contains("Get-MertEndpoint -Namespace emulator-user", gone.Message);
    }

    [Fact]
    public async Task List_update_and_duplicate_create()
    {
        var client = emulator.Client();
        await client.CreateAsync(Ns, Spec("one"));
        await client.CreateAsync(Ns, Spec("two"));

        var list = await client.ListAsync(Ns);
        Assert.Equal(["one", "two"], list.Select(e => e.Name).Order());
        Assert.All(list, e => Assert.Equal(["test"], e.Tags));

        var updated = await client.UpdateAsync(Ns, "one", new() { MaxReplica = 2, Env = new Dictionary<string, string> { ["BATCH"] = "8" } });
        Assert.Equal(2, updated.MaxReplica);
        Assert.Equal("8", updated.Env["BATCH"]);
        Assert.Equal("someone/mert-inference:latest", updated.ImageUrl); // untouched by a partial update

        var duplicate = await Assert.ThrowsAsync<EndpointException>(() => client.CreateAsync(Ns, Spec("one")));
        Assert.Equal(EndpointErrorKind.EndpointAlreadyExists, duplicate.Kind);
        Assert.NotNull(duplicate.ServiceMessage);
    }

    [Fact]
    public async Task Whoami_resolves_the_namespace()
    {
        var client = emulator.Client();

        var me = await client.WhoAmIAsync();
        Assert.Equal((EmulatorFixture.User, "user"), (me.Name, me.Type));
        Assert.Equal(EmulatorFixture.User, await client.ResolveNamespaceAsync("  "));
    }

    [Fact]
    public async Task Wrong_token_is_unauthorized()
    {
        var ex = await Assert.ThrowsAsync<EndpointException>(() => emulator.Client("hf_wrong_token").ListAsync(Ns));

        Assert.Equal(EndpointErrorKind.Unauthorized, ex.Kind);
        Assert.Contains("Check the token", ex.Message);
        Assert.DoesNotContain("hf_wrong_token", ex.ToString());
    }

    [Fact]
    public async Task Transient_faults_are_retried()
    {
        var client = emulator.Client();
        await client.CreateAsync(Ns, Spec("flaky"));
        await emulator.AddFaultAsync(new { method = "GET", pathPrefix = "/v2/endpoint", status = 503, count = 2 });

        var endpoint = await client.GetAsync(Ns, "flaky");

        Assert.Equal("flaky", endpoint.Name);
        var log = JsonNode.Parse(await emulator.Admin.GetStringAsync("/_emulator/requests"))!["requests"]!.AsArray();
        Assert.Equal([503, 503, 200], log.Where(r => (string?)r!["method"] == "GET").Select(r => (int)r!["status"]!).TakeLast(3));
    }

    [Fact]
    public async Task Persistent_faults_become_service_unavailable()
    {
        var client = emulator.Client();
        await emulator.AddFaultAsync(new { method = "GET", pathPrefix = "/v2/endpoint", status = 503, count = (int?)null });

        var ex = await Assert.ThrowsAsync<EndpointException>(() => client.GetAsync(Ns, "any"));

        Assert.Equal(EndpointErrorKind.ServiceUnavailable, ex.Kind);
        Assert.Equal(503, ex.StatusCode);
    }

    [Fact]
    public async Task A_broken_image_fails_the_wait()
    {
        var client = emulator.Client();
        await client.CreateAsync(Ns, Spec("broken", "someone/fail-image:latest"));

        var ex = await Assert.ThrowsAsync<EndpointException>(() => new EndpointLifecycle(client).WaitForReadyAsync(Ns, "broken", Fast));

        Assert.Equal(EndpointErrorKind.EndpointFailed, ex.Kind);
        Assert.Equal(EndpointStatus.Failed, ex.Endpoint!.Status);
    }

    [Fact]
    public async Task Hardware_catalog_has_prices()
    {
        var hardware = await emulator.Client().GetHardwareAsync(Ns);

        var a10g = Assert.Single(hardware, h => h is { Vendor: "aws", Region: "us-east-1", InstanceType: "nvidia-a10g", InstanceSize: "x1" });
        Assert.True(a10g.PricePerHour > 0);
    }
}
