using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace MertEndpoint.Emulator.Tests;

/// <summary>An emulator started in-process on a free loopback port, spoken to over real HTTP.</summary>
sealed class TestEmulator : IAsyncDisposable
{
    public const string Token = "hf_emulator_token", User = "emulator-user";
    /// <summary>Short timings so the suite stays fast: boot 0.3 s (0.06 pending + 0.24 initializing), a minute is 0.5 s.</summary>
    public const double BootSeconds = 0.3, SecondsPerMinute = 0.5;

    public required WebApplication App { get; init; }
    public required string BaseUrl { get; init; }
    public required HttpClient Client { get; init; }
    public required HttpClient Anonymous { get; init; }
    public required StringWriter Output { get; init; }

    public static Task<TestEmulator> StartAsync(params string[] args) => StartAsync(null, args);

    public static async Task<TestEmulator> StartAsync(TimeProvider? time, params string[] args)
    {
        var output = new StringWriter();
        string[] all = ["--urls", "http://127.0.0.1:0", "--boot-seconds", "0.3", "--seconds-per-minute", "0.5", .. args];
        var app = EmulatorApp.Build(all, time, TextWriter.Synchronized(output));
        await app.StartAsync();
        var baseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var client = new HttpClient { BaseAddress = new Uri(baseUrl) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return new TestEmulator { App = app, BaseUrl = baseUrl, Output = output, Client = client, Anonymous = new HttpClient { BaseAddress = new Uri(baseUrl) } };
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Anonymous.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    /// <summary>The create body from the reference, as a fresh object tests may change.</summary>
    public static JsonObject CreateBody(string name = "mert-spike6-inference") => JsonNode.Parse($$$"""
        {
          "accountId": null,
          "compute": {
            "accelerator": "gpu",
            "instanceType": "nvidia-a10g",
            "instanceSize": "x1",
            "scaling": {"minReplica": 0, "maxReplica": 1, "scaleToZeroTimeout": 15}
          },
          "model": {
            "repository": "m-a-p/MERT-v1-95M",
            "framework": "pytorch",
            "revision": null,
            "task": "feature-extraction",
            "image": {"custom": {"url": "someone/mert-inference:latest", "healthRoute": "/health", "port": 8080}},
            "env": {"KEY": "value"},
            "secrets": {"KEY": "value"}
          },
          "name": "{{{name}}}",
          "provider": {"vendor": "aws", "region": "us-east-1"},
          "type": "authenticated",
          "tags": ["mert"]
        }
        """)!.AsObject();

    public static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    public static async Task<JsonObject> ReadObject(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    public static string EndpointPath(string name, string ns = User) => $"/v2/endpoint/{ns}/{name}";

    public async Task<JsonObject> CreateAsync(JsonObject body, string ns = User)
    {
        using var response = await Client.PostAsync($"/v2/endpoint/{ns}", Json(body));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await ReadObject(response);
    }

    public Task<JsonObject> CreateAsync(string name, Action<JsonObject>? change = null)
    {
        var body = CreateBody(name);
        change?.Invoke(body);
        return CreateAsync(body);
    }

    public async Task<JsonObject> GetAsync(string name, string ns = User)
    {
        using var response = await Client.GetAsync(EndpointPath(name, ns));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadObject(response);
    }

    public async Task<JsonObject> ActAsync(string name, string action, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await Client.PostAsync($"{EndpointPath(name)}/{action}", null);
        var body = await ReadObject(response);
        Assert.True(expected == response.StatusCode, $"{action}: expected {expected}, got {response.StatusCode} {body.ToJsonString()}");
        return body;
    }

    public static string State(JsonObject endpoint) => endpoint["status"]!["state"]!.GetValue<string>();

    /// <summary>Polls until the endpoint reaches <paramref name="state"/>; fails after <paramref name="timeoutSeconds"/>.</summary>
    public async Task<JsonObject> WaitForStateAsync(string name, string state, double timeoutSeconds = 5)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var endpoint = await GetAsync(name);
            if (State(endpoint) == state) return endpoint;
            Assert.True(DateTime.UtcNow < deadline, $"'{name}' did not reach {state} in {timeoutSeconds} s; it is {State(endpoint)}");
            await Task.Delay(15);
        }
    }

    /// <summary>The endpoint's log lines (not followed).</summary>
    public async Task<List<string>> LogsAsync(string name, string query = "")
    {
        using var response = await Client.GetAsync($"{EndpointPath(name)}/logs{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    public string DataUrl(string name, string path = "/", string ns = User) => $"/endpoints/{ns}/{name}{path}";

    public async Task<JsonObject> AdminAsync(string path) => JsonNode.Parse(await Anonymous.GetStringAsync($"/_emulator/{path}"))!.AsObject();

    public async Task<JsonObject> BillingFor(string name) =>
        (await AdminAsync("billing"))["endpoints"]!.AsArray().Select(e => e!.AsObject()).Single(e => e["name"]!.GetValue<string>() == name && !e["deleted"]!.GetValue<bool>());
}

/// <summary>A clock that only moves when told to, so state and billing can be checked to the tick.</summary>
sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(double seconds) => Interlocked.Add(ref _ticks, TimeSpan.FromSeconds(seconds).Ticks);
}

/// <summary>Request content produced on the fly from a reused buffer, so the test holds nothing either.</summary>
sealed class GeneratedContent(long length) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        var chunk = new byte[256 * 1024];
        new Random(7).NextBytes(chunk);
        for (var sent = 0L; sent < length; sent += chunk.Length)
            await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, length - sent)));
    }

    protected override bool TryComputeLength(out long size)
    {
        size = length;
        return true;
    }
}
