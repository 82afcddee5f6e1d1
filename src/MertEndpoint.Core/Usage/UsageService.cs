using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>
    /// Usage and prices: records what clients observed in the usage history (through <see cref="ObserverFor"/>, which
    /// the caller plugs into <see cref="EndpointClientOptions.Observer"/>), and turns the history and the price catalog
    /// into billed time and spend. Writes are queued and batched per answer, one after another, off the caller's
    /// thread; <see cref="FlushAsync"/> waits for them. One instance per history file serves every client.
    /// </summary>
    public sealed class UsageService
    {
        private readonly object _gate = new();
        private Task _writes = Task.CompletedTask;
        // Observations the history could not record (its lock held too long, a read-only disk): written first by the next
        // write. Only the write chain touches it, one write at a time.
        private List<UsageHistory.Observed> _unwritten = new();
        private const int MaxUnwritten = 10000;
        // Observations queued and not yet in the file, the spool or _unwritten (under _gate): what a command that reads its
        // streaks without waiting (WithBillingAsync) must know it does not change.
        private readonly HashSet<UsageHistory.Observed> _queued = new();
        // Cancelled by HandOff: the writes queued before it that have not taken the lock go to the spool instead.
        private CancellationTokenSource _handOff = new();
        // Control planes whose replica list refused us: not asked again by this process.
        private readonly ConcurrentDictionary<string, bool> _noReplicaList = new(StringComparer.Ordinal);
        private static readonly TimeSpan ReplicaListPatience = TimeSpan.FromSeconds(10);
        private const int ReplicaListsInFlight = 8;

        /// <summary>On the system clock. (This overload keeps TimeProvider out of callers that load Core in another context.)</summary>
        public UsageService(UsageHistory history) : this(history, TimeProvider.System) { }

        public UsageService(UsageHistory history, TimeProvider? clock)
        {
            History = history ?? throw new ArgumentNullException(nameof(history));
            Clock = new ServiceTime(clock ?? TimeProvider.System, this);
            History.Clock = Clock;
            Prices = new PriceCatalog(Clock);
        }

        public UsageHistory History { get; }
        public PriceCatalog Prices { get; }

        /// <summary>
        /// The history's clock: this machine's, less <see cref="Correction"/>. Every record is dated on it, and every "now"
        /// the history compares records with is read from it, so records of processes whose clocks disagree still line up.
        /// </summary>
        internal TimeProvider Clock { get; }

        // This machine's clock less the control plane's, in ticks, when that is more than clocks may differ by (see
        // UsageHistory.FutureTolerance); zero while they agree or before any answer said.
        private long _correctionTicks;

        /// <summary>
        /// How far this machine's clock runs ahead of the control plane's (negative: behind) when that is more than
        /// <see cref="UsageHistory.FutureTolerance"/>, from its answers' Date; zero otherwise. A writer whose clock is that
        /// far off dates its records on the service's clock (its own less this), not on its own: a record dated 10
        /// minutes ahead would otherwise sit 10 minutes late in every other reader's history once that time has come.
        /// </summary>
        /// <remarks>
        /// Each answer's "received less its Date" is at least the true offset (a Date is cut to the second and a server
        /// may keep it for another, so it is never later than the service's time), and so is an action's "received less
        /// the updatedAt it stamped", to the millisecond; the smallest seen is kept. Records are then dated no later than
        /// the truth, early by at most that estimate's excess: a request's round trip once this process has acted, under
        /// 2 s for one that only reads.
        /// Never later matters more than exact: a record dated after a change another process saw would make that
        /// process's later answer look older than the file, and it would be dropped.
        /// </remarks>
        internal TimeSpan Correction => TimeSpan.FromTicks(Interlocked.Read(ref _correctionTicks));

        // A new estimate this far from the kept one is a clock that was set (NTP stepped it), not a better estimate.
        private static readonly TimeSpan ClockStep = TimeSpan.FromSeconds(5);

        private void NoteClock(TimeSpan? ahead)
        {
            if (ahead is not TimeSpan a) return;
            long kept = Interlocked.Read(ref _correctionTicks);
            long next = a.Duration() <= UsageHistory.FutureTolerance ? 0
                : kept != 0 && Math.Abs(a.Ticks - kept) < ClockStep.Ticks ? Math.Min(kept, a.Ticks)
                : a.Ticks;
            Interlocked.Exchange(ref _correctionTicks, next);
        }

        /// <summary><paramref name="t"/> moved by <paramref name="by"/>, held at the ends of the range (an open period's MinValue stays open).</summary>
        private static DateTimeOffset Shifted(DateTimeOffset t, TimeSpan by) =>
            by > TimeSpan.Zero && t > DateTimeOffset.MaxValue - by ? DateTimeOffset.MaxValue
            : by < TimeSpan.Zero && t < DateTimeOffset.MinValue - by ? DateTimeOffset.MinValue
            : t + by;

        /// <summary>A request's send and answer times (this machine's clock) on the history's.</summary>
        private (DateTimeOffset Sent, DateTimeOffset Received, TimeSpan By) OnHistoryClock(DateTimeOffset sent, DateTimeOffset received)
        {
            TimeSpan c = Correction;
            return (sent - c, received - c, c);
        }

        /// <summary>This machine's clock less <see cref="Correction"/> (only "now" is read from it).</summary>
        private sealed class ServiceTime : TimeProvider
        {
            private readonly TimeProvider _local;
            private readonly UsageService _service;

            public ServiceTime(TimeProvider local, UsageService service)
            {
                _local = local;
                _service = service;
            }

            public override DateTimeOffset GetUtcNow() => _local.GetUtcNow() - _service.Correction;
            public override TimeZoneInfo LocalTimeZone => _local.LocalTimeZone;
            public override long TimestampFrequency => _local.TimestampFrequency;
            public override long GetTimestamp() => _local.GetTimestamp();
            public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
                _local.CreateTimer(callback, state, dueTime, period);
        }

        /// <summary>An observer for one caller: a failed write is a <see cref="Reporter.Warning"/> to <paramref name="reporter"/> (any thread).</summary>
        /// <param name="inBackground">True for a caller that does not wait for its writes (<c>Get-MertEndpoint</c>): each
        /// runs on a pool thread, so the answer that caused it goes back at once. False: it runs in the answer's own time
        /// when the lock is free (the caller waits for it anyway, and needs no pool thread to be free for it).</param>
        public IEndpointObserver ObserverFor(Reporter? reporter = null, bool inBackground = false) => new Recorder(this, reporter ?? Reporter.None, inBackground);

        /// <summary>Waits until every observation queued so far is in the file (or has failed and been reported).</summary>
        public Task FlushAsync(CancellationToken ct = default)
        {
            Task pending;
            lock (_gate) pending = _writes;
            return pending.IsCompleted || !ct.CanBeCanceled ? pending : Task.WhenAny(pending, Task.Delay(Timeout.Infinite, ct)).Unwrap();
        }

        private void Enqueue(IReadOnlyList<UsageHistory.Observed> batch, Reporter reporter, Listing? listing = null, bool inBackground = false)
        {
            lock (_gate)
            {
                _queued.UnionWith(batch);
                // In the background, on a pool thread: the answer that caused it goes back to its caller at once (a write
                // reads the file's new lines and may compact it), for a command that does not wait for it.
                Task previous = _writes;
                CancellationToken handedOff = _handOff.Token;
                _writes = inBackground
                    ? Task.Run(() => WriteAfter(previous, batch, reporter, listing, handedOff))
                    : WriteAfter(previous, batch, reporter, listing, handedOff);
            }
        }

        /// <summary>
        /// For a command that does not wait for its writes (<c>Get-MertEndpoint</c>): what it queued goes on being written in
        /// the background while the process lives; if the process ends first (pwsh exits after the command), each write
        /// that has not taken the history's lock by then is put in the spool for the next writer (see <see cref="HandOff"/>),
        /// and one that holds it is finished. Never waits.
        /// </summary>
        public void LeaveToProcessExit()
        {
            Task pending;
            lock (_gate)
            {
                if (_writes.IsCompleted) return;
                pending = _leftToExit = _writes;
                LeftToExit[this] = true;
            }
            if (Interlocked.Exchange(ref _exitHooked, 1) == 0)
                AppDomain.CurrentDomain.ProcessExit += (_, _) => HandOffAll(ExitBound);
            // Done in time: nothing is left to the exit (unless a later Get left more meanwhile; a command that waits for its
            // writes leaves them to nobody).
            pending.ContinueWith(_ =>
            {
                lock (_gate)
                {
                    if (_leftToExit != pending) return;
                    _leftToExit = null;
                    LeftToExit.TryRemove(this, out bool _);
                }
            }, TaskScheduler.Default);
        }

        // Write problems that came after the command whose readings they were had ended (Get-MertEndpoint does not wait):
        // the next command of the session says them.
        private readonly ConcurrentDictionary<string, bool> _untold = new(StringComparer.Ordinal);

        /// <summary>
        /// Why this session's last history write failed; null when it succeeded (or none ran yet). A command that does not
        /// wait for its own write (<c>Get-MertEndpoint</c>) says this one: the history's place it writes to is the same.
        /// </summary>
        public string? LastWriteProblem { get => Volatile.Read(ref _lastWriteProblem); private set => Volatile.Write(ref _lastWriteProblem, value); }

        private string? _lastWriteProblem;

        /// <summary>Keeps a write problem no command is left to tell (its command had ended), for the next one.</summary>
        public void KeepUntold(string problem) => _untold.TryAdd(problem, true);

        /// <summary>The write problems kept by <see cref="KeepUntold"/>, each once.</summary>
        public IReadOnlyList<string> TakeUntold()
        {
            var told = new List<string>();
            foreach (string problem in _untold.Keys)
                if (_untold.TryRemove(problem, out bool _)) told.Add(problem);
            return told;
        }

        // The writes (the chain's end) the last LeaveToProcessExit left to the exit, until they are done (under _gate).
        private Task? _leftToExit;

        // The services whose writes a command left to go on without it; one handler on the process's exit for all of them.
        private static readonly ConcurrentDictionary<UsageService, bool> LeftToExit = new();
        private static int _exitHooked;
        private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(10);

        /// <summary>
        /// Hands over every write a command left to go on without it (see <see cref="HandOff"/>) and waits for them, up to
        /// <paramref name="bound"/>: on the process's exit, and on a signal that ends it (which skips the exit handlers).
        /// </summary>
        public static void HandOffAll(TimeSpan bound)
        {
            try
            {
                Task[] pending = LeftToExit.Keys.Select(s => s.HandOff()).ToArray();
                if (pending.Length > 0) Task.WaitAll(pending, bound);
            }
            catch (Exception) { /* the process is ending: nothing left to tell */ }
        }

        /// <summary>
        /// Writes what waits in the spool (readings a process handed over as it ended, or could not write), for a command
        /// about to show the history without writing anything of its own (<c>Get-MertEndpointHistory</c>). Nothing when the
        /// spool is empty (false); a failure goes to <paramref name="reporter"/>.
        /// </summary>
        public async Task<bool> WriteSpooledAsync(Reporter reporter, CancellationToken ct = default)
        {
            if (!History.HasSpooled()) return false;
            Enqueue(Array.Empty<UsageHistory.Observed>(), reporter, inBackground: true);
            await FlushAsync(ct).ConfigureAwait(false);
            return true;
        }

        /// <summary>
        /// Stops waiting for the history's lock: every write queued so far that has not taken it goes to the spool (on disk,
        /// beside the history; the next write in any process writes it first, dated as if written at once), one that holds
        /// it finishes. Returns when they have (milliseconds, unless a write holding the lock reads a large file).
        /// </summary>
        internal Task HandOff()
        {
            CancellationTokenSource handOff;
            Task pending;
            lock (_gate)
            {
                handOff = _handOff;
                _handOff = new CancellationTokenSource();
                pending = _writes;
            }
            handOff.Cancel();
            return pending;
        }

        /// <summary>
        /// What is not yet in the file: the observations queued (this command's own reading, say) and the endpoints the
        /// spool holds readings of, or null for "anything" when readings wait in memory or the spool cannot be read. Taken
        /// before the file is read, so an observation written meanwhile is in what that read finds; the queue before the
        /// spool, so one that leaves the queue for the spool meanwhile is found there.
        /// </summary>
        private (List<UsageHistory.Observed> Queued, HashSet<string> Spooled)? NotYetWritten()
        {
            List<UsageHistory.Observed> queued;
            lock (_gate)
            {
                if (_unwritten.Count > 0) return null;
                queued = _queued.ToList();
            }
            HashSet<string>? spooled = History.SpooledKeys();
            return spooled == null ? null : (queued, spooled);
        }

        /// <summary>
        /// Of these endpoints, those whose tails in the file may not be what the writes not yet done would make them: an
        /// observation not yet written that does not repeat the tail's last state; all of them when anything may be
        /// pending. A repeated state only moves its last sighting, so for the rest the file already gives the answer a
        /// write would.
        /// </summary>
        private static HashSet<string> PendingChanges(IReadOnlyCollection<string> keys, Dictionary<string, EndpointTail> tails,
            (List<UsageHistory.Observed> Queued, HashSet<string> Spooled)? notYetWritten)
        {
            var changed = new HashSet<string>(StringComparer.Ordinal);
            if (notYetWritten is not { } pending)
            {
                changed.UnionWith(keys);
                return changed;
            }
            // A spooled reading may be a change (a process that ended before it could write it): its endpoint waits.
            changed.UnionWith(keys.Where(pending.Spooled.Contains));
            var wanted = new HashSet<string>(keys, StringComparer.Ordinal);
            foreach (UsageHistory.Observed o in pending.Queued)
            {
                string key = o.Event.Key;
                if (wanted.Contains(key) && (o.Event.State == "deleted" || !tails.TryGetValue(key, out EndpointTail? tail) || !tail.Last.SameAs(o.Event)))
                    changed.Add(key);
            }
            return changed;
        }

        /// <summary>How long a read waits for the writes that change a streak it shows (else that streak is the service's updatedAt).</summary>
        internal TimeSpan StreakPatience { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>A namespace's listing as it was answered: the names it had, when it was asked and answered (on the history's clock, moved by <see cref="By"/>).</summary>
        private sealed class Listing
        {
            public Listing(string api, string ns, HashSet<string> names, DateTimeOffset asked, DateTimeOffset answered, TimeSpan by) =>
                (Api, Namespace, Names, Asked, Answered, By) = (api, ns, names, asked, answered, by);

            public string Api { get; }
            public string Namespace { get; }
            public HashSet<string> Names { get; }
            public DateTimeOffset Asked { get; }
            public DateTimeOffset Answered { get; }
            public TimeSpan By { get; }
        }

        private async Task WriteAfter(Task previous, IReadOnlyList<UsageHistory.Observed> batch, Reporter reporter, Listing? listing, CancellationToken handedOff)
        {
            try
            {
                await Write(previous, batch, reporter, listing, handedOff).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate) foreach (UsageHistory.Observed o in batch) _queued.Remove(o);
            }
        }

        private async Task Write(Task previous, IReadOnlyList<UsageHistory.Observed> batch, Reporter reporter, Listing? listing, CancellationToken handedOff)
        {
            await previous.ConfigureAwait(false);
            if (listing != null) batch = batch.Concat(Gone(listing)).ToList();
            // What earlier writes could not record goes first, in the order it was seen (writes run one after another).
            IReadOnlyList<UsageHistory.Observed> all = _unwritten.Count == 0 ? batch : _unwritten.Concat(batch).ToList();
            string? failure;
            try
            {
                handedOff.ThrowIfCancellationRequested();
                failure = await History.RecordAsync(all, handedOff).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (handedOff.IsCancellationRequested)
            {
                // Handed off (the process ends): the spool keeps it for the next writer, on purpose, so nothing is said.
                if (History.TrySpool(all)) _unwritten.Clear();
                else KeepUnwritten(all, reporter);
                return;
            }
            LastWriteProblem = failure;
            if (failure == null)
            {
                _unwritten.Clear();
                return;
            }
            // Never dropped quietly: put in the history's spool for whichever write comes next, in any process (this one
            // may end first); kept in memory for this session's next write when the disk refuses the spool too. And said.
            if (History.TrySpool(all))
            {
                _unwritten.Clear();
                reporter.Warning(failure);
                return;
            }
            KeepUnwritten(all, reporter);
            reporter.Warning(failure);
        }

        /// <summary>Keeps readings no file took for this session's next write, the newest <see cref="MaxUnwritten"/> of them.</summary>
        private void KeepUnwritten(IReadOnlyList<UsageHistory.Observed> all, Reporter reporter)
        {
            _unwritten = all.ToList();
            int dropped = _unwritten.Count - MaxUnwritten;
            if (dropped > 0)
            {
                _unwritten.RemoveRange(0, dropped);
                reporter.Warning(Errors.HistoryKeptTooMany(History.Path, dropped));
            }
        }

        /// <summary>
        /// Billed time and estimated spend per endpoint of a namespace between since and until. The namespace is listed
        /// first (through <paramref name="client"/>, whose observer should be this service's), so the current state of
        /// every endpoint is in the history before it is read. Prices come from the live catalog.
        /// </summary>
        public async Task<IReadOnlyList<EndpointCost>> GetCostAsync(EndpointClient client, string ns, DateTimeOffset sinceHere, DateTimeOffset untilHere,
            CancellationToken ct = default)
        {
            // The listing is the service's word on what exists: one the history still has but the listing has not was
            // deleted and bills no more, which the history's writer records from it (see Gone) before this report reads.
            IReadOnlyList<EndpointInfo> listed = await client.ListAsync(ns, ct).ConfigureAwait(false);
            await FlushAsync(ct).ConfigureAwait(false);
            // The period on the history's clock (this machine's, less a correction when it is far off the service's).
            TimeSpan c = Correction;
            DateTimeOffset since = Shifted(sinceHere, -c), until = Shifted(untilHere, -c);
            var live = new HashSet<string>(listed.Select(e => e.Name), StringComparer.Ordinal);
            // A scale-up only reads saw, whose replicas still run, is placed by their starts: read now, kept as a fact.
            var (events, _) = History.ReadSince(since);
            var byName = events.Where(e => e.Api == client.ApiBase && e.Namespace == ns).GroupBy(e => e.Name, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            List<string> worth = listed.Where(e => e.TargetReplica >= 2 && byName.TryGetValue(e.Name, out List<UsageEvent>? list) && ScaleUps.WorthAsking(list, since))
                .Select(e => e.Name).Distinct(StringComparer.Ordinal).ToList();
            if (await ReadReplicaListsAsync(client, ns, worth, "to place the scale-ups only reads saw", ct).ConfigureAwait(false) > 0)
                await FlushAsync(ct).ConfigureAwait(false);
            var costs = BilledBetween(client.ApiBase, n => n == ns, since, until);
            foreach (EndpointCost gone in costs.Where(c => !live.Contains(c.Name)))
            {
                gone.Deleted = true;
                gone.CurrentlyBilling = false;
                gone.BilledSince = null;
            }
            // Boot times beside the spend (what the original plan measured): from the same read, served from its cache.
            var (now, _) = History.ReadSince(since);
            var boots = EndpointHistory.ColdStarts(now.Where(e => e.Api == client.ApiBase && e.Namespace == ns), since, until)
                .ToLookup(s => s.Name, StringComparer.Ordinal);
            foreach (EndpointCost cost in costs)
            {
                cost.ColdStarts = boots[cost.Name].Count();
                cost.MedianBootTime = Median(boots[cost.Name].Select(s => s.BootTime).OfType<TimeSpan>().ToList());
            }
            IReadOnlyList<HardwareInfo> catalog = await Prices.GetAsync(client, ns, ct).ConfigureAwait(false);
            foreach (EndpointCost cost in costs)
            {
                (cost.PricePerHour, cost.PriceSource) = PriceCatalog.PriceOf(catalog, cost.InstanceType, cost.InstanceSize);
                if (cost.PricePerHour is decimal price)
                {
                    cost.EstimatedCost = Math.Round(BillingRules.Cost(price, cost.BilledTime), 4);
                    cost.CostLow = Math.Floor(BillingRules.Cost(price, cost.BilledTimeLow) * 10000) / 10000;
                    cost.CostHigh = Math.Ceiling(BillingRules.Cost(price, cost.BilledTimeHigh) * 10000) / 10000;
                }
                // Back on this machine's clock, as the caller asked.
                (cost.Since, cost.Until) = (sinceHere, untilHere);
                cost.BilledSince += c;
                cost.BilledSinceLatest += c;
            }
            return costs;
        }

        /// <summary>The middle value (the middle two averaged); null for none.</summary>
        internal static TimeSpan? Median(List<TimeSpan> values)
        {
            if (values.Count == 0) return null;
            values.Sort();
            int mid = values.Count / 2;
            return values.Count % 2 == 1 ? values[mid] : TimeSpan.FromTicks(values[mid - 1].Ticks / 2 + values[mid].Ticks / 2);
        }

        /// <summary>
        /// Reads the replica list of each of <paramref name="names"/> in <paramref name="ns"/> (one request each, a few at a
        /// time, each within <see cref="ReplicaListPatience"/>, all cancelled with <paramref name="ct"/>) and queues what
        /// each showed as a fact in the history (<see cref="UsageEvent.IsReplicaList"/>): every reader from then on places
        /// the scale-ups that reads only saw at the new replicas' starts (<see cref="ScaleUps"/>). The request is the
        /// caller's, on its own time, never the writer's. Said in verbose through the client's reporter. A list the control
        /// plane refuses (401, 403, 405, 501) is not asked again by this process; one that fails leaves the rise where the
        /// read placed it, inside the same bounds. Returns how many lists were read.
        /// </summary>
        private async Task<int> ReadReplicaListsAsync(EndpointClient client, string ns, IReadOnlyList<string> names, string why, CancellationToken ct)
        {
            if (names.Count == 0 || _noReplicaList.ContainsKey(client.ApiBase)) return 0;
            int read = 0;
            using var slots = new SemaphoreSlim(ReplicaListsInFlight);
            await Task.WhenAll(names.Select(async name =>
            {
                await slots.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    if (_noReplicaList.ContainsKey(client.ApiBase)) return;
                    using var patience = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    patience.CancelAfter(ReplicaListPatience);
                    DateTimeOffset sentHere = client.TimeProvider.GetUtcNow();
                    IReadOnlyList<EndpointReplica> replicas = await client.GetReplicasAsync(ns, name, patience.Token).ConfigureAwait(false);
                    NoteClock(client.ClockAhead);
                    var (sent, received, by) = OnHistoryClock(sentHere, client.TimeProvider.GetUtcNow());
                    Interlocked.Increment(ref read);
                    var list = new UsageHistory.Observed(new UsageEvent { Api = client.ApiBase, Namespace = ns, Name = name, State = "running", ClockOffset = by },
                        ObservationKind.Read, DateTimeOffset.MinValue, sent, received)
                    {
                        ReplicaStarts = replicas.Where(r => r.StartedAt != null).Select(r => r.StartedAt!.Value).ToList(),
                    };
                    Enqueue(new[] { list }, client.Reporter);
                }
                catch (EndpointException ex) when (ex.StatusCode is 401 or 403 or 405 or 501)
                {
                    _noReplicaList[client.ApiBase] = true;
                    client.Reporter.Detail($"The control plane refused the replica list of '{name}' ({ex.StatusCode}): scale-ups stay where the reads placed them.");
                }
                catch (Exception ex) when ((ex is EndpointException || ex is OperationCanceledException) && !ct.IsCancellationRequested)
                {
                    // placed where the read placed it
                }
                finally
                {
                    slots.Release();
                }
            })).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            client.Reporter.Detail($"Read {read} of {names.Count} replica list(s) in '{ns}' {why}.");
            return read;
        }

        /// <summary>
        /// The endpoints the history holds in a listed namespace that the listing no longer has: deleted (from the web page,
        /// say) and billing no more. Each a deletion seen by that listing, so its billing ends in the history for good,
        /// between its last sighting and the listing (the history waits 10 s after an endpoint's last record: a listing
        /// right after a create may not show it yet). Read from the file's tails, never from the service.
        /// </summary>
        private IEnumerable<UsageHistory.Observed> Gone(Listing listing)
        {
            IReadOnlyList<EndpointTail> tails;
            try
            {
                tails = History.TailsIn(listing.Api, listing.Namespace);
            }
            catch (EndpointException)
            {
                return Array.Empty<UsageHistory.Observed>(); // the write that follows says what is wrong with the file
            }
            return tails.Select(t => t.Last)
                .Where(last => last.State != "deleted" && !listing.Names.Contains(last.Name))
                .Select(last => new UsageHistory.Observed(new UsageEvent { Api = listing.Api, Namespace = listing.Namespace, Name = last.Name, State = "deleted", ClockOffset = listing.By },
                    ObservationKind.Read, DateTimeOffset.MinValue, listing.Asked, listing.Answered))
                .ToList();
        }

        /// <summary>
        /// Copies of <paramref name="endpoints"/> carrying PricePerHour (the catalog, kept an hour) and the billing streak:
        /// BilledSince (the usage history; without a recorded streak, the service's last state change), how that is known
        /// (BilledSinceSource) and the latest the streak can have begun (BilledSinceLatest, what the evidence proves).
        /// </summary>
        /// <param name="fetchPrices">False: no catalog request; prices from a catalog already at hand, else the list price.</param>
        /// <param name="historyProblems">Told (a warning) when the history cannot be read, the streaks then falling back to
        /// updatedAt; by default the client's reporter.</param>
        /// <param name="proveLongerThan">The guard's threshold: an endpoint that bills and whose proven streak is not longer
        /// than this has its replica list read (one request each, a few at a time), and the oldest replica's start, when it
        /// is earlier, proves the streak that long (an update stamps updatedAt and leaves a running replica's start). Null:
        /// no request beyond the ones given.</param>
        public async Task<IReadOnlyList<EndpointInfo>> WithBillingAsync(EndpointClient client, IReadOnlyList<EndpointInfo> endpoints,
            CancellationToken ct = default, bool fetchPrices = true, Reporter? historyProblems = null, TimeSpan? proveLongerThan = null)
        {
            if (endpoints.Count == 0) return endpoints;
            DateTimeOffset now = Clock.GetUtcNow();
            // Only the endpoints that bill need their streak, and each only its tail in the history (the index and what was
            // appended after it, not the whole file: bench/history-scale.ps1). This command's own readings are being written
            // meanwhile: when they (and everything else not yet in the file) repeat what the tails show, the file already
            // gives the answer and nothing waits for the writes; a change waits for them, so its streak is the file's.
            var billing = endpoints.Where(e => BillingRules.Bills(e.Status)).Select(e => UsageEvent.KeyOf(client.ApiBase, e.Namespace, e.Name)).ToList();
            Dictionary<string, EndpointTail> tails;
            try
            {
                var notYetWritten = billing.Count == 0 ? null : NotYetWritten();
                tails = billing.Count == 0 ? new Dictionary<string, EndpointTail>() : History.TailsOf(billing);
                HashSet<string> changed = billing.Count == 0 ? new HashSet<string>() : PendingChanges(billing, tails, notYetWritten);
                if (changed.Count > 0)
                {
                    // A change (an endpoint seen starting, say): its streak is the write's, which takes milliseconds unless
                    // another process holds the history (a compaction); not waited for longer than StreakPatience.
                    using var patience = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    patience.CancelAfter(StreakPatience);
                    try
                    {
                        await FlushAsync(patience.Token).ConfigureAwait(false);
                        tails = History.TailsOf(billing);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        foreach (string key in changed) tails.Remove(key);
                    }
                }
            }
            catch (EndpointException ex)
            {
                (historyProblems ?? client.Reporter).Warning(ex.Message);
                tails = new Dictionary<string, EndpointTail>();
            }
            var catalogs = new Dictionary<string, IReadOnlyList<HardwareInfo>>(StringComparer.Ordinal);
            var result = new List<EndpointInfo>(endpoints.Count);
            foreach (EndpointInfo endpoint in endpoints)
            {
                if (!catalogs.TryGetValue(endpoint.Namespace, out var catalog))
                    catalogs[endpoint.Namespace] = catalog = fetchPrices
                        ? await Prices.GetAsync(client, endpoint.Namespace, ct).ConfigureAwait(false)
                        : Prices.Cached(client, endpoint.Namespace);
                var (price, source) = PriceCatalog.PriceOf(catalog, endpoint.InstanceType, endpoint.InstanceSize);
                var streak = new BillingStreak();
                if (BillingRules.Bills(endpoint.Status))
                    streak = tails.TryGetValue(UsageEvent.KeyOf(client.ApiBase, endpoint.Namespace, endpoint.Name), out EndpointTail? tail)
                        && tail.First <= now && CostModel.StreakOf(tail) is BillingStreak known
                        ? known
                        : new BillingStreak(endpoint.UpdatedAt, null, "updatedAt");
                result.Add(endpoint.WithBilling(price, source, streak));
            }
            await PlaceRisesAsync(client, endpoints, tails, now, ct).ConfigureAwait(false);
            if (proveLongerThan is TimeSpan threshold) await ProveStreaksAsync(client, result, now - threshold, ct).ConfigureAwait(false);
            // The streaks (the history's and the service's stamps) on this machine's clock, which BilledFor counts from.
            TimeSpan c = Correction;
            if (c != TimeSpan.Zero)
            {
                for (int i = 0; i < result.Count; i++)
                {
                    EndpointInfo e = result[i];
                    if (e.BilledSince != null)
                        result[i] = e.WithBilling(e.PricePerHour, e.PriceSource, new BillingStreak(e.BilledSince + c, e.BilledSinceLatest + c, e.BilledSinceSource));
                }
            }
            return result;
        }

        // The scale-ups whose replica list this process has read: (endpoint, rise) keys.
        private readonly ConcurrentDictionary<string, bool> _risesListed = new(StringComparer.Ordinal);

        /// <summary>
        /// A scale-up that a read just saw (the endpoint's last change, seen within <see cref="UsageHistory.StaleReadGrace"/>)
        /// and nobody placed: its new replicas' starts are knowable only while they run, so their list is read now, by the
        /// command that saw it, once per rise in this process (<see cref="ReadReplicaListsAsync"/>).
        /// </summary>
        private async Task PlaceRisesAsync(EndpointClient client, IReadOnlyList<EndpointInfo> endpoints, Dictionary<string, EndpointTail> tails,
            DateTimeOffset now, CancellationToken ct)
        {
            var rising = endpoints
                .Where(e => e.TargetReplica >= 2 && BillingRules.Bills(e.Status)
                    && tails.TryGetValue(UsageEvent.KeyOf(client.ApiBase, e.Namespace, e.Name), out EndpointTail? tail)
                    && tail.Previous is UsageEvent before && ScaleUps.IsSeenRise(before, tail.Last)
                    && tail.Last.Latest >= now - UsageHistory.StaleReadGrace
                    && _risesListed.TryAdd(tail.Last.Key + "|" + tail.Last.Time.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture), true))
                .GroupBy(e => e.Namespace, StringComparer.Ordinal);
            foreach (var ns in rising)
                await ReadReplicaListsAsync(client, ns.Key, ns.Select(e => e.Name).Distinct(StringComparer.Ordinal).ToList(),
                    "to place the scale-ups this command saw", ct).ConfigureAwait(false);
        }

        /// <summary>
        /// For each endpoint that bills and whose streak is not proven to have begun before <paramref name="before"/>: the
        /// oldest start in its replica list, when earlier, proves it (replicas are replaced on an update, but a replica
        /// running bills from its start). A list that fails proves nothing (said in verbose output).
        /// </summary>
        private async Task ProveStreaksAsync(EndpointClient client, List<EndpointInfo> endpoints, DateTimeOffset before, CancellationToken ct)
        {
            var unproven = Enumerable.Range(0, endpoints.Count)
                .Where(i => endpoints[i].BilledSince != null && !(endpoints[i].BilledSinceLatest < before)).ToList();
            if (unproven.Count == 0) return;
            using var slots = new SemaphoreSlim(ReplicaListsInFlight);
            await Task.WhenAll(unproven.Select(async i =>
            {
                EndpointInfo endpoint = endpoints[i];
                await slots.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    IReadOnlyList<EndpointReplica> replicas = await client.GetReplicasAsync(endpoint.Namespace, endpoint.Name, ct).ConfigureAwait(false);
                    DateTimeOffset? oldest = replicas.Where(r => r.StartedAt != null && r.FailedAt == null).Select(r => r.StartedAt).Min();
                    if (oldest is DateTimeOffset started && !(endpoint.BilledSinceLatest <= started))
                    {
                        DateTimeOffset since = endpoint.BilledSince is DateTimeOffset s && s < started ? s : started;
                        string source = since == started ? "replica" : endpoint.BilledSinceSource ?? "replica";
                        endpoints[i] = endpoint.WithBilling(endpoint.PricePerHour, endpoint.PriceSource, new BillingStreak(since, started, source));
                    }
                }
                catch (EndpointException ex)
                {
                    client.Reporter.Detail(Errors.StreakUnproven(endpoint.Id, ex));
                }
                finally
                {
                    slots.Release();
                }
            })).ConfigureAwait(false);
        }

        /// <summary>
        /// The data-plane URL the endpoint had the last time the history saw one (the service keeps it across pause and
        /// resume), so a waiter can probe it before the control plane reports it again; null when none is known.
        /// </summary>
        public string? LastKnownUrl(string api, string ns, string name)
        {
            try
            {
                // A new endpoint of the same name has a new URL: none is known past a deletion.
                return Tail(api, ns, name)?.Url;
            }
            catch (EndpointException)
            {
                return null; // only a hint
            }
        }

        /// <summary>True when the last recorded change is this module's own pause (or scale to zero), within <paramref name="within"/>.</summary>
        public bool StoppedByUsWithin(string api, string ns, string name, TimeSpan within)
        {
            try
            {
                UsageEvent? last = Tail(api, ns, name)?.Last;
                return last?.Source == "action" && last.State is "paused" or "scaledToZero" && Recent(last, within);
            }
            catch (EndpointException)
            {
                return false;
            }
        }

        /// <summary>True when this module's own action (create, resume, ...) is the last recorded change and is recent.</summary>
        public bool ChangedByUsWithin(string api, string ns, string name, TimeSpan within)
        {
            try
            {
                UsageEvent? last = Tail(api, ns, name)?.Last;
                return last?.Source == "action" && Recent(last, within);
            }
            catch (EndpointException)
            {
                return false;
            }
        }

        private EndpointTail? Tail(string api, string ns, string name)
        {
            string key = UsageEvent.KeyOf(api, ns, name);
            return History.TailsOf(new[] { key }).TryGetValue(key, out EndpointTail? tail) ? tail : null;
        }

        /// <summary>Recorded less than <paramref name="within"/> ago, and not after now: a record dated ahead of this clock (see <see cref="UsageHistory.FutureTolerance"/>) is no recent action of ours.</summary>
        private bool Recent(UsageEvent e, TimeSpan within)
        {
            TimeSpan age = Clock.GetUtcNow() - e.Time;
            return age < within && age >= -UsageHistory.FutureTolerance;
        }

        /// <summary>
        /// Billed time per endpoint of the control plane <paramref name="api"/> in the namespaces <paramref name="inNamespace"/>
        /// takes, from the history: the records from the last checkpoint before the period on (see
        /// <see cref="UsageHistory.ReadSince"/>), each endpoint's streak from its tail. No price.
        /// </summary>
        public IReadOnlyList<EndpointCost> BilledBetween(string api, Func<string, bool> inNamespace, DateTimeOffset since, DateTimeOffset until)
        {
            var (events, tails) = History.ReadSince(since);
            return Summarize(events.Where(e => e.Api == api && inNamespace(e.Namespace)), since, until, BillingRules.HighGranularity, TailFrom(tails));
        }

        private static Func<UsageEvent, EndpointTail?> TailFrom(Dictionary<string, EndpointTail> tails) =>
            e => tails.TryGetValue(e.Key, out EndpointTail? tail) ? tail : null;

        /// <summary>
        /// Billed replica-time per endpoint between since and until: each billed event counts until the next event of
        /// the same endpoint, and the last one until 'until' (it is still billing as far as anyone saw).
        /// </summary>
        public static IReadOnlyList<EndpointCost> Summarize(IEnumerable<UsageEvent> events, DateTimeOffset since, DateTimeOffset until) =>
            Summarize(events, since, until, BillingRules.HighGranularity);

        /// <param name="granularity">What the upper bound rounds each replica's billed interval up to; zero for exact time (tests of the windows alone).</param>
        /// <param name="tailOf">Each endpoint's tail over its whole history (see <see cref="CostModel.Summarize"/>).</param>
        internal static IReadOnlyList<EndpointCost> Summarize(IEnumerable<UsageEvent> events, DateTimeOffset since, DateTimeOffset until, TimeSpan granularity,
            Func<UsageEvent, EndpointTail?>? tailOf = null) =>
            CostModel.Summarize(events, since, until, granularity, EstimateStrategies.All, tailOf);

        /// <summary>
        /// The most this machine's clock can run ahead of the service's, from one answer: its Date, and for an action the
        /// updatedAt it stamped (no later than the service's time when it answered, and a stamp to the millisecond, where
        /// Date is cut to the second). Null when the answer carried no Date.
        /// </summary>
        private static TimeSpan? AheadAtMost(EndpointObservation o)
        {
            if (o.ClockAhead is not TimeSpan ahead) return null;
            if (o.Kind != ObservationKind.Action) return ahead;
            foreach (EndpointInfo e in o.Endpoints)
            {
                // Only a stamp of this action: an older one (an action that changed nothing) bounds nothing worth having.
                TimeSpan byStamp = o.ReceivedAt - e.UpdatedAt;
                if (e.UpdatedAt > DateTimeOffset.MinValue && byStamp < ahead && ahead - byStamp < ClockStep) ahead = byStamp;
            }
            return ahead;
        }

        /// <summary>Turns one answer into candidate events and queues them; never blocks on the file.</summary>
        private sealed class Recorder : IEndpointObserver
        {
            private readonly UsageService _service;
            private readonly Reporter _reporter;
            private readonly bool _inBackground;

            public Recorder(UsageService service, Reporter reporter, bool inBackground)
            {
                _service = service;
                _reporter = reporter;
                _inBackground = inBackground;
            }

            public void Observe(EndpointObservation o)
            {
                // A clock far off the service's: the history corrects for it, but the times shown, logs and schedules
                // follow it, so it is said with the command's other history problems.
                if (o.ClockAhead is TimeSpan ahead && ahead.Duration() > SetupCheck.ClockAllowance) _reporter.Warning(Errors.HistoryClockOff(ahead));
                // Dated on the history's clock: corrected by the offset this very answer measured, when it is far off.
                _service.NoteClock(AheadAtMost(o));
                var (sent, received, by) = _service.OnHistoryClock(o.SentAt, o.ReceivedAt);
                var batch = new List<UsageHistory.Observed>();
                // Deleted by this client, or a read that found it gone (404): dated as a change seen by that read.
                if (o.DeletedName != null)
                    batch.Add(new UsageHistory.Observed(new UsageEvent { Api = o.Api, Namespace = o.Namespace, Name = o.DeletedName, State = "deleted", ClockOffset = by },
                        o.Kind, DateTimeOffset.MinValue, sent, received));
                foreach (EndpointInfo e in o.Endpoints)
                {
                    batch.Add(new UsageHistory.Observed(new UsageEvent
                    {
                        Api = o.Api, Namespace = e.Namespace, Name = e.Name, State = e.StatusText, Replicas = e.TargetReplica,
                        Vendor = e.Vendor, Region = e.Region, InstanceType = e.InstanceType, InstanceSize = e.InstanceSize, Url = e.Url,
                        ClockOffset = by,
                    }, o.Kind, e.UpdatedAt, sent, received) { CreatedAt = e.CreatedAt > DateTimeOffset.MinValue ? e.CreatedAt : null });
                }
                // A listing: what the history holds there and the listing has not is gone, found by the writer (a file read).
                Listing? listing = o.Complete
                    ? new Listing(o.Api, o.Namespace, new HashSet<string>(o.Endpoints.Select(e => e.Name), StringComparer.Ordinal), sent, received, by)
                    : null;
                if (batch.Count > 0 || listing != null) _service.Enqueue(batch, _reporter, listing, _inBackground);
            }
        }
    }

    /// <summary>
    /// Hardware prices: the live catalog per control plane and namespace, kept for an hour (a failed lookup is not
    /// kept), with the published list prices as the fallback.
    /// </summary>
    public sealed class PriceCatalog
    {
        private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

        // Published list prices (USD per replica-hour, AWS), used only when the live catalog has no price.
        private static readonly Dictionary<string, decimal> ListPrices = new(StringComparer.OrdinalIgnoreCase)
        {
            ["nvidia-a10g x1"] = 1.00m, ["nvidia-a10g x4"] = 5.00m, ["nvidia-t4 x1"] = 0.50m, ["nvidia-l4 x1"] = 0.80m,
            ["nvidia-l40s x1"] = 1.80m, ["nvidia-a100 x1"] = 2.50m, ["nvidia-h200 x1"] = 5.00m, ["intel-spr x1"] = 0.033m,
        };

        private readonly ConcurrentDictionary<string, (DateTimeOffset Expires, Lazy<Task<IReadOnlyList<HardwareInfo>>> Lookup)> _catalogs =
            new(StringComparer.Ordinal);
        private readonly TimeProvider _clock;

        internal PriceCatalog(TimeProvider clock) => _clock = clock;

        /// <summary>The catalog of a namespace; empty when it cannot be read (prices then fall back to the list).</summary>
        public async Task<IReadOnlyList<HardwareInfo>> GetAsync(EndpointClient client, string ns, CancellationToken ct = default)
        {
            string key = client.ApiBase + "|" + ns;
            DateTimeOffset now = _clock.GetUtcNow();
            var entry = _catalogs.AddOrUpdate(key,
                _ => (now + Lifetime, Lookup(client, ns)),
                (_, old) => old.Expires > now ? old : (now + Lifetime, Lookup(client, ns)));
            try
            {
                Task<IReadOnlyList<HardwareInfo>> lookup = entry.Lookup.Value;
                // Shared with other callers, so it runs uncancelled; this caller stops waiting on its own token.
                await Task.WhenAny(lookup, Task.Delay(Timeout.Infinite, ct)).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
                return await lookup.ConfigureAwait(false);
            }
            catch (EndpointException)
            {
                ((ICollection<KeyValuePair<string, (DateTimeOffset, Lazy<Task<IReadOnlyList<HardwareInfo>>>)>>)_catalogs)
                    .Remove(new KeyValuePair<string, (DateTimeOffset, Lazy<Task<IReadOnlyList<HardwareInfo>>>)>(key, entry));
                return Array.Empty<HardwareInfo>();
            }
        }

        /// <summary>The catalog already looked up and still fresh; empty (list prices) otherwise. Sends nothing.</summary>
        public IReadOnlyList<HardwareInfo> Cached(EndpointClient client, string ns) =>
            _catalogs.TryGetValue(client.ApiBase + "|" + ns, out var entry) && entry.Expires > _clock.GetUtcNow()
                && entry.Lookup.IsValueCreated && entry.Lookup.Value.Status == TaskStatus.RanToCompletion
                ? entry.Lookup.Value.Result : Array.Empty<HardwareInfo>();

        /// <summary>The price per replica-hour of an endpoint's hardware from a fresh catalog at hand, else the list price. Sends nothing.</summary>
        public decimal? KnownPrice(EndpointClient client, EndpointInfo endpoint) =>
            KnownPrice(client, endpoint.Namespace, endpoint.InstanceType, endpoint.InstanceSize);

        /// <summary>The price per replica-hour of hardware in a namespace, from a fresh catalog at hand, else the list price. Sends nothing.</summary>
        public decimal? KnownPrice(EndpointClient client, string ns, string? instanceType, string? instanceSize) =>
            PriceOf(Cached(client, ns), instanceType, instanceSize).Price;

        private static Lazy<Task<IReadOnlyList<HardwareInfo>>> Lookup(EndpointClient client, string ns) =>
            new(() => client.GetHardwareAsync(ns, CancellationToken.None));

        internal static (decimal? Price, string? Source) PriceOf(IReadOnlyList<HardwareInfo> catalog, string? type, string? size)
        {
            var live = catalog.FirstOrDefault(h => h.PricePerHour != null &&
                string.Equals(h.InstanceType, type, StringComparison.OrdinalIgnoreCase) &&
                string.Equals(h.InstanceSize, size, StringComparison.OrdinalIgnoreCase));
            if (live != null) return (live.PricePerHour, "catalog");
            return ListPrices.TryGetValue(type + " " + size, out var price) ? (price, "built-in list price") : ((decimal?)null, null);
        }
    }
}
