using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// The settings of a new endpoint, with the MERT defaults. Shared by New-MertEndpoint and
    /// Start-MertEndpoint -CreateIfMissing as dynamic parameters, so both take exactly the same options.
    /// </summary>
    public sealed class CreateParameters
    {
        private const string MertRepository = "m-a-p/MERT-v1-95M";
        private static readonly string[] Containers = { "custom", "huggingface", "tgi", "tei", "vLLM", "llamacpp", "sGLang" };

        /// <summary>The container image, e.g. 'someone/mert-inference:latest'. Without it (and without -Container), the
        /// service deploys its default container for the task.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ImageUrl { get; set; }

        /// <summary>The image kind: custom (the default with -ImageUrl), huggingface (the default without), tgi, tei, vLLM, llamacpp, sGLang.</summary>
        [Parameter]
        [ValidateSet("custom", "huggingface", "tgi", "tei", "vLLM", "llamacpp", "sGLang")]
        public string? Container { get; set; }

        /// <summary>User name and password of a private registry, for a custom image. The password is sent, never shown.</summary>
        [Parameter]
        [Credential]
        public PSCredential? RegistryCredential { get; set; }

        [Parameter] [ValidateNotNullOrEmpty] public string Repository { get; set; } = MertRepository;
        [Parameter] [ValidateNotNullOrEmpty] public string Framework { get; set; } = "pytorch";
        /// <summary>Default: feature-extraction for the MERT repository; for any other, left to the service.</summary>
        [Parameter] [ValidateNotNullOrEmpty] public string? Task { get; set; }
        [Parameter] [ValidateNotNullOrEmpty] public string? Revision { get; set; }
        [Parameter] [ValidateRange(1, 65535)] public int Port { get; set; } = 8080;
        [Parameter] [ValidatePattern("^/")] public string HealthRoute { get; set; } = "/health";
        [Parameter] [ValidateSet("gpu", "cpu", "neuron")] public string Accelerator { get; set; } = "gpu";
        [Parameter] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(HardwareCompleter))] public string Vendor { get; set; } = "aws";
        [Parameter] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(HardwareCompleter))] public string Region { get; set; } = "us-east-1";
        [Parameter] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(HardwareCompleter))] public string InstanceType { get; set; } = "nvidia-a10g";
        [Parameter] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(HardwareCompleter))] public string InstanceSize { get; set; } = "x1";
        [Parameter] [ValidateRange(0, 100)] public int MinReplica { get; set; }
        [Parameter] [ValidateRange(1, 100)] public int MaxReplica { get; set; } = 1;

        /// <summary>Minutes without requests before the service scales to zero; only with -MinReplica 0.</summary>
        [Parameter] [ValidateRange(1, 10080)] public int ScaleToZeroTimeout { get; set; } = 15;

        [Parameter] [ValidateSet("public", "authenticated", "private")] public string Type { get; set; } = "authenticated";
        [Parameter] public Hashtable? Env { get; set; }
        [Parameter] public Hashtable? Secret { get; set; }
        [Parameter] public string[]? Tag { get; set; }

        internal EndpointCreateSpec ToSpec(string name) => new EndpointCreateSpec
        {
            Name = name,
            Repository = Repository,
            Framework = Framework,
            Task = Task ?? (string.Equals(Repository, MertRepository, System.StringComparison.OrdinalIgnoreCase) ? "feature-extraction" : null),
            Revision = Revision,
            ImageUrl = ImageUrl,
            // ValidateSet ignores case; the service's keys do not.
            Container = Container == null ? null : Containers.First(c => string.Equals(c, Container, System.StringComparison.OrdinalIgnoreCase)),
            RegistryCredential = RegistryCredential?.GetNetworkCredential(),
            ImagePort = Port,
            HealthRoute = HealthRoute,
            Accelerator = Accelerator,
            Vendor = Vendor,
            Region = Region,
            InstanceType = InstanceType,
            InstanceSize = InstanceSize,
            MinReplica = MinReplica,
            MaxReplica = MaxReplica,
            ScaleToZeroTimeout = MinReplica == 0 ? ScaleToZeroTimeout : (int?)null,
            Type = Type,
            Env = ToDictionary(Env, nameof(Env)),
            Secrets = ToDictionary(Secret, nameof(Secret)),
            Tags = Tag?.ToList(),
        };

        /// <summary>-Env / -Secret as sent; a bad key or a $null value is an error (InvalidArgument), never sent as "".</summary>
        internal static IDictionary<string, string>? ToDictionary(Hashtable? table, string parameter)
        {
            if (table == null) return null;
            var entries = table.Cast<DictionaryEntry>()
                .Select(e => new KeyValuePair<string, string?>(e.Key.ToString() ?? string.Empty, e.Value?.ToString())).ToList();
            Inputs.EnvEntries(entries, parameter);
            return entries.ToDictionary(e => e.Key, e => e.Value!);
        }

        internal string Describe() => $"{Vendor} {Region} {InstanceType} {InstanceSize}, replicas {MinReplica}-{MaxReplica}, " +
            (ImageUrl != null ? $"{Container ?? "custom"} image {ImageUrl}"
                : Container != null && Container != "huggingface" ? $"the service's {Container} container"
                : "the service's default container for the task");
    }
}
