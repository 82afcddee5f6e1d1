using System;
using System.Collections.Generic;

namespace MertEndpoint
{
    /// <summary>
    /// The create defaults: the MERT embeddings endpoint. Written here only: <see cref="EndpointCreateSpec"/>, the
    /// cmdlets' parameters and their help (build/New-MamlHelp.ps1 fills the help's placeholders from these) read them.
    /// </summary>
    public static class MertDefaults
    {
        public const string Repository = "m-a-p/MERT-v1-95M";
        public const string Framework = "pytorch";
        /// <summary>The task of <see cref="Repository"/>; other repositories leave it to the service (see <see cref="TaskFor"/>).</summary>
        public const string Task = "feature-extraction";
        public const int ImagePort = 8080;
        public const string HealthRoute = "/health";
        public const string Accelerator = "gpu";
        public const string Vendor = "aws";
        public const string Region = "us-east-1";
        public const string InstanceType = "nvidia-a10g";
        public const string InstanceSize = "x1";
        /// <summary>0, so that the service scales the endpoint to zero when idle.</summary>
        public const int MinReplica = 0;
        public const int MaxReplica = 1;
        /// <summary>Minutes without requests before the service scales to zero (sent only with min replicas 0).</summary>
        public const int ScaleToZeroTimeout = 15;
        public const string Type = "authenticated";

        /// <summary>The default task for a repository: <see cref="Task"/> for the MERT repository, else null (the service decides).</summary>
        public static string? TaskFor(string? repository) =>
            string.Equals(repository, Repository, StringComparison.OrdinalIgnoreCase) ? Task : null;
    }

    /// <summary>What to create. Defaults describe the MERT embeddings endpoint (<see cref="MertDefaults"/>).</summary>
    public sealed class EndpointCreateSpec
    {
        public string Name { get; set; } = "";
        public string Repository { get; set; } = MertDefaults.Repository;
        public string Framework { get; set; } = MertDefaults.Framework;
        public string? Revision { get; set; }
        public string? Task { get; set; } = MertDefaults.Task;
        /// <summary>Custom container image; null selects the Hugging Face default image.</summary>
        public string? ImageUrl { get; set; }
        /// <summary>
        /// The <c>model.image</c> kind: custom, huggingface, tgi, tei, vLLM, llamacpp, sGLang, ... Null: custom when
        /// <see cref="ImageUrl"/> is set, else huggingface (the service's default container for the task).
        /// <see cref="ImagePort"/> and <see cref="HealthRoute"/> describe a custom container; other kinds get the url only.
        /// </summary>
        public string? Container { get; set; }
        /// <summary>Login to a private registry for a custom image. The password is a secret: sent, never shown.</summary>
        public System.Net.NetworkCredential? RegistryCredential { get; set; }
        public int ImagePort { get; set; } = MertDefaults.ImagePort;
        public string HealthRoute { get; set; } = MertDefaults.HealthRoute;
        public string Accelerator { get; set; } = MertDefaults.Accelerator;
        public string Vendor { get; set; } = MertDefaults.Vendor;
        public string Region { get; set; } = MertDefaults.Region;
        public string InstanceType { get; set; } = MertDefaults.InstanceType;
        public string InstanceSize { get; set; } = MertDefaults.InstanceSize;
        public int MinReplica { get; set; } = MertDefaults.MinReplica;
        public int MaxReplica { get; set; } = MertDefaults.MaxReplica;
        /// <summary>Minutes; sent only when <see cref="MinReplica"/> is 0 (the service rejects it otherwise).</summary>
        public int? ScaleToZeroTimeout { get; set; } = MertDefaults.ScaleToZeroTimeout;
        public string Type { get; set; } = MertDefaults.Type;
        public IDictionary<string, string>? Env { get; set; }
        public IDictionary<string, string>? Secrets { get; set; }
        public IList<string>? Tags { get; set; }
    }

    /// <summary>A partial update: every null property is left unchanged (not sent).</summary>
    public sealed class EndpointUpdateSpec
    {
        /// <summary>
        /// Whether <paramref name="e"/> shows the scaling this update sends: its min and max replicas, and its idle timeout
        /// where min replicas is 0 (the only place one applies). Fields not sent are not compared.
        /// </summary>
        internal bool ScalingHeldBy(EndpointInfo e) =>
            (MinReplica == null || e.MinReplica == MinReplica) && (MaxReplica == null || e.MaxReplica == MaxReplica)
            && (ScaleToZeroTimeout == null || e.MinReplica != 0 || e.ScaleToZeroTimeout == ScaleToZeroTimeout);

        public int? MinReplica { get; set; }
        public int? MaxReplica { get; set; }
        public int? ScaleToZeroTimeout { get; set; }
        public string? InstanceType { get; set; }
        public string? InstanceSize { get; set; }
        public string? Accelerator { get; set; }
        public string? Repository { get; set; }
        public string? Revision { get; set; }
        public string? Task { get; set; }
        public string? Framework { get; set; }
        public string? ImageUrl { get; set; }
        public int? ImagePort { get; set; }
        public string? HealthRoute { get; set; }
        public IDictionary<string, string>? Env { get; set; }

        internal bool HasImageChange => ImageUrl != null || ImagePort != null || HealthRoute != null;
    }

    /// <summary>How long and how often <see cref="EndpointLifecycle.WaitForReadyAsync"/> looks. Read, never written, by the lifecycle.</summary>
    public sealed class WaitOptions
    {
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);
        /// <summary>Data-plane health probe interval, used once a URL is known.</summary>
        public TimeSpan HealthProbeInterval { get; set; } = TimeSpan.FromMilliseconds(250);
        /// <summary>First control-plane poll interval; grows x1.5 up to <see cref="ControlPollMaxInterval"/>.</summary>
        public TimeSpan ControlPollInterval { get; set; } = TimeSpan.FromSeconds(2);
        public TimeSpan ControlPollMaxInterval { get; set; } = TimeSpan.FromSeconds(10);
    }

    /// <summary>How one data-plane request is sent.</summary>
    public sealed class DataPlaneOptions
    {
        /// <summary>Limit for the whole request: waking a scaled-to-zero endpoint, every retry, and the answer. Default 10 minutes.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);
        /// <summary>What is sent, as error messages should name it (a file path, say); null reads "a request".</summary>
        public string? InputName { get; set; }
        /// <summary>The largest answer read, streamed up to this cap; null uses the client's MaxDataAnswerBytes (1 GiB by default).</summary>
        public long? MaxAnswerBytes { get; set; }

        internal string What => InputName == null ? "a request" : $"'{InputName}'";
    }
}
