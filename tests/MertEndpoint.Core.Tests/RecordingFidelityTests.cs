using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MertEndpoint.Recording;

namespace MertEndpoint.Tests;

/// <summary>
/// The emulator against every recording in tests/recordings: sessions of build.ps1 Record (docs/RECORDING.md) and answers
/// of the service that other projects' tests hold, converted to HAR. Each runs under the switches its readings name (the
/// ones it cannot tell stay at their defaults). Every endpoint answer of a recording has its fields, with the same JSON
/// types, in the emulator's answers in the same state; a session of Record has no field the emulator lacks, nor the other
/// way round; and after each action of a session the emulator goes through the same states. Raw HTTP, not the module's
/// client: this checks the emulator, not the module.
/// </summary>
public sealed class RecordingFidelityTests
{
    private const string Token = "hf_fidelity_token";
    private const string User = "emulator-user";

    private static string Folder => Path.Combine(RequestPolicyTests.FindRepoRoot()
        ?? throw new InvalidOperationException("The repository is not above the test's output folder."), "tests", "recordings");

    private static IEnumerable<string> Files => Directory.Exists(Folder) ? Directory.GetFiles(Folder, "*.har").OrderBy(f => f, StringComparer.Ordinal) : [];

    public static TheoryData<string> Recordings() => new(Files.Select(Path.GetFileName)!);

    public static TheoryData<string> Sessions() => new(Files.Where(f => IsSession(File.ReadAllText(f))).Select(Path.GetFileName)!);

    /// <summary>A recording Record made holds whole answers; answers kept by hand elsewhere may leave fields out.</summary>
    private static bool IsSession(string har)
    {
        using var doc = JsonDocument.Parse(har);
        return doc.RootElement.GetProperty("log").GetProperty("creator").GetProperty("name").GetString() == "MertEndpoint";
    }

    [Fact]
    public void The_folder_holds_a_session_of_Record_and_answers_from_elsewhere()
    {
        var hars = Files.Select(File.ReadAllText).ToList();
        Assert.True(hars.Count > 0, $"No recording in {Folder}: the fidelity tests need at least one.");
        Assert.Contains(hars, IsSession);
        Assert.Contains(hars, h => !IsSession(h));
    }

    [Fact]
    public void Two_stamps_of_one_instant_written_to_different_precision_are_the_same_updatedAt()
    {
        // huggingface_hub's answers: pending stamped "...53.263079138Z", running "...53.263Z" (the same instant, fewer digits).
        var har = File.ReadAllText(Path.Combine(Folder, "huggingface_hub-answers.har"));
        Assert.Equal("actions", Readings.FromHar(har).Single(r => r.Switch == "updated-at").Value);
        // Moved by a second, it is a stamp that moved with the transition.
        var moved = har.Replace("\\\"updatedAt\\\":\\\"2023-10-26T12:41:53.263Z\\\",\\\"updatedBy\\\":{\\\"id\\\":\\\"<user-id>\\\",\\\"name\\\":\\\"<user>\\\"},\\\"private\\\":null,\\\"state\\\":\\\"running\\\"",
            "\\\"updatedAt\\\":\\\"2023-10-26T12:41:54.263Z\\\",\\\"updatedBy\\\":{\\\"id\\\":\\\"<user-id>\\\",\\\"name\\\":\\\"<user>\\\"},\\\"private\\\":null,\\\"state\\\":\\\"running\\\"");
        Assert.NotEqual(har, moved);
        Assert.Equal("transitions", Readings.FromHar(moved).Single(r => r.Switch == "updated-at").Value);
    }

    [Theory]
    [MemberData(nameof(Recordings))]
    public async Task Every_answer_has_its_fields_and_types_in_the_emulators_answer_in_the_same_state(string file)
    {
        string har = File.ReadAllText(Path.Combine(Folder, file));
        bool whole = IsSession(har);
        var entries = Readings.Parse(har);
        var recorded = ShapesByState(entries.Where(e => e.Status is >= 200 and < 300 && e.State != null && e.Answer is { } a && a.TryGetProperty("name", out _))
            .Select(e => (e.State!, e.Answer!.Value)));
        Assert.NotEmpty(recorded);

        // Boots of 1.5 s: each must be seen initializing (1.2 s of it) by polling, on a machine the Pester passes load.
        await using var emulator = await EmulatorProcess.StartAsync(["--boot-seconds", "1.5", "--token", Token, .. Switches(har)]);
        using var http = Http(emulator);
        var seen = new List<(string State, JsonElement Answer)>();
        string create = CreateBody(entries, "fid-one");
        await Send(http, HttpMethod.Post, $"/v2/endpoint/{User}", create, seen);
        await ReadUntil(http, "fid-one", "running", seen);
        await Send(http, HttpMethod.Put, $"/v2/endpoint/{User}/fid-one", """{"compute":{"scaling":{"minReplica":0,"maxReplica":2}}}""", seen);
        await ReadUntil(http, "fid-one", "running", seen);
        await Send(http, HttpMethod.Post, $"/v2/endpoint/{User}/fid-one/scale-to-zero", null, seen);
        await ReadUntil(http, "fid-one", "scaledToZero", seen);
        await Send(http, HttpMethod.Post, $"/v2/endpoint/{User}/fid-one/pause", null, seen);
        await ReadUntil(http, "fid-one", "paused", seen);
        await Send(http, HttpMethod.Post, $"/v2/endpoint/{User}/fid-one/resume", null, seen);
        await ReadUntil(http, "fid-one", "running", seen);
        // A failed boot: an image the emulator fails (docs/EMULATOR.md); the image is the user's choice, not compared.
        await Send(http, HttpMethod.Post, $"/v2/endpoint/{User}", WithImage(CreateBody(entries, "fid-fail"), "someone/fail:1"), seen);
        await ReadUntil(http, "fid-fail", "failed", seen);
        var emulated = ShapesByState(seen);

        var problems = new List<string>();
        foreach (var (state, fields) in recorded)
        {
            if (!emulated.TryGetValue(state, out var theirs)) { problems.Add($"{state}: the emulator never showed this state"); continue; }
            foreach (var (path, kinds) in fields)
                if (!theirs.TryGetValue(path, out var emulatedKinds)) problems.Add($"{state}: {path} is missing");
                else if (!Compatible(kinds, emulatedKinds)) problems.Add($"{state}: {path} is {string.Join("/", emulatedKinds)}, recorded {string.Join("/", kinds)}");
            if (whole)
                foreach (var path in theirs.Keys.Where(p => !fields.ContainsKey(p)))
                    problems.Add($"{state}: {path} is the emulator's own, the recording has no such field");
        }
        Assert.True(problems.Count == 0, $"{file}, emulator switches {string.Join(" ", Switches(har))}:\n" + string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Sessions))]
    public async Task After_each_action_of_a_session_the_emulator_goes_through_the_same_states(string file)
    {
        string har = File.ReadAllText(Path.Combine(Folder, file));
        var entries = Readings.Parse(har);
        var steps = Steps(entries);
        Assert.True(steps.Count >= 6, $"{file} has only {steps.Count} actions: is it a whole session?");

        // Boots of 5 s: with 1 s, a read under CI's load (Pester beside it on two cores) could take longer than the whole
        // initializing and miss it (failed once: "pending > running"); the pending before it is a fifth of the boot, and
        // a wake-up's first read must land in it (1 s here, 0.6 s with the default 3 s boot).
        await using var emulator = await EmulatorProcess.StartAsync(["--boot-seconds", "5", "--token", Token, .. Switches(har)]);
        using var http = Http(emulator);
        string name = steps[0].Name;
        string before = "(none)";
        string? url = null;
        var problems = new List<string>();
        foreach (var step in steps)
        {
            // What the action's own answer said, then what the reads after it showed: the same on both sides.
            string expectedEnd = step.States.Count > 0 ? step.States[^1] : before;
            string? answered = null;
            if (step.Entry.Method == "GET")
            {
                // A data-plane request (the wake-up of a scaled-to-zero endpoint): to this emulator's URL of the endpoint.
                using var request = new HttpRequestMessage(HttpMethod.Get, url + step.DataSuffix);
                if (step.Entry.RequestHeaders.TryGetValue("X-Scale-Up-Timeout", out var hold)) request.Headers.Add("X-Scale-Up-Timeout", hold);
                using var _ = await http.SendAsync(request);
            }
            else
            {
                using var answer = await http.SendAsync(new HttpRequestMessage(new HttpMethod(step.Entry.Method), ApiPath(step.Entry.Url))
                {
                    Content = step.Entry.Request is { } body ? new StringContent(Local(body.GetRawText()), Encoding.UTF8, "application/json") : null,
                });
                if ((int)answer.StatusCode != step.Entry.Status)
                    problems.Add($"#{step.Entry.Index} {step.Entry.Method} {step.Kind}: answered {(int)answer.StatusCode}, recorded {step.Entry.Status}");
                else if (answer.IsSuccessStatusCode && StateOf(await answer.Content.ReadAsStringAsync()) is { } state)
                    answered = state;
            }
            var shown = await StatesUntil(http, name, expectedEnd);
            url = shown.Url ?? url;
            var got = Collapse((answered == null ? shown.States : shown.States.Prepend(answered)).SkipWhile(s => s == before));
            var want = Collapse(step.States.SkipWhile(s => s == before));
            if (!got.SequenceEqual(want))
                problems.Add($"#{step.Entry.Index} {step.Kind}: the emulator showed {string.Join(" > ", got)}, recorded {string.Join(" > ", want)}");
            before = expectedEnd;
        }
        Assert.True(problems.Count == 0, $"{file}, emulator switches {string.Join(" ", Switches(har))}:\n" + string.Join("\n", problems));
    }

    // ---- the recording ----

    /// <summary>An action of the session (or a data-plane request) and the states the reads after it showed, in order.</summary>
    private sealed record Step(Readings.Entry Entry, string Kind, string Name, string DataSuffix, List<string> States);

    private static List<Step> Steps(IReadOnlyList<Readings.Entry> entries)
    {
        var steps = new List<Step>();
        string? name = null, recordedUrl = null;
        foreach (var e in entries)
        {
            string api = ApiPath(e.Url);
            bool control = api.StartsWith("/v2/endpoint/", StringComparison.Ordinal);
            string[] parts = api.Split('?')[0].Split('/', StringSplitOptions.RemoveEmptyEntries); // v2, endpoint, ns, name, action
            if (control && e.Method == "POST" && parts.Length == 3 && e.Request is { } created && created.TryGetProperty("name", out var n))
            {
                name = n.GetString();
                steps.Add(new Step(e, "create", name!, "", e.Status is >= 200 and < 300 && e.State != null ? [e.State] : []));
            }
            else if (control && parts.Length == 5 && parts[3] == name && e.Method == "POST" && parts[4] is "pause" or "resume" or "scale-to-zero")
                steps.Add(new Step(e, parts[4], name!, "", e.Status is >= 200 and < 300 && e.State != null ? [e.State] : []));
            else if (control && parts.Length == 4 && parts[3] == name && e.Method is "PUT" or "DELETE")
                steps.Add(new Step(e, e.Method == "PUT" ? "update" : "delete", name!, "", e.Status is >= 200 and < 300 && e.State != null ? [e.State] : []));
            else if (control && parts.Length == 4 && parts[3] == name && e.Method == "GET" && steps.Count > 0)
            {
                string state = e.Status == 404 ? "(gone)" : e.Status == 200 && e.State != null ? e.State : "";
                if (state.Length > 0) steps[^1].States.Add(state);
                if (e.Status == 200 && e.Status_("url") is { ValueKind: JsonValueKind.String } u) recordedUrl = u.GetString();
            }
            else if (!control && recordedUrl != null && e.Url.StartsWith(recordedUrl, StringComparison.Ordinal) && steps.Count > 0
                && steps[^1].Kind == "scale-to-zero" && !e.RequestHeaders.ContainsKey("X-Scale-Up-Timeout"))
                steps.Add(new Step(e, "wake-up request", name!, e.Url[recordedUrl.Length..], []));
        }
        return steps;
    }

    /// <summary>The create request of the recording, or one made from its first endpoint answer (the fields a create takes).</summary>
    private static string CreateBody(IReadOnlyList<Readings.Entry> entries, string name)
    {
        var recorded = entries.FirstOrDefault(e => e.Method == "POST" && e.Request is { } r && r.TryGetProperty("compute", out _))?.Request
            ?? entries.First(e => e.Answer is { } a && a.TryGetProperty("compute", out _)).Answer!.Value;
        var body = new Dictionary<string, JsonElement>();
        foreach (var p in recorded.EnumerateObject())
            if (p.Name is "type" or "provider" or "compute" or "model" or "tags") body[p.Name] = p.Value;
        var node = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(body))!;
        node["name"] = name;
        // An instance of the emulator's catalog (whichever the recording used; the catalog is not what this compares).
        node["compute"]!["accelerator"] = "cpu";
        node["compute"]!["instanceType"] = "intel-spr";
        node["compute"]!["instanceSize"] = "x1";
        return node.ToJsonString();
    }

    private static string WithImage(string createBody, string customUrl)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(createBody)!;
        node["model"]!["image"] = new System.Text.Json.Nodes.JsonObject { ["custom"] = new System.Text.Json.Nodes.JsonObject { ["url"] = customUrl } };
        return node.ToJsonString();
    }

    /// <summary>The switches the recording's readings name; a stale-read range as its middle.</summary>
    private static string[] Switches(string har) => Readings.FromHar(har).Where(r => r.Value != "unknown")
        .SelectMany(r => new[] { "--" + r.Switch, r.Switch == "stale-read-ms" && r.Value.Split('-') is [var lo, var hi]
            ? ((int.Parse(lo, CultureInfo.InvariantCulture) + int.Parse(hi, CultureInfo.InvariantCulture)) / 2).ToString(CultureInfo.InvariantCulture) : r.Value })
        .ToArray();

    private static string ApiPath(string url)
    {
        int at = url.IndexOf("/v2/", StringComparison.Ordinal);
        return Local(at >= 0 ? url[at..] : url);
    }

    private static string Local(string text) => text.Replace("<user>", User, StringComparison.Ordinal).Replace("%3Cuser%3E", User, StringComparison.OrdinalIgnoreCase);

    // ---- shapes ----

    /// <summary>Fields whose members are the user's own choice (a map, an image kind, a list of tags): one field each.</summary>
    private static readonly HashSet<string> FreeForm = ["model.env", "model.image", "model.secrets", "tags"];

    /// <summary>Per state, each field's path ("status.url") and the JSON types it was seen with.</summary>
    private static Dictionary<string, Dictionary<string, SortedSet<string>>> ShapesByState(IEnumerable<(string State, JsonElement Answer)> answers)
    {
        var byState = new Dictionary<string, Dictionary<string, SortedSet<string>>>(StringComparer.Ordinal);
        foreach (var (state, answer) in answers)
        {
            if (!byState.TryGetValue(state, out var fields)) byState[state] = fields = new(StringComparer.Ordinal);
            Walk(answer, "", fields);
        }
        return byState;
    }

    private static void Walk(JsonElement value, string path, Dictionary<string, SortedSet<string>> fields)
    {
        if (path.Length > 0)
        {
            if (!fields.TryGetValue(path, out var kinds)) fields[path] = kinds = new(StringComparer.Ordinal);
            kinds.Add(value.ValueKind switch
            {
                JsonValueKind.Object => "object", JsonValueKind.Array => "array", JsonValueKind.String => "string",
                JsonValueKind.Number => "number", JsonValueKind.True or JsonValueKind.False => "boolean", _ => "null",
            });
            if (FreeForm.Contains(path)) return;
        }
        if (value.ValueKind == JsonValueKind.Object)
            foreach (var p in value.EnumerateObject()) Walk(p.Value, path.Length == 0 ? p.Name : path + "." + p.Name, fields);
        else if (value.ValueKind == JsonValueKind.Array)
            foreach (var item in value.EnumerateArray()) Walk(item, path + "[]", fields);
    }

    /// <summary>The same type, or null on either side (a null says nothing of the type the field has otherwise).</summary>
    private static bool Compatible(SortedSet<string> recorded, SortedSet<string> emulated) =>
        recorded.All(k => k == "null" || emulated.Contains(k) || emulated.SetEquals(["null"]));

    // ---- the emulator ----

    private static HttpClient Http(EmulatorProcess emulator)
    {
        var http = new HttpClient { BaseAddress = emulator.BaseUri, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http;
    }

    private static async Task Send(HttpClient http, HttpMethod method, string path, string? json, List<(string, JsonElement)> seen)
    {
        using var answer = await http.SendAsync(new HttpRequestMessage(method, path) { Content = json == null ? null : new StringContent(json, Encoding.UTF8, "application/json") });
        string text = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.IsSuccessStatusCode, $"{method} {path}: {(int)answer.StatusCode} {text}");
        Keep(text, seen);
    }

    private static string? StateOf(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("status", out var s)
                && s.ValueKind == JsonValueKind.Object && s.TryGetProperty("state", out var st) ? st.GetString() : null;
        }
        catch (JsonException) { return null; }
    }

    private static void Keep(string text, List<(string, JsonElement)> seen)
    {
        using var doc = JsonDocument.Parse(text);
        if (doc.RootElement.TryGetProperty("status", out var s) && s.TryGetProperty("state", out var st) && st.GetString() is { } state)
            seen.Add((state, doc.RootElement.Clone()));
    }

    /// <summary>Reads every 50 ms (keeping each answer) until the endpoint shows <paramref name="state"/>; bounded.</summary>
    private static async Task ReadUntil(HttpClient http, string name, string state, List<(string State, JsonElement Answer)> seen)
    {
        var deadline = DateTime.UtcNow + Bounded.Limit;
        while (true)
        {
            Keep(await http.GetStringAsync($"/v2/endpoint/{User}/{name}"), seen);
            if (seen[^1].State == state) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{name} did not show {state} within {Bounded.Limit.TotalSeconds} s (last {seen[^1].State}).");
            await Task.Delay(50);
        }
    }

    /// <summary>The states reads show every 50 ms until <paramref name="end"/> has shown for a second (a 404 is "(gone)").</summary>
    private static async Task<(List<string> States, string? Url)> StatesUntil(HttpClient http, string name, string end)
    {
        var states = new List<string>();
        string? url = null;
        var deadline = DateTime.UtcNow + Bounded.Limit;
        DateTime? endSince = null;
        while (DateTime.UtcNow < deadline)
        {
            using var answer = await http.GetAsync($"/v2/endpoint/{User}/{name}");
            string state = "(other)";
            if (answer.StatusCode == HttpStatusCode.NotFound) state = "(gone)";
            else if (answer.IsSuccessStatusCode)
            {
                using var doc = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
                var status = doc.RootElement.GetProperty("status");
                state = status.GetProperty("state").GetString()!;
                if (status.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String) url = u.GetString();
            }
            states.Add(state);
            if (state == end) { endSince ??= DateTime.UtcNow; if (DateTime.UtcNow - endSince > TimeSpan.FromSeconds(1)) break; }
            else endSince = null;
            await Task.Delay(50);
        }
        return (states, url);
    }

    private static List<string> Collapse(IEnumerable<string> states)
    {
        var list = new List<string>();
        foreach (var s in states) if (list.Count == 0 || list[^1] != s) list.Add(s);
        return list;
    }
}
