using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using S = MertEndpoint.Emulator.EndpointState;

namespace MertEndpoint.Emulator;

/// <summary>Each endpoint's own URL (<c>/endpoints/{ns}/{name}/...</c>, or <c>/e/{random id}/...</c> under
/// <c>--url-scheme random</c>): the health route, and inference that answers MERT-shaped embeddings computed
/// from the bytes received.</summary>
sealed class DataPlane(EmulatorOptions options, EndpointStore store, ControlPlane auth, TimeProvider time)
{
    public const int Layers = 13, Dim = 768;
    const double MaxHoldSeconds = 600;
    const string ServedKey = "emulator.served";

    public void Map(IEndpointRouteBuilder app)
    {
        // Only the active scheme is routed: under random URLs nothing answers at a guessable path.
        if (options.RandomUrls)
            app.Map("/e/{id}/{**rest}", ctx => store.ResolveUrlId(Http.Route(ctx, "id")) is { } target
                ? Handle(ctx, target.Namespace, target.Name)
                : Http.WriteError(ctx, 404, "Not Found"));
        else
            app.Map("/endpoints/{ns}/{name}/{**rest}", ctx => Handle(ctx, Http.Route(ctx, "ns"), Http.Route(ctx, "name")));
    }

    async Task Handle(HttpContext ctx, string ns, string name)
    {
        // Counted as the headers go out, so a client that has its answer always finds it in open-metrics.
        ctx.Response.OnStarting(() =>
        {
            store.CountRequest(ns, name, ctx.Response.StatusCode);
            return Task.CompletedTask;
        });
        var path = "/" + (ctx.GetRouteValue("rest") as string ?? "");
        try
        {
            await Serve(ctx, ns, name, path);
        }
        catch (ApiException e) when (!ctx.Response.HasStarted)
        {
            await Http.WriteError(ctx, e.Status, e.Message);
        }
        finally
        {
            // A replica answered (not the proxy in front of it): an access line and a metrics point.
            if (ctx.Items[ServedKey] is DateTimeOffset started && !ctx.RequestAborted.IsCancellationRequested)
                store.Served(ns, name, ctx.Request.Method, path, ctx.Response.StatusCode, (time.GetUtcNow() - started).TotalMilliseconds, started);
        }
    }

    async Task Serve(HttpContext ctx, string ns, string name, string path)
    {
        var view = store.Peek(ns, name) ?? throw new ApiException(404, $"Endpoint '{name}' not found in namespace '{ns}'");
        if (view.Type != "public" && !auth.IsValidToken(Http.BearerToken(ctx.Request))) throw new ApiException(401, Http.TokenRequired);

        view = store.Touch(ns, name);
        // --scale-to-zero-status 502: the older proxy answered 502 and knew no X-Scale-Up-Timeout.
        if (IsStarting(view.State) && view.Waking && options.ScaleToZeroStatus == 502)
            throw new ApiException(502, "Bad Gateway: endpoint is scaling up from zero");
        if (IsStarting(view.State) && ScaleUpTimeout(ctx.Request) is { } hold)
        {
            // The proxy holds a request that asks for it until a replica is up.
            var deadline = time.GetUtcNow() + hold;
            while (IsStarting(view.State) && time.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), ctx.RequestAborted);
                view = store.Peek(ns, name) ?? throw new ApiException(404, $"Endpoint '{name}' not found in namespace '{ns}'");
            }
            if (view.State == S.Running) view = store.Touch(ns, name);
        }

        switch (view.State)
        {
            case S.Paused:
                throw Http.BadRequest("Bad Request: Invalid state");
            case S.Failed or S.UpdateFailed:
                throw new ApiException(503, $"Service Unavailable: endpoint is in state {view.State}");
            case not S.Running:
                throw new ApiException(503, view.Waking
                    ? "Service Unavailable: endpoint is scaling up from zero, retry later or send X-Scale-Up-Timeout"
                    : $"Service Unavailable: endpoint is {view.State}");
        }

        ctx.Items[ServedKey] = time.GetUtcNow();
        if (HttpMethods.IsGet(ctx.Request.Method) && path == view.HealthRoute)
        {
            await ctx.Response.WriteAsync("OK", ctx.RequestAborted);
            return;
        }
        if (HttpMethods.IsPost(ctx.Request.Method))
        {
            await Infer(ctx, view);
            return;
        }
        throw HttpMethods.IsGet(ctx.Request.Method) ? new ApiException(404, "Not Found") : new ApiException(405, "Method Not Allowed");
    }

    static bool IsStarting(string state) => state is S.Pending or S.Initializing or S.Updating;

    static TimeSpan? ScaleUpTimeout(HttpRequest request) =>
        double.TryParse(request.Headers["X-Scale-Up-Timeout"], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(Math.Min(s, MaxHoldSeconds)) : null;

    /// <summary>Hashes the body as it streams in (a 200 MB upload is never held in memory) and answers
    /// numbers seeded by that hash: the same bytes always give the same document.</summary>
    static async Task Infer(HttpContext ctx, DataPlaneView view)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        long total = 0;
        try
        {
            int read;
            while ((read = await ctx.Request.Body.ReadAsync(buffer, ctx.RequestAborted)) > 0)
            {
                sha.AppendData(buffer, 0, read);
                total += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (total == 0) throw Http.BadRequest("Request body is empty: send the audio bytes or a JSON payload");
        var digest = sha.GetHashAndReset();

        ctx.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(ctx.Response.Body);
        json.WriteStartObject();
        json.WriteString("model", view.Repository);
        json.WriteNumber("bytes", total);
        if (view.Task is null or "feature-extraction")
        {
            json.WriteNumber("layers", Layers);
            json.WriteNumber("dim", Dim);
            json.WriteStartArray("embeddings");
            var random = new SplitMix64(BinaryPrimitives.ReadUInt64LittleEndian(digest));
            for (var layer = 0; layer < Layers; layer++)
            {
                json.WriteStartArray();
                for (var i = 0; i < Dim; i++) json.WriteNumberValue(Math.Round(random.NextDouble() * 2 - 1, 6));
                json.WriteEndArray();
            }
            json.WriteEndArray();
        }
        else
        {
            json.WriteString("task", view.Task);
            json.WriteString("sha256", Convert.ToHexStringLower(digest));
        }
        json.WriteEndObject();
        await json.FlushAsync(ctx.RequestAborted);
    }

    /// <summary>A tiny PRNG with a fixed algorithm, so numbers never change across .NET versions (System.Random may).</summary>
    struct SplitMix64(ulong state)
    {
        public double NextDouble()
        {
            var z = state += 0x9E3779B97F4A7C15;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
            return ((z ^ (z >> 31)) >> 11) * (1.0 / (1UL << 53));
        }
    }
}
