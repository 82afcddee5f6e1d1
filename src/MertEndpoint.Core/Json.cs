using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MertEndpoint
{
    /// <summary>
    /// Reading is done with JsonDocument and forgiving accessors rather than typed DTOs: the service adds
    /// fields and states over time, and a wrong type in one field must not lose the whole endpoint.
    /// </summary>
    internal static class Json
    {
        private static readonly JsonSerializerOptions WriteOptions = new()
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        };

        private static readonly Dictionary<string, EndpointStatus> States = new(StringComparer.OrdinalIgnoreCase)
        {
            ["pending"] = EndpointStatus.Pending, ["initializing"] = EndpointStatus.Initializing,
            ["updating"] = EndpointStatus.Updating, ["updateFailed"] = EndpointStatus.UpdateFailed,
            ["running"] = EndpointStatus.Running, ["paused"] = EndpointStatus.Paused,
            ["failed"] = EndpointStatus.Failed, ["scaledToZero"] = EndpointStatus.ScaledToZero,
        };

        /// <summary>The status the service's word for a state names (any case); Unknown for a word this version does not know.</summary>
        internal static EndpointStatus StatusOf(string state) => state switch
        {
            // The service's own spelling first, without a hash (a cost report asks this of every record, several times).
            "running" => EndpointStatus.Running, "paused" => EndpointStatus.Paused, "scaledToZero" => EndpointStatus.ScaledToZero,
            "initializing" => EndpointStatus.Initializing, "updating" => EndpointStatus.Updating, "pending" => EndpointStatus.Pending,
            "failed" => EndpointStatus.Failed, "updateFailed" => EndpointStatus.UpdateFailed,
            _ => States.TryGetValue(state, out EndpointStatus s) ? s : EndpointStatus.Unknown,
        };

        // ---- reading ----

        public static EndpointInfo ToEndpoint(JsonElement e, string ns)
        {
            JsonElement? status = e.Obj("status"), compute = e.Obj("compute"), model = e.Obj("model");
            JsonElement? scaling = compute?.Obj("scaling"), provider = e.Obj("provider");
            // model.image is a one-key union such as {"custom": {...}} or {"huggingface": {}}.
            JsonProperty? image = model?.Obj("image")?.EnumerateObject().Cast<JsonProperty?>().FirstOrDefault();
            JsonElement? imageBody = image?.Value.ValueKind == JsonValueKind.Object ? image.Value.Value : null;
            string state = status?.Str("state") ?? "";

            return new EndpointInfo
            {
                Name = e.Str("name") ?? "",
                Namespace = ns,
                Status = StatusOf(state),
                StatusText = state,
                Message = status?.Str("message"),
                Url = status?.Str("url"),
                Type = e.Str("type") ?? "",
                Vendor = provider?.Str("vendor"),
                Region = provider?.Str("region"),
                Accelerator = compute?.Str("accelerator"),
                InstanceType = compute?.Str("instanceType"),
                InstanceSize = compute?.Str("instanceSize"),
                MinReplica = scaling?.Int("minReplica") ?? 0,
                MaxReplica = scaling?.Int("maxReplica") ?? 0,
                ScaleToZeroTimeout = scaling?.Int("scaleToZeroTimeout"),
                ReadyReplica = status?.Int("readyReplica") ?? 0,
                TargetReplica = status?.Int("targetReplica") ?? 0,
                Repository = model?.Str("repository"),
                Revision = model?.Str("revision"),
                Task = model?.Str("task"),
                Framework = model?.Str("framework"),
                ImageKind = image?.Name,
                ImageUrl = imageBody?.Str("url"),
                ImagePort = imageBody?.Int("port"),
                ImageHasCredentials = imageBody?.Obj("credentials") != null,
                HealthRoute = e.Str("healthRoute") ?? imageBody?.Str("healthRoute") ?? imageBody?.Str("health_route") ?? "/health",
                Env = StringMap(model?.Obj("env")),
                Tags = new TextList(e.Arr("tags")?.Select(Text).Where(t => t != null).Select(t => t!).ToArray() ?? Array.Empty<string>()),
                CreatedAt = Timestamp(status?.Str("createdAt")),
                UpdatedAt = Timestamp(status?.Str("updatedAt")),
                CreatedBy = status?.Obj("createdBy")?.Str("name"),
                UpdatedBy = status?.Obj("updatedBy")?.Str("name"),
            };
        }

        // Last one wins on a duplicate key, where ToDictionary would throw.
        private static TextMap StringMap(JsonElement? o)
        {
            var map = new TextMap();
            if (o != null) foreach (JsonProperty p in o.Value.EnumerateObject()) map[p.Name] = Text(p.Value) ?? "";
            return map;
        }

        /// <summary>
        /// A listing: an array, or an object with an "items" array. Anything else (an empty body, no "items") is not an
        /// empty namespace but an answer that cannot be read (FormatException): a sweep must never take it for "nothing billed".
        /// </summary>
        public static IReadOnlyList<EndpointInfo> ToEndpointList(JsonElement e, string ns) =>
            (e.ValueKind == JsonValueKind.Array ? e.EnumerateArray() : e.Arr("items"))?
                .Where(i => i.ValueKind == JsonValueKind.Object).Select(i => ToEndpoint(i, ns)).ToArray()
            ?? throw new FormatException("A listing without \"items\".");

        /// <summary>
        /// One page of a listing: its endpoints, the next page's address from the answer's <c>Link: &lt;...&gt;; rel="next"</c>
        /// header (the Hub's paging), and what in the body says there is more that no Link leads to: a cursor or next-page
        /// field, <c>hasMore</c>, or a total above what was listed. The documented answer is one <c>{"items": [...]}</c>.
        /// </summary>
        internal static ListingPage ToEndpointPage(JsonElement e, string ns, string? link) => new()
        {
            Items = ToEndpointList(e, ns),
            Next = NextLink(link),
            MoreField = PagingFields.FirstOrDefault(f => e.Prop(f) is JsonElement v && v.ValueKind switch
            {
                JsonValueKind.String => v.GetString()!.Length > 0,
                JsonValueKind.Number or JsonValueKind.Object => true,
                _ => false,
            }) ?? (e.Prop("hasMore") is { ValueKind: JsonValueKind.True } ? "hasMore" : null),
            Total = TotalFields.Select(f => e.Int(f)).FirstOrDefault(t => t != null),
        };

        private static readonly string[] PagingFields = { "next", "nextPage", "nextCursor", "cursor", "nextPageToken", "continuationToken" };
        private static readonly string[] TotalFields = { "total", "totalCount", "numTotalItems" };

        /// <summary>The target of the <c>rel="next"</c> link in a <c>Link</c> header (RFC 8288), or null.</summary>
        /// <remarks>Read by hand, not by a Regex: this class is on every command's first call, and a Regex costs its first use.</remarks>
        internal static string? NextLink(string? header)
        {
            if (string.IsNullOrEmpty(header)) return null;
            int at = 0;
            while (at < header!.Length)
            {
                int open = header.IndexOf('<', at);
                if (open < 0) return null;
                int close = header.IndexOf('>', open + 1);
                if (close < 0) return null;
                string uri = header.Substring(open + 1, close - open - 1).Trim();
                int end = header.IndexOf(',', close + 1) is int comma && comma >= 0 ? comma : header.Length;
                foreach (string param in header.Substring(close + 1, end - close - 1).Split(';'))
                {
                    string[] kv = param.Split(new[] { '=' }, 2);
                    if (kv.Length == 2 && kv[0].Trim().Equals("rel", StringComparison.OrdinalIgnoreCase)
                        && kv[1].Trim().Trim('"').Split(' ').Contains("next", StringComparer.OrdinalIgnoreCase))
                        return uri;
                }
                at = end + 1;
            }
            return null;
        }

        public static WhoAmI ToWhoAmI(JsonElement e) => new()
        {
            Name = e.Str("name") ?? "",
            Type = e.Str("type") ?? "",
            Orgs = e.Arr("orgs")?.Select(o => o.ValueKind == JsonValueKind.Object ? o.Str("name") : Text(o))
                       .Where(n => n != null).Select(n => n!).ToArray() ?? Array.Empty<string>(),
        };

        public static IReadOnlyList<HardwareInfo> ToHardware(JsonElement e)
        {
            var rows = new List<HardwareInfo>();
            foreach (JsonElement vendor in e.Arr("vendors") ?? Enumerable.Empty<JsonElement>())
            foreach (JsonElement region in vendor.Arr("regions") ?? Enumerable.Empty<JsonElement>())
            foreach (JsonElement c in region.Arr("computes") ?? Enumerable.Empty<JsonElement>())
            {
                if (c.ValueKind != JsonValueKind.Object) continue;
                JsonElement? quota = c.Obj("quota");
                rows.Add(new HardwareInfo
                {
                    Vendor = vendor.Str("name") ?? "",
                    Region = region.Str("name") ?? "",
                    RegionLabel = region.Str("label") ?? "",
                    Id = c.Str("id") ?? "",
                    Accelerator = c.Str("accelerator") ?? "",
                    InstanceType = c.Str("instanceType") ?? "",
                    InstanceSize = c.Str("instanceSize") ?? "",
                    Architecture = c.Str("architecture") ?? "",
                    Status = c.Str("status") ?? "",
                    NumAccelerators = c.Int("numAccelerators") ?? 0,
                    NumCpus = c.Int("numCpus") ?? 0,
                    MemoryGb = (double?)c.Dec("memoryGb") ?? 0,
                    GpuMemoryGb = (double?)c.Dec("gpuMemoryGb"),
                    PricePerHour = c.Dec("pricePerHour"),
                    QuotaMaxAccelerators = quota?.Int("maxAccelerators"),
                    QuotaUsedAccelerators = quota?.Int("usedAccelerators"),
                });
            }
            return rows;
        }

        /// <summary>The service's error text from <c>{"error": ...}</c>, <c>{"message": ...}</c> or a plain-text body.</summary>
        public static string? ErrorMessage(string body)
        {
            string trimmed = body.Trim();
            if (trimmed.Length == 0) return null;
            if (trimmed[0] == '{')
            {
                try
                {
                    using JsonDocument doc = JsonDocument.Parse(trimmed);
                    JsonElement root = doc.RootElement;
                    return root.Str("error") ?? root.Obj("error")?.Str("message") ?? root.Str("message") ?? root.Str("detail");
                }
                catch (JsonException) { /* not JSON after all: fall through to plain text */ }
            }
            if (trimmed[0] == '<') return null; // an HTML page: the caller decides what of it to show
            return Excerpt(trimmed, 500);
        }

        /// <summary>
        /// A short, printable piece of a body for an error message: an HTML page's text without its tags, white space
        /// folded, control characters dropped, cut at <paramref name="max"/> characters.
        /// </summary>
        public static string? Excerpt(string body, int max = 160)
        {
            string text = body.TrimStart().StartsWith("<", StringComparison.Ordinal)
                ? System.Text.RegularExpressions.Regex.Replace(
                    System.Text.RegularExpressions.Regex.Replace(body, "<(script|style)[^>]*>.*?</\\1>", " ",
                        System.Text.RegularExpressions.RegexOptions.Singleline | System.Text.RegularExpressions.RegexOptions.IgnoreCase),
                    "<[^>]*>", " ")
                : body;
            var folded = new System.Text.StringBuilder();
            foreach (char c in text)
            {
                char d = char.IsWhiteSpace(c) || char.IsControl(c) ? ' ' : c;
                if (d == ' ' && (folded.Length == 0 || folded[folded.Length - 1] == ' ')) continue;
                folded.Append(d);
            }
            string result = folded.ToString().Trim();
            if (result.Length == 0) return null;
            return result.Length <= max ? result : result.Substring(0, max) + "...";
        }

        /// <summary>
        /// ISO 8601 with up to 9 fractional digits (the service sends nanoseconds; DateTimeOffset accepts 7).
        /// Missing or unreadable values become <see cref="DateTimeOffset.MinValue"/> rather than failing.
        /// </summary>
        public static DateTimeOffset Timestamp(string? text)
        {
            if (string.IsNullOrWhiteSpace(text)) return DateTimeOffset.MinValue;
            string s = text!.Trim();
            int dot = s.IndexOf('.', s.IndexOf('T') + 1);
            if (dot > 0)
            {
                int end = dot + 1;
                while (end < s.Length && char.IsDigit(s[end])) end++;
                if (end - dot - 1 > 7) s = s.Substring(0, dot + 8) + s.Substring(end);
            }
            return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset value)
                ? value : DateTimeOffset.MinValue;
        }

        // ---- writing ----

        public static string CreateBody(EndpointCreateSpec spec) => Serialize(new JsonObject
        {
            ["compute"] = Compute(spec.Accelerator, spec.InstanceType, spec.InstanceSize, spec.MinReplica, spec.MaxReplica,
                BillingRules.ScaleToZeroTimeoutFor(spec.MinReplica, spec.ScaleToZeroTimeout)),
            ["model"] = new JsonObject
            {
                ["repository"] = spec.Repository,
                ["framework"] = spec.Framework,
                ["revision"] = spec.Revision,
                ["task"] = spec.Task,
                ["image"] = Image(spec),
                ["env"] = Map(spec.Env, "Env"),
                ["secrets"] = Map(spec.Secrets, "Secret"),
            },
            ["name"] = spec.Name,
            ["provider"] = new JsonObject { ["vendor"] = spec.Vendor, ["region"] = spec.Region },
            ["type"] = spec.Type,
            ["tags"] = spec.Tags == null ? null : new JsonArray(spec.Tags.Select(t => (JsonNode?)t).ToArray()),
        });

        /// <summary>Only the given fields; <paramref name="image"/> (already complete) replaces model.image whole.</summary>
        public static string UpdateBody(EndpointUpdateSpec spec, JsonObject? image)
        {
            JsonObject body = UpdateFields(spec, image);
            Prune(body);
            // Raising the minimum above what takes a scale-to-zero timeout must clear the stored timeout explicitly, the
            // one null a partial update sends.
            if (spec.MinReplica is int min && !BillingRules.TakesScaleToZeroTimeout(min) && spec.ScaleToZeroTimeout == null
                && body["compute"]?["scaling"] is JsonObject scaling)
                scaling["scaleToZeroTimeout"] = null;
            return body.ToJsonString(WriteOptions);
        }

        private static JsonObject UpdateFields(EndpointUpdateSpec spec, JsonObject? image) => new JsonObject
        {
            ["compute"] = Compute(spec.Accelerator, spec.InstanceType, spec.InstanceSize, spec.MinReplica, spec.MaxReplica,
                spec.ScaleToZeroTimeout),
            ["model"] = new JsonObject
            {
                ["repository"] = spec.Repository,
                ["framework"] = spec.Framework,
                ["revision"] = spec.Revision,
                ["task"] = spec.Task,
                ["image"] = image,
                ["env"] = Map(spec.Env, "Env"),
            },
        };

        private static JsonObject Compute(string? accelerator, string? type, string? size, int? min, int? max, int? scaleToZeroTimeout) => new()
        {
            ["accelerator"] = accelerator,
            ["instanceType"] = type,
            ["instanceSize"] = size,
            ["scaling"] = new JsonObject { ["minReplica"] = min, ["maxReplica"] = max, ["scaleToZeroTimeout"] = scaleToZeroTimeout },
        };

        /// <summary>
        /// The one-key image union: {"huggingface": {}}, {"custom": {url, healthRoute, port, credentials}}, or another
        /// kind ({"tgi": {"url": ...}}) with only the url when one is given, leaving the rest to the service's defaults.
        /// </summary>
        public static JsonObject Image(EndpointCreateSpec spec)
        {
            string? url = string.IsNullOrWhiteSpace(spec.ImageUrl) ? null : spec.ImageUrl!.Trim();
            string kind = string.IsNullOrWhiteSpace(spec.Container) ? (url != null ? "custom" : "huggingface") : spec.Container!.Trim();
            if (kind != "custom" && spec.RegistryCredential != null) throw Errors.CredentialNeedsCustom(spec.Name, kind);
            if (kind != "custom")
                return new JsonObject { [kind] = url == null ? new JsonObject() : new JsonObject { ["url"] = url } };
            JsonObject image = CustomImage(url ?? throw Errors.CustomNeedsImage(spec.Name), spec.HealthRoute, spec.ImagePort);
            if (spec.RegistryCredential is System.Net.NetworkCredential login)
                image["custom"]!["credentials"] = new JsonObject { ["username"] = login.UserName, ["password"] = login.Password };
            return image;
        }

        public static JsonObject CustomImage(string url, string healthRoute, int port) =>
            new() { ["custom"] = new JsonObject { ["url"] = url, ["healthRoute"] = healthRoute == null ? null : Inputs.Route(healthRoute, "HealthRoute"), ["port"] = port } };

        /// <summary>Environment variables or secrets; keys and values are checked first (a bad one is an error, never sent).</summary>
        private static JsonObject? Map(IDictionary<string, string>? map, string parameter)
        {
            if (map == null) return null;
            Inputs.EnvEntries(map.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), parameter);
            var o = new JsonObject();
            foreach (KeyValuePair<string, string> kv in map) o[kv.Key] = kv.Value;
            return o;
        }

        /// <summary>Drops nulls and objects left empty by them, so a partial body carries only what was given.</summary>
        private static string Serialize(JsonObject body)
        {
            Prune(body);
            return body.ToJsonString(WriteOptions);
        }

        private static void Prune(JsonObject o)
        {
            foreach (string key in o.Select(p => p.Key).ToList())
            {
                JsonNode? value = o[key];
                if (value is JsonObject child && key != "image" && key != "huggingface" && key != "env" && key != "secrets")
                {
                    Prune(child);
                    if (child.Count == 0) o.Remove(key);
                }
                else if (value == null) o.Remove(key);
            }
        }

        // ---- forgiving accessors: wrong kinds read as "absent" instead of throwing ----

        public static JsonElement? Prop(this JsonElement e, string name)
        {
            if (e.ValueKind != JsonValueKind.Object) return null;
            if (e.TryGetProperty(name, out JsonElement v)) return v;
            foreach (JsonProperty p in e.EnumerateObject())
                if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p.Value;
            return null;
        }

        public static JsonElement? Obj(this JsonElement e, string name) =>
            e.Prop(name) is { ValueKind: JsonValueKind.Object } v ? v : null;

        public static IEnumerable<JsonElement>? Arr(this JsonElement e, string name) =>
            e.Prop(name) is { ValueKind: JsonValueKind.Array } v ? v.EnumerateArray() : null;

        public static string? Str(this JsonElement e, string name) => e.Prop(name) is JsonElement v ? Text(v) : null;

        public static int? Int(this JsonElement e, string name) =>
            e.Dec(name) is decimal d && d >= int.MinValue && d <= int.MaxValue ? (int)d : null;

        public static decimal? Dec(this JsonElement e, string name) => e.Prop(name) switch
        {
            { ValueKind: JsonValueKind.Number } v when v.TryGetDecimal(out decimal d) => d,
            { ValueKind: JsonValueKind.String } v when decimal.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out decimal d) => d,
            _ => null,
        };

        /// <summary>Strings as they are, numbers and booleans as their JSON text, anything else null.</summary>
        private static string? Text(JsonElement v) => v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
            _ => null,
        };
    }

    /// <summary>
    /// One line of JSON, written by <see cref="Utf8JsonWriter"/> straight from the values: the history's records, its
    /// index and checkpoints, the account cache. No serializer: a fresh process's first record took 40-70 ms through
    /// JsonSerializer and takes 10-16 ms so (Core loaded alone), paid by the first write of every command that writes.
    /// </summary>
    internal static class JsonLine
    {
        public static string Of(Action<Utf8JsonWriter> write)
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer)) write(writer);
            return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
    }
}
