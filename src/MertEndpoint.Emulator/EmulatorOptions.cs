using System.Globalization;

namespace MertEndpoint.Emulator;

/// <summary>The emulator's command line, parsed by hand so ASP.NET configuration binding never
/// reinterprets it (e.g. a stray ASPNETCORE_URLS or an appsettings file).</summary>
public sealed record EmulatorOptions
{
    public const string DefaultUrls = "http://127.0.0.1:5080";
    public const string DefaultToken = "hf_emulator_token";

    public string Urls { get; init; } = DefaultUrls;
    public IReadOnlyList<string> Tokens { get; init; } = [DefaultToken];
    public string User { get; init; } = "emulator-user";
    public IReadOnlyList<string> Orgs { get; init; } = [];
    public double BootSeconds { get; init; } = 3;
    public string? StateFile { get; init; }
    public double SecondsPerMinute { get; init; } = 60;

    // Readings of the service that are not confirmed (docs/EMULATOR.md, "Emulator fidelity"); each default is today's reading.
    /// <summary>Stamp <c>status.updatedAt</c> on every state change (transitions) or only on user actions.</summary>
    public bool UpdatedAtOnActionsOnly { get; init; }
    /// <summary><c>status.url</c> appears at <c>initializing</c> (false) or only at <c>running</c> (true).</summary>
    public bool UrlFromRunning { get; init; }
    /// <summary>Resume from paused keeps the replica settings (true) or resets min/max to 1 (false).</summary>
    public bool ResumeKeepsScaling { get; init; }
    /// <summary>What a waking endpoint's data plane answers: 503 (held by X-Scale-Up-Timeout) or 502 (never held).</summary>
    public int ScaleToZeroStatus { get; init; } = 503;
    /// <summary>Data-plane URLs are /e/&lt;random id&gt; rather than /endpoints/&lt;ns&gt;/&lt;name&gt;.</summary>
    public bool RandomUrls { get; init; }
    public bool EnforceQuota { get; init; }
    /// <summary>Control-plane reads (get, list) answer the endpoint as it was this long ago.</summary>
    public double StaleReadMs { get; init; }
    /// <summary>A failed endpoint's logs show only the build lines (true) or everything (false).</summary>
    public bool FailedLogsBuildOnly { get; init; }
    /// <summary>Metric answers are columnar <c>{timestamps, values}</c> (true) or a list of points (false).</summary>
    public bool ColumnarMetrics { get; init; }
    /// <summary>Data-plane requests per replica per service minute above which one more replica starts (up to maxReplica).</summary>
    public int ScaleUpRequests { get; init; } = 60;
    /// <summary>A listing answers this many endpoints per page, with a <c>Link rel="next"</c> header to the next page; 0: one page.</summary>
    public int ListPageSize { get; init; }
    public bool Help { get; init; }

    public const string Usage = """
        MertEndpoint.Emulator: a local stand-in for the Hugging Face Inference Endpoints service.

        Usage: dotnet MertEndpoint.Emulator.dll [options]

          --urls <url>                 Kestrel listen URL(s), ';'-separated (default http://127.0.0.1:5080;
                                       port 0 picks a free port)
          --token <t>                  accepted bearer token; repeatable (default hf_emulator_token)
          --user <name>                the token owner's user name (default emulator-user)
          --org <name>                 an organization of the user; repeatable (default none)
          --boot-seconds <s>           create/resume/wake/update to ready, in seconds (default 3)
          --state-file <path>          persist endpoints to this JSON file (default: in memory only)
          --seconds-per-minute <s>     length of one service minute, e.g. scaleToZeroTimeout (default 60)
          --scale-up-requests <n>      requests per replica per service minute that start one more replica,
                                       up to maxReplica (default 60)
          --help                       show this text

        Readings of the service that are not confirmed (docs/EMULATOR.md, "Emulator fidelity"); the first value is the default:
          --updated-at transitions|actions
                                       stamp status.updatedAt on every state change, or only on
                                       create/update/pause/resume/scale-to-zero requests
          --url-from initializing|running
                                       when status.url appears
          --resume-scaling reset|keep  resume from paused resets min/max replicas to 1, or keeps them
          --scale-to-zero-status 503|502
                                       a waking endpoint's data plane: 503 (X-Scale-Up-Timeout holds the
                                       request) or 502 (never held)
          --url-scheme path|random     data-plane URL /endpoints/<ns>/<name>, or /e/<random id> per create
          --quota off|enforce          answer 403 beyond the catalog's maxAccelerators
          --stale-read-ms <n>          get and list answer the state of n ms ago (default 0)
          --failed-logs keep|build-only
                                       a failed endpoint's logs: every line, or the build lines only
          --metrics-shape points|columnar
                                       metric answers: [{timestamp, value}, ...] or {timestamps, values}
          --list-page-size <n>         a listing answers n endpoints per page, each with a
                                       Link: <...?page=k>; rel="next" header to the next (default 0: one page)

        When ready it prints one line: Emulator listening on http://127.0.0.1:<port>
        """;

    /// <exception cref="ArgumentException">Unknown option, missing or invalid value.</exception>
    public static EmulatorOptions Parse(IReadOnlyList<string> args)
    {
        var o = new EmulatorOptions();
        List<string> tokens = [], orgs = [];
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"Option {name} needs a value.");
            double Seconds()
            {
                var text = Value();
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0 && double.IsFinite(s)
                    ? s : throw new ArgumentException($"Option {name} needs a non-negative number of seconds, not '{text}'.");
            }
            // The two readings of a switch: false for the first (today's default), true for the second.
            bool Choice(string first, string second)
            {
                var text = Value();
                return text == first ? false : text == second ? true
                    : throw new ArgumentException($"Option {name} needs '{first}' or '{second}', not '{text}'.");
            }
            int Count()
            {
                var text = Value();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                    ? n : throw new ArgumentException($"Option {name} needs a whole number of 0 or more, not '{text}'.");
            }
            o = name switch
            {
                "--urls" => o with { Urls = Value() },
                "--token" => Add(o, tokens, Value()),
                "--user" => o with { User = Value() },
                "--org" => Add(o, orgs, Value()),
                "--boot-seconds" => o with { BootSeconds = Seconds() },
                "--state-file" => o with { StateFile = Path.GetFullPath(Value()) },
                "--seconds-per-minute" => o with { SecondsPerMinute = Seconds() },
                "--updated-at" => o with { UpdatedAtOnActionsOnly = Choice("transitions", "actions") },
                "--url-from" => o with { UrlFromRunning = Choice("initializing", "running") },
                "--resume-scaling" => o with { ResumeKeepsScaling = Choice("reset", "keep") },
                "--scale-to-zero-status" => o with { ScaleToZeroStatus = Choice("503", "502") ? 502 : 503 },
                "--url-scheme" => o with { RandomUrls = Choice("path", "random") },
                "--quota" => o with { EnforceQuota = Choice("off", "enforce") },
                "--stale-read-ms" => o with { StaleReadMs = Count() },
                "--failed-logs" => o with { FailedLogsBuildOnly = Choice("keep", "build-only") },
                "--metrics-shape" => o with { ColumnarMetrics = Choice("points", "columnar") },
                "--list-page-size" => o with { ListPageSize = Count() },
                "--scale-up-requests" => o with { ScaleUpRequests = Count() is > 0 and var n ? n : throw new ArgumentException($"Option {name} needs at least 1.") },
                "--help" or "-h" or "-?" => o with { Help = true },
                _ => throw new ArgumentException($"Unknown option '{name}'. Use --help for the list."),
            };
        }
        if (string.IsNullOrWhiteSpace(o.User)) throw new ArgumentException("Option --user needs a non-empty name.");
        if (tokens.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Option --token needs a non-empty token.");
        return o with { Tokens = tokens.Count > 0 ? tokens : [DefaultToken], Orgs = orgs };
    }

    static EmulatorOptions Add(EmulatorOptions o, List<string> list, string value)
    {
        list.Add(value);
        return o;
    }
}
