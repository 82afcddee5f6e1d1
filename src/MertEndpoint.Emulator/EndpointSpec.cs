using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static MertEndpoint.Emulator.Fields;

namespace MertEndpoint.Emulator;

/// <summary>What the user asked for (the create body, validated and normalized). Create and update
/// both go through <see cref="Parse"/>: an update merges its partial body into <see cref="ToJson"/>
/// of the current spec and parses the result, so the two can never validate differently.</summary>
sealed partial record EndpointSpec
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public string? AccountId { get; init; }
    public required string Vendor { get; init; }
    public required string Region { get; init; }
    public required string Accelerator { get; init; }
    public required string InstanceType { get; init; }
    public required string InstanceSize { get; init; }
    public int MinReplica { get; init; }
    public int MaxReplica { get; init; }
    public int? ScaleToZeroTimeout { get; init; }
    public JsonObject? Measure { get; init; }
    public required string Repository { get; init; }
    public required string Framework { get; init; }
    public string? Revision { get; init; }
    public string? Task { get; init; }
    /// <summary>The one-key image union, normalized (custom: url, healthRoute, port, credentials).</summary>
    public required JsonObject Image { get; init; }
    public required IReadOnlyDictionary<string, string> Env { get; init; }
    public required IReadOnlyDictionary<string, string> Secrets { get; init; }
    public required IReadOnlyList<string> Tags { get; init; }

    static readonly string[] Types = ["public", "authenticated", "private", "protected"];
    /// <summary>Objects an update merges into; every other field (env, image, tags, ...) is replaced whole.</summary>
    static readonly HashSet<string> MergedObjects = ["compute", "compute.scaling", "model", "provider"];

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")]
    private static partial Regex NamePattern();

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public string HealthRoute => (Image.First().Value as JsonObject)?["healthRoute"]?.GetValue<string>() ?? "/health";

    /// <summary>The image kind: custom, huggingface, tgi, tei, vLLM, llamacpp, sGLang, ...</summary>
    public string ImageKind => Image.First().Key;

    /// <summary>The image's own URL when the variant has one (custom always does).</summary>
    public string? ImageUrl => (Image.First().Value as JsonObject)?["url"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    /// <summary>What a replica pulls: the image's URL, or a stand-in name for the service's own containers.</summary>
    public string PulledImage => ImageUrl ?? $"registry.internal.huggingface.tech/hf-endpoints/{ImageKind.ToLowerInvariant()}:latest";

    public int Port => (Image.First().Value as JsonObject)?["port"] is JsonValue v && v.TryGetValue<int>(out var port) ? port : 80;

    /// <summary>An image whose URL mentions "fail" boots into <c>failed</c>, like a broken image.</summary>
    public bool ImageFails => ImageUrl?.Contains("fail", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>Replicas that run (and bill) while the endpoint is up, before any autoscaling under load.</summary>
    public int Replicas => Math.Max(MinReplica, 1);

    /// <summary>The spec of a deleted endpoint as kept for its bill: no secrets, env or registry credentials.</summary>
    public EndpointSpec Scrubbed()
    {
        var image = Image.DeepClone().AsObject();
        (image.First().Value as JsonObject)?.Remove("credentials");
        return this with { Secrets = new Dictionary<string, string>(), Env = new Dictionary<string, string>(), Image = image };
    }

    public Compute? Compute => Catalog.Find(Vendor, Region, InstanceType, InstanceSize);

    /// <exception cref="ApiException">400 with the service-style message.</exception>
    public static EndpointSpec Parse(JsonObject body)
    {
        var name = Str(body, "name", "", required: true)!;
        if (!IsValidName(name))
            throw Http.BadRequest($"Invalid endpoint name '{name}': use 1 to 32 lowercase letters, digits and '-', not starting or ending with '-'");
        var type = Str(body, "type", "") ?? "authenticated";
        if (!Types.Contains(type)) throw Http.BadRequest($"Invalid type '{type}': expected one of {string.Join(", ", Types)}");

        var provider = Obj(body, "provider", "", required: true)!;
        var compute = Obj(body, "compute", "", required: true)!;
        var scaling = Obj(compute, "scaling", "compute.") ?? [];
        var model = Obj(body, "model", "", required: true)!;

        var spec = new EndpointSpec
        {
            Name = name,
            Type = type,
            AccountId = Str(body, "accountId", ""),
            Vendor = Str(provider, "vendor", "provider.", required: true)!,
            Region = Str(provider, "region", "provider.", required: true)!,
            Accelerator = Str(compute, "accelerator", "compute.", required: true)!,
            InstanceType = Str(compute, "instanceType", "compute.", required: true)!,
            InstanceSize = Str(compute, "instanceSize", "compute.", required: true)!,
            MinReplica = Int(scaling, "minReplica", "compute.scaling.") ?? 1,
            MaxReplica = Int(scaling, "maxReplica", "compute.scaling.") ?? 1,
            ScaleToZeroTimeout = Int(scaling, "scaleToZeroTimeout", "compute.scaling."),
            Measure = Obj(scaling, "measure", "compute.scaling.")?.DeepClone().AsObject(),
            Repository = Str(model, "repository", "model.", required: true)!,
            Framework = Str(model, "framework", "model.") ?? "pytorch",
            Revision = Str(model, "revision", "model."),
            Task = Str(model, "task", "model."),
            Image = ParseImage(Obj(model, "image", "model.", required: true)!),
            Env = StringMap(model, "env", "model."),
            Secrets = StringMap(model, "secrets", "model."),
            Tags = StringList(body, "tags", ""),
        };

        if (spec.Repository.Length == 0) throw Http.BadRequest("Field 'model.repository' must not be empty");
        if (spec.MinReplica < 0) throw Http.BadRequest("Field 'compute.scaling.minReplica' must be 0 or more");
        if (spec.MaxReplica < 1 || spec.MaxReplica < spec.MinReplica)
            throw Http.BadRequest("Field 'compute.scaling.maxReplica' must be at least 1 and at least minReplica");
        if (spec.ScaleToZeroTimeout is { } timeout && (spec.MinReplica != 0 || timeout < 1))
            throw Http.BadRequest(spec.MinReplica != 0
                ? "scaleToZeroTimeout can only be set when minReplica is 0"
                : "Field 'compute.scaling.scaleToZeroTimeout' must be a positive number of minutes");
        if (spec.Compute is not { } found || found.Accelerator != spec.Accelerator)
            throw Http.BadRequest($"Instance compute '{spec.Vendor}-{spec.Region}-{spec.Accelerator}-{spec.InstanceType}-{spec.InstanceSize}' not found");
        return spec;
    }

    /// <summary>The spec in create-body shape. For responses, secrets are left out and image
    /// credentials lose their password (the service redacts them).</summary>
    public JsonObject ToJson(bool forResponse)
    {
        var scaling = new JsonObject { ["minReplica"] = MinReplica, ["maxReplica"] = MaxReplica, ["scaleToZeroTimeout"] = ScaleToZeroTimeout };
        if (Measure is not null) scaling["measure"] = Measure.DeepClone();
        var image = Image.DeepClone().AsObject();
        if (forResponse && image["custom"]?["credentials"] is JsonObject credentials) credentials.Remove("password");
        var model = new JsonObject
        {
            ["repository"] = Repository, ["revision"] = Revision, ["task"] = Task, ["framework"] = Framework,
            ["image"] = image, ["env"] = ToObject(Env),
        };
        if (!forResponse) model["secrets"] = ToObject(Secrets);
        return new JsonObject
        {
            ["name"] = Name,
            ["type"] = Type,
            ["accountId"] = AccountId,
            ["provider"] = new JsonObject { ["vendor"] = Vendor, ["region"] = Region },
            ["compute"] = new JsonObject
            {
                ["accelerator"] = Accelerator, ["instanceType"] = InstanceType, ["instanceSize"] = InstanceSize, ["scaling"] = scaling,
            },
            ["model"] = model,
            ["tags"] = new JsonArray(Tags.Select(t => (JsonNode?)t).ToArray()),
        };
    }

    /// <summary>A partial update: fields not sent stay, sent ones (nulls included) replace.</summary>
    public EndpointSpec Merge(JsonObject patch)
    {
        if (patch["name"] is JsonNode n && (n.GetValueKind() != JsonValueKind.String || n.GetValue<string>() != Name))
            throw Http.BadRequest("An endpoint cannot be renamed: 'name' must be absent or equal to the current name");
        var merged = ToJson(forResponse: false);
        MergeInto(merged, patch, "");
        return Parse(merged);
    }

    static void MergeInto(JsonObject target, JsonObject patch, string path)
    {
        foreach (var (key, value) in patch)
        {
            var childPath = path.Length == 0 ? key : $"{path}.{key}";
            if (value is JsonObject patchChild && target[key] is JsonObject targetChild && MergedObjects.Contains(childPath))
                MergeInto(targetChild, patchChild, childPath);
            else
                target[key] = value?.DeepClone();
        }
    }

    static JsonObject ParseImage(JsonObject image)
    {
        if (image.Count != 1 || image.First().Value is not JsonObject)
            throw Http.BadRequest("Field 'model.image' must be an object with exactly one key such as 'custom' or 'huggingface', whose value is an object");
        var (kind, value) = image.First();
        var variant = (JsonObject)value!;
        var path = $"model.image.{kind}.";
        // Both spellings exist in the wild; the camelCase one wins when both are sent.
        var healthRoute = Str(variant, "healthRoute", path) ?? Str(variant, "health_route", path) ?? "/health";
        if (!healthRoute.StartsWith('/')) throw Http.BadRequest($"Field '{path}healthRoute' must start with '/'");
        if (kind != "custom")
        {
            // Other variants (huggingface, tgi, ...) are kept as sent, only the health route spelling is unified.
            var copy = variant.DeepClone().AsObject();
            if (copy.Remove("health_route") || copy.ContainsKey("healthRoute")) copy["healthRoute"] = healthRoute;
            return new JsonObject { [kind] = copy };
        }
        var custom = new JsonObject
        {
            ["url"] = Str(variant, "url", path, required: true),
            ["healthRoute"] = healthRoute,
            ["port"] = Int(variant, "port", path) ?? 80,
        };
        if (Obj(variant, "credentials", path) is { } credentials)
            custom["credentials"] = new JsonObject
            {
                ["username"] = Str(credentials, "username", path + "credentials.", required: true),
                ["password"] = Str(credentials, "password", path + "credentials.", required: true),
            };
        return new JsonObject { ["custom"] = custom };
    }

    static Dictionary<string, string> StringMap(JsonObject o, string key, string path) =>
        (Obj(o, key, path) ?? []).ToDictionary(p => p.Key, p => Str(o[key]!.AsObject(), p.Key, $"{path}{key}.", required: true)!);

    static List<string> StringList(JsonObject o, string key, string path) => Field(o, key, path, false) switch
    {
        null => [],
        JsonArray a => a.Select((item, i) => item is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>() : throw Http.BadRequest($"Field '{path}{key}[{i}]' must be a string")).ToList(),
        _ => throw Http.BadRequest($"Field '{path}{key}' must be an array of strings"),
    };

    static JsonObject ToObject(IReadOnlyDictionary<string, string> map) => new(map.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
}
