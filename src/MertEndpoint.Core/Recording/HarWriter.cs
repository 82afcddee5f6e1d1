using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MertEndpoint.Recording
{
    /// <summary>One kind of value the redaction replaced, and how often (the values themselves are never shown).</summary>
    public sealed class Replacement
    {
        internal Replacement(string placeholder, string what, int count)
        {
            Placeholder = placeholder;
            What = what;
            Count = count;
        }

        public string Placeholder { get; }
        public string What { get; }
        public int Count { get; internal set; }
        public override string ToString() => $"{Placeholder}: {What}, {Count} time{(Count == 1 ? "" : "s")}";
    }

    /// <summary>
    /// Writes recorded exchanges as HAR 1.2 (docs/RECORDING.md), redacted by allowlist: headers and JSON string values
    /// outside the allowlist become "&lt;redacted&gt;"; the token, the account's ids, emails, user and organization names
    /// (learned from whoami answers, endpoint answers and namespaces in URLs) become placeholders everywhere, in their raw,
    /// base64 and URL-encoded forms alike; e-mail addresses, hf_ tokens and IPv4 addresses in free text are masked too.
    /// </summary>
    public static class HarWriter
    {
        public const string Redacted = "<redacted>";

        /// <summary>The HAR text and what was replaced in it.</summary>
        public static (string Har, IReadOnlyList<Replacement> Replaced) Write(IEnumerable<RecordedExchange> exchanges, string? comment = null)
        {
            RecordedExchange[] all = exchanges.ToArray();
            var redactor = new Redactor();
            foreach (RecordedExchange e in all) redactor.Learn(e);
            redactor.Seal();
            var entries = new JsonArray();
            foreach (RecordedExchange e in all) entries.Add(redactor.Entry(e));
            var log = new JsonObject
            {
                ["version"] = "1.2",
                ["creator"] = new JsonObject
                {
                    ["name"] = "MertEndpoint",
                    ["version"] = typeof(HarWriter).Assembly.GetName().Version?.ToString(3) ?? "0",
                },
                ["pages"] = new JsonArray(),
                ["entries"] = entries,
            };
            if (comment != null) log["comment"] = redactor.Text(comment);
            string har = new JsonObject { ["log"] = log }.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = Relaxed });
            return (har, redactor.Replacements);
        }

        // Placeholders stay readable ("<user>", not "\u003Cuser\u003E"); the file is data, never HTML.
        private static readonly System.Text.Encodings.Web.JavaScriptEncoder Relaxed = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        private static readonly JsonSerializerOptions Compact = new JsonSerializerOptions { Encoder = Relaxed };

        internal static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

        private sealed class Redactor
        {
            // Header names (lower case) whose values are kept (after the secrets are replaced). Authorization is rewritten.
            private static readonly HashSet<string> KeptHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
            {
                "accept", "content-type", "content-length", "user-agent", "x-scale-up-timeout", "retry-after", "ratelimit",
                "ratelimit-policy", "date", "x-error-message", "transfer-encoding", "cache-control", "last-event-id",
            };

            // JSON paths whose string values are kept: segments joined with '.', array items as '[]', '*' one segment,
            // a trailing '**' anything below. The same list serves every route (endpoint, whoami, catalog, replicas, errors).
            private static readonly string[] KeptPaths =
            {
                "name", "type", "healthRoute", "tags[]", "provider.*", "compute.*", "compute.scaling.*", "compute.scaling.measure.*",
                "model.repository", "model.revision", "model.task", "model.framework", "model.image.*.url", "model.image.*.healthRoute",
                "model.image.*.health_route", "model.image.*.port",
                "status.createdAt", "status.updatedAt", "status.state", "status.message", "status.url", "status.errorMessage",
                "status.readyReplica", "status.targetReplica",
                "orgs[].type", "orgs[].roleInOrg", "auth.type", "auth.accessToken.role",
                "vendors.**", "vendors[].**", "items[].state", "items[].id", "items[].startedAt", "items[].readyAt", "items[].failedAt",
                "error", "message", "detail", "step", "model", "task", "sha256", "timestamps[]", "[].timestamp",
            };

            private readonly List<(string Value, string Placeholder, string What)> _secrets = new List<(string, string, string)>();
            private readonly Dictionary<string, Replacement> _counts = new Dictionary<string, Replacement>(StringComparer.Ordinal);
            private List<(string Form, string Placeholder)> _forms = new List<(string, string)>();
            private int _orgs, _namespaces;

            public IReadOnlyList<Replacement> Replacements => _counts.Values.OrderBy(r => r.Placeholder, StringComparer.Ordinal).ToArray();

            private static readonly Regex NamespaceInPath = new Regex(@"/(?:endpoint|provider|endpoints)/([^/?#]+)", RegexOptions.CultureInvariant);
            private static readonly Regex Email = new Regex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", RegexOptions.CultureInvariant);
            private static readonly Regex HfToken = new Regex(@"\bhf_[A-Za-z0-9]{8,}", RegexOptions.CultureInvariant);
            private static readonly Regex IPv4 = new Regex(@"\b(?:\d{1,3}\.){3}\d{1,3}\b", RegexOptions.CultureInvariant);

            private void Add(string? value, string placeholder, string what)
            {
                if (string.IsNullOrWhiteSpace(value) || value == Redacted) return;
                if (_secrets.Any(s => string.Equals(s.Value, value, StringComparison.OrdinalIgnoreCase))) return;
                _secrets.Add((value!, placeholder, what));
            }

            private string? PlaceholderOf(string value) =>
                _secrets.FirstOrDefault(s => string.Equals(s.Value, value, StringComparison.OrdinalIgnoreCase)).Placeholder;

            /// <summary>First pass: what identifies the account, from every exchange.</summary>
            public void Learn(RecordedExchange e)
            {
                foreach (KeyValuePair<string, string> h in e.RequestHeaders)
                    if (h.Key.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
                    {
                        string v = h.Value.Trim();
                        int space = v.IndexOf(' ');
                        Add(space > 0 ? v.Substring(space + 1).Trim() : v, "<token>", "the token");
                    }
                JsonElement? answer = Parse(e.ResponseBody);
                if (answer is JsonElement root && root.ValueKind == JsonValueKind.Object && e.Url.AbsolutePath.EndsWith("/whoami-v2", StringComparison.Ordinal))
                {
                    Add(Str(root, "name"), "<user>", "the user name");
                    Add(Str(root, "fullname"), "<user-fullname>", "the user's full name");
                    Add(Str(root, "email"), "<email>", "the user's e-mail");
                    Add(Str(root, "id"), "<user-id>", "the user's id");
                    if (root.TryGetProperty("auth", out JsonElement auth) && auth.ValueKind == JsonValueKind.Object
                        && auth.TryGetProperty("accessToken", out JsonElement at) && at.ValueKind == JsonValueKind.Object)
                        Add(Str(at, "displayName"), "<token-name>", "the token's name");
                    if (root.TryGetProperty("orgs", out JsonElement orgs) && orgs.ValueKind == JsonValueKind.Array)
                        foreach (JsonElement org in orgs.EnumerateArray().Where(o => o.ValueKind == JsonValueKind.Object))
                        {
                            string? name = Str(org, "name");
                            if (name == null || PlaceholderOf(name) != null) continue;
                            int n = ++_orgs;
                            Add(name, $"<org-{n}>", $"organization {n}'s name");
                            Add(Str(org, "fullname"), $"<org-{n}-fullname>", $"organization {n}'s full name");
                            Add(Str(org, "id"), $"<org-{n}-id>", $"organization {n}'s id");
                            Add(Str(org, "email"), $"<org-{n}-email>", $"organization {n}'s e-mail");
                        }
                }
                foreach (JsonElement? body in new[] { answer, Parse(e.RequestBody) })
                    if (body is JsonElement b) LearnAccountFields(b);
                foreach (Match m in NamespaceInPath.Matches(e.Url.AbsolutePath))
                {
                    string ns = Uri.UnescapeDataString(m.Groups[1].Value);
                    if (PlaceholderOf(ns) == null) Add(ns, $"<namespace-{++_namespaces}>", $"namespace {_namespaces}");
                }
            }

            /// <summary>accountId, createdBy and updatedBy anywhere in an answer: who made it.</summary>
            private void LearnAccountFields(JsonElement e)
            {
                if (e.ValueKind == JsonValueKind.Array) { foreach (JsonElement item in e.EnumerateArray()) LearnAccountFields(item); return; }
                if (e.ValueKind != JsonValueKind.Object) return;
                foreach (JsonProperty p in e.EnumerateObject())
                {
                    if (p.NameEquals("accountId")) Add(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null, "<account-id>", "the account id");
                    else if ((p.NameEquals("createdBy") || p.NameEquals("updatedBy")) && p.Value.ValueKind == JsonValueKind.Object)
                    {
                        string? name = Str(p.Value, "name");
                        if (name != null && PlaceholderOf(name) == null) Add(name, "<user>", "the user name");
                        string? id = Str(p.Value, "id");
                        if (id != null && PlaceholderOf(id) == null) Add(id, "<user-id>", "the user's id");
                    }
                    else LearnAccountFields(p.Value);
                }
            }

            /// <summary>Every secret in each form it may take, longest first (so a name inside another is not cut in two).</summary>
            public void Seal()
            {
                var forms = new List<(string, string)>();
                foreach ((string value, string placeholder, _) in _secrets)
                {
                    byte[] bytes = Encoding.UTF8.GetBytes(value);
                    string b64 = Convert.ToBase64String(bytes);
                    foreach (string form in new[]
                    {
                        value, Uri.EscapeDataString(value), Uri.EscapeDataString(value).Replace("%20", "+"), b64, b64.TrimEnd('='),
                        b64.TrimEnd('=').Replace('+', '-').Replace('/', '_'),
                    })
                        if (form.Length > 0 && !forms.Any(f => f.Item1 == form)) forms.Add((form, placeholder));
                }
                _forms = forms.OrderByDescending(f => f.Item1.Length).ToList();
            }

            private void Count(string placeholder)
            {
                if (!_counts.TryGetValue(placeholder, out Replacement? r))
                {
                    string what = _secrets.FirstOrDefault(s => s.Placeholder == placeholder).What ?? placeholder switch
                    {
                        "<email>" => "an e-mail address",
                        "<token>" => "a token",
                        "<ip>" => "an IPv4 address",
                        _ => "a value",
                    };
                    _counts[placeholder] = r = new Replacement(placeholder, what, 0);
                }
                r.Count++;
            }

            /// <summary>Free text with every secret, e-mail address, hf_ token and IPv4 address replaced.</summary>
            public string Text(string text)
            {
                foreach ((string form, string placeholder) in _forms)
                {
                    int at;
                    while ((at = text.IndexOf(form, StringComparison.OrdinalIgnoreCase)) >= 0)
                    {
                        text = text.Substring(0, at) + placeholder + text.Substring(at + form.Length);
                        Count(placeholder);
                    }
                }
                text = Email.Replace(text, _ => { Count("<email>"); return "<email>"; });
                text = HfToken.Replace(text, _ => { Count("<token>"); return "<token>"; });
                text = IPv4.Replace(text, m => NotAnAddress(m.Value) ? m.Value : Mark("<ip>"));
                return text;
            }

            private string Mark(string placeholder)
            {
                Count(placeholder);
                return placeholder;
            }

            // Only public addresses are masked: loopback and private ones (the emulator's, a container's) say nothing of the
            // account. Only dotted quads of bytes count (a version such as 1.2.3.4 is masked too, which is harmless).
            private static bool NotAnAddress(string value)
            {
                int[] b = value.Split('.').Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 999).ToArray();
                return b.Any(n => n > 255) || b[0] == 127 || b[0] == 10 || b[0] == 0 || (b[0] == 192 && b[1] == 168) || (b[0] == 172 && b[1] >= 16 && b[1] <= 31);
            }

            public JsonObject Entry(RecordedExchange e)
            {
                string url = Text(e.Url.AbsoluteUri);
                var query = new JsonArray();
                string q = e.Url.Query.TrimStart('?');
                if (q.Length > 0)
                    foreach (string pair in q.Split('&'))
                    {
                        int eq = pair.IndexOf('=');
                        query.Add(new JsonObject
                        {
                            ["name"] = Text(Uri.UnescapeDataString(eq < 0 ? pair : pair.Substring(0, eq))),
                            ["value"] = Text(eq < 0 ? "" : Uri.UnescapeDataString(pair.Substring(eq + 1))),
                        });
                    }
                var request = new JsonObject
                {
                    ["method"] = e.Method,
                    ["url"] = url,
                    ["httpVersion"] = "HTTP/1.1",
                    ["cookies"] = new JsonArray(),
                    ["headers"] = HeaderArray(e.RequestHeaders),
                    ["queryString"] = query,
                    ["headersSize"] = -1,
                    ["bodySize"] = e.RequestBody?.Length ?? 0,
                };
                if (e.RequestBody != null)
                    request["postData"] = new JsonObject { ["mimeType"] = e.RequestContentType ?? "", ["text"] = Body(e.RequestBody, e.RequestContentType) };
                var response = new JsonObject
                {
                    ["status"] = e.Status,
                    ["statusText"] = e.StatusText,
                    ["httpVersion"] = e.HttpVersion,
                    ["cookies"] = new JsonArray(),
                    ["headers"] = HeaderArray(e.ResponseHeaders),
                    ["content"] = new JsonObject
                    {
                        ["size"] = e.ResponseBody.Length,
                        ["mimeType"] = e.ResponseContentType ?? "",
                        ["text"] = Body(e.ResponseBody, e.ResponseContentType),
                    },
                    ["redirectURL"] = "",
                    ["headersSize"] = -1,
                    ["bodySize"] = e.ResponseBody.Length,
                };
                if (e.Error != null) response["_error"] = e.Error;
                var entry = new JsonObject
                {
                    ["startedDateTime"] = Iso(e.Sent),
                    ["time"] = Math.Round(e.WaitMs + e.ReceiveMs, 3),
                    ["request"] = request,
                    ["response"] = response,
                    ["cache"] = new JsonObject(),
                    ["timings"] = new JsonObject
                    {
                        ["send"] = 0,
                        ["wait"] = Math.Round(e.WaitMs, 3),
                        ["receive"] = Math.Round(e.ReceiveMs, 3),
                    },
                };
                if (e.Step != null) entry["_step"] = e.Step;
                return entry;
            }

            private JsonArray HeaderArray(IEnumerable<KeyValuePair<string, string>> headers)
            {
                var array = new JsonArray();
                foreach (KeyValuePair<string, string> h in headers)
                {
                    string value;
                    if (h.Key.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
                    {
                        string v = h.Value.Trim();
                        int space = v.IndexOf(' ');
                        value = (space > 0 ? v.Substring(0, space) + " " : "") + Mark("<token>");
                    }
                    else value = KeptHeaders.Contains(h.Key) ? Text(h.Value) : Redacted;
                    array.Add(new JsonObject { ["name"] = h.Key, ["value"] = value });
                }
                return array;
            }

            private string Body(byte[] bytes, string? contentType)
            {
                string text = Encoding.UTF8.GetString(bytes);
                if (Parse(bytes) != null)
                {
                    JsonNode? node = JsonNode.Parse(text);
                    return node == null ? "null" : Text(Walk(node, "")?.ToJsonString(Compact) ?? "null");
                }
                // Not JSON: log lines, OpenMetrics, an HTML error page. Kept as text, with the secrets and addresses masked.
                return Text(text);
            }

            /// <summary>A copy of <paramref name="node"/> keeping only allowlisted strings (a known secret becomes its placeholder).</summary>
            private JsonNode? Walk(JsonNode? node, string path)
            {
                switch (node)
                {
                    case null:
                        return null;
                    case JsonObject o:
                        var copy = new JsonObject();
                        foreach (KeyValuePair<string, JsonNode?> p in o)
                            copy[Text(p.Key)] = Walk(p.Value, path.Length == 0 ? p.Key : path + "." + p.Key);
                        return copy;
                    case JsonArray a:
                        var items = new JsonArray();
                        foreach (JsonNode? item in a) items.Add(Walk(item, path + "[]"));
                        return items;
                    case JsonValue v when v.TryGetValue(out string? s):
                        if (PlaceholderOf(s!) is string placeholder) { Count(placeholder); return placeholder; }
                        return Kept(path) ? Text(s!) : Mark(Redacted);
                    default:
                        return node.DeepClone(); // numbers, booleans: kept (they say nothing of the account)
                }
            }

            private static bool Kept(string path)
            {
                // "items[].status.state" is an endpoint's "status.state" within a list.
                string bare = path.StartsWith("items[].", StringComparison.Ordinal) && !KeptPaths.Contains(path) ? path.Substring(8) : path;
                return KeptPaths.Any(p => Matches(p, path) || Matches(p, bare));
            }

            private static bool Matches(string pattern, string path)
            {
                string[] ps = pattern.Split('.'), xs = path.Split('.');
                for (int i = 0; i < ps.Length; i++)
                {
                    if (ps[i] == "**") return xs.Length > i;
                    if (i >= xs.Length) return false;
                    if (ps[i] != "*" && ps[i] != xs[i]) return false;
                }
                return ps.Length == xs.Length;
            }

            private static string? Str(JsonElement e, string name) =>
                e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

            private static JsonElement? Parse(byte[]? bytes)
            {
                if (bytes == null || bytes.Length == 0) return null;
                try
                {
                    using JsonDocument doc = JsonDocument.Parse(bytes);
                    return doc.RootElement.Clone();
                }
                catch (JsonException) { return null; }
            }
        }
    }
}
