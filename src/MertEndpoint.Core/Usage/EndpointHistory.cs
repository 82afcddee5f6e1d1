using System;
using System.Collections.Generic;
using System.Linq;

namespace MertEndpoint
{
    /// <summary>One change of an endpoint's state (or replica count), as the usage history knows it.</summary>
    public sealed class EndpointStateChange
    {
        public string Namespace { get; internal set; } = "";
        public string Name { get; internal set; } = "";
        /// <summary>"namespace/name": what the table groups by.</summary>
        public string Endpoint => Namespace + "/" + Name;
        /// <summary>When it happened, as well as the history knows it (between <see cref="Earliest"/> and <see cref="Latest"/>).</summary>
        public DateTimeOffset Time { get; internal set; }
        /// <summary>The earliest it can have happened: the last sighting of the previous state (less the read lag), or when this module acted.</summary>
        public DateTimeOffset Earliest { get; internal set; }
        /// <summary>The latest it can have happened: the first sighting of the new state, or the answer to this module's action.</summary>
        public DateTimeOffset Latest { get; internal set; }
        /// <summary>The service's word for the state: running, paused, initializing, ...; "deleted" once the endpoint is gone.</summary>
        public string State { get; internal set; } = "";
        /// <summary>The state before this change; null for the endpoint's first record.</summary>
        public string? PreviousState { get; internal set; }
        public int Replicas { get; internal set; }
        /// <summary>How it is known (see <see cref="HistorySource"/>): action, updatedAt, sighting, estimate or unknown.</summary>
        public string Source { get; internal set; } = "";
        public string? InstanceType { get; internal set; }
        public string? InstanceSize { get; internal set; }
        public override string ToString() => $"{Endpoint} {State}";
    }

    /// <summary>
    /// One cold start: from the resume or create (the change out of paused, scaled to zero, failed or nothing) to running,
    /// or to the state that ended the boot before it got there.
    /// </summary>
    public sealed class ColdStart
    {
        public string Namespace { get; internal set; } = "";
        public string Name { get; internal set; } = "";
        /// <summary>"namespace/name": what the table groups by.</summary>
        public string Endpoint => Namespace + "/" + Name;
        /// <summary>The state it started from (paused, scaledToZero, failed); null for a create (no record before it, or a deleted one).</summary>
        public string? PreviousState { get; internal set; }
        /// <summary>When the resume or create happened; null when the history saw it go straight to running (the boot was not timed).</summary>
        public DateTimeOffset? Started { get; internal set; }
        public DateTimeOffset? StartedEarliest { get; internal set; }
        public DateTimeOffset? StartedLatest { get; internal set; }
        /// <summary>How the start is known (as <see cref="EndpointStateChange.Source"/>): "action" when this module resumed or created it.</summary>
        public string Source { get; internal set; } = "";
        /// <summary>When the boot ended (running, or <see cref="Outcome"/>); null while it still boots as far as the history knows.</summary>
        public DateTimeOffset? Ended { get; internal set; }
        public DateTimeOffset? EndedEarliest { get; internal set; }
        public DateTimeOffset? EndedLatest { get; internal set; }
        /// <summary>"running" for a boot that came up; the state that ended it otherwise (failed, paused, ...); null while it boots.</summary>
        public string? Outcome { get; internal set; }
        /// <summary>From <see cref="Started"/> to <see cref="Ended"/>; null when either is unknown.</summary>
        public TimeSpan? BootTime { get; internal set; }
        /// <summary>The least the boot can have taken (the latest start to the earliest end, never below zero); null while it boots.</summary>
        public TimeSpan? BootTimeLow { get; internal set; }
        /// <summary>The most the boot can have taken (the earliest start to the latest end); null while it boots.</summary>
        public TimeSpan? BootTimeHigh { get; internal set; }
        /// <summary>Replicas when the boot ended (at its start while it boots).</summary>
        public int Replicas { get; internal set; }
        public string? InstanceType { get; internal set; }
        public string? InstanceSize { get; internal set; }
        public override string ToString() => $"{Endpoint} cold start";
    }

    /// <summary>How a change is known, as <see cref="EndpointStateChange.Source"/> and <see cref="ColdStart.Source"/> say it.</summary>
    public static class HistorySource
    {
        /// <summary>This module caused it (its start, stop, scale to zero or delete), dated by the answer to its request.</summary>
        public const string Action = "action";
        /// <summary>Seen by a read, and dated back by the service's updatedAt stamp (which fell inside the window it can have happened in).</summary>
        public const string UpdatedAt = "updatedAt";
        /// <summary>Seen by a read, and dated when it was first seen.</summary>
        public const string Sighting = "sighting";
        /// <summary>
        /// Placed inside its window by the estimate: a replica count that changed while the state held (by the new replica's
        /// start, else the middle of its window), or a change seen by a read that nothing stamped (the middle of its window).
        /// </summary>
        public const string Estimate = "estimate";
        /// <summary>A record of a version 1 history, which did not say.</summary>
        public const string Unknown = "unknown";
    }

    /// <summary>
    /// The usage history as typed objects: each endpoint's state changes in order, and its cold starts with their boot
    /// times. Reads records only (no file, no clock, no request): the caller reads the history and picks the endpoints.
    /// </summary>
    public static class EndpointHistory
    {
        /// <summary>
        /// Every state change of every endpoint in <paramref name="events"/> whose time falls between <paramref name="since"/>
        /// and <paramref name="until"/>, by namespace, name and time. A record that repeats the previous state and
        /// replica count of its endpoint adds nothing and is left out.
        /// </summary>
        public static IReadOnlyList<EndpointStateChange> Changes(IEnumerable<UsageEvent> events, DateTimeOffset since, DateTimeOffset until) =>
            PerEndpoint(events).SelectMany(c => c).Where(c => c.Time >= since && c.Time <= until).ToList();

        /// <summary>Every cold start of every endpoint in <paramref name="events"/> that began between since and until (see <see cref="ColdStarts(IReadOnlyList{EndpointStateChange})"/>).</summary>
        public static IReadOnlyList<ColdStart> ColdStarts(IEnumerable<UsageEvent> events, DateTimeOffset since, DateTimeOffset until) =>
            PerEndpoint(events).SelectMany(ColdStarts).Where(s => (s.Started ?? s.Ended) is DateTimeOffset at && at >= since && at <= until).ToList();

        /// <summary>
        /// Each endpoint's changes (all of them: a cold start needs the state before the period), endpoints by namespace and
        /// name. Each is dated as the cost report's estimate dates it (<see cref="CostModel.Estimated"/>, every refinement),
        /// so a boot time and the spend beside it agree; the bounds are the records'.
        /// </summary>
        private static IEnumerable<List<EndpointStateChange>> PerEndpoint(IEnumerable<UsageEvent> events) =>
            events.GroupBy(e => e.Key, StringComparer.Ordinal)
                .OrderBy(g => g.First().Namespace, StringComparer.Ordinal).ThenBy(g => g.First().Name, StringComparer.Ordinal)
                .Select(g => Changes(CostModel.Estimated(g.OrderBy(e => e.Time).ToList(), EstimateStrategies.All)));

        /// <summary>The changes of one endpoint's records, in time order.</summary>
        internal static List<EndpointStateChange> Changes(IReadOnlyList<UsageEvent> records)
        {
            var changes = new List<EndpointStateChange>(records.Count);
            UsageEvent? previous = null;
            foreach (UsageEvent e in records)
            {
                if (previous != null && previous.SameAs(e)) continue;
                changes.Add(new EndpointStateChange
                {
                    Namespace = e.Namespace, Name = e.Name, Time = e.Time, Earliest = Earliest(e), Latest = Latest(e), State = e.State,
                    PreviousState = previous?.State, Replicas = e.Replicas, Source = SourceOf(e, previous),
                    InstanceType = e.InstanceType, InstanceSize = e.InstanceSize,
                });
                previous = e;
            }
            return changes;
        }

        // The bounds as the cost report reads them: a bound missing or on the wrong side of the time is the time itself.
        private static DateTimeOffset Earliest(UsageEvent e) => e.Earliest is DateTimeOffset lo && lo < e.Time ? lo : e.Time;
        private static DateTimeOffset Latest(UsageEvent e) => e.Latest is DateTimeOffset hi && hi > e.Time ? hi : e.Time;

        /// <summary>
        /// How a record is known. The file says who wrote it ("action" for this module's own change and "deleted" for its
        /// delete, "read" for a sighting). A sighting dated before it was seen says how (its writer's <c>by</c>): by the
        /// service's updatedAt, or placed in its window (a replica count alone); one written with its facts that says
        /// nothing was dated where it was seen, and is an estimate when the cost model placed it earlier (the middle of its
        /// window). An older record is told by its state: a replica count alone was placed, another change stamped.
        /// </summary>
        private static string SourceOf(UsageEvent e, UsageEvent? previous)
        {
            if (e.Source == "action" || e.Source == "deleted") return HistorySource.Action;
            if (e.Source != "read") return HistorySource.Unknown;
            if (!(e.Latest is DateTimeOffset seen && seen > e.Time)) return HistorySource.Sighting;
            if (e.DatedBy == UsageEvent.ByStamp) return HistorySource.UpdatedAt;
            if (e.DatedBy == UsageEvent.ByMidpoint || e.SentAt != null) return HistorySource.Estimate;
            return previous != null && previous.State == e.State ? HistorySource.Estimate : HistorySource.UpdatedAt;
        }

        /// <summary>States an endpoint runs no replica in: a change out of one of them (or a first record) into a booting state is a cold start.</summary>
        private static bool Down(string? state) => state == null || state == "paused" || state == "scaledToZero" || state == "failed" || state == "deleted";

        /// <summary>States of a boot on its way to running.</summary>
        private static bool Booting(string state) => state == "pending" || state == "initializing" || state == "updating";

        /// <summary>
        /// The cold starts in one endpoint's changes: each change out of a state that runs nothing (paused, scaled to zero,
        /// failed, deleted, or no record before it) into pending or initializing starts one, which ends at the next change
        /// that is not a booting state: running (Outcome "running"), or whatever stopped it first. A change straight from
        /// such a state to running (nobody saw it boot; not an endpoint's first record, which was running before the
        /// history began) is a cold start whose start is unknown: no Started, no BootTime, and bounds of 0 to its window.
        /// </summary>
        internal static List<ColdStart> ColdStarts(IReadOnlyList<EndpointStateChange> changes)
        {
            var starts = new List<ColdStart>();
            for (int i = 0; i < changes.Count; i++)
            {
                EndpointStateChange change = changes[i];
                if (!Down(change.PreviousState) || Down(change.State)) continue;
                if (change.State == "running")
                {
                    if (change.PreviousState == null) continue;
                    starts.Add(new ColdStart
                    {
                        Namespace = change.Namespace, Name = change.Name, PreviousState = change.PreviousState, Source = change.Source,
                        Ended = change.Time, EndedEarliest = change.Earliest, EndedLatest = change.Latest, Outcome = change.State,
                        BootTimeLow = TimeSpan.Zero, BootTimeHigh = change.Latest - change.Earliest,
                        Replicas = change.Replicas, InstanceType = change.InstanceType, InstanceSize = change.InstanceSize,
                    });
                    continue;
                }
                if (change.State != "pending" && change.State != "initializing") continue;
                var start = new ColdStart
                {
                    Namespace = change.Namespace, Name = change.Name, PreviousState = change.PreviousState == "deleted" ? null : change.PreviousState,
                    Source = change.Source, Started = change.Time, StartedEarliest = change.Earliest, StartedLatest = change.Latest,
                    Replicas = change.Replicas, InstanceType = change.InstanceType, InstanceSize = change.InstanceSize,
                };
                int j = i + 1;
                while (j < changes.Count && Booting(changes[j].State)) j++;
                if (j < changes.Count)
                {
                    EndpointStateChange end = changes[j];
                    start.Ended = end.Time;
                    start.EndedEarliest = end.Earliest;
                    start.EndedLatest = end.Latest;
                    start.Outcome = end.State;
                    start.BootTime = end.Time - change.Time;
                    start.BootTimeLow = end.Earliest > change.Latest ? end.Earliest - change.Latest : TimeSpan.Zero;
                    start.BootTimeHigh = end.Latest - change.Earliest;
                    start.Replicas = end.Replicas;
                    start.InstanceType = end.InstanceType ?? start.InstanceType;
                    start.InstanceSize = end.InstanceSize ?? start.InstanceSize;
                }
                starts.Add(start);
                i = j - 1; // the boot's own changes start nothing
            }
            return starts;
        }
    }
}
