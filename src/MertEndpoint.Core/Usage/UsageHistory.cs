using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>
    /// The usage history file: JSON lines of endpoint state changes, read back to compute billed time. It owns the
    /// format. Version 2 files start with a header line <c>{"v":2,"generation":"...","compactedBytes":n}</c>; every
    /// other line is one event (<c>t</c>, <c>lo</c>, <c>hi</c>, <c>api</c>, <c>ns</c>, <c>name</c>, <c>state</c>,
    /// <c>replicas</c>, <c>vendor</c>, <c>region</c>, <c>type</c>, <c>size</c>, <c>src</c>, <c>url</c>, and for actions
    /// <c>u</c>, the service's updatedAt in its answer). Version 1 files (no header, no lo/src, each
    /// line written as "\n{...}") are read as they are and rewritten as version 2 by the first compaction.
    /// <para>
    /// Several processes share it safely: every write and every compaction holds an exclusive lock on a sibling
    /// <c>.lock</c> file (which is never replaced), catches up with what others appended, and writes only states
    /// that differ from the last one the file holds for that endpoint, so a fresh process appends nothing for an
    /// unchanged endpoint and no change seen by any process is lost. Reading needs no lock: it reads only the bytes
    /// appended since the last read, whole lines only, and starts again from the top when a compaction replaced
    /// the file (the header's generation changed). Malformed lines are skipped and counted, never fatal.
    /// Compaction drops records that repeat the previous state of the same endpoint, which leaves every billed
    /// sum for every period exactly as it was. The token is never written.
    /// </para>
    /// </summary>
    public sealed partial class UsageHistory
    {
        internal const string PathVariable = "MERT_ENDPOINT_HISTORY_PATH";
        internal const string CompactVariable = "MERT_ENDPOINT_HISTORY_COMPACT_BYTES";
        internal const string RetentionVariable = "MERT_ENDPOINT_HISTORY_RETENTION_DAYS";
        internal const int DefaultRetentionDays = 400;
        private const long DefaultCompactAboveBytes = 1 << 20;
        private static readonly TimeSpan StampTolerance = TimeSpan.FromSeconds(2);
        private static readonly TimeSpan StampRounding = TimeSpan.FromMilliseconds(2);

        private readonly object _gate = new();
        private readonly long _compactAbove;
        // What has been read of the file so far.
        private string _generation = "";
        private long _offset;
        private long _compactedBytes;
        private readonly List<UsageEvent> _events = new();
        // What Read last returned, oldest first: the same list until an event is added or re-dated (a cost report reads twice).
        private IReadOnlyList<UsageEvent>? _sorted;
        // What each endpoint's latest records say (its last and previous record, its billing streak, its URL): all that
        // dating a new observation and every command but a cost report ask. Kept whole when the file is read from its top,
        // or read from the index (see HistoryIndex.cs) with only what was appended after it in _events.
        private readonly Dictionary<string, EndpointTail> _tails = new(StringComparer.Ordinal);
        // Per control plane, its last actions whose answers carried the service's stamp (the service's clock against ours).
        private readonly Dictionary<string, List<UsageEvent>> _stamped = new(StringComparer.Ordinal);
        private const int StampedKept = 32;
        // The last time this process saw each endpoint in the state the file holds: the earliest a change it did not
        // cause can have happened.
        private readonly Dictionary<string, DateTimeOffset> _lastSeen = new(StringComparer.Ordinal);

        /// <summary>
        /// How far behind the service a read may be (an eventually consistent control plane): the earliest a change can
        /// have happened is this much before the last sighting of the previous state. It widens each bound by as much.
        /// </summary>
        internal static readonly TimeSpan ReadLag = TimeSpan.FromSeconds(2);

        /// <summary>How long after its own action a read showing the state from before the action is taken as stale.</summary>
        internal static readonly TimeSpan StaleReadGrace = TimeSpan.FromSeconds(10);

        /// <param name="compactAboveBytes">Compact once the file is larger than this and twice its size after the last compaction; null reads MERT_ENDPOINT_HISTORY_COMPACT_BYTES, default 1 MiB.</param>
        public UsageHistory(string path, long? compactAboveBytes = null)
        {
            Path = System.IO.Path.GetFullPath(path);
            _compactAbove = compactAboveBytes ?? (long.TryParse(Environment.GetEnvironmentVariable(CompactVariable), out long v) && v > 0 ? v : DefaultCompactAboveBytes);
            Retention = RetentionFrom(Environment.GetEnvironmentVariable(RetentionVariable)).Retention;
        }

        /// <summary>
        /// How long a record is kept (MERT_ENDPOINT_HISTORY_RETENTION_DAYS, default 400 days: last year's spend month by
        /// month; 0 keeps everything): older ones are dropped by the next compaction, but for what a later period needs
        /// (see <see cref="Kept"/>). Null keeps everything.
        /// </summary>
        internal TimeSpan? Retention { get; set; }

        /// <summary>The setting read: a retention (null keeps everything), or why it was not understood (then everything is kept: nothing is dropped on a guess; Test-MertEndpointSetup names it).</summary>
        internal static (TimeSpan? Retention, string? Problem) RetentionFrom(string? text)
        {
            if (string.IsNullOrWhiteSpace(text)) return (TimeSpan.FromDays(DefaultRetentionDays), null);
            if (!int.TryParse(text!.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int days) || days > 36500)
                return (null, $"'{text.Trim()}' is not a whole number of days from 0 (keep everything) to 36500");
            return (days == 0 ? null : TimeSpan.FromDays(days), null);
        }

        /// <summary>
        /// Since when the history is whole: the cut-off of the retention its last compaction applied (the header's
        /// <c>keptSince</c>); null when nothing was ever dropped for age. Spend before it may be missing.
        /// </summary>
        public DateTimeOffset? KeptSince { get; private set; }

        public string Path { get; }
        private string LockPath => Path + ".lock";

        /// <summary>This process's clock, the one its observations are dated by (set by the <see cref="UsageService"/> that writes).</summary>
        internal TimeProvider Clock { get; set; } = TimeProvider.System;

        /// <summary>
        /// A record dated more than this after now was written by a clock running ahead of this one (every record is dated
        /// no later than its writer's now): it is not trusted to hide or to date what this process sees.
        /// </summary>
        internal static readonly TimeSpan FutureTolerance = TimeSpan.FromSeconds(5);

        /// <summary>How long a write waits for another process's lock on the file.</summary>
        internal TimeSpan LockPatience { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>Tests only: called with the path before every file this history opens for writing, to fail as a disk can.</summary>
        internal Action<string>? BeforeWriteOpen { get; set; }

        /// <summary>Lines skipped as unreadable so far (torn or foreign).</summary>
        public int SkippedLines { get; private set; }

        /// <summary>MERT_ENDPOINT_HISTORY_PATH, else usage.jsonl in the module's per-user data directory.</summary>
        public static string DefaultPath()
        {
            var explicitPath = Environment.GetEnvironmentVariable(PathVariable);
            return !string.IsNullOrWhiteSpace(explicitPath) ? explicitPath! : System.IO.Path.Combine(DataDirectory(), "usage.jsonl");
        }

        /// <summary>%LOCALAPPDATA%\MertEndpoint on Windows, $XDG_DATA_HOME/MertEndpoint or ~/.local/share/MertEndpoint elsewhere.</summary>
        public static string DataDirectory()
        {
            var localAppData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            if (string.IsNullOrEmpty(localAppData))
            {
                var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
                localAppData = !string.IsNullOrEmpty(xdg) ? xdg! :
                    System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
            }
            return System.IO.Path.Combine(localAppData, "MertEndpoint");
        }

        /// <summary>Every readable event, oldest first. Reads only what was appended since the last call.</summary>
        public IReadOnlyList<UsageEvent> Read() => CaughtUp(whole: true, () => _sorted ??= _events.OrderBy(e => e.Time).ToList());

        /// <summary>
        /// Appends the candidates that change what the file holds, each dated (see <see cref="Date"/>), under the
        /// lock; then compacts when the file has grown enough. Returns null, or why nothing could be written.
        /// </summary>
        /// <param name="ct">Ends the wait for the lock (an <see cref="OperationCanceledException"/>, nothing written); once
        /// the lock is taken the write and its compaction go on to the end.</param>
        internal async Task<string?> RecordAsync(IReadOnlyList<Observed> candidates, CancellationToken ct = default)
        {
            if (candidates.Count == 0 && !HasSpooled()) return null;
            bool compact = false, fromIndex = false;
            try
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
                using (await LockAsync(ct).ConfigureAwait(false))
                {
                    lock (_gate)
                    {
                        CatchUp();
                        // What writers before could not write (in any process) goes first, in the order it was seen.
                        List<Observed> spooled = TakeSpooled(out List<string> spoolFiles);
                        List<Observed> all = spooled.Count == 0 ? candidates.ToList() : spooled.Concat(candidates).ToList();
                        MergeSightings();
                        var before = new Dictionary<string, DateTimeOffset>(_lastSeen, StringComparer.Ordinal);
                        string lines = DateAll(all);
                        if (lines.Length > 0) Append(lines);
                        foreach (string f in spoolFiles) TryDelete(f);
                        if (_lastSeen.Any(p => !before.TryGetValue(p.Key, out DateTimeOffset was) || was != p.Value)) SaveSightings();
                        // A write compacts a due file of up to CompactOnWriteMaxBytes (64 MiB, about 150,000 records), read whole and
                        // rewritten in a few seconds, inside the 10 s a process's end gives its writes; a larger one only
                        // Optimize-MertEndpointHistory does (a scheduled guard runs it at its end), so no command pays for reading
                        // hundreds of megabytes, and none starts a compaction its process's end would cut off. Not while another
                        // compaction's file younger than an hour lies beside it (see CompactionUnderWay).
                        compact = Volatile.Read(ref _writesLeaveCompaction) == 0
                            && NeedsCompaction(out long length) && length <= CompactOnWriteMaxBytes && !CompactionUnderWay();
                        fromIndex = _partial;
                        SaveIndexIfBehind();
                    }
                }
            }
            catch (TimeoutException)
            {
                return Errors.HistoryLockBusy(LockPath, LockPatience, SpoolDirectory);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return IsReadOnlyDisk(ex) ? Errors.HistoryReadOnly(Path) : Errors.HistoryUnwritable(Path, ex, SpoolDirectory);
            }
            if (compact)
            {
                // Upkeep, after the readings are safe: one that fails is tried again by the next write past the threshold.
                // One that read only the index compacts through a history of its own (see Compactor).
                UsageHistory compactor = fromIndex ? Compactor() : this;
                try { await compactor.CompactAsync(CancellationToken.None).ConfigureAwait(false); }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is TimeoutException) { }
            }
            return null;
        }

        /// <summary>
        /// Dates the observations in order and adds what they change; returns the lines to append. Read from the index, the
        /// history may meet what only the whole file can settle (a record dated by a clock running ahead): then it reads
        /// the whole file and dates them all again, its own sightings as they were before (nothing is written until the end).
        /// </summary>
        private string DateAll(List<Observed> observations)
        {
            var seen = new Dictionary<string, DateTimeOffset>(_lastSeen, StringComparer.Ordinal);
            try
            {
                var lines = new StringBuilder();
                foreach (Observed o in observations)
                {
                    foreach (UsageEvent e in Date(o))
                    {
                        lines.Append(Format(e)).Append('\n');
                        Add(e);
                    }
                }
                return lines.ToString();
            }
            catch (NeedsWholeFile) when (_partial)
            {
                _lastSeen.Clear();
                foreach (var pair in seen) _lastSeen[pair.Key] = pair.Value;
                CatchUp(whole: true);
                return DateAll(observations);
            }
        }

        // ---- the spool: observations a write could not record, kept on disk for the next writer ----

        /// <summary>
        /// Beside the history (<c>usage.jsonl.pending/</c>): one file per write that could not take the lock, written without
        /// it (a new file of its own, renamed into place whole), read and removed under the lock by the next write, whichever
        /// process makes it. So a reading is not lost with the process that saw it.
        /// </summary>
        internal string SpoolDirectory => Path + ".pending";

        /// <summary>True when the spool holds observations some write has not yet recorded (in any process).</summary>
        internal bool HasSpooled()
        {
            try
            {
                return Directory.Exists(SpoolDirectory) && Directory.EnumerateFiles(SpoolDirectory, "*.jsonl").Any();
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return true; }
        }

        /// <summary>The endpoints (keys) the spool holds observations of; null when it cannot be read (any of them, then).</summary>
        internal HashSet<string>? SpooledKeys()
        {
            var keys = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                if (!Directory.Exists(SpoolDirectory)) return keys;
                foreach (string file in Directory.GetFiles(SpoolDirectory, "*.jsonl"))
                    foreach (string line in File.ReadAllLines(file))
                    {
                        if (ParseObserved(line) is not Observed o) return null;
                        keys.Add(o.Event.Key);
                    }
                return keys;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return null; }
        }

        /// <summary>Puts observations in the spool; false when the disk refuses that too (they stay in memory then).</summary>
        internal bool TrySpool(IReadOnlyList<Observed> observations)
        {
            if (observations.Count == 0) return true;
            try
            {
                Directory.CreateDirectory(SpoolDirectory);
                string name = Clock.GetUtcNow().UtcTicks.ToString("D19", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N");
                string partial = System.IO.Path.Combine(SpoolDirectory, name + ".tmp");
                File.WriteAllText(partial, string.Concat(observations.Select(o => FormatObserved(o) + "\n")));
                File.Move(partial, System.IO.Path.Combine(SpoolDirectory, name + ".jsonl"));
                return true;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return false;
            }
        }

        private List<Observed> TakeSpooled(out List<string> files)
        {
            var observed = new List<Observed>();
            files = new List<string>();
            if (!Directory.Exists(SpoolDirectory)) return observed;
            files = Directory.GetFiles(SpoolDirectory, "*.jsonl").OrderBy(f => f, StringComparer.Ordinal).ToList();
            foreach (string file in files)
            {
                string[] lines;
                try { lines = File.ReadAllLines(file); }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { continue; }
                foreach (string line in lines)
                    if (ParseObserved(line) is Observed o) observed.Add(o);
            }
            return observed;
        }

        private static void TryDelete(string file)
        {
            try { File.Delete(file); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
        }

        // A spooled observation is a history line (its event, undated) with what dating it needs beside it.
        private static string FormatObserved(Observed o) => JsonLine.Of(w => WriteRecord(w, o.Event, o));

        private static Observed? ParseObserved(string line)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(line);
            if (!TryParse(bytes, 0, bytes.Length, out UsageEvent? e) || e == null) return null;
            try
            {
                using JsonDocument doc = JsonDocument.Parse(bytes);
                JsonElement r = doc.RootElement;
                if (!Enum.TryParse(Str(r, "kind"), out ObservationKind kind) || Time(Str(r, "updated")) is not DateTimeOffset updated
                    || Time(Str(r, "sent")) is not DateTimeOffset sent || Time(Str(r, "received")) is not DateTimeOffset received)
                    return null;
                return new Observed(e, kind, updated, sent, received)
                {
                    CreatedAt = Time(Str(r, "created")),
                    ReplicaStarts = r.TryGetProperty("starts", out JsonElement starts) && starts.ValueKind == JsonValueKind.Array
                        ? starts.EnumerateArray().Select(x => Time(x.ValueKind == JsonValueKind.String ? x.GetString() : null)).OfType<DateTimeOffset>().ToList()
                        : null,
                };
            }
            catch (JsonException)
            {
                return null;
            }
        }

        /// <summary>
        /// The disk refuses writes: EROFS (30 on Linux and macOS, which .NET carries as the IOException's HResult) or
        /// Windows' ERROR_WRITE_PROTECT (19). Never another process's lock, so never worth waiting for.
        /// </summary>
        internal static bool IsReadOnlyDisk(Exception ex) =>
            ex is IOException io && (System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Windows)
                ? (io.HResult & 0xFFFF) == 19 && (io.HResult & unchecked((int)0xFFFF0000)) == unchecked((int)0x80070000)
                : io.HResult == 30);

        /// <summary>
        /// Rewrites the file without repeated states (every billed sum stays the same), sorted by time. The new file is
        /// written beside it without the lock, from what was read; the lock is held only to copy what other writers
        /// appended meanwhile and to rename it into place, so a command that writes meanwhile waits milliseconds, not the
        /// seconds a large history takes to write. Another compaction meanwhile wins: this one is dropped.
        /// </summary>
        public Task CompactAsync(CancellationToken ct = default) => Compact(ct, null);

        /// <summary>
        /// <see cref="CompactAsync"/>, telling <paramref name="result"/> how many records it read and kept; false when another
        /// compaction placed its file first (this one is dropped). <paramref name="ct"/> also ends the (paced) reading and
        /// writing of the new file, which is then deleted; the rename under the lock, once begun, is finished.
        /// </summary>
        private async Task<bool> Compact(CancellationToken ct, HistoryCompaction? result)
        {
            List<UsageEvent> kept;
            string generation;
            long upTo;
            DateTimeOffset? cutoff = Retention is TimeSpan keep ? Clock.GetUtcNow() - keep : null, keptSince;
            ct.ThrowIfCancellationRequested();
            using FileStream? holding = HoldCompacting();
            if (holding == null)
            {
                if (result != null) result.Reason = "another compaction of it is under way (it holds '" + CompactingPath + "')";
                return false;
            }
            var pace = new Pace(ct);
            lock (_gate)
            {
                _pace = pace;
                try { CatchUp(whole: true); }
                finally { _pace = null; }
                kept = Kept(cutoff, out bool dropped);
                generation = _generation;
                upTo = _offset;
                // Whole since the cut-off when this one drops anything for age; else as whole as before.
                keptSince = dropped ? cutoff : KeptSince;
            }
            RemoveAbandoned();
            string fresh = Guid.NewGuid().ToString("N");
            Told? told = null;
            bool placed = false;
            // Written beside it, then renamed over it in one step: a reader sees the old file or the new one, never half.
            string temp = Path + "." + fresh.Substring(0, 8) + ".tmp"; // see IsCompactionFile
            try
            {
                BeforeWriteOpen?.Invoke(temp);
                using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
                {
                    // Line by line (a history of any size), the header's body size written last over its padded place.
                    byte[] header = Encoding.UTF8.GetBytes(Header(fresh, 0, keptSince, width: 160));
                    file.Write(header, 0, header.Length);
                    // The first half of the bar; reading the new file back (below) is the second.
                    told = new Told(this, (CompactingActivity, "Wrote", 0), 0, upTo, last: 50);
                    long body = WriteRecords(file, kept, told, upTo, pace);
                    file.Seek(0, SeekOrigin.Begin);
                    header = Encoding.UTF8.GetBytes(Header(fresh, body, keptSince, width: header.Length));
                    file.Write(header, 0, header.Length);
                }
                // A history of its own (see Compactor) lets its records go before the new file is read back, so a large
                // history is held once at a time, not twice.
                int readBefore = 0;
                if (_throwaway)
                {
                    lock (_gate)
                    {
                        readBefore = _events.Count;
                        kept = null!;
                        _events.Clear();
                        _events.TrimExcess();
                        _sorted = null;
                    }
                    // Taken back now, before as many records are read again: left to the GC's own budget on a machine with memory
                    // to spare, the heap grew instead. Optimize-MertEndpointHistory at 1M records in a fresh pwsh, peak resident
                    // memory of a first reading of a file without its index: 1.43 GB before this and WriteRecords, 1.36 GB with
                    // WriteRecords alone, 1.05 GB with this collection too. Only where asked (CompactNowAsync): a write's
                    // compaction of at most 64 MiB does not stop its command's process for a full collection.
                    if (_collectAfterRelease) GC.Collect(2, GCCollectionMode.Forced, blocking: true);
                }
                // The new file read as a fresh process will read it, before it is in place: its checkpoints and (below) its
                // index are ready when it is, so no command after the rename reads the whole file to find them.
                var next = new UsageHistory(temp, long.MaxValue)
                {
                    _cacheBase = Path, Clock = Clock, UseIndex = UseIndex, CheckpointEveryBytes = CheckpointEveryBytes,
                    // Its first read is the second half of the compaction's bar, shown when the first half was.
                    _watchers = _watchers, _readsTold = (CompactingActivity, "Checked", 50), WorkReportedAboveBytes = upTo >= WorkReportedAboveBytes ? 0 : long.MaxValue,
                    _pace = pace,
                };
                next.CatchUp(whole: true);
                next.WorkReportedAboveBytes = long.MaxValue;
                next._pace = null; // under the lock below: at full speed
                ct.ThrowIfCancellationRequested(); // the last moment it ends with the old file as it was
                using (await LockAsync(ct).ConfigureAwait(false))
                {
                    lock (_gate)
                    {
                        CatchUp(whole: true);
                        if (_generation != generation || _offset < upTo) return false; // compacted by another meanwhile
                        // What others appended since, as they wrote it (whole lines: the lock keeps writers out).
                        using (var source = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                        using (var target = new FileStream(temp, FileMode.Append, FileAccess.Write, FileShare.None))
                        {
                            source.Seek(upTo, SeekOrigin.Begin);
                            var buffer = new byte[1 << 16];
                            for (long left = _offset - upTo; left > 0;)
                            {
                                int n = source.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                                if (n == 0) break;
                                target.Write(buffer, 0, n);
                                left -= n;
                            }
                        }
                        next.CatchUp(whole: true);
                        next.IndexEveryBytes = IndexEveryBytes;
                        next.SaveIndexIfBehind();
                        if (File.Exists(Path)) File.Replace(temp, Path, null);
                        else File.Move(temp, Path);
                        if (result != null)
                        {
                            result.RecordsBefore = readBefore + _events.Count;
                            result.RecordsAfter = next._events.Count;
                            result.KeptSince = next.KeptSince;
                        }
                        Adopt(next);
                        KeepCheckpointsOf(fresh);
                        placed = true;
                    }
                }
            }
            finally
            {
                if (!placed) told?.Close(); // failed or lost to another: its bar closes all the same
                if (File.Exists(temp)) File.Delete(temp);
            }
            return true;
        }

        /// <summary>
        /// A compaction's records, line by line; the bytes written. A method of its own: a loop over the list in the async
        /// method kept the list reachable until that method's first pause (the JIT reports its enumerator live throughout),
        /// so a history of its own could not let its records go before reading the new file back.
        /// </summary>
        private static long WriteRecords(FileStream file, List<UsageEvent> kept, Told told, long upTo, Pace pace)
        {
            long body = 0, written = 0;
            foreach (UsageEvent e in kept)
            {
                byte[] line = Encoding.UTF8.GetBytes(Format(e) + "\n");
                file.Write(line, 0, line.Length);
                body += line.Length;
                // As a share of the old file: what was kept of it goes in the same order.
                told.At((long)((double)upTo * ++written / kept.Count));
                pace.Breathe();
            }
            return body;
        }

        /// <summary>
        /// Why <see cref="CompactNowAsync"/> should not run now, or null when it should: there is no file, it is not due
        /// (<paramref name="force"/> compacts it anyway), or another compaction is under way or was cut off within the hour
        /// (see <see cref="CompactionUnderWay"/>; <paramref name="force"/> tries all the same, and gives way to one under
        /// way). Reads what was appended (the index when there is one), no more.
        /// </summary>
        internal string? WhyNotCompact(bool force, out long length)
        {
            lock (_gate) CatchUp();
            bool due = NeedsCompaction(out length);
            if (!File.Exists(Path)) return $"there is no usage history at '{Path}' yet";
            if (!force && !due)
            {
                long dueAbove = Math.Max(_compactAbove, 2 * _compactedBytes);
                return $"not due: the file is {Megabytes(length)} MB and is compacted once it passes {Megabytes(dueAbove)} MB " +
                    $"({CompactVariable} and twice its size after its last compaction); -Force compacts it now";
            }
            if (!force && CompactionUnderWay())
                return "another compaction of it is under way, or one was cut off within the hour (a compaction's .tmp file lies beside it); -Force compacts it now";
            return null;
        }

        private static string Megabytes(long bytes) => (bytes / 1e6).ToString(bytes < 10_000_000 ? "0.00" : "0", CultureInfo.InvariantCulture);

        /// <summary>
        /// Compacts the file now, whatever its size, through a history of its own (see <see cref="Compactor"/>): it reads the
        /// whole file (a million events: about 420 MB), paced like every compaction, told to this history's watchers.
        /// <paramref name="ct"/> ends it before the rename (the new file is deleted, the old one stays as it was).
        /// </summary>
        internal async Task<HistoryCompaction> CompactNowAsync(CancellationToken ct)
        {
            var took = System.Diagnostics.Stopwatch.StartNew();
            var result = new HistoryCompaction { Path = Path, SizeBefore = File.Exists(Path) ? new FileInfo(Path).Length : 0 };
            UsageHistory compactor = Compactor();
            compactor._collectAfterRelease = true;
            bool placed = await compactor.Compact(ct, result).ConfigureAwait(false);
            result.Compacted = placed;
            if (!placed) result.Reason ??= "another process compacted it first";
            result.SizeAfter = File.Exists(Path) ? new FileInfo(Path).Length : 0;
            result.Duration = took.Elapsed;
            return result;
        }

        /// <summary>
        /// Removes what a compaction (or a cache write) left beside the history when its process ended in the middle (a
        /// compaction of a large history is as large as it): its temporary files, untouched for an hour.
        /// </summary>
        private void RemoveAbandoned()
        {
            try
            {
                string folder = System.IO.Path.GetDirectoryName(Path)!;
                foreach (string file in Directory.GetFiles(folder, System.IO.Path.GetFileName(Path) + ".*.tmp"))
                    if (File.GetLastWriteTimeUtc(file) < DateTime.UtcNow - AbandonedAfter) TryDelete(file);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
        }

        internal static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);

        /// <summary>
        /// A compaction's new file as <see cref="CompactAsync"/> names it: the history's name, the first 8 hex digits of the
        /// new generation, ".tmp" ("usage.jsonl.1a2b3c4d.tmp"); not a cache's ("usage.jsonl.index.1a2b3c4d.tmp").
        /// </summary>
        private bool IsCompactionFile(string file) =>
            System.Text.RegularExpressions.Regex.IsMatch(System.IO.Path.GetFileName(file),
                "^" + System.Text.RegularExpressions.Regex.Escape(System.IO.Path.GetFileName(Path)) + @"\.[0-9a-f]{8}\.tmp$");

        /// <summary>
        /// Another compaction holds <see cref="CompactingPath"/> (in this process or another), or a compaction's file
        /// younger than <see cref="AbandonedAfter"/> lies beside the history: one was cut off at its process's end (a slow
        /// disk, a machine slower than this one). A write then leaves it be, so a compaction that cannot finish in a short
        /// process's time is tried at most once an hour, not by every scheduled run.
        /// </summary>
        private bool CompactionUnderWay()
        {
            try
            {
                using (FileStream? held = HoldCompacting()) if (held == null) return true;
                string folder = System.IO.Path.GetDirectoryName(Path)!;
                return Directory.GetFiles(folder, System.IO.Path.GetFileName(Path) + ".*.tmp")
                    .Any(f => IsCompactionFile(f) && File.GetLastWriteTimeUtc(f) > DateTime.UtcNow - AbandonedAfter);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return false;
            }
        }

        /// <summary>
        /// Held, exclusively, by a compaction from before its reading to its end (<c>usage.jsonl.compacting</c>, empty, left
        /// in place like the lock file): a second compaction, in any process, sees it at once and does not read hundreds of
        /// megabytes for nothing. Released by the system when the process ends, however it ends.
        /// </summary>
        private string CompactingPath => Path + ".compacting";

        /// <summary>The compaction's hold on <see cref="CompactingPath"/>, or null when another compaction holds it.</summary>
        private FileStream? HoldCompacting()
        {
            try
            {
                return new FileStream(CompactingPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException ex) when (!IsReadOnlyDisk(ex) && File.Exists(CompactingPath))
            {
                return null; // held: another compaction (a sharing violation, or the lock .NET takes on Unix)
            }
        }

        // A history made only to compact (see Compactor): its records may go once the new file is written.
        private bool _throwaway;

        // While above zero, this history's writes compact nothing (see WritesLeaveCompaction).
        private int _writesLeaveCompaction;

        /// <summary>
        /// Until disposed, this history's writes leave a due file as it is: Optimize-MertEndpointHistory writes the spool
        /// first and then compacts once, itself, and says what it did.
        /// </summary>
        internal IDisposable WritesLeaveCompaction()
        {
            Interlocked.Increment(ref _writesLeaveCompaction);
            return new OnDispose(() => Interlocked.Decrement(ref _writesLeaveCompaction));
        }

        // ... and the memory they held taken back at once, by a blocking full collection (CompactNowAsync only).
        private bool _collectAfterRelease;

        // A compaction's reading: paced like its writing (see Pace); null for every other read.
        private Pace? _pace;

        /// <summary>
        /// Keeps a compaction (its reading, its writing and its reading back) to about half of one core: after each 20 ms of
        /// work it rests as long as it worked. Commands of other processes meanwhile (a Get of a scheduled guard) share the
        /// cores with half a compaction, not a whole one; the compaction takes twice as long. bench/history-scale.ps1: a
        /// Get's p95 during compactions of 1M events +59 and +108 ms over steady, against +140 and +153 ms unpaced; but
        /// that bench's compactor is a fresh process whose compaction first reads the whole file, and the gain came with
        /// pacing that reading (pacing only the writing and the reading back showed none, +160 ms). A real compactor has
        /// read every record already, as part of its command, unpaced. Who compacts holds every record (the history's
        /// listing, a first reading of a file without its index), and only the rename waits under the lock, so no other
        /// command waits for it. Not a lower priority: on Linux a thread's nice
        /// value passes to the threads it creates, and could not be raised back.
        /// </summary>
        internal sealed class Pace
        {
            private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(20);
            private readonly System.Diagnostics.Stopwatch _working = System.Diagnostics.Stopwatch.StartNew();
            private readonly CancellationToken _ct;

            /// <param name="ct">Ends the work at its next rest (an OperationCanceledException).</param>
            public Pace(CancellationToken ct) => _ct = ct;

            public void Breathe()
            {
                _ct.ThrowIfCancellationRequested(); // Ctrl+C ends it at once, not at the end of a slice
                TimeSpan worked = _working.Elapsed;
                if (worked < Slice) return;
                if (_ct.WaitHandle.WaitOne(worked)) _ct.ThrowIfCancellationRequested();
                _working.Restart();
            }
        }

        /// <summary>Takes what <paramref name="other"/> read of this file (a compaction's new file, now in place) as its own.</summary>
        private void Adopt(UsageHistory other)
        {
            Reset(other._generation);
            _events.AddRange(other._events);
            foreach (var pair in other._tails) _tails[pair.Key] = pair.Value;
            foreach (var pair in other._stamped) _stamped[pair.Key] = pair.Value;
            _offset = other._offset;
            _compactedBytes = other._compactedBytes;
            KeptSince = other.KeptSince;
            _indexOffset = other._indexOffset;
            _checkpointOffset = other._checkpointOffset;
            SkippedLines = other.SkippedLines;
        }

        /// <summary>
        /// The events to record for an observation: none when it repeats the last state the file holds (then it only
        /// moves the "last seen" mark), usually one. Time: what this module caused is dated by its own clock (the answer to
        /// the action); what it only saw, by the service's updatedAt (put on this machine's clock, see
        /// <see cref="ServiceOffset"/>) when that falls after the last recorded change and inside the window the change
        /// must have happened in, else by the moment it was seen. A change of the replica count alone falls in the middle
        /// of the window since the last sighting (a cost report may place a rise at its replicas' starts on reading, see
        /// <see cref="ScaleUps"/>; the record keeps what the read knew). Earliest: the start of that window.
        /// </summary>
        private IReadOnlyList<UsageEvent> Date(Observed o)
        {
            string key = o.Event.Key;
            _tails.TryGetValue(key, out EndpointTail? tail);
            if (o.ReplicaStarts != null) return ReplicaList(o, tail);
            UsageEvent? last = tail?.Last;
            // A last record dated after now (beyond what clocks differ by) was written by a clock running ahead: it hides
            // nothing, and what this process sees is dated after the last record it can place (Add then re-dates the
            // future one between its neighbours). Otherwise lastTime is the last record's time.
            bool aheadOfUs = last != null && last.Time > Later(Clock.GetUtcNow(), o.ReceivedAt)!.Value + FutureTolerance;
            if (aheadOfUs && _partial) throw new NeedsWholeFile(); // LastPlaceable and the re-dating need every record
            UsageEvent? placed = aheadOfUs ? LastPlaceable(key) : last;
            DateTimeOffset? lastTime = placed?.Time;
            // Another process recorded a change dated after this answer arrived: this view is older than the file's.
            if (last != null && !aheadOfUs && o.ReceivedAt < last.Time) return None;
            // A read answered from before the last change: an eventually consistent service, not a change.
            if (last != null && !aheadOfUs && o.Kind == ObservationKind.Read && IsLate(o, last, tail!.Previous)) return None;
            bool repeat = last != null && last.SameAs(o.Event);
            // A sighting proves the state it shows only as of when the read was sent (the service may answer from any moment
            // between sending and answering, ReadLag late): a slow read must not narrow the window of the next change.
            if (repeat || (last == null && o.Event.State == "deleted"))
            {
                _lastSeen[key] = o.SentAt;
                return None;
            }
            // A read shows the state as of up to ReadLag before its answer: the previous state is known to have held only
            // until then, so the change can be that much earlier than the last sighting (never before the last change).
            DateTimeOffset? previousSeen = _lastSeen.TryGetValue(key, out var seen) ? seen : (DateTimeOffset?)null;
            DateTimeOffset? sighting = Later(lastTime, previousSeen);
            // Never seen before (no record, no sighting): it can have changed to this state, an initializing nobody saw
            // included, any time since the service created it, on our clock as far as the two are told apart.
            DateTimeOffset? earliest = o.Kind != ObservationKind.Read ? o.SentAt
                : sighting == null ? Created(o)
                : Later(sighting.Value - ReadLag, placed?.Earliest ?? placed?.Time);
            DateTimeOffset latest = o.ReceivedAt;
            bool replicasAlone = o.Kind == ObservationKind.Read && last != null && last.State == o.Event.State && last.Replicas != o.Event.Replicas;
            // The service's updatedAt, on this machine's clock as far as the last action's answer tells the two apart.
            DateTimeOffset stamp = Plausible(o.UpdatedAt) ? o.UpdatedAt - ServiceOffset(o.Event.Api).Ahead : DateTimeOffset.MinValue;
            bool stampFits = stamp > DateTimeOffset.MinValue && stamp <= latest + StampTolerance
                && (lastTime == null || stamp > lastTime.Value) && (earliest == null || stamp >= earliest.Value - StampTolerance);
            DateTimeOffset time = stampFits ? (stamp > latest ? latest : stamp) : latest;
            string? datedBy = stampFits ? UsageEvent.ByStamp : null;
            // A change in the replica count alone (the state holds) with nothing to date it is the service scaling under
            // load: no reading stamps it, and it is as likely to have come early in the window as late. Dated at the
            // sighting, every scale-up would count late and every scale-down late too, which under load does not even out;
            // the middle of the window is the expected moment. A change of state keeps the sighting: a streak's start
            // (BilledFor, the guard's -BilledLongerThan) is never placed before anyone saw it.
            if (!stampFits && replicasAlone && sighting is DateTimeOffset seenBefore && seenBefore < latest)
            {
                time = seenBefore + TimeSpan.FromTicks((latest - seenBefore).Ticks / 2);
                datedBy = UsageEvent.ByMidpoint;
            }
            if (lastTime != null && time <= lastTime.Value) time = lastTime.Value.AddTicks(1);
            _lastSeen[key] = o.SentAt;
            UsageEvent e = o.Event;
            e.Time = time;
            e.Earliest = earliest;
            e.Latest = latest;
            e.Source = o.Kind == ObservationKind.Read ? "read" : o.Kind == ObservationKind.Action ? "action" : "deleted";
            // The facts beside the conclusions above: what a rule fixed later dates again from (see CostModel).
            e.ServiceStamp = o.UpdatedAt > DateTimeOffset.MinValue ? o.UpdatedAt : null;
            e.SentAt = o.SentAt;
            e.PreviousSeen = previousSeen;
            e.DatedBy = datedBy;
            return new[] { e };
        }

        private static readonly UsageEvent[] None = Array.Empty<UsageEvent>();

        /// <summary>
        /// A read that may show the service as it was before <paramref name="last"/>, the endpoint's last recorded change
        /// (<paramref name="before"/> the record before it): an eventually consistent control plane answering late. Not
        /// recorded; were it a real change, the reads after it keep showing it and it is recorded then, its window from
        /// the last sighting before it, so the bounds still hold the truth. Three ways a read is known late:
        /// </summary>
        private bool IsLate(Observed o, UsageEvent last, UsageEvent? before)
        {
            // It finds the endpoint gone (a 404, a listing without it) within StaleReadGrace of when its last record was
            // seen: a just-created endpoint may not show yet.
            if (o.Event.State == "deleted") return (last.Latest ?? last.Time) >= o.SentAt - StaleReadGrace;
            // Right after an action (by any process), it shows the service as it was before the action: its updatedAt is
            // older than the one the action's own answer carried (both the service's clock; every action stamps it), or,
            // with no stamps to compare, it shows the very state the action ended. A late read may show any state of the
            // last moments (initializing, when the pause came soon after running), so the stamp is the stronger test; a
            // real restart by someone else carries a newer stamp and is recorded.
            if (last.Source == "action" && o.ReceivedAt - last.Time < StaleReadGrace
                && ((last.ServiceStamp is DateTimeOffset acted && o.UpdatedAt > DateTimeOffset.MinValue && o.UpdatedAt < acted)
                    || (before != null && before.SameAs(o.Event))))
                return true;
            // After any change (a sighting too), it shows the state before it, answered so soon after the change can have
            // happened that it may show the moment before (a read answers from up to ReadLag before its answer), and
            // carries no stamp clearly after the change began.
            return before != null && before.SameAs(o.Event) && o.ReceivedAt - ReadLag < (last.Latest ?? last.Time)
                && !(Plausible(o.UpdatedAt) && o.UpdatedAt - ServiceOffset(o.Event.Api).Ahead > (last.Earliest ?? last.Time) + StampTolerance);
        }

        /// <summary>
        /// A replica list, recorded as read: a record that repeats the endpoint's last change (so it counts nothing by
        /// itself) and carries the replicas' starts on this clock (the service's less its lead, <see cref="ServiceOffset"/>).
        /// Only for an endpoint whose last record bills more than one replica: a single replica bills as one whatever its
        /// start, and nothing else can be placed by it.
        /// </summary>
        private IReadOnlyList<UsageEvent> ReplicaList(Observed o, EndpointTail? tail)
        {
            if (tail == null || !tail.Last.IsBilled || tail.Last.Replicas < 2) return None;
            (TimeSpan ahead, TimeSpan spread) = ServiceOffset(o.Event.Api);
            List<DateTimeOffset> starts = o.ReplicaStarts!.Where(Plausible).Select(s => s - ahead).OrderBy(s => s).ToList();
            if (starts.Count == 0) return None;
            UsageEvent e = tail.Last.WithReplicas(tail.Last.Replicas);
            (e.Time, e.Earliest, e.Latest, e.SentAt, e.ClockOffset) = (o.ReceivedAt, o.SentAt, o.ReceivedAt, o.SentAt, o.Event.ClockOffset);
            e.Source = UsageEvent.ReplicaListSource;
            e.ReplicaStarts = starts;
            e.StartsSpread = spread;
            return new[] { e };
        }

        /// <summary>When the service created the endpoint, on our clock less the clocks' allowance; null when it did not say.</summary>
        private DateTimeOffset? Created(Observed o)
        {
            if (o.CreatedAt is not DateTimeOffset created || !Plausible(created)) return null;
            (TimeSpan ahead, TimeSpan spread) = ServiceOffset(o.Event.Api);
            DateTimeOffset at = created - ahead - spread;
            return at < o.ReceivedAt ? at : null;
        }

        /// <summary>A service stamp that can be a real time (and moved by a clock difference without overflowing).</summary>
        internal static bool Plausible(DateTimeOffset stamp) => stamp.Year > 2000 && stamp.Year < 9000;

        /// <summary><see cref="ServiceOffset"/> from the file as it is now (caught up first).</summary>
        internal (TimeSpan Ahead, TimeSpan Spread) ServiceOffsetNow(string api) => CaughtUp(whole: false, () => ServiceOffset(api));

        /// <summary>
        /// How far the service's clock runs ahead of this machine's, and how well that is known: from the last action of
        /// this control plane in the history, whose answer carried the service's updatedAt (stamped when it acted, between
        /// sending and answering by our clock; the last one answered within <see cref="StampTolerance"/>). Without one,
        /// none, with <see cref="StampTolerance"/> either way, the allowance the updatedAt stamps are read with.
        /// </summary>
        internal (TimeSpan Ahead, TimeSpan Spread) ServiceOffset(string api)
        {
            DateTimeOffset limit = Clock.GetUtcNow() + FutureTolerance;
            List<UsageEvent> stamped = _stamped.TryGetValue(api, out List<UsageEvent>? kept) ? kept : new List<UsageEvent>();
            for (int i = stamped.Count - 1; i >= 0; i--)
            {
                UsageEvent a = stamped[i];
                // An action answered "after now" was timed by a clock running ahead of this one: it says nothing of ours.
                if (a.Api != api || a.Source != "action" || a.ServiceStamp is not DateTimeOffset u || a.Earliest is not DateTimeOffset sent
                    || a.Latest is not DateTimeOffset answered || answered > limit)
                    continue;
                // u - answered <= lead <= u - sent
                TimeSpan low = u - answered, high = u - sent;
                if (answered - sent > StampTolerance || !Plausible(u) || low.Duration() > TimeSpan.FromDays(1)) continue;
                // Half the interval, and a little for stamps cut to whole milliseconds (the service's are).
                return (TimeSpan.FromTicks((low.Ticks + high.Ticks) / 2), TimeSpan.FromTicks((high.Ticks - low.Ticks + 1) / 2) + StampRounding);
            }
            return (TimeSpan.Zero, StampTolerance);
        }

        /// <summary>Dates, adds, writes and reads back one event in memory: part of <see cref="EndpointClient.WarmUp"/>.</summary>
        internal static void WarmUp()
        {
            var history = new UsageHistory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mert-warm-up-never-written.jsonl"), long.MaxValue);
            DateTimeOffset now = DateTimeOffset.UtcNow;
            var e = new UsageEvent { Api = "warm-up", Namespace = "w", Name = "w", State = "running", Replicas = 1 };
            UsageEvent dated = history.Date(new Observed(e, ObservationKind.Read, now, now, now)).FirstOrDefault() ?? e;
            history.Add(dated);
            byte[] line = Encoding.UTF8.GetBytes(Format(dated));
            TryParse(line, 0, line.Length, out _);
            UsageService.Summarize(history._events, now.AddHours(-1), now);
        }

        private static DateTimeOffset? Later(DateTimeOffset? a, DateTimeOffset? b) => a == null ? b : b == null ? a : (a > b ? a : b);

        /// <summary>The latest record of an endpoint dated no later than now (within <see cref="FutureTolerance"/>); null when none.</summary>
        private UsageEvent? LastPlaceable(string key)
        {
            DateTimeOffset limit = Clock.GetUtcNow() + FutureTolerance;
            for (int i = _events.Count - 1; i >= 0; i--)
                if (_events[i].Key == key && _events[i].Time <= limit) return _events[i];
            return null;
        }

        private void Add(UsageEvent e)
        {
            _sorted = null;
            string key = e.Key;
            _tails.TryGetValue(key, out EndpointTail? tail);
            bool redated = false;
            if (tail != null && e.Time < tail.Last.Time && !e.IsReplicaList)
            {
                // Re-dating looks back over every record of the endpoint: read from the index, they are not all here.
                if (_partial) throw new NeedsWholeFile();
                Redate(e);
                redated = true;
            }
            _events.Add(e);
            if (e.Source == "action" && e.ServiceStamp != null)
            {
                if (!_stamped.TryGetValue(e.Api, out List<UsageEvent>? stamped)) _stamped[e.Api] = stamped = new List<UsageEvent>();
                stamped.Add(e);
                if (stamped.Count > StampedKept) stamped.RemoveAt(0);
            }
            if (redated) _tails[key] = EndpointTail.Of(_events.Where(x => x.Key == key).OrderBy(x => x.Time))!;
            else if (tail == null) _tails[key] = EndpointTail.Advance(null, e);
            else EndpointTail.Advance(tail, e); // in place
        }

        /// <summary>
        /// <paramref name="e"/> is dated before records of its endpoint that were written before it: those were dated by a
        /// clock running ahead (the file's order is the order changes were recorded, each write catching up first, and no
        /// writer dates a change before the last one it read). Not trusted, they are known only to lie between the record
        /// before them and <paramref name="e"/>: re-dated there (spread out, in their order), with that whole window as
        /// their bounds, so a writer whose clock runs ahead neither hides later changes nor moves the bounds off the meter.
        /// </summary>
        private void Redate(UsageEvent e)
        {
            _sorted = null;
            var ahead = new List<UsageEvent>();
            UsageEvent? before = null;
            for (int i = _events.Count - 1; i >= 0; i--)
            {
                UsageEvent x = _events[i];
                if (x.Key != e.Key) continue;
                if (x.Time < e.Time) { before = x; break; }
                ahead.Add(x);
            }
            ahead.Reverse();
            DateTimeOffset to = e.Earliest is DateTimeOffset lo && lo < e.Time && (before == null || lo > before.Time) ? lo : e.Time;
            DateTimeOffset from = before?.Time ?? to;
            long step = Math.Max(1, (to - from).Ticks / (ahead.Count + 1));
            for (int k = 0; k < ahead.Count; k++)
            {
                UsageEvent x = ahead[k];
                DateTimeOffset at = from.AddTicks(step * (k + 1));
                x.Time = at < e.Time ? at : e.Time.AddTicks(k - ahead.Count);
                x.Earliest = before?.Earliest is DateTimeOffset floor && floor < before.Time ? floor : before?.Time;
                x.Latest = e.Latest is DateTimeOffset hi && hi > e.Time ? hi : e.Time;
            }
        }

        // ---- reading ----

        /// <summary>
        /// Reads what was appended since the last call (whole lines); from the top when the file was replaced. In pieces of
        /// at most <see cref="MaxLineBytes"/>, so a file of any size reads: a line longer than that (no record is) is skipped
        /// and counted like any unreadable line.
        /// </summary>
        /// <param name="whole">Every record in memory (a cost report, the history, a compaction); else what the index and
        /// the lines after it hold is enough (see <see cref="EndpointTail"/>).</param>
        private void CatchUp(bool whole = false)
        {
            try
            {
                CatchUpFrom(whole);
            }
            catch (NeedsWholeFile)
            {
                // A record after the index needs the ones before it (see Add): read from the top.
                Reset(_generation);
                CatchUpFrom(whole: true);
            }
        }

        private void CatchUpFrom(bool whole)
        {
            using var stream = Open(FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream == null)
            {
                Reset("");
                return;
            }
            (string generation, long compacted, DateTimeOffset? keptSince) = ReadHeader(stream);
            if (generation != _generation || stream.Length < _offset || (whole && _partial)) Reset(generation);
            _compactedBytes = compacted;
            KeptSince = keptSince;
            long end = stream.Length;
            if (!whole && _offset == 0 && _events.Count == 0) TryLoadIndex(generation, end);
            if (_offset == 0 && !_partial) BeginSnapshots(generation);
            try
            {
                ReadFrom(stream, end);
            }
            finally
            {
                EndSnapshots();
            }
        }

        private void ReadFrom(FileStream stream, long end)
        {
            if (end == _offset) return;
            var told = new Told(this, _readsTold, _offset, end);
            try
            {
                ReadLines(stream, end, told);
            }
            finally
            {
                told.End();
            }
        }

        private void ReadLines(FileStream stream, long end, Told told)
        {
            stream.Seek(_offset, SeekOrigin.Begin);
            var buffer = new byte[(int)Math.Min(MaxLineBytes, end - _offset)];
            long position = _offset;   // of buffer[0]
            int filled = 0;
            bool overlong = false;     // inside a line too long to hold: skipping to its newline
            while (position + filled < end)
            {
                int n = stream.Read(buffer, filled, (int)Math.Min(buffer.Length - filled, end - position - filled));
                if (n == 0) break;
                int scanned = filled, start = 0;
                filled += n;
                for (int i = IndexOfNewline(buffer, scanned, filled); i >= 0; i = IndexOfNewline(buffer, i + 1, filled))
                {
                    if (overlong) { SkippedLines++; overlong = false; }
                    else Parse(buffer, start, i - start);
                    start = i + 1;
                    Passed(position + start);
                }
                if (start == 0 && filled == MaxLineBytes)
                {
                    // No newline in a whole buffer: a line no record can be. Skip it to its end.
                    overlong = true;
                    start = filled;
                }
                if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
                    filled -= start;
                    position += start;
                    _offset = position;
                }
                told.At(position + filled);
                _pace?.Breathe();
            }
            if (overlong)
            {
                // An overlong last line without a newline: never a record; the next write starts on a fresh line.
                SkippedLines++;
                _offset = position + filled;
            }
            // A last line without a newline: a version 1 record (written "\n{...}") or a line being written right now.
            // Take it only when it is complete JSON; otherwise leave it for the next read.
            else if (filled > 0 && TryParse(buffer, 0, filled, out UsageEvent? tail))
            {
                if (tail != null) Add(tail);
                _offset = position + filled;
            }
        }

        /// <summary>The longest line read as a record (a record is a few hundred bytes); a longer one is skipped as unreadable.</summary>
        internal const int MaxLineBytes = 1 << 20;

        private static int IndexOfNewline(byte[] buffer, int from, int to) =>
            from >= to ? -1 : new ReadOnlySpan<byte>(buffer, from, to - from).IndexOf((byte)'\n') is int i && i >= 0 ? from + i : -1;

        private void Reset(string generation)
        {
            _sorted = null;
            _generation = generation;
            _offset = 0;
            _events.Clear();
            _tails.Clear();
            _stamped.Clear();
            _partial = false;
            _indexOffset = null;
            _checkpointOffset = 0;
            SkippedLines = 0;
        }

        private static (string Generation, long CompactedBytes, DateTimeOffset? KeptSince) ReadHeader(FileStream stream)
        {
            var head = new byte[Math.Min(256, stream.Length)];
            stream.Seek(0, SeekOrigin.Begin);
            int n = stream.Read(head, 0, head.Length);
            int end = Array.IndexOf(head, (byte)'\n', 0, n);
            if (end < 0) return ("", 0, null);
            try
            {
                using var doc = JsonDocument.Parse(new ReadOnlyMemory<byte>(head, 0, end));
                JsonElement r = doc.RootElement;
                if (r.ValueKind == JsonValueKind.Object && r.TryGetProperty("generation", out JsonElement g) && g.ValueKind == JsonValueKind.String)
                    return (g.GetString() ?? "", r.TryGetProperty("compactedBytes", out JsonElement c) && c.TryGetInt64(out long bytes) ? bytes : 0,
                        r.TryGetProperty("keptSince", out JsonElement k) && k.ValueKind == JsonValueKind.String && k.TryGetDateTimeOffset(out DateTimeOffset since) ? since.ToUniversalTime() : null);
            }
            catch (JsonException) { /* a version 1 file: no header */ }
            return ("", 0, null);
        }

        private void Parse(byte[] buffer, int start, int length)
        {
            if (TryParse(buffer, start, length, out UsageEvent? e))
            {
                if (e != null) Add(e);
            }
            else
            {
                SkippedLines++;
            }
        }

        /// <summary>False for an unreadable line; true with null for a blank or header line.</summary>
        private static bool TryParse(byte[] buffer, int start, int length, out UsageEvent? e)
        {
            e = null;
            int end = start + length;
            while (start < end && (buffer[start] == ' ' || buffer[start] == '\r' || buffer[start] == '\t')) start++;
            if (start >= end || (end - start == 1 && buffer[start] == '\r')) return true;
            var fields = new RecordFields();
            if (TryReadPlain(buffer, start, end, ref fields)) return fields.TryBuild(out e);
            fields = new RecordFields();
            return TryReadJson(buffer, start, end, ref fields, out bool header) && (header || fields.TryBuild(out e));
        }

        /// <summary>
        /// Any JSON line, by System.Text.Json's reader: one pass over the line's bytes (no document per line: a history holds
        /// a million of them). A field of another type than its own, or one this version does not know, is as good as
        /// absent; a line that is not one whole JSON object is not a record (false). <paramref name="header"/>: the file's
        /// header line.
        /// </summary>
        internal static bool TryReadJson(byte[] buffer, int start, int end, ref RecordFields f, out bool header)
        {
            header = false;
            try
            {
                var reader = new Utf8JsonReader(new ReadOnlySpan<byte>(buffer, start, end - start));
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    ReadOnlySpan<byte> field = reader.ValueSpan;
                    bool escaped = reader.ValueIsEscaped;
                    string? escapedName = escaped ? reader.GetString() : null;
                    if (!reader.Read()) return false;
                    if (reader.TokenType == JsonTokenType.StartArray && Is(field, escapedName, "starts")) { f.Starts = StampsOf(ref reader); continue; }
                    if (reader.TokenType == JsonTokenType.StartObject || reader.TokenType == JsonTokenType.StartArray) { reader.Skip(); continue; }
                    if (Is(field, escapedName, "generation")) { header = true; return true; }
                    else if (Is(field, escapedName, "t")) f.Time = StampOf(ref reader);
                    else if (Is(field, escapedName, "lo")) f.Lo = StampOf(ref reader);
                    else if (Is(field, escapedName, "hi")) f.Hi = StampOf(ref reader);
                    else if (Is(field, escapedName, "u")) f.Stamp = StampOf(ref reader);
                    else if (Is(field, escapedName, "sent")) f.Sent = StampOf(ref reader);
                    else if (Is(field, escapedName, "prev")) f.Prev = StampOf(ref reader);
                    else if (Is(field, escapedName, "by")) f.By = Shared(ref reader);
                    else if (Is(field, escapedName, "api")) f.Api = Shared(ref reader);
                    else if (Is(field, escapedName, "ns")) f.Namespace = Shared(ref reader);
                    else if (Is(field, escapedName, "name")) f.Name = Shared(ref reader);
                    else if (Is(field, escapedName, "state")) f.State = Shared(ref reader);
                    else if (Is(field, escapedName, "vendor")) f.Vendor = Shared(ref reader);
                    else if (Is(field, escapedName, "region")) f.Region = Shared(ref reader);
                    else if (Is(field, escapedName, "type")) f.Type = Shared(ref reader);
                    else if (Is(field, escapedName, "size")) f.Size = Shared(ref reader);
                    else if (Is(field, escapedName, "src")) f.Source = Shared(ref reader);
                    else if (Is(field, escapedName, "url")) f.Url = Shared(ref reader);
                    else if (Is(field, escapedName, "replicas")) f.Replicas = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int n) ? n : 0;
                    else if (Is(field, escapedName, "off")) f.Off = reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out double o) ? RecordFields.OffsetOf(o) : 0;
                    else if (Is(field, escapedName, "spread")) f.Spread = reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out double d) ? RecordFields.SpreadOf(d) : 0;
                }
                return reader.TokenType == JsonTokenType.EndObject && !reader.Read(); // not cut short, nothing after it
            }
            catch (Exception ex) when (ex is JsonException || ex is ArgumentException || ex is InvalidOperationException || ex is FormatException)
            {
                return false;
            }
        }

        /// <summary>An array of times (a replica list's starts); anything in it that is not a time is left out.</summary>
        private static List<DateTimeOffset> StampsOf(ref Utf8JsonReader reader)
        {
            var stamps = new List<DateTimeOffset>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.StartObject || reader.TokenType == JsonTokenType.StartArray) reader.Skip();
                else if (StampOf(ref reader) is DateTimeOffset t) stamps.Add(t);
            }
            return stamps;
        }

        /// <summary>The field's name is <paramref name="known"/> (compared on its bytes unless it came escaped).</summary>
        private static bool Is(ReadOnlySpan<byte> field, string? escapedName, string known) =>
            escapedName != null ? escapedName == known : Ascii(field, known);

        private static bool Ascii(ReadOnlySpan<byte> bytes, string text)
        {
            if (bytes.Length != text.Length) return false;
            for (int k = 0; k < bytes.Length; k++) if (bytes[k] != text[k]) return false;
            return true;
        }

        /// <summary>A time field: by System.Text.Json's own ISO 8601 reader, else (another form an older writer used) by text.</summary>
        private static DateTimeOffset? StampOf(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.String) return null;
            return reader.TryGetDateTimeOffset(out DateTimeOffset t) ? t.ToUniversalTime() : Time(reader.GetString());
        }

        private static string? Shared(ref Utf8JsonReader reader) => SharedStrings.Of(ref reader);

        private static DateTimeOffset? Time(string? text) =>
            text != null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset t) ? t : null;

        private static string? Str(JsonElement r, string name) =>
            r.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        // ---- writing ----

        internal static string Format(UsageEvent e) => JsonLine.Of(w => WriteRecord(w, e));

        /// <summary>
        /// A record as one JSON object, its fields in the order every version wrote them. <paramref name="observed"/>: for a
        /// spooled observation, which writes its own "sent" and "starts" (see <see cref="FormatObserved"/>) after these.
        /// </summary>
        internal static void WriteRecord(Utf8JsonWriter w, UsageEvent e, Observed? observed = null)
        {
            w.WriteStartObject();
            w.WriteNumber("v", 2);
            w.WriteString("t", Stamp(e.Time));
            WriteTime(w, "lo", e.Earliest);
            WriteTime(w, "hi", e.Latest);
            w.WriteString("api", e.Api);
            w.WriteString("ns", e.Namespace);
            w.WriteString("name", e.Name);
            w.WriteString("state", e.State);
            w.WriteNumber("replicas", e.Replicas);
            WriteText(w, "vendor", e.Vendor);
            WriteText(w, "region", e.Region);
            WriteText(w, "type", e.InstanceType);
            WriteText(w, "size", e.InstanceSize);
            WriteText(w, "src", e.Source);
            WriteText(w, "url", e.Url);
            WriteTime(w, "u", e.ServiceStamp);
            // An action's window starts when it was sent: "sent" is then "lo", and not written twice.
            if (observed == null && e.SentAt is DateTimeOffset sent && !(e.Source == "action" && sent == e.Earliest)) w.WriteString("sent", Stamp(sent));
            if (e.PreviousSeen is DateTimeOffset prev) w.WriteString("prev", Stamp(prev));
            if (e.DatedBy != null) w.WriteString("by", e.DatedBy);
            if (e.ClockOffset != TimeSpan.Zero) w.WriteNumber("off", Math.Round(e.ClockOffset.TotalSeconds, 3));
            if (e.IsReplicaList)
            {
                if (observed?.ReplicaStarts == null) WriteTimes(w, "starts", e.ReplicaStarts ?? Array.Empty<DateTimeOffset>());
                w.WriteNumber("spread", Math.Round(e.StartsSpread.TotalSeconds, 4));
            }
            if (observed != null)
            {
                w.WriteString("kind", observed.Kind.ToString());
                w.WriteString("updated", Stamp(observed.UpdatedAt));
                w.WriteString("sent", Stamp(observed.SentAt));
                w.WriteString("received", Stamp(observed.ReceivedAt));
                WriteTime(w, "created", observed.CreatedAt);
                if (observed.ReplicaStarts != null) WriteTimes(w, "starts", observed.ReplicaStarts);
            }
            w.WriteEndObject();
        }

        private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? time)
        {
            if (time is DateTimeOffset t) w.WriteString(name, Stamp(t));
            else w.WriteNull(name);
        }

        private static void WriteText(Utf8JsonWriter w, string name, string? text)
        {
            if (text != null) w.WriteString(name, text);
            else w.WriteNull(name);
        }

        private static void WriteTimes(Utf8JsonWriter w, string name, IEnumerable<DateTimeOffset> times)
        {
            w.WriteStartArray(name);
            foreach (DateTimeOffset t in times) w.WriteStringValue(Stamp(t));
            w.WriteEndArray();
        }

        internal static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

        /// <param name="width">Pads the line to this many bytes with spaces before the closing brace (valid JSON), so a compaction can write the body's size over it afterwards.</param>
        private static string Header(string generation, long compactedBytes, DateTimeOffset? keptSince, int width = 0)
        {
            string head = "{\"v\":2,\"generation\":\"" + generation + "\",\"compactedBytes\":" + compactedBytes.ToString(CultureInfo.InvariantCulture)
                + (keptSince is DateTimeOffset since ? ",\"keptSince\":\"" + Stamp(since) + "\"" : "");
            return head + new string(' ', Math.Max(0, width - head.Length - 2)) + "}\n";
        }

        private void Append(string lines)
        {
            BeforeWriteOpen?.Invoke(Path);
            using var stream = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            var text = new StringBuilder();
            if (stream.Length == 0)
            {
                _generation = Guid.NewGuid().ToString("N");
                text.Append(Header(_generation, 0, null));
            }
            else
            {
                // A version 1 file, or a torn last line: start on a fresh line.
                stream.Seek(-1, SeekOrigin.End);
                if (stream.ReadByte() != '\n') text.Append('\n');
            }
            text.Append(lines);
            byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
            stream.Seek(0, SeekOrigin.End);
            stream.Write(bytes, 0, bytes.Length);
            stream.Flush();
            // What was just written is known already: the next read need not parse it.
            _offset = stream.Length;
        }

        /// <summary>
        /// The same file with this history's settings and nothing read yet. A process that read only the index compacts
        /// through it: the whole (paced) reading then holds no lock this process's other commands wait on, and this history
        /// keeps only the tails; the records are let go when the compaction ends.
        /// </summary>
        private UsageHistory Compactor() => new UsageHistory(Path, _compactAbove)
        {
            _throwaway = true,
            Clock = Clock, Retention = Retention, UseIndex = UseIndex, IndexEveryBytes = IndexEveryBytes, CheckpointEveryBytes = CheckpointEveryBytes,
            CheckpointMargin = CheckpointMargin, LockPatience = LockPatience, BeforeWriteOpen = BeforeWriteOpen, WorkReportedAboveBytes = WorkReportedAboveBytes,
            _watchers = _watchers,
        };

        private bool NeedsCompaction(out long length)
        {
            var file = new FileInfo(Path);
            length = file.Exists ? file.Length : 0; // nothing written yet (a deletion of an endpoint never recorded writes nothing)
            return file.Exists && length > _compactAbove && length > 2 * _compactedBytes;
        }

        /// <summary>
        /// The largest file a write compacts when it is due (MERT_ENDPOINT_HISTORY_COMPACT_MAX_BYTES; 0: none): 64 MiB by
        /// default, about 150,000 records, read whole and rewritten in 3.1 s at half a core (see <see cref="Pace"/>; Core
        /// alone, this machine), inside the 10 s a process's end gives its writes. A larger one is compacted by
        /// <see cref="CompactNowAsync"/> only (Optimize-MertEndpointHistory, which the scheduled guard runs).
        /// </summary>
        internal long CompactOnWriteMaxBytes { get; set; } = CompactMaxFrom(Environment.GetEnvironmentVariable(CompactMaxVariable)).Bytes;

        /// <summary>The setting read: the largest file a write compacts (0: none), or why it was not understood (then the default holds; Test-MertEndpointSetup names it).</summary>
        internal static (long Bytes, string? Problem) CompactMaxFrom(string? text)
        {
            if (string.IsNullOrWhiteSpace(text)) return (DefaultCompactOnWriteMaxBytes, null);
            if (!long.TryParse(text!.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long bytes))
                return (DefaultCompactOnWriteMaxBytes, $"'{text.Trim()}' is not a whole number of bytes (0: no write compacts; the default is {DefaultCompactOnWriteMaxBytes})");
            return (bytes, null);
        }

        internal const string CompactMaxVariable = "MERT_ENDPOINT_HISTORY_COMPACT_MAX_BYTES";
        private const long DefaultCompactOnWriteMaxBytes = 64L << 20;

        /// <summary>
        /// Every record but those that repeat the state before them, oldest first; and, with a retention, none of those
        /// before <paramref name="cutoff"/> that no later period needs. A period after the cut-off needs each endpoint's
        /// state at the cut-off and, when it was billing then, when that streak began (BilledSince, the guard): so the
        /// records from the endpoint's last one before the cut-off that does not bill are kept (all of them, if it never
        /// stopped billing). An endpoint deleted before the cut-off is dropped whole. Every cost of a period that starts
        /// at or after the cut-off stays exactly what it was.
        /// </summary>
        private List<UsageEvent> Kept(DateTimeOffset? cutoff, out bool dropped)
        {
            if (_partial) throw new InvalidOperationException("a compaction needs every record: read the whole file first");
            var kept = new List<UsageEvent>();
            dropped = false;
            foreach (var group in _events.GroupBy(e => e.Key))
            {
                UsageEvent? previous = null;
                List<UsageEvent> records = group.OrderBy(e => e.Time).ToList();
                int from = 0;
                if (cutoff is DateTimeOffset cut && records[0].Time < cut)
                {
                    UsageEvent? last = records.LastOrDefault(e => !e.IsReplicaList);
                    if (last != null && last.State == "deleted" && last.Time < cut)
                    {
                        dropped = true; // gone before the cut-off
                        continue;
                    }
                    for (int i = records.Count - 1; i >= 0; i--)
                        if (records[i].Time < cut && !records[i].IsReplicaList && !records[i].IsBilled) { from = i; break; }
                    dropped |= from > 0;
                }
                foreach (UsageEvent e in records.Skip(from))
                {
                    if (e.IsReplicaList)
                    {
                        kept.Add(e); // what dates the rise before it
                        continue;
                    }
                    if (previous != null && previous.SameAs(e)) continue;
                    kept.Add(e);
                    previous = e;
                }
            }
            kept.Sort((a, b) => a.Time.CompareTo(b.Time));
            return kept;
        }

        private FileStream? Open(FileMode mode, FileAccess access, FileShare share)
        {
            try
            {
                return new FileStream(Path, mode, access, share);
            }
            catch (FileNotFoundException) { return null; }
            catch (DirectoryNotFoundException) { return null; }
        }

        /// <summary>The cross-process lock: waits without blocking a thread, up to LockPatience.</summary>
        private async Task<IDisposable> LockAsync(CancellationToken ct)
        {
            DateTime giveUp = DateTime.UtcNow + LockPatience;
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    BeforeWriteOpen?.Invoke(LockPath);
                    return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
                }
                // Held by another process: wait for it. A disk that refuses writes is no lock: said at once.
                catch (IOException ex) when (!IsReadOnlyDisk(ex) && DateTime.UtcNow < giveUp)
                {
                    await Task.Delay(5 + Math.Min(attempt, 20) * 2, ct).ConfigureAwait(false);
                }
                catch (IOException ex) when (!IsReadOnlyDisk(ex))
                {
                    throw new TimeoutException($"another process held '{LockPath}' for more than {LockPatience.TotalSeconds:0} s", ex);
                }
            }
        }

        /// <summary>One endpoint as one answer reported it, before it is dated.</summary>
        internal sealed class Observed
        {
            public Observed(UsageEvent e, ObservationKind kind, DateTimeOffset updatedAt, DateTimeOffset sentAt, DateTimeOffset receivedAt)
            {
                Event = e; Kind = kind; UpdatedAt = updatedAt; SentAt = sentAt; ReceivedAt = receivedAt;
            }

            public UsageEvent Event { get; }
            public ObservationKind Kind { get; }
            public DateTimeOffset UpdatedAt { get; }
            public DateTimeOffset SentAt { get; }
            public DateTimeOffset ReceivedAt { get; }
            /// <summary>The service's createdAt of the endpoint (its clock), when the answer carried one.</summary>
            public DateTimeOffset? CreatedAt { get; set; }
            /// <summary>Not null for a replica list: its replicas' starts (the service's clock). Recorded as a fact, not a change.</summary>
            public IReadOnlyList<DateTimeOffset>? ReplicaStarts { get; set; }
        }
    }
}
