using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MertEndpoint.Emulator;

/// <summary>An error the service answers with <c>{"error": message}</c>; thrown anywhere in a request
/// and written by the error middleware.</summary>
sealed class ApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

static class Http
{
    /// <summary>The service's own 401 text.</summary>
    public const string TokenRequired = "A valid user or organization token, sent as a Bearer, is required";

    /// <summary>Readable output: quotes and '+' stay as they are rather than \u0027-escaped.</summary>
    static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static ApiException BadRequest(string message) => new(400, message);

    public static string Serialize(JsonNode body) => body.ToJsonString(Output);

    public static Task WriteJson(HttpContext ctx, JsonNode body, int status = 200) => WriteJson(ctx, Serialize(body), status);

    public static Task WriteJson(HttpContext ctx, string json, int status = 200)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        var bytes = Encoding.UTF8.GetBytes(json);
        ctx.Response.ContentLength = bytes.Length; // not chunked: cheaper for both sides
        return ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted).AsTask();
    }

    public static Task WriteError(HttpContext ctx, int status, string message)
    {
        // Header values must be printable ASCII; messages may echo user input.
        ctx.Response.Headers["X-Error-Message"] = new string(message.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
        return WriteJson(ctx, new JsonObject { ["error"] = message }, status);
    }

    /// <summary>UTC with 9 fractional digits, as the service sometimes writes them, so clients that
    /// only parse 7 digits fail here rather than in production.</summary>
    public static string Timestamp(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture) + "00Z";

    public static string? BearerToken(HttpRequest request)
    {
        var value = request.Headers.Authorization.ToString();
        return value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value[7..].Trim() : null;
    }

    public static bool IsLoopback(IPAddress? address) =>
        address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    /// <summary>Reads a JSON object body; anything else (empty, malformed, array, too large) is a 400/413.</summary>
    public static async Task<JsonObject> ReadObject(HttpContext ctx, int maxBytes = 1 << 20)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes) throw new ApiException(413, $"Request body exceeds {maxBytes} bytes");
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0) throw BadRequest("Request body must be a JSON object");
        try
        {
            // Decode strictly first: the JSON reader only checks UTF-8 inside strings when they are read.
            var text = StrictUtf8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) as JsonObject
                ?? throw BadRequest("Request body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw BadRequest($"Malformed JSON body: {e.Message}");
        }
        catch (DecoderFallbackException)
        {
            throw BadRequest("Malformed JSON body: invalid UTF-8");
        }
    }

    public static string Route(HttpContext ctx, string key) => (string)ctx.GetRouteValue(key)!;
}

/// <summary>Typed readers for request bodies: a missing required field or a wrong JSON type is a 400
/// naming the field (<paramref name="path"/> is the dotted prefix, e.g. "compute.").</summary>
static class Fields
{
    public static JsonNode? Field(JsonObject o, string key, string path, bool required)
    {
        var value = o.TryGetPropertyValue(key, out var v) ? v : null;
        if (value is null && required) throw Http.BadRequest($"Missing required field '{path}{key}'");
        return value;
    }

    public static string? Str(JsonObject o, string key, string path, bool required = false) => Field(o, key, path, required) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw Http.BadRequest($"Field '{path}{key}' must be a string"),
    };

    public static int? Int(JsonObject o, string key, string path) => Field(o, key, path, false) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var i) => i,
        _ => throw Http.BadRequest($"Field '{path}{key}' must be an integer"),
    };

    public static bool? Bool(JsonObject o, string key, string path) => Field(o, key, path, false) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw Http.BadRequest($"Field '{path}{key}' must be true or false"),
    };

    public static JsonObject? Obj(JsonObject o, string key, string path, bool required = false) => Field(o, key, path, required) switch
    {
        null => null,
        JsonObject child => child,
        _ => throw Http.BadRequest($"Field '{path}{key}' must be an object"),
    };
}
