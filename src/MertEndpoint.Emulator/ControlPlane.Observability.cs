using System.Globalization;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace MertEndpoint.Emulator;

/// <summary>Logs, replicas and metrics, following the routes of the service's published API description.</summary>
sealed partial class ControlPlane
{
    /// <summary>How often a followed log looks for new lines.</summary>
    static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(50);

    void MapObservability(IEndpointRouteBuilder app)
    {
        app.MapGet($"{Endpoint}/logs", ctx => Logs(ctx, sse: false));
        app.MapGet($"{Endpoint}/logs/sse", ctx => Logs(ctx, sse: true));
        app.MapGet($"{Endpoint}/replica", ctx => Http.WriteJson(ctx, store.ReplicaList(Namespace(ctx), Http.Route(ctx, "name"))));
        app.MapPost($"{Endpoint}/metrics/{{metric}}", async ctx =>
        {
            var (ns, name, metric) = (Namespace(ctx), Http.Route(ctx, "name"), Http.Route(ctx, "metric"));
            var (served, history) = store.MetricInputs(ns, name); // 404 before any complaint about the body
            var query = Metrics.Parse(metric, await Http.ReadObject(ctx));
            await Http.WriteJson(ctx, Metrics.Compute(metric, query, served, history, options.ColumnarMetrics));
        });
    }

    /// <summary><c>text/plain</c>, one <c>- &lt;RFC 3339 time&gt; &lt;line&gt;</c> per line; with <c>follow=true</c>
    /// (and always for <c>/logs/sse</c>, one event per line) new lines stream until the replica stops.</summary>
    async Task Logs(HttpContext ctx, bool sse)
    {
        var record = store.Record(Namespace(ctx), Http.Route(ctx, "name"));
        var q = ctx.Request.Query;
        var query = new LogQuery(Count(q, "tail"), UnixTime(q, "from"), UnixTime(q, "to"),
            string.IsNullOrEmpty(q["replica"]) ? null : q["replica"].ToString(), Count(q, "line_max_length"));
        var follow = sse || Flag(q, "follow");
        long after = 0;
        // An SSE client that reconnects says which event it saw last: carry on after it.
        if (sse && long.TryParse(ctx.Request.Headers["Last-Event-ID"], NumberStyles.None, CultureInfo.InvariantCulture, out var lastSeen))
            (after, query) = (lastSeen, query with { Tail = null });

        var (lines, more, cursor) = store.Logs(record, query, after);
        ctx.Response.ContentType = sse ? "text/event-stream; charset=utf-8" : "text/plain; charset=utf-8";
        if (sse) ctx.Response.Headers.CacheControl = "no-cache";
        await Write(ctx, lines, query.LineMaxLength, sse);
        if (!follow) return;

        // Later lines pass the replica filter only: tail, from and to chose the first batch.
        var live = query with { Tail = null, From = null, To = null };
        while (more)
        {
            await Task.Delay(FollowPoll, ctx.RequestAborted);
            (lines, more, cursor) = store.Logs(record, live, cursor);
            await Write(ctx, lines, query.LineMaxLength, sse);
        }
    }

    static async Task Write(HttpContext ctx, List<LogLine> lines, int? maxLength, bool sse)
    {
        var text = new StringBuilder();
        foreach (var line in lines)
            text.Append(sse ? $"id: {line.Seq}\ndata: {line.Render(maxLength)}\n\n" : $"{line.Render(maxLength)}\n");
        await ctx.Response.WriteAsync(text.ToString(), ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    static int? Count(IQueryCollection q, string key) => q.TryGetValue(key, out var value) && !StringValues.IsNullOrEmpty(value)
        ? int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
            : throw Http.BadRequest($"Query parameter '{key}' must be a whole number of 0 or more, not '{value}'")
        : null;

    static DateTimeOffset? UnixTime(IQueryCollection q, string key) => q.TryGetValue(key, out var value) && !StringValues.IsNullOrEmpty(value)
        ? double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s is >= 0 and < 253402300799
            ? DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(s * TimeSpan.TicksPerSecond))
            : throw Http.BadRequest($"Query parameter '{key}' must be a unix time in seconds, not '{value}'")
        : null;

    static bool Flag(IQueryCollection q, string key) => q.TryGetValue(key, out var value) && !StringValues.IsNullOrEmpty(value) && value.ToString() switch
    {
        "true" or "True" or "1" => true,
        "false" or "False" or "0" => false,
        var other => throw Http.BadRequest($"Query parameter '{key}' must be true or false, not '{other}'"),
    };
}
