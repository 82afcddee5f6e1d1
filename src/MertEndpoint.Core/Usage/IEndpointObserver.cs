using System;
using System.Collections.Generic;

namespace MertEndpoint
{
    /// <summary>How an observation came about.</summary>
    public enum ObservationKind
    {
        /// <summary>A read (get or list): the state may have changed at any time since the last look.</summary>
        Read,
        /// <summary>The answer to an action this client sent (create, update, pause, resume, scale to zero): the change happened between sending and answering.</summary>
        Action,
        /// <summary>This client deleted the endpoint.</summary>
        Deleted,
    }

    /// <summary>What the control plane reported in one answer, with when the question was sent and answered.</summary>
    public sealed class EndpointObservation
    {
        internal EndpointObservation(string api, string ns, ObservationKind kind, IReadOnlyList<EndpointInfo> endpoints,
            string? deletedName, DateTimeOffset sentAt, DateTimeOffset receivedAt)
        {
            Api = api; Namespace = ns; Kind = kind; Endpoints = endpoints; DeletedName = deletedName;
            SentAt = sentAt; ReceivedAt = receivedAt;
        }

        /// <summary>The control-plane base, so an emulator's endpoints never mix with real ones.</summary>
        public string Api { get; }
        public string Namespace { get; }
        public ObservationKind Kind { get; }
        public IReadOnlyList<EndpointInfo> Endpoints { get; }
        /// <summary>This client deleted it (<see cref="ObservationKind.Deleted"/>), or a read found no such endpoint (a 404, <see cref="ObservationKind.Read"/>).</summary>
        public string? DeletedName { get; }
        public DateTimeOffset SentAt { get; }
        public DateTimeOffset ReceivedAt { get; }
        /// <summary>How far this machine's clock ran ahead of the control plane's at the time (its answers' Date); null when unknown.</summary>
        public TimeSpan? ClockAhead { get; internal set; }
        /// <summary>The answer lists every endpoint of the namespace (a listing): one the observer knew there and the answer does not have is gone.</summary>
        public bool Complete { get; internal set; }
    }

    /// <summary>
    /// Told about every answer of the control plane that carries endpoint states. Called on the caller's thread
    /// right after the answer was read: an implementation must return at once (queue slow work) and never throw.
    /// </summary>
    public interface IEndpointObserver
    {
        void Observe(EndpointObservation observation);
    }
}
