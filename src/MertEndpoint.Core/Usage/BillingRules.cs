using System;

namespace MertEndpoint
{
    /// <summary>
    /// How the service bills, in one place: which states bill, at what rate, what a billed time costs, and when the
    /// service takes a scale-to-zero timeout (its own way to stop billing an idle endpoint). The usage ledger, the
    /// listings, the create and update bodies and the lifecycle all ask here. (The emulator keeps its own meter on
    /// purpose: it is a second, independent reading of the service.)
    /// </summary>
    internal static class BillingRules
    {
        /// <summary>
        /// The service may bill an endpoint while it is initializing, running or updating. An update boots a replica on the
        /// hardware as a start does (initializing bills), and the service does not say that it stops the meter meanwhile:
        /// counting it keeps the upper bound from falling under the bill, and the guard's streak unbroken. The estimate
        /// follows the service's own description (<see cref="Metered(EndpointStatus)"/>).
        /// </summary>
        public static bool Bills(EndpointStatus status) =>
            status == EndpointStatus.Initializing || status == EndpointStatus.Running || status == EndpointStatus.Updating;

        /// <summary>The same rule on the service's own word for the state, as the usage history keeps it.</summary>
        public static bool Bills(string state) => Bills(Json.StatusOf(state));

        /// <summary>
        /// What the service's meter counts by its own description: <c>initializing</c> and <c>running</c>, per replica. The
        /// estimate and the lower bound count these; the upper bound, the streak and "currently billing" count
        /// <see cref="Bills(EndpointStatus)"/> (an update too), so a meter that bills an update stays under <c>CostHigh</c>.
        /// </summary>
        public static bool Metered(EndpointStatus status) => status == EndpointStatus.Initializing || status == EndpointStatus.Running;

        /// <summary>The same rule on the service's own word for the state, as the usage history keeps it.</summary>
        public static bool Metered(string state) => Metered(Json.StatusOf(state));

        /// <summary>Replicas billed at once: every replica of a billed state, at least one (a reading of 0 while billing is the one starting up).</summary>
        public static int BilledReplicas(bool billed, int replicas) => billed ? Math.Max(1, replicas) : 0;

        /// <summary>
        /// Replica-time: a span billed at a number of replicas, checked: held at <see cref="TimeSpan.MaxValue"/> (about
        /// 29,000 years) rather than wrapped round to a negative time, however many replicas a reading claims.
        /// </summary>
        public static TimeSpan ReplicaTime(TimeSpan span, long replicas) =>
            span <= TimeSpan.Zero || replicas <= 0 ? TimeSpan.Zero
            : span.Ticks > long.MaxValue / replicas ? TimeSpan.MaxValue : TimeSpan.FromTicks(span.Ticks * replicas);

        /// <summary>The sum of two replica-times, held at <see cref="TimeSpan.MaxValue"/> as <see cref="ReplicaTime"/>.</summary>
        public static TimeSpan Sum(TimeSpan a, TimeSpan b) => b > TimeSpan.Zero && a > TimeSpan.MaxValue - b ? TimeSpan.MaxValue : a + b;

        /// <summary>
        /// What the upper bound of a cost counts a started unit of billed time as: a service that bills "per minute" may
        /// count a minute begun as a whole one, so <c>CostHigh</c> rounds each billed interval of each replica (from its
        /// start to its stop) up to whole minutes. <c>CostLow</c> and the estimate are exact time.
        /// </summary>
        public static readonly TimeSpan HighGranularity = TimeSpan.FromMinutes(1);

        /// <summary>A span rounded up to a whole number of <paramref name="unit"/> (held at <see cref="TimeSpan.MaxValue"/>); a zero unit leaves it exact.</summary>
        public static TimeSpan RoundUp(TimeSpan span, TimeSpan unit)
        {
            if (unit <= TimeSpan.Zero || span <= TimeSpan.Zero) return span < TimeSpan.Zero ? TimeSpan.Zero : span;
            long units = span.Ticks / unit.Ticks + (span.Ticks % unit.Ticks != 0 ? 1 : 0);
            return units > TimeSpan.MaxValue.Ticks / unit.Ticks ? TimeSpan.MaxValue : TimeSpan.FromTicks(units * unit.Ticks);
        }

        /// <summary>What replica-time costs at a price per replica-hour.</summary>
        public static decimal Cost(decimal pricePerHour, TimeSpan replicaTime) => pricePerHour * (decimal)replicaTime.TotalHours;

        /// <summary>The service takes a scale-to-zero timeout only with min replicas 0 (it refuses one otherwise).</summary>
        public static bool TakesScaleToZeroTimeout(int minReplica) => minReplica == 0;

        /// <summary>The timeout to send with these min replicas: the one given when the service takes one, else none.</summary>
        public static int? ScaleToZeroTimeoutFor(int minReplica, int? timeout) => TakesScaleToZeroTimeout(minReplica) ? timeout : null;

        /// <summary>True when the service itself stops billing this endpoint after an idle time (min 0 and a timeout set).</summary>
        public static bool StopsWhenIdle(EndpointInfo e) => TakesScaleToZeroTimeout(e.MinReplica) && e.ScaleToZeroTimeout != null;
    }
}
