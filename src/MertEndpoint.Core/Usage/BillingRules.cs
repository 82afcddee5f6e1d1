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
        /// The service bills an endpoint while it is initializing, running or updating. An update boots a replica on the
        /// hardware as a start does (initializing bills), and the service does not say that it stops the meter meanwhile:
        /// counting it keeps the estimate's upper bound from falling under the bill, and the guard's streak unbroken.
        /// </summary>
        public static bool Bills(EndpointStatus status) =>
            status == EndpointStatus.Initializing || status == EndpointStatus.Running || status == EndpointStatus.Updating;

        /// <summary>The same rule on the service's own word for the state, as the usage history keeps it.</summary>
        public static bool Bills(string state) => Bills(Json.StatusOf(state));

        /// <summary>Replicas billed at once: every replica of a billed state, at least one (a reading of 0 while billing is the one starting up).</summary>
        public static int BilledReplicas(bool billed, int replicas) => billed ? Math.Max(1, replicas) : 0;

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
