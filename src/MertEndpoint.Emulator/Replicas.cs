using System.Globalization;
using System.Text.Json.Nodes;

namespace MertEndpoint.Emulator;

/// <summary>One replica of an endpoint: a container that boots, serves and stops. Base replicas follow the
/// endpoint's state; extra ones are started and stopped by the load rule (<see cref="EndpointStore"/>).</summary>
sealed class Replica
{
    public string Id { get; set; } = "";
    public DateTimeOffset StartedAt { get; set; }
    /// <summary>Set once its container was started (image pulled): the start of <c>initializing</c>.</summary>
    public DateTimeOffset? InitializedAt { get; set; }
    public DateTimeOffset? ReadyAt { get; set; }
    public DateTimeOffset? FailedAt { get; set; }
    /// <summary>Started by the load rule; <see cref="ReadyDue"/> is when its boot ends.</summary>
    public bool Extra { get; set; }
    public DateTimeOffset ReadyDue { get; set; }

    public string State => FailedAt is not null ? "failed" : ReadyAt is not null ? "running" : InitializedAt is not null ? "initializing" : "pending";

    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["state"] = State,
        ["startedAt"] = Http.Timestamp(StartedAt),
        ["readyAt"] = ReadyAt is { } ready ? Http.Timestamp(ready) : null,
        ["failedAt"] = FailedAt is { } failed ? Http.Timestamp(failed) : null,
    };

    /// <summary>A Kubernetes-style pod name: the endpoint's name, a deployment hash, a pod suffix.</summary>
    public static string NewId(string endpoint) => $"{endpoint}-{RandomText(9, "0123456789abcdef")}-{RandomText(5, "bcdfghjklmnpqrstvwxz2456789")}";

    public static string RandomText(int length, string alphabet) =>
        string.Create(length, alphabet, (span, chars) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = chars[Random.Shared.Next(chars.Length)];
        });
}

/// <summary>One log line. <see cref="Build"/> lines come from the platform (image pull, container start and
/// exit); the others are the container's own output.</summary>
sealed record LogLine(long Seq, DateTimeOffset Time, string Replica, string Text, bool Build)
{
    /// <summary>The service's text format, as a third-party CLI reads it: <c>- 2026-03-17T16:50:25.779+00:00 line</c>.</summary>
    public string Render(int? maxLength)
    {
        var text = maxLength is { } max && Text.Length > max ? Text[..max] : Text;
        return $"- {Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture)}+00:00 {text}";
    }
}

/// <summary>A data-plane request a replica answered, for the metrics.</summary>
readonly record struct ServedRequest(DateTimeOffset Time, int Status, double Milliseconds);

/// <summary>What the containers print, modelled on a uvicorn server in a custom image.</summary>
static class ContainerScript
{
    public static IEnumerable<(string Text, bool Build)> Start(EndpointSpec spec, string replica) =>
    [
        ($"Pulling image {spec.PulledImage} for replica {replica}", true),
        ($"Successfully pulled image {spec.PulledImage}", true),
        ($"Starting container {replica} (port {spec.Port})", true),
        ("INFO:     Started server process [1]", false),
        ("INFO:     Waiting for application startup.", false),
        ($"Loading model {spec.Repository}", false),
    ];

    public static IEnumerable<(string Text, bool Build)> Ready(EndpointSpec spec) =>
    [
        ("INFO:     Application startup complete.", false),
        ($"INFO:     Uvicorn running on http://0.0.0.0:{spec.Port} (Press CTRL+C to quit)", false),
        ("Replica ready: health route answers 200", true),
    ];

    /// <summary>A broken image: a short Python traceback, then the platform's exit line.</summary>
    public static IEnumerable<(string Text, bool Build)> Failure(EndpointSpec spec) =>
    [
        ("Traceback (most recent call last):", false),
        ("  File \"/app/server.py\", line 14, in <module>", false),
        ("    model = load_model(os.environ.get(\"MODEL_ID\", \"/repository\"))", false),
        ("  File \"/app/server.py\", line 9, in load_model", false),
        ($"    return AutoModel.from_pretrained(path, trust_remote_code=True).to(\"cuda\")", false),
        ("RuntimeError: CUDA error: no kernel image is available for execution on the device", false),
        ("ERROR:    Application startup failed. Exiting.", false),
        ($"Container exited with code 1: image {spec.PulledImage} failed to start", true),
    ];

    public static IEnumerable<(string Text, bool Build)> Stop() =>
    [
        ("INFO:     Shutting down", false),
        ("INFO:     Finished server process [1]", false),
    ];

    public static string Access(string method, string path, int status, double milliseconds) =>
        $"INFO:     10.0.0.1:{40000 + Random.Shared.Next(20000)} - \"{method} {path} HTTP/1.1\" {status} " +
        $"{Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status)} ({milliseconds.ToString("0.0", CultureInfo.InvariantCulture)} ms)";
}
