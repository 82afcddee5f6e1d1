using System.Text.Json.Nodes;
using static MertEndpoint.Emulator.Fields;

namespace MertEndpoint.Emulator;

/// <summary>Every request except the admin ones, oldest first, for tests that check what a client sent.</summary>
sealed class RequestLog
{
    const int Capacity = 100_000; // bounded so a long benchmark cannot exhaust memory

    public sealed class Entry(DateTimeOffset time, string method, string path)
    {
        public DateTimeOffset Time { get; } = time;
        public string Method { get; } = method;
        public string Path { get; } = path;
        /// <summary>Null while in flight; 0 when the connection was dropped by a fault.</summary>
        public int? Status { get; set; }
    }

    readonly Lock _gate = new();
    readonly Queue<Entry> _entries = new();

    public Entry Start(DateTimeOffset time, string method, string path)
    {
        var entry = new Entry(time, method, path);
        lock (_gate)
        {
            _entries.Enqueue(entry);
            if (_entries.Count > Capacity) _entries.Dequeue();
        }
        return entry;
    }

    /// <summary>Sets the status once; later calls (Kestrel may still "start" an aborted response) are ignored.</summary>
    public void Finish(Entry entry, int status)
    {
        lock (_gate) entry.Status ??= status;
    }

    public void Clear()
    {
        lock (_gate) _entries.Clear();
    }

    public JsonObject Render()
    {
        lock (_gate)
            return new JsonObject
            {
                ["requests"] = new JsonArray(_entries.Select(e => (JsonNode)new JsonObject
                {
                    ["time"] = Http.Timestamp(e.Time), ["method"] = e.Method, ["path"] = e.Path, ["status"] = e.Status,
                }).ToArray()),
            };
    }
}

/// <summary>A fault: what to match, and how to answer instead (or how to spoil the normal answer).</summary>
sealed record FaultRule(int Id, string? Method, string PathPrefix, int? Status, int? Count, int DelayMs, int? RetryAfterSeconds, bool Drop,
    string? Body, string? ContentType, IReadOnlyDictionary<string, string> Headers, long? CutAfterBytes)
{
    public JsonObject ToJson() => new()
    {
        ["id"] = Id, ["method"] = Method, ["pathPrefix"] = PathPrefix, ["status"] = Status, ["count"] = Count,
        ["delayMs"] = DelayMs, ["retryAfterSeconds"] = RetryAfterSeconds, ["drop"] = Drop,
        ["body"] = Body, ["contentType"] = ContentType,
        ["headers"] = new JsonObject(Headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)h.Value))),
        ["cutAfterBytes"] = CutAfterBytes,
    };
}

/// <summary>Fault rules, checked in the order they were added; the first live match wins and uses up one count.</summary>
sealed class FaultRules
{
    readonly Lock _gate = new();
    readonly List<FaultRule> _rules = [];
    int _nextId = 1;

    public FaultRule Add(JsonObject body)
    {
        var rule = new FaultRule(0,
            Str(body, "method", "")?.ToUpperInvariant(),
            Str(body, "pathPrefix", "") ?? "/",
            Int(body, "status", ""),
            Int(body, "count", ""),
            Int(body, "delayMs", "") ?? 0,
            Int(body, "retryAfterSeconds", ""),
            Bool(body, "drop", "") ?? false,
            Str(body, "body", ""),
            Str(body, "contentType", ""),
            (Obj(body, "headers", "") ?? []).ToDictionary(h => h.Key, h => Str(body["headers"]!.AsObject(), h.Key, "headers.", required: true)!),
            Int(body, "cutAfterBytes", ""));
        if (rule.Status is < 100 or > 599) throw Http.BadRequest("Field 'status' must be an HTTP status code (100-599) or null");
        if (rule.Count is < 1) throw Http.BadRequest("Field 'count' must be at least 1, or null for forever");
        if (rule.DelayMs < 0) throw Http.BadRequest("Field 'delayMs' must be 0 or more");
        if (rule.RetryAfterSeconds is < 0) throw Http.BadRequest("Field 'retryAfterSeconds' must be 0 or more, or null");
        if (!rule.PathPrefix.StartsWith('/')) throw Http.BadRequest("Field 'pathPrefix' must start with '/'");
        if ((rule.Body ?? rule.ContentType) is not null && rule.Status is null)
            throw Http.BadRequest("Fields 'body' and 'contentType' need a 'status' to answer with");
        if (rule.CutAfterBytes is < 0) throw Http.BadRequest("Field 'cutAfterBytes' must be 0 or more, or null");
        foreach (var (name, value) in rule.Headers)
            if (name.Length == 0 || name.Any(c => c is <= ' ' or > '~' or ':') || value.Any(c => c is < ' ' or > '~'))
                throw Http.BadRequest($"Header '{name}' in 'headers' must be a token name with a printable ASCII value");
        lock (_gate)
        {
            rule = rule with { Id = _nextId++ };
            _rules.Add(rule);
        }
        return rule;
    }

    public FaultRule? Match(string method, string path)
    {
        lock (_gate)
        {
            var i = _rules.FindIndex(r => (r.Method is null || r.Method == method) && path.StartsWith(r.PathPrefix, StringComparison.Ordinal));
            if (i < 0) return null;
            var rule = _rules[i];
            if (rule.Count is { } count)
            {
                if (count == 1) _rules.RemoveAt(i);
                else _rules[i] = rule with { Count = count - 1 };
            }
            return rule;
        }
    }

    public void Clear()
    {
        lock (_gate) _rules.Clear();
    }

    public JsonObject Render()
    {
        lock (_gate) return new JsonObject { ["faults"] = new JsonArray(_rules.Select(r => (JsonNode)r.ToJson()).ToArray()) };
    }
}

/// <summary>The <c>/_emulator</c> routes and the middleware that logs requests and injects faults.</summary>
sealed class Admin(EndpointStore store, FaultRules faults, RequestLog log, TimeProvider time)
{
    public const string Prefix = "/_emulator";
    const string DroppedKey = "emulator.dropped";

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet($"{Prefix}/billing", ctx => Http.WriteJson(ctx, store.BillingReport()));
        app.MapGet($"{Prefix}/changes", ctx => Http.WriteJson(ctx, store.ChangesReport()));
        app.MapGet($"{Prefix}/requests", ctx => Http.WriteJson(ctx, log.Render()));
        app.MapGet($"{Prefix}/faults", ctx => Http.WriteJson(ctx, faults.Render()));
        app.MapPost($"{Prefix}/faults", async ctx => await Http.WriteJson(ctx, faults.Add(await Http.ReadObject(ctx)).ToJson()));
        app.MapDelete($"{Prefix}/faults", ctx =>
        {
            faults.Clear();
            return Http.WriteJson(ctx, faults.Render());
        });
        app.MapPost($"{Prefix}/backdate", async ctx =>
        {
            var body = await Http.ReadObject(ctx);
            var seconds = Fields.Int(body, "seconds", "") ?? throw Http.BadRequest("Missing required field 'seconds'");
            if (seconds < 0) throw Http.BadRequest("Field 'seconds' must be 0 or more");
            await Http.WriteJson(ctx, store.Backdate(Fields.Str(body, "namespace", "", required: true)!, Fields.Str(body, "name", "", required: true)!,
                TimeSpan.FromSeconds(seconds), Fields.Bool(body, "stamps", "") ?? false, Fields.Bool(body, "replicas", "") ?? false));
        });
        app.MapPost($"{Prefix}/reset", ctx =>
        {
            store.Reset();
            faults.Clear();
            log.Clear();
            return Http.WriteJson(ctx, new JsonObject());
        });
    }

    static bool IsAdmin(HttpContext ctx) => ctx.Request.Path.StartsWithSegments(Prefix);

    /// <summary>Outermost: a fresh X-Request-Id on every response, and the request log.</summary>
    public async Task RequestIdAndLog(HttpContext ctx, RequestDelegate next)
    {
        ctx.Response.Headers["X-Request-Id"] = Guid.NewGuid().ToString("N");
        if (IsAdmin(ctx))
        {
            await next(ctx);
            return;
        }
        var entry = log.Start(time.GetUtcNow(), ctx.Request.Method, ctx.Request.Path.Value ?? "/");
        // Record the status as the headers go out, so a client that has its answer always finds it logged.
        ctx.Response.OnStarting(() =>
        {
            log.Finish(entry, ctx.Items.ContainsKey(DroppedKey) ? 0 : ctx.Response.StatusCode);
            return Task.CompletedTask;
        });
        try
        {
            await next(ctx);
        }
        finally
        {
            // No answer went out: a fault dropped the connection, or the client gave up first (status 0 for both).
            if (ctx.Items.ContainsKey(DroppedKey) || !ctx.Response.HasStarted && ctx.RequestAborted.IsCancellationRequested) log.Finish(entry, 0);
            else if (!ctx.Response.HasStarted) log.Finish(entry, ctx.Response.StatusCode);
        }
    }

    /// <summary>Admin routes carry no auth, so they answer loopback callers only, and never a web page: a browser
    /// sends <c>Origin</c> (and <c>Sec-Fetch-Site</c>) on the requests a page can make, a page can only send
    /// cross-origin bodies as form or plain text, and a page on a rebound DNS name shows that name in <c>Host</c>.</summary>
    public static Task LoopbackOnly(HttpContext ctx, RequestDelegate next)
    {
        if (!IsAdmin(ctx)) return next(ctx);
        if (!Http.IsLoopback(ctx.Connection.RemoteIpAddress))
            return Http.WriteError(ctx, 403, "The emulator's admin routes answer loopback callers only");
        var request = ctx.Request;
        if (request.Headers.Origin.Count > 0 || request.Headers["Sec-Fetch-Site"].ToString() is "cross-site" or "same-site")
            return Http.WriteError(ctx, 403, "The emulator's admin routes refuse requests from web pages (an Origin header was sent): call them from a script or curl");
        if (!IsLoopbackHost(request.Host.Host))
            return Http.WriteError(ctx, 403, $"The emulator's admin routes answer only requests addressed to a loopback host (localhost, 127.0.0.1, [::1]), not '{request.Host.Host}'");
        var hasBody = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && (hasBody || request.ContentType is not null)
            && !(request.ContentType is { } type && type.Split(';')[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase)))
            return Http.WriteError(ctx, 415, $"The emulator's admin routes take JSON: send 'Content-Type: application/json', not '{request.ContentType ?? "none"}'");
        return next(ctx);
    }

    static bool IsLoopbackHost(string host) =>
        host.Length == 0 || host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || System.Net.IPAddress.TryParse(host, out var address) && Http.IsLoopback(address);

    /// <summary>Applies the first matching fault rule, before auth, the way a flaky proxy in front of the service would.</summary>
    public async Task InjectFaults(HttpContext ctx, RequestDelegate next)
    {
        if (IsAdmin(ctx) || faults.Match(ctx.Request.Method, ctx.Request.Path.Value ?? "/") is not { } rule)
        {
            await next(ctx);
            return;
        }
        if (rule.DelayMs > 0) await Task.Delay(rule.DelayMs, ctx.RequestAborted);
        if (rule.Drop)
        {
            ctx.Items[DroppedKey] = true;
            ctx.Abort();
            return;
        }
        foreach (var (name, value) in rule.Headers) ctx.Response.Headers[name] = value;
        if (rule.CutAfterBytes is { } cut) ctx.Response.Body = new CutStream(ctx.Response.Body, cut, ctx.Abort);
        if (rule.Status is not { } status)
        {
            await next(ctx);
            return;
        }
        if (rule.RetryAfterSeconds is { } retryAfter) ctx.Response.Headers.RetryAfter = retryAfter.ToString();
        if (rule.Body is null && rule.ContentType is null)
        {
            await Http.WriteError(ctx, status, "Emulated fault");
            return;
        }
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = rule.ContentType ?? "text/plain; charset=utf-8";
        await ctx.Response.WriteAsync(rule.Body ?? "", ctx.RequestAborted);
    }
}

/// <summary>Passes the first <c>limit</c> bytes of an answer, then closes the connection: a stream cut mid-way.</summary>
sealed class CutStream(Stream inner, long limit, Action abort) : Stream
{
    long _written;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var allowed = (int)Math.Min(buffer.Length, limit - _written);
        if (allowed > 0)
        {
            await inner.WriteAsync(buffer[..allowed], cancellationToken);
            _written += allowed;
        }
        if (allowed < buffer.Length)
        {
            await inner.FlushAsync(cancellationToken);
            // A flush only hands the bytes to the transport; an abort at once could discard them unsent.
            await Task.Delay(200, CancellationToken.None);
            abort();
            throw new OperationCanceledException("The answer was cut by a fault rule (cutAfterBytes).");
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override void Flush() => inner.Flush();
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _written; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
