using System.Globalization;
using System.Text.Json.Nodes;

namespace MertEndpoint.Emulator;

/// <summary>The control plane under <c>/v2</c>, whoami under <c>/api</c>, and their bearer auth.</summary>
sealed partial class ControlPlane(EmulatorOptions options, EndpointStore store)
{
    const string Endpoint = "/v2/endpoint/{ns}/{name}";

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/whoami-v2", ctx => Http.WriteJson(ctx, WhoAmI()));
        app.MapGet("/v2/provider/{ns}", ctx =>
        {
            var used = store.UsedAccelerators(Namespace(ctx));
            return Http.WriteJson(ctx, Catalog.Render(type => used.GetValueOrDefault(type)));
        });
        app.MapGet("/v2/endpoint/{ns}", ctx =>
        {
            string ns = Namespace(ctx);
            int page = int.TryParse(ctx.Request.Query["page"], NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p > 0 ? p : 1;
            var (json, more) = store.List(ns, BaseUrl(ctx), page);
            if (more) ctx.Response.Headers["Link"] = $"<{BaseUrl(ctx)}/v2/endpoint/{Uri.EscapeDataString(ns)}?page={page + 1}>; rel=\"next\"";
            return Http.WriteJson(ctx, json);
        });
        app.MapPost("/v2/endpoint/{ns}", async ctx =>
        {
            var ns = Namespace(ctx);
            var spec = EndpointSpec.Parse(await Http.ReadObject(ctx));
            await Http.WriteJson(ctx, store.Create(ns, spec, BaseUrl(ctx)), 202);
        });
        app.MapGet(Endpoint, ctx => Http.WriteJson(ctx, store.Get(Namespace(ctx), Http.Route(ctx, "name"), BaseUrl(ctx))));
        app.MapPut(Endpoint, async ctx =>
        {
            var ns = Namespace(ctx);
            var patch = await Http.ReadObject(ctx);
            await Http.WriteJson(ctx, store.Update(ns, Http.Route(ctx, "name"), patch, BaseUrl(ctx)));
        });
        app.MapDelete(Endpoint, ctx =>
        {
            store.Delete(Namespace(ctx), Http.Route(ctx, "name"));
            return Http.WriteJson(ctx, new JsonObject());
        });
        app.MapPost($"{Endpoint}/pause", ctx => Http.WriteJson(ctx, store.Pause(Namespace(ctx), Http.Route(ctx, "name"), BaseUrl(ctx))));
        app.MapPost($"{Endpoint}/resume", ctx => Http.WriteJson(ctx, store.Resume(Namespace(ctx), Http.Route(ctx, "name"), BaseUrl(ctx))));
        app.MapPost($"{Endpoint}/scale-to-zero", ctx => Http.WriteJson(ctx, store.ScaleToZero(Namespace(ctx), Http.Route(ctx, "name"), BaseUrl(ctx))));
        app.MapGet($"{Endpoint}/open-metrics", ctx =>
        {
            var text = store.OpenMetrics(Namespace(ctx), Http.Route(ctx, "name"));
            ctx.Response.ContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            return ctx.Response.WriteAsync(text, ctx.RequestAborted);
        });
        MapObservability(app);
    }

    /// <summary>Every <c>/v2</c> and <c>/api</c> call needs one of the configured tokens.</summary>
    public Task RequireToken(HttpContext ctx, RequestDelegate next) =>
        (ctx.Request.Path.StartsWithSegments("/v2") || ctx.Request.Path.StartsWithSegments("/api")) && !IsValidToken(Http.BearerToken(ctx.Request))
            ? throw new ApiException(401, Http.TokenRequired)
            : next(ctx);

    public bool IsValidToken(string? token) => token is not null && options.Tokens.Contains(token);

    /// <summary>The namespace route value, which must be the user's or one of its orgs. The service answers a
    /// namespace the token cannot use with 401 and its usual token message.</summary>
    string Namespace(HttpContext ctx)
    {
        var ns = Http.Route(ctx, "ns");
        return ns == options.User || options.Orgs.Contains(ns) ? ns : throw new ApiException(401, Http.TokenRequired);
    }

    /// <summary>Data-plane URLs use the host and port the client reached the emulator by.</summary>
    static string BaseUrl(HttpContext ctx) => $"{ctx.Request.Scheme}://{ctx.Request.Host}";

    JsonObject WhoAmI() => new()
    {
        ["type"] = "user",
        ["id"] = EndpointStore.UserId(options.User),
        ["name"] = options.User,
        ["fullname"] = options.User,
        ["isPro"] = false,
        ["canPay"] = true,
        ["orgs"] = new JsonArray(options.Orgs.Select(org => (JsonNode)new JsonObject
        {
            ["type"] = "org", ["id"] = EndpointStore.UserId(org), ["name"] = org, ["fullname"] = org, ["roleInOrg"] = "admin",
        }).ToArray()),
        ["auth"] = new JsonObject
        {
            ["type"] = "access_token",
            ["accessToken"] = new JsonObject { ["displayName"] = "emulator", ["role"] = "write" },
        },
    };
}
