using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>What became of one pause paid on a process's way out.</summary>
    public sealed class OwedPauseOutcome
    {
        internal OwedPauseOutcome(EndpointId id, bool confirmed, string line)
        {
            Id = id;
            Confirmed = confirmed;
            Line = line;
        }

        public EndpointId Id { get; }
        /// <summary>A read (or the pause's own answer) showed it paused, scaled to zero or gone.</summary>
        public bool Confirmed { get; }
        /// <summary>One sentence for stderr, naming the endpoint and what to do when it may still bill.</summary>
        public string Line { get; }
    }

    /// <summary>
    /// The pauses this process owes: every command that holds an endpoint between a resume (or create) and handing
    /// control back registers one here, and removes it when it has paid it or handed the endpoint over. A process told to
    /// end (SIGTERM, SIGHUP, a SIGINT without a console, the console closing) pays them all through
    /// <see cref="PayAll"/>: each sent once, at once, in parallel, and read back if time allows. Explicit process-wide
    /// state, as signal handling needs; nothing in the request path reads it.
    /// </summary>
    public static class OwedPauses
    {
        private static readonly object Gate = new object();
        private static readonly Dictionary<long, Entry> Owed = new Dictionary<long, Entry>();
        private static long _next;

        private sealed class Entry
        {
            public Entry(EndpointId id, Func<CancellationToken, Task<EndpointInfo?>> pause, Func<CancellationToken, Task<EndpointInfo?>> read)
            {
                Id = id;
                Pause = pause;
                Read = read;
            }

            public EndpointId Id { get; }
            public Func<CancellationToken, Task<EndpointInfo?>> Pause { get; }
            public Func<CancellationToken, Task<EndpointInfo?>> Read { get; }
        }

        /// <summary>How many pauses are owed now (one per registration; the same endpoint may be held twice).</summary>
        public static int Count
        {
            get { lock (Gate) return Owed.Count; }
        }

        /// <summary>
        /// Registers a pause owed for <paramref name="id"/>: <paramref name="pause"/> sends it once (null when the endpoint
        /// no longer exists); <paramref name="read"/> reads the endpoint back (null when gone). Dispose to take it back.
        /// </summary>
        public static IDisposable Register(EndpointId id, Func<CancellationToken, Task<EndpointInfo?>> pause, Func<CancellationToken, Task<EndpointInfo?>> read)
        {
            if (id == null) throw new ArgumentNullException(nameof(id));
            long key;
            lock (Gate)
            {
                key = ++_next;
                Owed[key] = new Entry(id, pause ?? throw new ArgumentNullException(nameof(pause)), read ?? throw new ArgumentNullException(nameof(read)));
            }
            return new OnDispose(() => { lock (Gate) Owed.Remove(key); });
        }

        /// <summary>Owes the pause of <paramref name="id"/> through <paramref name="client"/> (pause, or scale to zero).</summary>
        public static IDisposable Register(EndpointClient client, EndpointId id, bool scaleToZero = false)
        {
            if (client == null) throw new ArgumentNullException(nameof(client));
            string ns = id.Namespace ?? throw new ArgumentException("The endpoint's namespace is needed.", nameof(id));
            string name = id.Name ?? throw new ArgumentException("The endpoint's name is needed.", nameof(id));
            // Once each, at once: a process told to end has no time for retries or a Retry-After.
            client = client.For(null, null, client.Settings.Policies.OwedPauseOnSignal);
            return Register(id,
                async ct =>
                {
                    try { return scaleToZero ? await client.ScaleToZeroAsync(ns, name, ct).ConfigureAwait(false) : await client.PauseAsync(ns, name, ct).ConfigureAwait(false); }
                    catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound) { return null; }
                },
                async ct =>
                {
                    try { return await client.GetAsync(ns, name, ct).ConfigureAwait(false); }
                    catch (EndpointException ex) when (ex.Kind == EndpointErrorKind.EndpointNotFound) { return null; }
                });
        }

        /// <summary>
        /// Pays every owed pause once, at once, in parallel, within <paramref name="budget"/> (a process told to end has
        /// a few seconds: Windows kills a closed console's process after about 5 s, docker stop after 10 s), reads each
        /// back while time is left, and returns one outcome per endpoint. <paramref name="why"/> names the ending
        /// ("SIGTERM"). Each endpoint is paid once however many commands held it. Never throws.
        /// </summary>
        public static IReadOnlyList<OwedPauseOutcome> PayAll(TimeSpan budget, string why)
        {
            List<Entry> owed;
            lock (Gate)
            {
                owed = Owed.Values.GroupBy(e => e.Id).Select(g => g.First()).ToList();
                Owed.Clear();
            }
            if (owed.Count == 0) return Array.Empty<OwedPauseOutcome>();
            using var bound = new CancellationTokenSource(budget);
            var paying = owed.Select(e => Task.Run(() => PayOneAsync(e, why, bound.Token))).ToArray();
            try { Task.WaitAll(paying, budget + TimeSpan.FromMilliseconds(500)); }
            catch (AggregateException) { /* each task reports its own outcome */ }
            return paying.Select((t, i) => t.Status == TaskStatus.RanToCompletion ? t.Result
                : new OwedPauseOutcome(owed[i].Id, false, Errors.SignalPauseUnknown(owed[i].Id, why))).ToList();
        }

        private static async Task<OwedPauseOutcome> PayOneAsync(Entry e, string why, CancellationToken ct)
        {
            EndpointInfo? answer;
            try
            {
                answer = await e.Pause(ct).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                return new OwedPauseOutcome(e.Id, false, Errors.SignalPauseFailed(e.Id, why, ex));
            }
            if (answer == null) return new OwedPauseOutcome(e.Id, true, Errors.SignalPauseGone(e.Id, why));
            // The pause's answer is trusted only when it shows the change; otherwise a read must say so.
            if (answer.Name.Length > 0 && ReadinessWaiter.IsStopped(answer.Status))
                return new OwedPauseOutcome(e.Id, true, Errors.SignalPaused(e.Id, why, answer.StatusText, readBack: false));
            try
            {
                EndpointInfo? now = await e.Read(ct).ConfigureAwait(false);
                if (now == null) return new OwedPauseOutcome(e.Id, true, Errors.SignalPauseGone(e.Id, why));
                if (ReadinessWaiter.IsStopped(now.Status))
                    return new OwedPauseOutcome(e.Id, true, Errors.SignalPaused(e.Id, why, now.StatusText, readBack: true));
                return new OwedPauseOutcome(e.Id, false, Errors.SignalPauseUnconfirmed(e.Id, why, now.StatusText));
            }
            catch (Exception ex)
            {
                return new OwedPauseOutcome(e.Id, false, Errors.SignalPauseFailed(e.Id, why, ex));
            }
        }
    }
}
