using System;
using System.Collections.Generic;
using System.Linq;

namespace MertEndpoint
{
    /// <summary>
    /// The refinements of a cost's point estimate, each optional and tested alone (<c>CostModelTests</c>). Without any, a
    /// change this module did not cause is dated when it was first seen (the end of its window), and a scale-up where the
    /// read saw it. The bounds need only each change's window, the billed states and the rate: the stamps and the midpoint
    /// never move them; a replica's start, a fact the history kept, narrows its scale-up's window (without it the window
    /// is the sightings', wider and still true).
    /// </summary>
    [Flags]
    internal enum EstimateStrategies
    {
        None = 0,
        /// <summary>A change dated by the service's updatedAt, put on this machine's clock (as the record was written).</summary>
        ServiceStamps = 1,
        /// <summary>A change of the replica count alone, with nothing to date it, in the middle of its window (as written).</summary>
        Midpoint = 2,
        /// <summary>A scale-up placed at its new replicas' starts, from a replica list the history kept (<see cref="ScaleUps"/>).</summary>
        ReplicaStarts = 4,
        /// <summary>
        /// A change seen by a read that nothing placed (no stamp, no replica count alone), after the endpoint's first record:
        /// in the middle of its window, where it is as likely to have happened as anywhere, instead of at its sighting, which
        /// counts every stop late and every start late. Only the estimate: a streak's start is still where it was seen.
        /// </summary>
        SightingMidpoint = 8,
        All = ServiceStamps | Midpoint | ReplicaStarts | SightingMidpoint,
    }

    /// <summary>
    /// The cost model: a pure function of the history's records, the period and the billing rules (<see cref="BillingRules"/>)
    /// that returns each endpoint's billed time, its bounds and its billing streak. No file, no clock: the caller reads the
    /// records (<see cref="UsageService.BilledBetween"/>, a cost report) and prices the result.
    /// </summary>
    internal static class CostModel
    {
        /// <summary>
        /// One endpoint's records (in time order) with the estimate's refinements that <paramref name="strategies"/> leaves
        /// out taken back: a record one of them dated inside its window is dated at the window's end instead (when it was
        /// seen), in a copy, though never at or after the next record (so the order, and every other record, stay as they
        /// are). How a record was dated it says itself (<see cref="UsageEvent.DatedBy"/>); one from an older file is read the
        /// way <c>Get-MertEndpointHistory</c> reads it: a sighting dated before it was seen was dated by the service's stamp,
        /// or, for a replica count alone, placed in the middle of its window. An action is this module's own and keeps its time.
        /// With <see cref="EstimateStrategies.SightingMidpoint"/>, a change a read saw and nothing placed (a record written with
        /// its facts) moves to the middle between the last sighting of the state before (<c>prev</c>) and its own.
        /// </summary>
        /// <param name="first">When the endpoint's first record is dated (its tail's): that record's window may reach back to
        /// the endpoint's creation, and it is never moved to the middle of it. Null: the list's first.</param>
        internal static List<UsageEvent> Estimated(List<UsageEvent> list, EstimateStrategies strategies, DateTimeOffset? first = null)
        {
            DateTimeOffset firstAt = first ?? (list.Count > 0 ? list[0].Time : DateTimeOffset.MinValue);
            const EstimateStrategies dating = EstimateStrategies.ServiceStamps | EstimateStrategies.Midpoint;
            if ((strategies & dating) != dating || (strategies & EstimateStrategies.SightingMidpoint) != 0)
            {
                var dated = new List<UsageEvent>(list.Count);
                UsageEvent? previousChange = null;
                for (int i = 0; i < list.Count; i++)
                {
                    UsageEvent e = list[i];
                    UsageEvent r = e;
                    if (e.Source == "read" && !e.IsReplicaList && e.Latest is DateTimeOffset seen)
                    {
                        DateTimeOffset next = i + 1 < list.Count && list[i + 1].Time <= seen ? list[i + 1].Time.AddTicks(-1) : seen;
                        if (seen > e.Time)
                        {
                            // The record says how it was placed; an older one is told by its state (a replica count alone: the middle).
                            EstimateStrategies by = e.DatedBy == UsageEvent.ByStamp ? EstimateStrategies.ServiceStamps
                                : e.DatedBy == UsageEvent.ByMidpoint ? EstimateStrategies.Midpoint
                                : previousChange != null && previousChange.State == e.State ? EstimateStrategies.Midpoint
                                : EstimateStrategies.ServiceStamps;
                            if ((strategies & by) == 0 && next > e.Time) r = e.DatedAt(next);
                        }
                        // Only a record that says how it was dated (written with its facts, SentAt among them): in an
                        // older file a change dated where it was seen may have been the service's stamp there.
                        else if ((strategies & EstimateStrategies.SightingMidpoint) != 0 && e.Time > firstAt && e.SentAt != null
                                 && e.DatedBy == null && e.Earliest is DateTimeOffset from && from < seen)
                        {
                            // From the last sighting of the state before (the record's fact), as the writer places a
                            // replica count alone; the read lag below it widens the bounds, not the estimate's window.
                            DateTimeOffset before = e.PreviousSeen is DateTimeOffset p && p > from && p < seen ? p : from;
                            // Never before the record before it, as the writer counts its window (from the later of the two).
                            if (previousChange != null && previousChange.Time > before && previousChange.Time < seen) before = previousChange.Time;
                            DateTimeOffset after = dated.Count > 0 ? dated[dated.Count - 1].Time.AddTicks(1) : before;
                            DateTimeOffset middle = before + TimeSpan.FromTicks((seen - before).Ticks / 2);
                            DateTimeOffset at = middle > after ? middle : after;
                            if (at < e.Time) r = e.DatedAt(at);
                        }
                    }
                    dated.Add(r);
                    if (!e.IsReplicaList) previousChange = e;
                }
                list = dated;
            }
            return (strategies & EstimateStrategies.ReplicaStarts) != 0 ? ScaleUps.Applied(list) : list.Where(e => !e.IsReplicaList).ToList();
        }

        /// <summary>The current billing streak the tail records (its last record bills), with how its start is known; null when none.</summary>
        internal static BillingStreak? StreakOf(EndpointTail tail) =>
            tail.Last.IsBilled && tail.Streak is UsageEvent start
                ? new BillingStreak(start.Time, start.Latest ?? start.Time, SourceOf(start, tail.StreakIsFirst))
                : null;

        /// <param name="granularity">What the upper bound rounds each replica's billed interval up to; zero for exact time (tests of the windows alone).</param>
        /// <param name="tailOf">Each endpoint's tail over its whole history (by any of its records), when <paramref name="events"/>
        /// holds only its records from some point on: its streak and its first record come from there. Null: the events are all.</param>
        /// <param name="strategies">The refinements of the estimate to apply (<see cref="EstimateStrategies"/>); the bounds do not depend on them.</param>
        internal static IReadOnlyList<EndpointCost> Summarize(IEnumerable<UsageEvent> events, DateTimeOffset since, DateTimeOffset until, TimeSpan granularity,
            EstimateStrategies strategies = EstimateStrategies.All, Func<UsageEvent, EndpointTail?>? tailOf = null)
        {
            var costs = new List<EndpointCost>();
            foreach (var group in events.GroupBy(e => (e.Namespace, e.Name)))
            {
                List<UsageEvent> records = group.OrderBy(e => e.Time).ToList();
                if (records.Count == 0) continue;
                // The tail (the streak, the first record) from the records as written: the estimate's dating never moves them.
                EndpointTail tail = tailOf?.Invoke(records[0]) ?? EndpointTail.Of(records)!;
                List<UsageEvent> list = Estimated(records, strategies, tail.First);
                if (list.Count == 0) continue;
                var billed = TimeSpan.Zero;
                for (var i = 0; i < list.Count; i++)
                {
                    var e = list[i];
                    if (!e.IsMetered) continue; // the estimate: what the service says it meters
                    var end = i + 1 < list.Count ? list[i + 1].Time : until;
                    var from = e.Time < since ? since : e.Time;
                    var to = end > until ? until : end;
                    if (to > from) billed = BillingRules.Sum(billed, BillingRules.ReplicaTime(to - from, BillingRules.BilledReplicas(true, e.Replicas)));
                }
                if (tail.First > until) continue; // it did not exist yet in the period
                (TimeSpan low, TimeSpan high) = Bounds(list, since, until, granularity); // the windows alone: no strategy moves them
                var lastEvent = list[list.Count - 1];
                BillingStreak? streak = StreakOf(tail);
                costs.Add(new EndpointCost
                {
                    Namespace = group.Key.Namespace, Name = group.Key.Name, Since = since, Until = until, BilledTime = billed,
                    BilledTimeLow = low < billed ? low : billed, BilledTimeHigh = high > billed ? high : billed,
                    InstanceType = lastEvent.InstanceType ?? list.LastOrDefault(e => e.InstanceType != null)?.InstanceType,
                    InstanceSize = lastEvent.InstanceSize ?? list.LastOrDefault(e => e.InstanceSize != null)?.InstanceSize,
                    CurrentlyBilling = lastEvent.IsBilled,
                    BilledSince = streak?.Since,
                    BilledSinceLatest = streak?.Latest,
                    BilledSinceSource = streak?.Source,
                    Deleted = lastEvent.State == "deleted",
                });
            }
            return costs;
        }

        /// <summary>
        /// How the start of a streak is known: "action" (this module's own start), "sighting" (seen, within the window
        /// since the last sighting of another state), or "updatedAt" (the endpoint's first record, seen billing, dated back by the
        /// service's updatedAt stamp alone: a suggestion, not a proof; the proof is when it was first seen).
        /// </summary>
        private static string SourceOf(UsageEvent start, bool firstRecord) =>
            start.Source == "action" ? "action"
            : (firstRecord || start.Earliest == null) && start.Latest is DateTimeOffset seen && seen - start.Time > StampSuggests ? "updatedAt"
            : "sighting";

        /// <summary>How far before its first sighting a stamp must date a streak before it counts as only suggested by it.</summary>
        private static readonly TimeSpan StampSuggests = TimeSpan.FromSeconds(5);

        /// <summary>
        /// The least and the most replica-time the endpoint can have billed, given when each change can have happened:
        /// between the last sighting of the previous state (Earliest) and the first sighting of the new one (Latest).
        /// Each boundary is placed where it makes the total smallest (low) or largest (high): a change that lowers the
        /// billed rate (a pause) as early or as late as it can have happened, a change that raises it the other way.
        /// The most also counts every started <paramref name="granularity"/> of each replica's billed interval whole
        /// (see <see cref="BillingRules.HighGranularity"/>); the least is exact time. The least counts only the states the
        /// service says it meters, the most every state that may bill (an update too: <see cref="BillingRules"/>).
        /// </summary>
        private static (TimeSpan Low, TimeSpan High) Bounds(List<UsageEvent> list, DateTimeOffset since, DateTimeOffset until, TimeSpan granularity)
        {
            static int Rate(UsageEvent e, bool high) => BillingRules.BilledReplicas(high ? e.IsBilled : e.IsMetered, e.Replicas);

            // The billed stretches, each at one rate, with every boundary placed for the low or the high reading, in the period.
            List<(DateTimeOffset Start, DateTimeOffset End, int Rate)> Stretches(bool high)
            {
                var stretches = new List<(DateTimeOffset, DateTimeOffset, int)>(list.Count);
                for (var i = 0; i < list.Count; i++)
                {
                    int rate = Rate(list[i], high);
                    if (rate == 0) continue;
                    DateTimeOffset start = Boundary(list, i, high), end = i + 1 < list.Count ? Boundary(list, i + 1, high) : until;
                    if (start < since) start = since;
                    if (end > until) end = until;
                    if (end > start) stretches.Add((start, end, rate));
                }
                return stretches;
            }

            static DateTimeOffset Boundary(List<UsageEvent> list, int i, bool high)
            {
                UsageEvent e = list[i];
                DateTimeOffset earliest = e.Earliest is DateTimeOffset lo && lo < e.Time ? lo : e.Time;
                DateTimeOffset latest = e.Latest is DateTimeOffset hi && hi > e.Time ? hi : e.Time;
                bool falls = (i == 0 ? 0 : Rate(list[i - 1], high)) > Rate(e, high);
                return high == falls ? latest : earliest;
            }

            var low = TimeSpan.Zero;
            foreach (var (start, end, rate) in Stretches(high: false)) low = BillingRules.Sum(low, BillingRules.ReplicaTime(end - start, rate));
            return (low, PerReplica(Stretches(high: true), granularity));
        }

        /// <summary>
        /// Replica-time with each replica's billed intervals rounded up to <paramref name="granularity"/>: replica k bills
        /// wherever the rate is at least k, from its start to its stop, an update or a change of the other replicas in
        /// between not stopping it. Every replica between two rates that occur has the same intervals, so this counts per
        /// rate, not per replica (a reading of millions of replicas costs no more).
        /// </summary>
        private static TimeSpan PerReplica(List<(DateTimeOffset Start, DateTimeOffset End, int Rate)> stretches, TimeSpan granularity)
        {
            var total = TimeSpan.Zero;
            int below = 0;
            foreach (int level in stretches.Select(s => s.Rate).Distinct().OrderBy(r => r))
            {
                var time = TimeSpan.Zero;
                DateTimeOffset? from = null, to = null;
                foreach (var (start, end, _) in stretches.Where(s => s.Rate >= level).OrderBy(s => s.Start))
                {
                    if (to is DateTimeOffset t && start <= t)
                    {
                        if (end > t) to = end;
                        continue;
                    }
                    if (from != null) time = BillingRules.Sum(time, BillingRules.RoundUp(to!.Value - from.Value, granularity));
                    (from, to) = (start, end);
                }
                if (from != null) time = BillingRules.Sum(time, BillingRules.RoundUp(to!.Value - from.Value, granularity));
                total = BillingRules.Sum(total, BillingRules.ReplicaTime(time, (long)level - below));
                below = level;
            }
            return total;
        }
    }
}
