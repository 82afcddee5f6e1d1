using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using static MertEndpoint.Tests.Samples;

namespace MertEndpoint.Tests;

/// <summary>Issue 19: the one token-destination rule, the one masking function, and the caps on what comes back.</summary>
public class TokenRuleTests
{
    private readonly TestClock _clock = new();

    /// <summary>Records the host and the Authorization header of every request, then passes it on.</summary>
    private sealed class HostSpy(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public List<(string Host, string? Authorization)> Seen { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            lock (Seen) Seen.Add((request.RequestUri!.Authority, request.Headers.Authorization?.ToString()));
            return base.SendAsync(request, ct);
        }
    }

    private (EndpointClient Client, HostSpy Spy) Spied(FakeHandler handler, Action<EndpointClientOptions>? tune = null)
    {
        var spy = new HostSpy(handler);
        var options = Options(_clock, handler);
        options.Handler = spy;
        tune?.Invoke(options);
        return (new EndpointClient(Token, options), spy);
    }

    private static EndpointInfo At(string url, string state = "running") =>
        Json.ToEndpoint(JsonDocument.Parse(Endpoint(state: state, url: url)).RootElement, Ns);

    [Fact]
    public async Task A_status_url_on_another_host_gets_requests_without_the_token()
    {
        var (client, spy) = Spied(new FakeHandler(_clock, _ => Respond.Make(200, "{}")));

        await client.SendDataAsync(At("https://evil.example/ep"), "/", () => new StringContent("{}"));
        await client.ProbeHealthAsync(At("https://evil.example/ep"));
        await client.SendDataAsync(At("https://x.us-east-1.aws.endpoints.huggingface.cloud"), "/", () => new StringContent("{}"));

        Assert.Equal(3, spy.Seen.Count);
        Assert.All(spy.Seen.Where(s => s.Host == "evil.example"), s => Assert.Null(s.Authorization));
        Assert.Equal($"Bearer {Token}", spy.Seen.Single(s => s.Host.EndsWith(".endpoints.huggingface.cloud")).Authorization);
    }

    [Fact]
    public async Task A_host_the_user_names_gets_the_token_and_a_look_alike_does_not()
    {
        var (client, spy) = Spied(new FakeHandler(_clock, _ => Respond.Make(200, "{}")), o => o.TokenHosts.Add("*.private.example"));

        await client.SendDataAsync(new Uri("https://ep.private.example"), "/", () => new StringContent("{}"));
        await client.SendDataAsync(new Uri("https://ep.private.example.evil.example"), "/", () => new StringContent("{}"));
        await client.SendDataAsync(new Uri("https://endpoints.huggingface.cloud.evil.example"), "/", () => new StringContent("{}"));

        Assert.Equal($"Bearer {Token}", spy.Seen[0].Authorization);
        Assert.Null(spy.Seen[1].Authorization);
        Assert.Null(spy.Seen[2].Authorization);
    }

    [Fact]
    public async Task A_probe_hint_read_back_from_the_usage_history_gets_no_token()
    {
        // The history file says the endpoint last ran at evil.example (a tampered or foreign file): the waiter may
        // probe that URL while the control plane reports none, but never with the token.
        string path = Path.Combine(Path.GetTempPath(), $"mert-hint-{Guid.NewGuid():n}.jsonl");
        try
        {
            var usage = new UsageService(new UsageHistory(path));
            var t = _clock.GetUtcNow();
            usage.ObserverFor(Lines.Failing())
                .Observe(new EndpointObservation("https://api.example/v2", Ns, ObservationKind.Read, [At("https://evil.example")], null, t, t));
            await usage.FlushAsync();
            var (client, spy) = Spied(new FakeHandler(_clock, r => r.Path.StartsWith("/v2/")
                ? Respond.Make(200, Endpoint(state: "initializing", url: null)) : Respond.Make(503)));

            var wait = new EndpointLifecycle(client, usage).WaitForReadyAsync(Ns, "mert", new WaitOptions { Timeout = TimeSpan.FromSeconds(10) });
            await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(wait));

            var probes = spy.Seen.Where(s => s.Host == "evil.example").ToList();
            Assert.NotEmpty(probes); // the hint was probed: the rule, not a missing probe, kept the token home
            Assert.All(probes, p => Assert.Null(p.Authorization));
            Assert.All(spy.Seen.Where(s => s.Host == "api.example"), s => Assert.Equal($"Bearer {Token}", s.Authorization));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_redirect_to_another_host_is_not_followed_by_the_real_handler()
    {
        // Two real loopback servers: the first answers 302 to the second. The client's own handler must not follow.
        using var target = new HttpListener();
        int targetPort = FreePort();
        target.Prefixes.Add($"http://127.0.0.1:{targetPort}/");
        target.Start();
        int reached = 0;
        _ = Task.Run(async () =>
        {
            while (target.IsListening)
            {
                try { var c = await target.GetContextAsync(); Interlocked.Increment(ref reached); c.Response.StatusCode = 200; c.Response.Close(); }
                catch (Exception) { return; }
            }
        });
        using var redirecting = new HttpListener();
        int port = FreePort();
        redirecting.Prefixes.Add($"http://127.0.0.1:{port}/");
        redirecting.Start();
        _ = Task.Run(async () =>
        {
            while (redirecting.IsListening)
            {
                try
                {
                    var c = await redirecting.GetContextAsync();
                    c.Response.StatusCode = 302;
                    c.Response.RedirectLocation = $"http://127.0.0.1:{targetPort}/steal";
                    c.Response.Close();
                }
                catch (Exception) { return; }
            }
        });
        var options = new EndpointClientOptions
        {
            ApiBaseUri = new Uri($"http://127.0.0.1:{port}/v2"), HubBaseUri = new Uri($"http://127.0.0.1:{port}"),
            Handler = Transport.CreateHandler(), RetryAfterGate = new RetryAfterGate(), Accounts = new AccountCache(),
        };

        var ex = await Assert.ThrowsAsync<EndpointException>(() => new EndpointClient(Token, options).GetAsync(Ns, "mert").WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains("302", ex.Message);
        Assert.Equal(0, Volatile.Read(ref reached));
        Assert.False(Transport.CreateHandler().AllowAutoRedirect);
    }

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

public class MaskingTests
{
    private readonly TestClock _clock = new();
    private const string Password = "pa55-WORD-xyz";
    private const string Slack = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX";
    private const string Teams = "https://contoso.webhook.office.com/webhookb2/abc-SECRET-def@tenant/IncomingWebhook/123/456";
    private const string Logic = "https://prod-01.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=SIGSECRET";

    [Theory]
    [InlineData("https://user:" + Password + "@registry.example/v2/x", Password)]
    [InlineData("failed at " + Slack + " (403)", "XXXXSECRETXXXX")]
    [InlineData("posting to " + Teams, "SECRET")]
    [InlineData("posting to " + Logic, "SIGSECRET")]
    [InlineData("{\"credentials\": {\"username\": \"bot\", \"password\": \"" + Password + "\"}}", Password)]
    [InlineData("Authorization: Bearer " + Token, Token)]
    [InlineData("token hf_abcdefghijklmnopqrstuvwxyz0123 leaked", "hf_abcdefghijklmnopqrstuvwxyz0123")]
    public void Mask_removes_the_secret_and_keeps_the_rest_readable(string text, string secret)
    {
        string masked = Secrets.Mask(text);

        Assert.DoesNotContain(secret, masked);
        Assert.Contains(Secrets.Masked, masked);
    }

    [Fact]
    public void Mask_leaves_ordinary_text_alone()
    {
        const string text = "Could not get endpoint 'mert' in namespace 'alice': set HF_TOKEN_PATH or HF_TOKEN, see https://api.endpoints.huggingface.cloud/v2/endpoint/alice.";
        Assert.Equal(text, Secrets.Mask(text));
    }

    [Fact]
    public async Task A_url_with_credentials_never_reaches_an_error_message()
    {
        var handler = new FakeHandler(_clock, _ => Respond.Make(500, Respond.Error("boom")));
        var client = Client(_clock, handler);

        var ex = await Assert.ThrowsAsync<EndpointException>(() =>
            client.SendDataAsync(new Uri($"https://user:{Password}@x.endpoints.huggingface.cloud"), "/", () => new StringContent("{}")));

        Assert.DoesNotContain(Password, ex.ToString());
        Assert.Contains("x.endpoints.huggingface.cloud", ex.Message);
    }

    [Fact]
    public async Task Secrets_the_service_echoes_never_reach_errors_or_notices()
    {
        var notices = new Lines();
        string echoed = $"bad request from {Slack} with password={Password} and {Token}";
        var handler = new FakeHandler(_clock, Respond.With(503, Respond.Error(echoed)), Respond.With(400, Respond.Error(echoed)));
        var options = Options(_clock, handler);

        var ex = await Assert.ThrowsAsync<EndpointException>(() => _clock.Drive(new EndpointClient(Token, options).With(notices).GetAsync(Ns, "mert")));

        Assert.NotEmpty(notices.All);
        foreach (string shown in notices.All.Append(ex.ToString()).Append(ex.ServiceMessage ?? ""))
        {
            Assert.DoesNotContain(Password, shown);
            Assert.DoesNotContain("XXXXSECRETXXXX", shown);
            Assert.DoesNotContain(Token, shown);
        }
    }

    [Fact]
    public async Task A_dropped_connection_whose_message_carries_secrets_is_told_masked()
    {
        var notices = new Lines();
        var handler = new FakeHandler(_clock,
            (_, _) => Task.FromException<HttpResponseMessage>(new HttpRequestException($"proxy {Logic} refused user:{Password}@ with {Token}")),
            Respond.With(200, "- 2026-11-29T12:00:00.000+00:00 hello\n"));
        var client = Client(_clock, handler);

        await _clock.Drive(client.With(notices).ReadLogsAsync(Ns, "mert", new LogQuery { Tail = 1 }, _ => { }));

        string line = Assert.Single(notices.All);
        Assert.DoesNotContain("SIGSECRET", line);
        Assert.DoesNotContain(Token, line);
    }

    [Fact]
    public void Registry_credentials_the_service_echoes_in_an_image_are_not_kept_in_the_endpoint()
    {
        string json = Endpoint().Replace("\"port\": 8080}", $"\"port\": 8080, \"credentials\": {{\"username\": \"bot\", \"password\": \"{Password}\"}}}}");
        Assert.Contains(Password, json); // the answer does carry it

        EndpointInfo e = Json.ToEndpoint(JsonDocument.Parse(json).RootElement, Ns);

        Assert.True(e.ImageHasCredentials);
        foreach (PropertyInfo p in typeof(EndpointInfo).GetProperties())
            Assert.DoesNotContain(Password, JsonSerializer.Serialize(p.GetValue(e)));
    }
}

[CollectionDefinition("memory", DisableParallelization = true)]
public class MemoryCollection;

/// <summary>Caps on what comes back: large answers are refused by streaming up to the cap, never read whole.</summary>
[Collection("memory")]
public class BoundsTests
{
    private readonly TestClock _clock = new();
    private const long Hundred = 100L * 1024 * 1024;

    /// <summary>A body of <paramref name="length"/> bytes made as it is read, with no declared length; notes the heap's peak.</summary>
    private sealed class Endless(long length, byte fill) : Stream
    {
        private long _given;
        public long PeakHeap { get; private set; }
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, length - _given);
            buffer.AsSpan(offset, n).Fill(fill);
            _given += n;
            if ((_given & 0xFFFFF) < n) PeakHeap = Math.Max(PeakHeap, GC.GetTotalMemory(false));
            return n;
        }
        public long Given => _given;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _given; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static HttpResponseMessage Big(Endless body) => new(HttpStatusCode.OK) { Content = new StreamContent(body) };

    private static void AssertSmallPeak(long before, Endless body)
    {
        long grew = Math.Max(body.PeakHeap, GC.GetTotalMemory(false)) - before;
        Assert.True(grew < 50L * 1024 * 1024, $"the heap grew by {grew / (1024 * 1024)} MB");
        Assert.True(body.Given < Hundred, "it stopped reading at the cap");
    }

    [Fact]
    public async Task A_100_MB_control_plane_answer_against_a_1_MiB_cap_is_an_error_naming_the_cap()
    {
        var body = new Endless(Hundred, (byte)' ');
        var handler = new FakeHandler(_clock, (_, _) => Task.FromResult(Big(body)));
        var options = Options(_clock, handler);
        options.MaxAnswerBytes = 1024 * 1024;
        long before = GC.GetTotalMemory(true);

        var ex = await Assert.ThrowsAsync<EndpointException>(() => new EndpointClient(Token, options).GetAsync(Ns, "mert"));

        Assert.Contains("1 MiB", ex.Message);
        Assert.Contains("MaxAnswerBytes", ex.Message);
        Assert.Single(handler.Requests); // a cap is not a failure to try again
        AssertSmallPeak(before, body);
    }

    [Fact]
    public async Task A_100_MB_data_plane_answer_against_a_lowered_cap_is_an_error_naming_the_cap()
    {
        var body = new Endless(Hundred, (byte)'x');
        var handler = new FakeHandler(_clock, (_, _) => Task.FromResult(Big(body)));
        long before = GC.GetTotalMemory(true);

        var ex = await Assert.ThrowsAsync<EndpointException>(() => Client(_clock, handler).SendDataAsync(
            new Uri("https://x.endpoints.huggingface.cloud"), "/", () => new StringContent("{}"), new DataPlaneOptions { MaxAnswerBytes = 8 * 1024 * 1024 }));

        Assert.Contains("8 MiB", ex.Message);
        Assert.Contains("-MaxAnswerBytes", ex.Message);
        AssertSmallPeak(before, body);
    }

    [Fact]
    public async Task The_data_plane_default_cap_is_a_setting_named_in_its_error()
    {
        var body = new Endless(Hundred, (byte)'x');
        var handler = new FakeHandler(_clock, (_, _) => Task.FromResult(Big(body)));
        var options = Options(_clock, handler);
        options.MaxDataAnswerBytes = 2 * 1024 * 1024;

        var ex = await Assert.ThrowsAsync<EndpointException>(() => new EndpointClient(Token, options).SendDataAsync(
            new Uri("https://x.endpoints.huggingface.cloud"), "/", () => new StringContent("{}")));

        Assert.Contains("2 MiB", ex.Message);
        Assert.Contains("MERT_ENDPOINT_MAX_DATA_ANSWER_MB", ex.Message);
    }

    [Fact]
    public async Task A_100_MB_log_line_is_an_error_naming_the_cap()
    {
        var body = new Endless(Hundred, (byte)'a');
        var handler = new FakeHandler(_clock, (_, _) => Task.FromResult(Big(body)));
        long before = GC.GetTotalMemory(true);

        var ex = await Assert.ThrowsAsync<EndpointException>(() => Client(_clock, handler).GetLogsAsync(Ns, "mert", 10));

        Assert.Contains("64 KiB", ex.Message);
        Assert.Contains("MaxLogLineBytes", ex.Message);
        Assert.Single(handler.Requests);
        AssertSmallPeak(before, body);
    }

    [Fact]
    public async Task A_declared_length_over_the_cap_is_refused_before_reading()
    {
        var content = new ByteArrayContent(new byte[16]);
        content.Headers.ContentLength = Hundred;
        var handler = new FakeHandler(_clock, (_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content }));
        var options = Options(_clock, handler);
        options.MaxAnswerBytes = 1024;

        var ex = await Assert.ThrowsAsync<EndpointException>(() => new EndpointClient(Token, options).GetAsync(Ns, "mert"));

        Assert.Contains("1 KiB", ex.Message);
    }
}
