using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace MertEndpoint.PowerShell
{
    /// <summary>
    /// The settings of a new endpoint, with the MERT defaults (Core's <see cref="MertDefaults"/>). Shared by New-MertEndpoint and
    /// Start-MertEndpoint -CreateIfMissing as dynamic parameters, so both take exactly the same options.
    /// </summary>
    public sealed class CreateParameters
    {
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

        [Parameter] [ValidateNotNullOrEmpty] public string Repository { get; set; } = MertDefaults.Repository;
        [Parameter] [ValidateNotNullOrEmpty] public string Framework { get; set; } = MertDefaults.Framework;
        /// <summary>Default: <see cref="MertDefaults.TaskFor"/> (the MERT repository's task; for any other, left to the service).</summary>
        [Parameter] [ValidateNotNullOrEmpty] public string? Task { get; set; }
        [Parameter] [ValidateNotNullOrEmpty] public string? Revision { get; set; }
        [Parameter] [ValidateRange(1, 65535)] public int Port { get; set; } = MertDefaults.ImagePort;
        [Parameter] [ValidatePattern("^/")] public string HealthRoute { get; set; } = MertDefaults.HealthRoute;
        [Parameter] [ValidateSet("gpu", "cpu", "neuron")] public string Accelerator { get; set; } = MertDefaults.Accelerator;
        [Parameter] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(HardwareCompleter))] public string Vendor { get; set; } = MertDefaults.Vendor;
        [Parameter] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(HardwareCompleter))] public string Region { get; set; } = MertDefaults.Region;
        [Parameter] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(HardwareCompleter))] public string InstanceType { get; set; } = MertDefaults.InstanceType;
        [Parameter] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(HardwareCompleter))] public string InstanceSize { get; set; } = MertDefaults.InstanceSize;
        [Parameter] [ValidateRange(0, 100)] public int MinReplica { get; set; } = MertDefaults.MinReplica;
        [Parameter] [ValidateRange(1, 100)] public int MaxReplica { get; set; } = MertDefaults.MaxReplica;

        /// <summary>The old name of the command's -IdleTimeout, in minutes: hidden, kept for scripts written for it.</summary>
        [Parameter(DontShow = true)] [ValidateRange(1, 10080)] public int? ScaleToZeroTimeout { get; set; }

        [Parameter] [ValidateSet("public", "authenticated", "private")] public string Type { get; set; } = MertDefaults.Type;
        [Parameter] public Hashtable? Env { get; set; }
        [Parameter] public Hashtable? Secret { get; set; }
        [Parameter] public string[]? Tag { get; set; }

        /// <summary>The endpoint to create; <paramref name="idleMinutes"/> is the command's idle timeout (default
        /// <see cref="MertDefaults.ScaleToZeroTimeout"/>), sent only when the service takes one (min replicas 0).</summary>
        internal EndpointCreateSpec ToSpec(string name, int? idleMinutes) => new EndpointCreateSpec
        {
            Name = name,
            Repository = Repository,
            Framework = Framework,
            Task = Task ?? MertDefaults.TaskFor(Repository),
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
            ScaleToZeroTimeout = BillingRules.ScaleToZeroTimeoutFor(MinReplica, idleMinutes ?? MertDefaults.ScaleToZeroTimeout),
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

        internal string Describe(decimal? pricePerHour) => $"{Vendor} {Region} {InstanceType} {InstanceSize}, replicas {MinReplica}-{MaxReplica}, "
            + Errors.PriceNote(InstanceType + " " + InstanceSize, pricePerHour) + ", " +
            (ImageUrl != null ? $"{Container ?? "custom"} image {ImageUrl}"
                : Container != null && Container != "huggingface" ? $"the service's {Container} container"
                : "the service's default container for the task");
    }
}
