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
          --help                       show this text

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
            o = name switch
            {
                "--urls" => o with { Urls = Value() },
                "--token" => Add(o, tokens, Value()),
                "--user" => o with { User = Value() },
                "--org" => Add(o, orgs, Value()),
                "--boot-seconds" => o with { BootSeconds = Seconds() },
                "--state-file" => o with { StateFile = Path.GetFullPath(Value()) },
                "--seconds-per-minute" => o with { SecondsPerMinute = Seconds() },
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
