using System;

namespace MertEndpoint
{
    /// <summary>
    /// What Optimize-MertEndpointHistory did to the usage history: compacted it (repeated states and records older than
    /// the retention that no later period needs dropped, every cost of a kept period the same), or why not.
    /// </summary>
    public sealed class HistoryCompaction
    {
        /// <summary>The history file.</summary>
        public string Path { get; internal set; } = "";
        /// <summary>True when the file was rewritten.</summary>
        public bool Compacted { get; internal set; }
        /// <summary>Why it was not compacted (not due, another compaction under way or first); null when it was.</summary>
        public string? Reason { get; internal set; }
        /// <summary>The file's size before, in bytes.</summary>
        public long SizeBefore { get; internal set; }
        /// <summary>The file's size after, in bytes.</summary>
        public long SizeAfter { get; internal set; }
        /// <summary>The records the file held before (those other processes appended meanwhile included); null when not compacted.</summary>
        public int? RecordsBefore { get; internal set; }
        /// <summary>The records it holds after; null when not compacted.</summary>
        public int? RecordsAfter { get; internal set; }
        /// <summary>Since when the file is whole: records before it were dropped for age (null: nothing ever was).</summary>
        public DateTimeOffset? KeptSince { get; internal set; }
        /// <summary>How long the compaction took (zero when there was none).</summary>
        public TimeSpan Duration { get; internal set; }
    }

    /// <summary>One recorded state change of an endpoint, as kept in the usage history.</summary>
    public sealed class UsageEvent
    {
        /// <summary>When the change happened, as well as it is known (see <see cref="Earliest"/>).</summary>
        public DateTimeOffset Time { get; internal set; }
        /// <summary>The earliest it can have happened (the last time the previous state was seen); null when unknown.</summary>
        public DateTimeOffset? Earliest { get; internal set; }
        /// <summary>The latest it can have happened (when the new state was first seen, or the action answered).</summary>
        public DateTimeOffset? Latest { get; internal set; }
        /// <summary>The control-plane base the endpoint lives behind, so an emulator's endpoints never mix with real ones.</summary>
        public string Api { get => _api; internal set => (_api, _key) = (value, null); }
        public string Namespace { get => _ns; internal set => (_ns, _key) = (value, null); }
        public string Name { get => _name; internal set => (_name, _key) = (value, null); }
        private string _api = "", _ns = "", _name = "";
        private string? _key;
        public string State { get; internal set; } = "";
        public int Replicas { get; internal set; }
        public string? Vendor { get; internal set; }
        public string? Region { get; internal set; }
        public string? InstanceType { get; internal set; }
        public string? InstanceSize { get; internal set; }
        /// <summary>The data-plane URL the endpoint had in this state, when it had one.</summary>
        public string? Url { get; internal set; }
        /// <summary>"action" (this module caused it), "read" (it was seen), "deleted", "replicas" (a fact, not a change: see
        /// <see cref="ReplicaStarts"/>), or null in files written before version 2.</summary>
        public string? Source { get; internal set; }
        /// <summary>
        /// The service's own updatedAt in the answer that showed this state (its clock, not ours): an action's, and since
        /// the history keeps facts, a read's too; null when unknown (and for reads in files written before then).
        /// </summary>
        public DateTimeOffset? ServiceStamp { get; internal set; }

        /// <summary>When the request whose answer showed this state was sent (the history's clock); an action's is its window's
        /// start (so read back from <see cref="Earliest"/>, also in older files); null for other records of older files.</summary>
        internal DateTimeOffset? SentAt { get; set; }

        /// <summary>
        /// How the writer dated a change: <see cref="ByStamp"/> (the service's updatedAt, its sighting included) or
        /// <see cref="ByMidpoint"/> (a replica count alone, the middle of its window); null when it is dated where it was
        /// seen or done with nothing to place it, and in older files (the cost model then tells stamp and middle apart by
        /// the state, and leaves what was dated at its sighting there, see CostModel.Estimated).
        /// </summary>
        internal string? DatedBy { get; set; }

        internal const string ByStamp = "stamp", ByMidpoint = "mid";

        /// <summary>
        /// When the previous state was last seen: the send time of the last read that showed it, by any process (the end of
        /// its run of sightings), as it was, before any allowance for a late read; null when nobody saw it after its record.
        /// </summary>
        internal DateTimeOffset? PreviousSeen { get; set; }

        /// <summary>
        /// How far the writer's clock ran ahead of the control plane's (negative: behind) when it wrote this record, as the
        /// history corrected for it: the record's times are already on the service's clock (the writer's less this). Zero
        /// when the two agreed within 5 s, or the writer could not tell (files written before it was kept).
        /// </summary>
        internal TimeSpan ClockOffset { get; set; }

        /// <summary>This state bills (see <see cref="BillingRules"/>: initializing and running, per replica).</summary>
        public bool IsBilled => BillingRules.Bills(State);

        /// <summary>This state is on the service's meter by its own description (initializing and running): what the estimate counts.</summary>
        internal bool IsMetered => BillingRules.Metered(State);

        /// <summary>The endpoint's key in the history (API, namespace and name), made once per record: a reading asks for it per record, more than once.</summary>
        internal string Key => _key ??= SharedKeyOf(_api, _ns, _name);

        /// <summary>
        /// A record of what the endpoint's replica list showed (Source "replicas"), not a change: it repeats the state and
        /// replica count of the change before it, so a reader that does not know it counts nothing more, and it carries
        /// <see cref="ReplicaStarts"/>, with which a reader places the scale-ups that reads only saw (see ScaleUps).
        /// </summary>
        internal bool IsReplicaList => Source == ReplicaListSource;

        internal const string ReplicaListSource = "replicas";

        /// <summary>For a replica list: when each replica it showed started, on the writer's clock (the service's less its lead).</summary>
        internal System.Collections.Generic.IReadOnlyList<DateTimeOffset>? ReplicaStarts { get; set; }

        /// <summary>For a replica list: how well the writer told the two clocks apart (either way).</summary>
        internal TimeSpan StartsSpread { get; set; }

        internal static string KeyOf(string api, string ns, string name) => api + "|" + ns + "|" + name;

        private sealed class KeySlot
        {
            public KeySlot(string api, string ns, string name, string key) { Api = api; Namespace = ns; Name = name; Key = key; }
            public readonly string Api, Namespace, Name, Key;
        }

        // The keys this thread made last, found by the identity of the three strings (a history's reading shares them):
        // one key string per endpoint instead of one per record.
        [ThreadStatic] private static KeySlot?[]? _keySlots;

        private static string SharedKeyOf(string api, string ns, string name)
        {
            KeySlot?[] slots = _keySlots ??= new KeySlot?[256];
            int i = (System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(name) * 31 + System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(ns)) & (slots.Length - 1);
            KeySlot? slot = slots[i];
            if (slot != null && ReferenceEquals(slot.Api, api) && ReferenceEquals(slot.Namespace, ns) && ReferenceEquals(slot.Name, name)) return slot.Key;
            string key = KeyOf(api, ns, name);
            slots[i] = new KeySlot(api, ns, name, key);
            return key;
        }

        /// <summary>A copy with another replica count, not yet dated.</summary>
        internal UsageEvent WithReplicas(int replicas) => new()
        {
            Api = Api, Namespace = Namespace, Name = Name, State = State, Replicas = replicas, Vendor = Vendor, Region = Region,
            InstanceType = InstanceType, InstanceSize = InstanceSize, Url = Url, ClockOffset = ClockOffset,
        };

        /// <summary>A copy dated at <paramref name="time"/>, its window and everything else as they are (the cost model's re-dating).</summary>
        internal UsageEvent DatedAt(DateTimeOffset time) => new()
        {
            Time = time, Earliest = Earliest, Latest = Latest, Api = Api, Namespace = Namespace, Name = Name, State = State, Replicas = Replicas,
            Vendor = Vendor, Region = Region, InstanceType = InstanceType, InstanceSize = InstanceSize, Url = Url, Source = Source,
            ServiceStamp = ServiceStamp, ReplicaStarts = ReplicaStarts, StartsSpread = StartsSpread, ClockOffset = ClockOffset,
            SentAt = SentAt, PreviousSeen = PreviousSeen, DatedBy = DatedBy,
        };

        /// <summary>Same state and replica count: a second record of it adds nothing.</summary>
        internal bool SameAs(UsageEvent other) => State == other.State && Replicas == other.Replicas;
    }

    /// <summary>Billed time and estimated spend of one endpoint over a period.</summary>
    public sealed class EndpointCost
    {
        public string Namespace { get; internal set; } = "";
        public string Name { get; internal set; } = "";
        public DateTimeOffset Since { get; internal set; }
        public DateTimeOffset Until { get; internal set; }
        /// <summary>Replica-time billed in the period, as well as the history dates it.</summary>
        public TimeSpan BilledTime { get; internal set; }
        /// <summary>The least it can have been: each change the module only saw placed where it bills least.</summary>
        public TimeSpan BilledTimeLow { get; internal set; }
        /// <summary>The most it can have been; the meter is never above this (a change nobody saw excepted).</summary>
        public TimeSpan BilledTimeHigh { get; internal set; }
        public string? InstanceType { get; internal set; }
        public string? InstanceSize { get; internal set; }
        /// <summary>USD per replica-hour; null when neither the catalog nor the built-in list knows the instance.</summary>
        public decimal? PricePerHour { get; internal set; }
        /// <summary>"catalog" (live pricePerHour) or "built-in list price" (fallback).</summary>
        public string? PriceSource { get; internal set; }
        public decimal? EstimatedCost { get; internal set; }
        /// <summary>The bounds of the spend, from <see cref="BilledTimeLow"/> and <see cref="BilledTimeHigh"/> (rounded down and up).</summary>
        public decimal? CostLow { get; internal set; }
        public decimal? CostHigh { get; internal set; }
        /// <summary>Data-plane requests in the period, from the service's request-count metric; null where metrics did not answer.</summary>
        public long? Requests { get; internal set; }
        /// <summary>EstimatedCost per 1,000 of those requests; null without requests or a cost.</summary>
        public decimal? CostPer1000Requests { get; internal set; }
        /// <summary>The last observed state bills; the period runs to Until. False for an endpoint that is gone.</summary>
        public bool CurrentlyBilling { get; internal set; }
        /// <summary>Start of the current billed streak, when it is billing; null otherwise.</summary>
        public DateTimeOffset? BilledSince { get; internal set; }
        /// <summary>The latest the current streak can have begun (its first event's Latest): what the history proves.</summary>
        internal DateTimeOffset? BilledSinceLatest { get; set; }
        /// <summary>How the streak's start is known: "action", "sighting" or "updatedAt" (see <see cref="EndpointInfo.BilledSinceSource"/>).</summary>
        internal string? BilledSinceSource { get; set; }
        /// <summary>
        /// The endpoint no longer exists: the history recorded its deletion, or the namespace's listing read for this
        /// report no longer has it. Its spend is past spend; a new endpoint of the same name starts afresh.
        /// </summary>
        public bool Deleted { get; internal set; }
        /// <summary>Cold starts that began in the period (a resume or create, to running or what ended the boot), as Get-MertEndpointHistory -ColdStart lists them.</summary>
        public int ColdStarts { get; internal set; }
        /// <summary>The median boot time of the period's cold starts whose start and end are both known (the middle two averaged); null when none is.</summary>
        public TimeSpan? MedianBootTime { get; internal set; }
        /// <summary>"nvidia-a10g x1": the table's Instance column.</summary>
        public string Instance => InstanceType + " " + InstanceSize;
        public override string ToString() => $"{Namespace}/{Name}";
    }
}
