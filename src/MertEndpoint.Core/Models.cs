using System;
using System.Collections.Generic;
using System.Linq;

namespace MertEndpoint
{
    /// <summary>Lifecycle state of an endpoint. <see cref="Unknown"/> covers any state this version does not know.</summary>
    /// <remarks>
    /// Based on long on purpose: ConvertTo-Json (Windows PowerShell 5.1 and PowerShell 7) writes an enum based on
    /// long or ulong by name ("Running") and any other enum as a bare number, so JSON output shows the state as text
    /// while -Status and Where-Object keep comparing enums.
    /// </remarks>
    public enum EndpointStatus : long { Unknown, Pending, Initializing, Updating, UpdateFailed, Running, Paused, Failed, ScaledToZero }

    /// <summary>An Inference Endpoint as the control plane reported it.</summary>
    public sealed class EndpointInfo
    {
        // Setters are internal: Core builds these from responses; callers only read them.
        public string Name { get; internal set; } = "";
        public string Namespace { get; internal set; } = "";
        public EndpointStatus Status { get; internal set; }
        /// <summary>The raw state string, kept so a state unknown to this version is still visible.</summary>
        public string StatusText { get; internal set; } = "";
        public string? Message { get; internal set; }
        /// <summary>Data-plane URL; null while paused or not yet provisioned.</summary>
        public string? Url { get; internal set; }
        public string Type { get; internal set; } = "";
        public string? Vendor { get; internal set; }
        public string? Region { get; internal set; }
        public string? Accelerator { get; internal set; }
        public string? InstanceType { get; internal set; }
        public string? InstanceSize { get; internal set; }
        public int MinReplica { get; internal set; }
        public int MaxReplica { get; internal set; }
        public int? ScaleToZeroTimeout { get; internal set; }
        public int ReadyReplica { get; internal set; }
        public int TargetReplica { get; internal set; }
        public string? Repository { get; internal set; }
        public string? Revision { get; internal set; }
        public string? Task { get; internal set; }
        public string? Framework { get; internal set; }
        /// <summary>Container image URL of a custom (or other url-bearing) image.</summary>
        public string? ImageUrl { get; internal set; }
        /// <summary>The key of the <c>model.image</c> union: "custom", "huggingface", "tgi", ...</summary>
        public string? ImageKind { get; internal set; }
        public string HealthRoute { get; internal set; } = "/health";
        public IReadOnlyDictionary<string, string> Env { get; internal set; } = new Dictionary<string, string>();
        public IReadOnlyList<string> Tags { get; internal set; } = Array.Empty<string>();
        public DateTimeOffset CreatedAt { get; internal set; }
        public DateTimeOffset UpdatedAt { get; internal set; }
        /// <summary>The account that created the endpoint (status.createdBy.name), when the service says.</summary>
        public string? CreatedBy { get; internal set; }
        /// <summary>The account that last changed the endpoint (status.updatedBy.name): whom to ask before pausing it.</summary>
        public string? UpdatedBy { get; internal set; }

        /// <summary>USD per replica-hour from the catalog (or the built-in list); set by Get-MertEndpoint.</summary>
        public decimal? PricePerHour { get; internal set; }
        /// <summary>"catalog" (the live price, when this session has read the catalog) or "built-in list price".</summary>
        public string? PriceSource { get; internal set; }
        /// <summary>When the current billed streak (initializing, running or updating) began, as well as it is known; null when it does not bill.</summary>
        public DateTimeOffset? BilledSince { get; internal set; }
        /// <summary>How long it has been billing without a break, as of now (from <see cref="BilledSince"/>).</summary>
        public TimeSpan? BilledFor => BilledSince.HasValue ? DateTimeOffset.UtcNow - BilledSince.Value : (TimeSpan?)null;
        /// <summary>
        /// How <see cref="BilledSince"/> is known: "action" (this module started it), "sighting" (seen by this module's
        /// usage history, between two reads), "replica" (the start of its oldest replica), or "updatedAt" (only the
        /// service's last-change stamp suggests it: the endpoint may have woken from scale-to-zero since, unstamped).
        /// </summary>
        public string? BilledSinceSource { get; internal set; }
        /// <summary>
        /// The latest the current streak can have begun, from evidence (this module's action, its first sighting, a
        /// replica's start); null when only the service's stamps speak for it. The guard pauses on this, not on a guess.
        /// </summary>
        public DateTimeOffset? BilledSinceLatest { get; internal set; }
        /// <summary>How long it has surely been billing, as of now (from <see cref="BilledSinceLatest"/>).</summary>
        public TimeSpan? BilledForAtLeast => BilledSinceLatest.HasValue ? DateTimeOffset.UtcNow - BilledSinceLatest.Value : (TimeSpan?)null;
        /// <summary>"nvidia-a10g x1": the table's Instance column, so Where-Object Instance -eq 'nvidia-a10g x1' works.</summary>
        public string Instance => InstanceType + " " + InstanceSize;
        /// <summary>"ready/target": the table's Replicas column, so Sort-Object Replicas works.</summary>
        public string Replicas => FormattableString.Invariant($"{ReadyReplica}/{TargetReplica}");

        // Needed to resend model.image whole on a partial update.
        internal int? ImagePort { get; set; }
        // The service redacts registry credentials in responses, so an image with them cannot be resent whole.
        internal bool ImageHasCredentials { get; set; }

        internal EndpointId Id => new(Namespace, Name);

        /// <summary>A copy as the endpoint is seen serving at <paramref name="url"/> when the control plane's answer lags.</summary>
        internal EndpointInfo AsServing(string url)
        {
            var copy = (EndpointInfo)MemberwiseClone();
            copy.Status = EndpointStatus.Running;
            copy.StatusText = "running";
            copy.Url = url;
            copy.ReadyReplica = Math.Max(copy.ReadyReplica, 1); // its health route answered: one replica at least is ready
            copy.TargetReplica = Math.Max(copy.TargetReplica, copy.ReadyReplica);
            return copy;
        }

        /// <summary>A copy carrying billing figures: models are never changed once handed out.</summary>
        internal EndpointInfo WithBilling(decimal? pricePerHour, string? priceSource, BillingStreak streak)
        {
            var copy = (EndpointInfo)MemberwiseClone();
            copy.PricePerHour = pricePerHour;
            copy.PriceSource = priceSource;
            copy.BilledSince = streak.Since;
            copy.BilledSinceLatest = streak.Latest;
            copy.BilledSinceSource = streak.Since == null ? null : streak.Source;
            return copy;
        }

        public override string ToString() => $"{Namespace}/{Name}";
    }

    /// <summary>A billing streak's start as well as it is known, the latest it can have been, and how it is known.</summary>
    internal readonly struct BillingStreak
    {
        public BillingStreak(DateTimeOffset? since, DateTimeOffset? latest, string? source)
        {
            Since = since;
            Latest = latest;
            Source = source;
        }

        public DateTimeOffset? Since { get; }
        public DateTimeOffset? Latest { get; }
        public string? Source { get; }
    }

    /// <summary>Environment variables as returned; written "A=1; B=2" where text is needed (Export-Csv).</summary>
    internal sealed class TextMap : Dictionary<string, string>
    {
        public override string ToString() => string.Join("; ", this.Select(p => p.Key + "=" + p.Value));
    }

    /// <summary>Tags as returned; written "a; b" where text is needed (Export-Csv).</summary>
    internal sealed class TextList : System.Collections.ObjectModel.ReadOnlyCollection<string>
    {
        public TextList(IList<string> items) : base(items) { }
        public override string ToString() => string.Join("; ", this);
    }

    /// <summary>The account behind a token (Hub whoami-v2).</summary>
    public sealed class WhoAmI
    {
        public string Name { get; internal set; } = "";
        /// <summary>"user", "org" or "app".</summary>
        public string Type { get; internal set; } = "";
        public IReadOnlyList<string> Orgs { get; internal set; } = Array.Empty<string>();
        public override string ToString() => $"{Name} ({Type})";
    }

    /// <summary>One page of a namespace's listing (see <see cref="Json.ToEndpointPage"/>).</summary>
    internal sealed class ListingPage
    {
        public IReadOnlyList<EndpointInfo> Items { get; set; } = Array.Empty<EndpointInfo>();
        /// <summary>The next page's address as the answer's Link header gave it (maybe relative); null on the last page.</summary>
        public string? Next { get; set; }
        /// <summary>A body field that says there is more (a cursor, hasMore), when the answer has one.</summary>
        public string? MoreField { get; set; }
        /// <summary>How many endpoints the body says there are in all, when it says.</summary>
        public int? Total { get; set; }
    }

    /// <summary>One compute offer of the provider catalog (<c>GET /provider/{ns}</c>).</summary>
    public sealed class HardwareInfo
    {
        public string Vendor { get; internal set; } = "";
        public string Region { get; internal set; } = "";
        public string RegionLabel { get; internal set; } = "";
        public string Id { get; internal set; } = "";
        public string Accelerator { get; internal set; } = "";
        public string InstanceType { get; internal set; } = "";
        public string InstanceSize { get; internal set; } = "";
        public string Architecture { get; internal set; } = "";
        public string Status { get; internal set; } = "";
        public int NumAccelerators { get; internal set; }
        public int NumCpus { get; internal set; }
        public double MemoryGb { get; internal set; }
        public double? GpuMemoryGb { get; internal set; }
        /// <summary>USD per replica-hour.</summary>
        public decimal? PricePerHour { get; internal set; }
        /// <summary>"catalog" (the live price, when this session has read the catalog) or "built-in list price".</summary>
        public string? PriceSource { get; internal set; }
        public int? QuotaMaxAccelerators { get; internal set; }
        public int? QuotaUsedAccelerators { get; internal set; }
        /// <summary>"nvidia-a10g x1": the table's Instance column.</summary>
        public string Instance => InstanceType + " " + InstanceSize;
        /// <summary>"used/max" accelerators of the quota, the table's Quota column; null when the catalog gives no quota.</summary>
        public string? Quota => QuotaMaxAccelerators == null ? null : FormattableString.Invariant($"{QuotaUsedAccelerators ?? 0}/{QuotaMaxAccelerators}");
        public override string ToString() => Id;
    }

    /// <summary>One observation made while waiting for an endpoint to become ready.</summary>
    public sealed class WaitProgress
    {
        internal WaitProgress(EndpointInfo endpoint, TimeSpan elapsed, TimeSpan timeout, string activity)
        {
            Endpoint = endpoint; Elapsed = elapsed; Timeout = timeout; Activity = activity;
        }

        public EndpointInfo Endpoint { get; }
        public TimeSpan Elapsed { get; }
        public TimeSpan Timeout { get; }
        /// <summary>Human-readable description of what the waiter is doing, e.g. "initializing: waiting for the service".</summary>
        public string Activity { get; }
        public override string ToString() => $"{Endpoint}: {Activity} ({Elapsed:hh\\:mm\\:ss})";
    }

    /// <summary>A successful (2xx) answer from an endpoint's own URL.</summary>
    public sealed class DataPlaneResponse
    {
        internal DataPlaneResponse(int statusCode, string? contentType, byte[] body, string? requestId, TimeSpan duration, long bytesSent, int attempts)
        {
            StatusCode = statusCode;
            ContentType = contentType;
            Body = body;
            RequestId = requestId;
            Duration = duration;
            BytesSent = bytesSent;
            Attempts = attempts;
        }

        public int StatusCode { get; }
        /// <summary>The media type, without parameters (e.g. application/json).</summary>
        public string? ContentType { get; }
        public byte[] Body { get; }
        public string? RequestId { get; }
        /// <summary>From the first attempt to the answer, retries and wake-up included.</summary>
        public TimeSpan Duration { get; }
        /// <summary>Body bytes of the attempt that was answered.</summary>
        public long BytesSent { get; }
        public int Attempts { get; }
    }
}
