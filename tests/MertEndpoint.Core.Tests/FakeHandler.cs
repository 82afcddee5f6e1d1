using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace MertEndpoint.Tests;

/// <summary>A request as the fake handler saw it, stamped with the fake clock.</summary>
public sealed record Recorded(HttpMethod Method, string Path, string? Body, string? Authorization, DateTimeOffset Time)
{
    /// <summary>The query, with its '?', or "".</summary>
    public string Query { get; init; } = "";
    /// <summary>The host the request went to.</summary>
    public string Host { get; init; } = "";

    public override string ToString() => $"{Method} {Path}";
}

/// <summary>
/// Answers from a script: either a queue of responders consumed in order, or one routing function.
/// Records every request (method, path, body, auth header, fake time).
/// </summary>
public sealed class FakeHandler : HttpMessageHandler
{
    private readonly Queue<Func<Recorded, CancellationToken, Task<HttpResponseMessage>>> _script = new();
    private readonly Func<Recorded, CancellationToken, Task<HttpResponseMessage>>? _route;
    private readonly TimeProvider _clock;
    private readonly List<Recorded> _requests = [];

    public FakeHandler(TimeProvider clock, params Func<Recorded, CancellationToken, Task<HttpResponseMessage>>[] script)
    {
        _clock = clock;
        foreach (var step in script) _script.Enqueue(step);
    }

    public FakeHandler(TimeProvider clock, Func<Recorded, HttpResponseMessage> route)
    {
        _clock = clock;
        _route = (r, _) => Task.FromResult(route(r));
    }

    public IReadOnlyList<Recorded> Requests { get { lock (_requests) return _requests.ToArray(); } }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var body = request.Content == null ? null : await request.Content.ReadAsStringAsync(ct);
        var recorded = new Recorded(request.Method, request.RequestUri!.AbsolutePath, body,
            request.Headers.Authorization?.ToString(), _clock.GetUtcNow()) { Query = request.RequestUri.Query, Host = request.RequestUri.Host };
        Func<Recorded, CancellationToken, Task<HttpResponseMessage>> next;
        lock (_requests)
        {
            _requests.Add(recorded);
            next = _route ?? (_script.Count > 0 ? _script.Dequeue() : throw new InvalidOperationException($"Unscripted request {recorded}"));
        }
        var response = await next(recorded, ct);
        response.RequestMessage = request;
        return response;
    }
}

/// <summary>Building blocks for scripts.</summary>
public static class Respond
{
    public static Func<Recorded, CancellationToken, Task<HttpResponseMessage>> With(int status, string? json = null,
        Action<HttpResponseHeaders>? headers = null) =>
        (_, _) => Task.FromResult(Make(status, json, headers));

    /// <summary>
    /// Never answers: only the per-attempt timeout (or cancellation) ends it. It waits on the test clock, so the clock
    /// knows the code is blocked and moves time on to the timeout.
    /// </summary>
    public static Func<Recorded, CancellationToken, Task<HttpResponseMessage>> Hang(TimeProvider clock) =>
        async (_, ct) => { await Task.Delay(TimeSpan.FromDays(1), clock, ct); throw new InvalidOperationException(); };

    /// <summary>The connection drops before an answer.</summary>
    public static Func<Recorded, CancellationToken, Task<HttpResponseMessage>> Drop() =>
        (_, _) => Task.FromException<HttpResponseMessage>(new HttpRequestException("The response ended prematurely."));

    public static HttpResponseMessage Make(int status, string? json = null, Action<HttpResponseHeaders>? headers = null)
    {
        var response = new HttpResponseMessage((HttpStatusCode)status);
        if (json != null) response.Content = new StringContent(json, Encoding.UTF8, "application/json");
        headers?.Invoke(response.Headers);
        return response;
    }

    public static string Error(string message) => "{\"error\": " + JsonSerializer.Serialize(message) + "}";
}

public static class Samples
{
    public const string Token = "hf_unit_SECRET_token_value";
    public const string Ns = "alice";

    public static string Endpoint(string name = "mert", string state = "running", string? url = "https://x.endpoints.huggingface.cloud",
        string? message = null) => EndpointJson(name, state, JsonSerializer.Serialize(url), JsonSerializer.Serialize(message));

    private static string EndpointJson(string name, string state, string url, string message) => $$$"""
        {
          "name": "{{{name}}}", "type": "authenticated", "accountId": null,
          "provider": {"vendor": "aws", "region": "us-east-1"},
          "compute": {"accelerator": "gpu", "instanceType": "nvidia-a10g", "instanceSize": "x1",
                      "scaling": {"minReplica": 0, "maxReplica": 1, "scaleToZeroTimeout": 15}},
          "model": {"repository": "m-a-p/MERT-v1-95M", "revision": null, "task": "feature-extraction", "framework": "pytorch",
                    "image": {"custom": {"url": "someone/mert:latest", "healthRoute": "/health", "port": 8080}}, "env": {"A": "1"}},
          "status": {"createdAt": "2026-11-26T12:41:53.263078506Z", "updatedAt": "2026-11-26T12:45:10.001Z",
                     "state": "{{{state}}}", "message": {{{message}}},
                     "url": {{{url}}}, "readyReplica": 1, "targetReplica": 1}
        }
        """;

    public static EndpointClientOptions Options(TestClock clock, FakeHandler handler) => new()
    {
        TimeProvider = clock,
        Handler = handler,
        ApiBaseUri = new Uri("https://api.example/v2"),
        HubBaseUri = new Uri("https://hub.example"),
        // Each test its own Retry-After gate: the process's would carry one test's rate limit into another's.
        RetryAfterGate = new RetryAfterGate(),
    };

    public static EndpointClient Client(TestClock clock, FakeHandler handler, string token = Token) =>
        new(token, Options(clock, handler));
}
