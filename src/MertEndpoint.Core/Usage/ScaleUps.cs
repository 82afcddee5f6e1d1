using System;
using System.Collections.Generic;
using System.Linq;

namespace MertEndpoint
{
    /// <summary>
    /// Dating the scale-ups a read only saw, on reading the history (never on writing it): a pure function of an
    /// endpoint's records, the start times its replica list gives now, and how far the service's clock runs ahead of
    /// ours. The records keep what the read knew (the middle of the window between the sightings); a cost report that
    /// reads the replica list places each rise at its new replicas' starts, for that report, and narrows its window to
    /// the one from that start to the sighting. Nothing is placed outside the window the reads gave.
    /// </summary>
    internal static class ScaleUps
    {
        /// <summary>
        /// A record that shows more replicas than the one before, in the same billed state, seen by a read: the service
        /// scaled it, nobody stamped it, and it can have happened anywhere between Earliest and Latest.
        /// </summary>
        internal static bool IsSeenRise(UsageEvent before, UsageEvent e) =>
            e.Source == "read" && before.IsBilled && before.State == e.State && e.Replicas > before.Replicas
            && e.Earliest is DateTimeOffset lo && e.Latest is DateTimeOffset hi && lo <= hi;

        /// <summary>
        /// True when a replica list read now can date one of the endpoint's rises ending at or after
        /// <paramref name="since"/>: the rise belongs to the current run of two or more replicas (a replica that has
        /// since stopped is no longer listed), and the endpoint still bills with more than one replica.
        /// </summary>
        /// <param name="list">The endpoint's records, oldest first.</param>
        internal static bool WorthAsking(IReadOnlyList<UsageEvent> list, DateTimeOffset since)
        {
            // A replica list recorded after the last change already says what a new one would.
            if (list.Count > 0 && list[list.Count - 1].IsReplicaList) return false;
            var changes = list.Where(e => !e.IsReplicaList).ToList();
            if (changes.Count < 2 || !changes[changes.Count - 1].IsBilled || changes[changes.Count - 1].Replicas < 2) return false;
            // Back from the last change while the count never fell: every rise in that run may still be running.
            for (int i = changes.Count - 1; i >= 1; i--)
            {
                UsageEvent e = changes[i], before = changes[i - 1];
                if (!e.IsBilled || e.Replicas < 2 || e.Replicas < before.Replicas) return false;
                if (IsSeenRise(before, e)) return e.Latest >= since;
            }
            return false;
        }

        /// <summary>
        /// One endpoint's records (oldest first) as a reader counts them: each replica list recorded among them (see
        /// <see cref="UsageEvent.IsReplicaList"/>) applied to the changes before it (<see cref="Dated"/>, its starts already
        /// on the writer's clock), and left out. Without one, the list itself.
        /// </summary>
        internal static List<UsageEvent> Applied(List<UsageEvent> list)
        {
            if (!list.Exists(e => e.IsReplicaList)) return list;
            var changes = new List<UsageEvent>(list.Count);
            foreach (UsageEvent e in list)
            {
                if (!e.IsReplicaList) changes.Add(e);
                else if (e.ReplicaStarts is { Count: > 0 } starts) changes = Dated(changes, starts, TimeSpan.Zero, e.StartsSpread);
            }
            return changes;
        }

        /// <summary>
        /// <paramref name="list"/> (one endpoint's records, oldest first) with each seen rise whose window holds exactly
        /// as many of <paramref name="starts"/> (the service's clock) as the count rose by replaced by one record per new
        /// replica, dated at its start on our clock. Bounds rest on the reading that a replica bills from its start and
        /// not before: from that start, to the precision of the two clocks (<paramref name="spread"/>), to the sighting
        /// that showed it. A rise whose window holds more or fewer starts (a replica that started and stopped unseen, a
        /// list that lags), or a start at or after the endpoint's next record, keeps its record. The records given are never changed; a new list is returned.
        /// </summary>
        internal static List<UsageEvent> Dated(IReadOnlyList<UsageEvent> list, IReadOnlyList<DateTimeOffset> starts, TimeSpan ahead, TimeSpan spread)
        {
            var dated = new List<UsageEvent>(list.Count + 2);
            var used = new HashSet<DateTimeOffset>();
            for (int i = 0; i < list.Count; i++)
            {
                UsageEvent e = list[i];
                List<UsageEvent>? steps = i > 0 && IsSeenRise(list[i - 1], e)
                    ? Rise(list[i - 1], e, i + 1 < list.Count ? list[i + 1].Time : (DateTimeOffset?)null, starts, used, ahead, spread)
                    : null;
                if (steps == null) dated.Add(e);
                else dated.AddRange(steps);
            }
            return dated;
        }

        private static List<UsageEvent>? Rise(UsageEvent before, UsageEvent e, DateTimeOffset? next, IReadOnlyList<DateTimeOffset> starts,
            HashSet<DateTimeOffset> used, TimeSpan ahead, TimeSpan spread)
        {
            DateTimeOffset from = e.Earliest!.Value, to = e.Latest!.Value;
            var inside = new List<(DateTimeOffset Start, DateTimeOffset At)>();
            foreach (DateTimeOffset start in starts)
            {
                if (used.Contains(start) || !UsageHistory.Plausible(start)) continue;
                // Our clock = the service's less its lead, which is known to within 'spread' either way.
                DateTimeOffset at = start - ahead;
                if (at + spread < from || at - spread > to) continue;
                inside.Add((start, at < from ? from : at > to ? to : at));
            }
            long rise = (long)e.Replicas - before.Replicas;
            // A start at or after the next record (one the service stamped inside this window) contradicts the records.
            if (inside.Count != rise || (next is DateTimeOffset n && inside.Any(x => x.At >= n))) return null;
            var events = new List<UsageEvent>(inside.Count);
            DateTimeOffset after = before.Time;
            foreach (var (start, at) in inside.OrderBy(x => x.At))
            {
                used.Add(start);
                UsageEvent step = e.WithReplicas(before.Replicas + events.Count + 1);
                DateTimeOffset time = at > after ? at : after.AddTicks(1);
                step.Time = time;
                DateTimeOffset lo = at - spread;
                step.Earliest = lo < from ? from : lo > time ? time : lo;
                step.Latest = to > time ? to : time;
                step.Source = e.Source;
                events.Add(step);
                after = time;
            }
            return events;
        }
    }
}
