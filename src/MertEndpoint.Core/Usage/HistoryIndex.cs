using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace MertEndpoint
{
    /// <summary>
    /// What the history holds of one endpoint's latest moments: its last and previous record, the first record of its
    /// current billing streak, when its first record is dated and its last known URL. Dating a new observation, a Get's
    /// streaks, the lifecycle's questions and the scale-up check ask nothing else, so a command that is not a cost report
    /// reads these (from the index) and not the whole file. One rule, <see cref="Advance"/>, builds them record by record,
    /// oldest first, for the index and for <see cref="UsageService.Summarize(IEnumerable{UsageEvent}, DateTimeOffset, DateTimeOffset)"/> alike.
    /// </summary>
    internal sealed class EndpointTail
    {
        public UsageEvent Last { get; private set; } = null!;
        public UsageEvent? Previous { get; private set; }
        /// <summary>When the endpoint's earliest record is dated.</summary>
        public DateTimeOffset First { get; private set; }
        /// <summary>The first record of the streak of billed records the last one belongs to; null when the last does not bill.</summary>
        public UsageEvent? Streak { get; private set; }
        /// <summary>The streak began with the endpoint's first record (nothing before it says when it began billing).</summary>
        public bool StreakIsFirst { get; private set; }
        /// <summary>The data-plane URL last recorded since the endpoint's last deletion (the service keeps it across pause and resume).</summary>
        public string? Url { get; private set; }

        /// <summary>The tail after <paramref name="e"/>, the endpoint's newest record: <paramref name="tail"/> changed in place, or a new one for its first (null).</summary>
        public static EndpointTail Advance(EndpointTail? tail, UsageEvent e)
        {
            if (tail != null && e.IsReplicaList) return tail; // a fact about the last change, not a change
            if (tail == null)
                return new EndpointTail { Last = e, First = e.Time, Streak = e.IsBilled ? e : null, StreakIsFirst = e.IsBilled, Url = e.State == "deleted" ? null : e.Url };
            tail.Previous = tail.Last;
            tail.Last = e;
            // An update keeps the replicas up (it bills): the streak, what the guard measures, goes on through it.
            if (!e.IsBilled) (tail.Streak, tail.StreakIsFirst) = (null, false);
            else if (tail.Streak == null) (tail.Streak, tail.StreakIsFirst) = (e, false);
            if (e.State == "deleted") tail.Url = null;
            else if (e.Url != null) tail.Url = e.Url;
            return tail;
        }

        /// <summary>The tail of an endpoint's records, oldest first; null for none.</summary>
        public static EndpointTail? Of(IEnumerable<UsageEvent> oldestFirst)
        {
            EndpointTail? tail = null;
            foreach (UsageEvent e in oldestFirst) tail = Advance(tail, e);
            return tail;
        }

        public EndpointTail Copy() => (EndpointTail)MemberwiseClone();

        internal void WriteTo(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WritePropertyName("last");
            UsageHistory.WriteRecord(w, Last);
            w.WritePropertyName("previous");
            if (Previous != null) UsageHistory.WriteRecord(w, Previous);
            else w.WriteNullValue();
            // Mostly the last or the previous record itself: named, not written twice.
            w.WritePropertyName("streak");
            if (Streak == null) w.WriteNullValue();
            else if (ReferenceEquals(Streak, Last)) w.WriteStringValue("last");
            else if (ReferenceEquals(Streak, Previous)) w.WriteStringValue("previous");
            else UsageHistory.WriteRecord(w, Streak);
            w.WriteBoolean("streakIsFirst", StreakIsFirst);
            w.WriteString("first", UsageHistory.Stamp(First));
            if (Url != null) w.WriteString("url", Url);
            else w.WriteNull("url");
            w.WriteEndObject();
        }

        internal string ToJson() => JsonLine.Of(WriteTo);

        internal static EndpointTail? Parse(JsonElement r)
        {
            if (!(UsageHistory.EventOf(r, "last") is UsageEvent last) || !r.TryGetProperty("first", out JsonElement first) || first.ValueKind != JsonValueKind.String
                || !first.TryGetDateTimeOffset(out DateTimeOffset firstTime))
                return null;
            UsageEvent? previous = UsageHistory.EventOf(r, "previous");
            UsageEvent? streak = r.TryGetProperty("streak", out JsonElement s) && s.ValueKind == JsonValueKind.String
                ? s.GetString() switch { "last" => last, "previous" => previous, _ => null }
                : UsageHistory.EventOf(r, "streak");
            return new EndpointTail
            {
                Last = last, Previous = previous, First = firstTime.ToUniversalTime(), Streak = streak,
                StreakIsFirst = r.TryGetProperty("streakIsFirst", out JsonElement f) && f.ValueKind == JsonValueKind.True,
                Url = r.TryGetProperty("url", out JsonElement u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null,
            };
        }
    }

    /// <summary>
    /// The index: beside the history (<c>usage.jsonl.index</c>), JSON lines of every endpoint's <see cref="EndpointTail"/>
    /// and each control plane's last stamped actions, as of a byte offset of one generation of the file. A fresh process
    /// reads it and only the lines appended after that offset, not the whole file, unless it needs every record (a cost
    /// report, the history's listing, a compaction) or meets what only they settle (a record dated by a clock running
    /// ahead). It is a cache: written whole beside itself and renamed into place, by whoever has read far enough past the
    /// last one (no lock: any index is right for its offset), ignored when it belongs to another generation, is unreadable
    /// or cannot be written. Deleting it loses nothing.
    /// </summary>
    public sealed partial class UsageHistory
    {
        private const int IndexVersion = 1;

        // Read from the index: _tails and _stamped are whole, _events holds only what was appended after it.
        private bool _partial;
        // The offset of the index this process last read or wrote for the current generation; null when none.
        private long? _indexOffset;

        internal string IndexPath => CacheBase + ".index";

        /// <summary>The history whose index and checkpoints these are: its own path, or (a compaction's new file, read before it is renamed into place) the one it replaces.</summary>
        private string CacheBase => _cacheBase ?? Path;
        private string? _cacheBase;

        /// <summary>How far past the last index a reading goes before it writes a new one (a fresh process reads at most about this much).</summary>
        internal long IndexEveryBytes { get; set; } = 256 * 1024;

        /// <summary>Tests only: false reads every history from its top, as before the index.</summary>
        internal bool UseIndex { get; set; } = true;

        /// <summary>Raised where the index's part of the history is not enough: the caller reads the whole file and goes on.</summary>
        private sealed class NeedsWholeFile : Exception { }

        /// <summary>Copies of the tails of these endpoints (keys <see cref="UsageEvent.KeyOf"/>) that the history has, read as little as it can.</summary>
        internal Dictionary<string, EndpointTail> TailsOf(IEnumerable<string> keys) => CaughtUp(whole: false, () =>
        {
            var tails = new Dictionary<string, EndpointTail>(StringComparer.Ordinal);
            foreach (string key in keys)
                if (_tails.TryGetValue(key, out EndpointTail? tail)) tails[key] = tail.Copy();
            return tails;
        });

        /// <summary>Copies of the tails of every endpoint of a namespace behind a control plane.</summary>
        internal List<EndpointTail> TailsIn(string api, string ns) => CaughtUp(whole: false, () =>
            _tails.Values.Where(t => t.Last.Api == api && t.Last.Namespace == ns).Select(t => t.Copy()).ToList());

        /// <summary>An answer from what the file holds now (every record, or the index and what follows it), under this history's gate.</summary>
        private T CaughtUp<T>(bool whole, Func<T> answer)
        {
            lock (_gate)
            {
                try
                {
                    CatchUp(whole);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    throw Errors.HistoryUnreadable(Path, ex);
                }
                SaveIndexIfBehind();
                return answer();
            }
        }

        /// <summary>Seeds a fresh history from the index when it fits this generation and length of the file.</summary>
        private void TryLoadIndex(string generation, long length)
        {
            if (!UseIndex || generation.Length == 0) return;
            if (ReadWhole(IndexPath) is not string[] lines) return;
            var tails = new Dictionary<string, EndpointTail>(StringComparer.Ordinal);
            var stamped = new Dictionary<string, List<UsageEvent>>(StringComparer.Ordinal);
            long offset, checkpoint;
            int skipped;
            try
            {
                if (lines.Length == 0) return;
                using (JsonDocument head = JsonDocument.Parse(lines[0]))
                {
                    JsonElement h = head.RootElement;
                    if (!h.TryGetProperty("index", out JsonElement v) || !v.TryGetInt32(out int version) || version != IndexVersion
                        || !h.TryGetProperty("generation", out JsonElement g) || g.GetString() != generation
                        || !h.TryGetProperty("offset", out JsonElement o) || !o.TryGetInt64(out offset) || offset <= 0 || offset > length
                        || !h.TryGetProperty("lines", out JsonElement n) || !n.TryGetInt32(out int count) || count != lines.Length - 1)
                        return; // another generation, a file cut shorter, or an index cut short
                    skipped = h.TryGetProperty("skipped", out JsonElement k) && k.TryGetInt32(out int sk) ? sk : 0;
                    checkpoint = h.TryGetProperty("checkpoint", out JsonElement c) && c.TryGetInt64(out long at) ? at : 0;
                }
                for (int i = 1; i < lines.Length; i++)
                {
                    using JsonDocument doc = JsonDocument.Parse(lines[i]);
                    JsonElement r = doc.RootElement;
                    if (r.TryGetProperty("api", out JsonElement api) && api.ValueKind == JsonValueKind.String
                        && r.TryGetProperty("stamped", out JsonElement actions) && actions.ValueKind == JsonValueKind.Array)
                    {
                        var list = new List<UsageEvent>();
                        foreach (JsonElement a in actions.EnumerateArray())
                            if (EventOf(a) is UsageEvent e) list.Add(e);
                        stamped[api.GetString()!] = list;
                    }
                    else if (EndpointTail.Parse(r) is EndpointTail tail) tails[tail.Last.Key] = tail;
                    else return;
                }
            }
            catch (Exception ex) when (ex is JsonException || ex is InvalidOperationException || ex is FormatException)
            {
                return;
            }
            foreach (var pair in tails) _tails[pair.Key] = pair.Value;
            foreach (var pair in stamped) _stamped[pair.Key] = pair.Value;
            _offset = offset;
            _indexOffset = offset;
            _checkpointOffset = checkpoint;
            SkippedLines = skipped;
            _partial = true;
        }

        /// <summary>Writes the index when this process has read <see cref="IndexEveryBytes"/> past the last one it knows; quietly not when it cannot.</summary>
        private void SaveIndexIfBehind()
        {
            if (!UseIndex || _generation.Length == 0 || _offset - (_indexOffset ?? 0) < IndexEveryBytes) return;
            if (_offset - _checkpointOffset >= CheckpointEveryBytes && AppendCheckpoints(new[] { CheckpointLine(_offset) })) _checkpointOffset = _offset;
            var lines = new List<string>();
            foreach (var pair in _stamped)
                lines.Add(JsonLine.Of(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("api", pair.Key);
                    w.WriteStartArray("stamped");
                    foreach (UsageEvent e in pair.Value) WriteRecord(w, e);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }));
            foreach (EndpointTail tail in _tails.Values) lines.Add(tail.ToJson());
            var text = new StringBuilder();
            text.Append("{\"index\":").Append(IndexVersion).Append(",\"generation\":\"").Append(_generation).Append("\",\"offset\":")
                .Append(_offset.ToString(CultureInfo.InvariantCulture)).Append(",\"skipped\":").Append(SkippedLines.ToString(CultureInfo.InvariantCulture))
                .Append(",\"checkpoint\":").Append(_checkpointOffset.ToString(CultureInfo.InvariantCulture))
                .Append(",\"lines\":").Append(lines.Count.ToString(CultureInfo.InvariantCulture)).Append("}\n");
            foreach (string line in lines) text.Append(line).Append('\n');
            // A cache: when it cannot be written, the next reading reads more of the file, nothing else.
            if (WriteWhole(IndexPath, text.ToString())) _indexOffset = _offset;
        }

        /// <summary>The lines of a cache file; null when there is none or it cannot be read (a cache: the history answers without it).</summary>
        private static string[]? ReadWhole(string path)
        {
            try
            {
                return File.Exists(path) ? File.ReadAllLines(path) : null;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>
        /// Writes a cache file whole beside itself and renames it into place (a reader sees the old one or the new one);
        /// false, leaving nothing behind, when the disk refuses. Every cache beside the history is written so.
        /// </summary>
        private bool WriteWhole(string path, string text)
        {
            string temp = path + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp";
            try
            {
                BeforeWriteOpen?.Invoke(temp);
                File.WriteAllText(temp, text);
                if (File.Exists(path)) File.Replace(temp, path, null);
                else File.Move(temp, path);
                return true;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return false;
            }
            finally
            {
                try { if (File.Exists(temp)) File.Delete(temp); }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
            }
        }

        // ---- sightings: when each endpoint was last seen in the state the file holds, by any process ----

        /// <summary>
        /// Beside the history (<c>usage.jsonl.seen</c>): JSON lines, per endpoint, when a read was last sent that showed it in
        /// the state the history holds (the history records changes only, so a repeat moves nothing in the file). Read and
        /// rewritten whole under the history's lock by each write, so a fresh process (a scheduled guard every 15
        /// minutes) dates the next change from the last sighting of any process, not from the last recorded change, which
        /// can be hours older. A sighting dated after this process's now (beyond what clocks differ by) is not taken: a
        /// clock running ahead would narrow a window past the truth. Deleting the file only widens windows.
        /// </summary>
        internal string SightingsPath => CacheBase + ".seen";

        /// <summary>Takes the sightings other processes wrote, where they are later than this process's own and of the state the history holds.</summary>
        private void MergeSightings()
        {
            if (ReadWhole(SightingsPath) is not string[] lines) return;
            DateTimeOffset limit = Clock.GetUtcNow() + FutureTolerance;
            foreach (string line in lines)
            {
                // One pass of Utf8JsonReader (no document, no serializer: every fresh command's first write reads this).
                string? key = null, state = null;
                int? replicas = null;
                DateTimeOffset? seen = null;
                try
                {
                    var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(line));
                    if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) continue;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        string name = reader.GetString()!;
                        if (!reader.Read()) break;
                        if (name == "key" && reader.TokenType == JsonTokenType.String) key = reader.GetString();
                        else if (name == "state" && reader.TokenType == JsonTokenType.String) state = reader.GetString();
                        else if (name == "replicas" && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int n)) replicas = n;
                        else if (name == "seen" && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out DateTimeOffset t)) seen = t.ToUniversalTime();
                        else reader.Skip();
                    }
                }
                catch (JsonException)
                {
                    continue; // a torn or foreign line: not a sighting
                }
                if (key == null || seen is not DateTimeOffset at || !_tails.TryGetValue(key, out EndpointTail? tail) || at > limit || at <= tail.Last.Time
                    || state != tail.Last.State || replicas != tail.Last.Replicas)
                    continue;
                if (!_lastSeen.TryGetValue(key, out DateTimeOffset mine) || mine < at) _lastSeen[key] = at;
            }
        }

        /// <summary>Writes this process's sightings of the states the history holds (under the history's lock); quietly not when it cannot.</summary>
        private void SaveSightings()
        {
            var text = new StringBuilder();
            foreach (var pair in _lastSeen)
            {
                if (!_tails.TryGetValue(pair.Key, out EndpointTail? tail) || pair.Value <= tail.Last.Time) continue;
                text.Append("{\"key\":\"").Append(JsonEncodedText.Encode(pair.Key).ToString()).Append("\",\"state\":\"")
                    .Append(JsonEncodedText.Encode(tail.Last.State).ToString()).Append("\",\"replicas\":")
                    .Append(tail.Last.Replicas.ToString(CultureInfo.InvariantCulture)).Append(",\"seen\":\"").Append(Stamp(pair.Value)).Append("\"}\n");
            }
            // Not written: only precision lost (the next change's window begins at the last recorded change).
            WriteWhole(SightingsPath, text.ToString());
        }

        // ---- checkpoints: what a cost report of a recent period starts from ----

        /// <summary>
        /// Beside the history (<c>usage.jsonl.checkpoints</c>): JSON lines, each every endpoint's tail as of a byte offset of
        /// one generation of the file, with the latest time any record before that offset is dated (<c>maxTime</c>). Every
        /// record dated at or after that time comes after the offset, so a report from a later time reads the checkpoint and
        /// the file after it, not the whole file (<see cref="ReadSince"/>). One every <see cref="CheckpointEveryBytes"/> of
        /// the file: written by a reading from the top as it passes them, and after that with the index. Appended whole
        /// lines; a torn one is skipped; deleting the file loses nothing.
        /// </summary>
        internal string CheckpointPath => CacheBase + ".checkpoints";

        /// <summary>The distance between checkpoints: a report reads at most about this much more than its period needs.</summary>
        internal long CheckpointEveryBytes { get; set; } = 4L << 20;

        /// <summary>How long before a report's start its checkpoint's latest record is: a change seen late (its window reaching into the period) is read whole.</summary>
        internal TimeSpan CheckpointMargin { get; set; } = TimeSpan.FromDays(1);

        // The offset of the last checkpoint of this generation this process knows of (0: none).
        private long _checkpointOffset;
        // While reading from the top: checkpoint lines to append when the reading ends, and the offset of the next one.
        private List<string>? _snapshots;
        private long _nextSnapshot;

        private string CheckpointLine(long offset)
        {
            DateTimeOffset maxTime = _tails.Count == 0 ? DateTimeOffset.MinValue : _tails.Values.Max(t => t.Last.Time);
            return JsonLine.Of(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("checkpoint", IndexVersion);
                w.WriteString("generation", _generation);
                w.WriteNumber("offset", offset);
                w.WriteString("maxTime", Stamp(maxTime));
                w.WriteStartArray("tails");
                foreach (EndpointTail tail in _tails.Values) tail.WriteTo(w);
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }

        /// <summary>A reading from the top of this generation begins: it takes the checkpoints the file does not have yet.</summary>
        private void BeginSnapshots(string generation)
        {
            _snapshots = null;
            if (!UseIndex || generation.Length == 0) return;
            _checkpointOffset = Checkpoints(generation).Select(c => c.Offset).DefaultIfEmpty(0).Max();
            _snapshots = new List<string>();
            _nextSnapshot = _checkpointOffset + CheckpointEveryBytes;
        }

        /// <summary>After a whole line ending at <paramref name="offset"/> of a reading from the top.</summary>
        private void Passed(long offset)
        {
            if (_snapshots == null || offset < _nextSnapshot) return;
            _snapshots.Add(CheckpointLine(offset));
            _nextSnapshot = offset + CheckpointEveryBytes;
        }

        private void EndSnapshots()
        {
            if (_snapshots == null) return;
            List<string> lines = _snapshots;
            _snapshots = null;
            if (lines.Count > 0 && AppendCheckpoints(lines)) _checkpointOffset = _nextSnapshot - CheckpointEveryBytes;
        }

        private bool AppendCheckpoints(IEnumerable<string> lines)
        {
            try
            {
                BeforeWriteOpen?.Invoke(CheckpointPath);
                byte[] bytes = Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));
                using var stream = new FileStream(CheckpointPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                stream.Write(bytes, 0, bytes.Length);
                return true;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return false; // a cache: a report reads more of the file
            }
        }

        /// <summary>Drops the checkpoints of every other generation (after a compaction: they point into a file that is gone).</summary>
        private void KeepCheckpointsOf(string generation)
        {
            // Not written: the old ones only cost a report's scan a little.
            if (!File.Exists(CheckpointPath)) return;
            var kept = new StringBuilder();
            try
            {
                using var stream = OpenCheckpoints();
                foreach (Checkpoint c in Checkpoints(generation))
                    if (CheckpointText(stream, c, generation) is byte[] line) kept.Append(Encoding.UTF8.GetString(line)).Append('\n');
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return; // a cache: left as it is
            }
            WriteWhole(CheckpointPath, kept.ToString());
        }

        /// <summary>A checkpoint of the file: the history's offset it stands at, its latest record's time, and where its line is in the checkpoint file.</summary>
        private readonly struct Checkpoint
        {
            public Checkpoint(long offset, DateTimeOffset maxTime, long at, int length) { Offset = offset; MaxTime = maxTime; At = at; Length = length; }
            public readonly long Offset;
            public readonly DateTimeOffset MaxTime;
            public readonly long At;
            public readonly int Length;
        }

        // The head of a checkpoint line (generation, offset, maxTime) is in its first bytes; its tails follow.
        private const int CheckpointHeadBytes = 400;

        /// <summary>
        /// The checkpoints of a generation, from the heads of the checkpoint file's lines: the file is scanned as bytes and
        /// only each line's head is read (a line holds every endpoint's tail, 100 KB and more; a year of a 100-endpoint
        /// history has over a hundred of them), so finding the one a report starts from costs milliseconds.
        /// </summary>
        private List<Checkpoint> Checkpoints(string generation)
        {
            var found = new List<Checkpoint>();
            try
            {
                if (!File.Exists(CheckpointPath)) return found;
                using var stream = OpenCheckpoints();
                var buffer = new byte[64 * 1024];
                var head = new byte[CheckpointHeadBytes];
                int headLength = 0;
                long bufferAt = 0, lineStart = 0;
                int n;
                while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    int from = 0;
                    while (from < n)
                    {
                        int newline = new ReadOnlySpan<byte>(buffer, from, n - from).IndexOf((byte)'\n');
                        int upTo = newline < 0 ? n : from + newline;
                        int take = Math.Min(upTo - from, head.Length - headLength);
                        if (take > 0)
                        {
                            Buffer.BlockCopy(buffer, from, head, headLength, take);
                            headLength += take;
                        }
                        if (newline < 0) break;
                        long lineEnd = bufferAt + upTo;
                        if (HeadOf(head, headLength) is var (gen, offset, maxTime) && gen == generation && offset > 0 && lineEnd - lineStart <= int.MaxValue)
                            found.Add(new Checkpoint(offset, maxTime, lineStart, (int)(lineEnd - lineStart)));
                        headLength = 0;
                        from = upTo + 1;
                        lineStart = bufferAt + from;
                    }
                    bufferAt += n;
                }
                // A last line without its newline is being written, or was torn: not a checkpoint.
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // none to go on
            }
            return found;
        }

        /// <summary>A checkpoint line's generation, offset and latest time, read field by field from its head.</summary>
        private static (string Generation, long Offset, DateTimeOffset MaxTime)? HeadOf(byte[] head, int length)
        {
            var reader = new Utf8JsonReader(new ReadOnlySpan<byte>(head, 0, length), isFinalBlock: false, default);
            string? gen = null;
            long offset = -1;
            DateTimeOffset? maxTime = null;
            try
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName && !(gen != null && offset >= 0 && maxTime != null))
                {
                    string name = reader.GetString()!;
                    if (!reader.Read()) break;
                    if (name == "generation" && reader.TokenType == JsonTokenType.String) gen = reader.GetString();
                    else if (name == "offset" && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long o)) offset = o;
                    else if (name == "maxTime" && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out DateTimeOffset t)) maxTime = t.ToUniversalTime();
                    else if (reader.TokenType == JsonTokenType.StartObject || reader.TokenType == JsonTokenType.StartArray) break;
                }
            }
            catch (Exception ex) when (ex is JsonException || ex is InvalidOperationException)
            {
                return null; // not JSON, or not UTF-8 (a torn or garbled cache line): no checkpoint
            }
            return gen != null && maxTime is DateTimeOffset max ? (gen, offset, max) : null;
        }

        /// <summary>
        /// The checkpoint's whole line, read from where the scan found it; null when the file changed since (another process
        /// kept only a newer generation's) and the line there is not this checkpoint any more.
        /// </summary>
        private byte[]? CheckpointText(Checkpoint c, string generation)
        {
            try
            {
                using var stream = OpenCheckpoints();
                return CheckpointText(stream, c, generation);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return null;
            }
        }

        private FileStream OpenCheckpoints() => new FileStream(CheckpointPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);

        private static byte[]? CheckpointText(FileStream stream, Checkpoint c, string generation)
        {
            if (stream.Length < c.At + c.Length) return null;
            stream.Seek(c.At, SeekOrigin.Begin);
            var line = new byte[c.Length];
            int read = 0, n;
            while (read < line.Length && (n = stream.Read(line, read, line.Length - read)) > 0) read += n;
            if (read < line.Length) return null;
            return HeadOf(line, Math.Min(line.Length, CheckpointHeadBytes)) is var (gen, offset, _) && gen == generation && offset == c.Offset ? line : null;
        }

        /// <summary>
        /// Every record a report from <paramref name="since"/> on needs, oldest first, and every endpoint's tail: from the
        /// last checkpoint whose records are all dated at least <see cref="CheckpointMargin"/> before it (each endpoint's
        /// records there standing for the ones before) and the file after it; the whole file when no checkpoint fits,
        /// when the history already holds every record, or when a record after the checkpoint needs the ones before it.
        /// </summary>
        internal (IReadOnlyList<UsageEvent> Events, Dictionary<string, EndpointTail> Tails) ReadSince(DateTimeOffset since)
        {
            lock (_gate)
            {
                try
                {
                    LastReadFrom = 0;
                    if (UseIndex && (_partial || _offset == 0) && FromCheckpoint(since) is { } read) return read;
                    CatchUp(whole: true);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    throw Errors.HistoryUnreadable(Path, ex);
                }
                SaveIndexIfBehind();
                return (_sorted ??= _events.OrderBy(e => e.Time).ToList(), _tails.ToDictionary(p => p.Key, p => p.Value.Copy(), StringComparer.Ordinal));
            }
        }

        /// <summary>Where the last <see cref="ReadSince"/> began reading: a checkpoint's offset, or 0 for the top.</summary>
        internal long LastReadFrom { get; private set; }

        // The last reading from a checkpoint, for the same question asked again of the same file (a report asks twice).
        private (DateTimeOffset Since, string Generation, long Length, (IReadOnlyList<UsageEvent>, Dictionary<string, EndpointTail>) Read)? _fromCheckpoint;

        private (IReadOnlyList<UsageEvent>, Dictionary<string, EndpointTail>)? FromCheckpoint(DateTimeOffset since)
        {
            string generation;
            long length;
            using (var stream = Open(FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                if (stream == null) return null;
                generation = ReadHeader(stream).Generation;
                length = stream.Length;
            }
            if (generation.Length == 0 || since == DateTimeOffset.MinValue) return null;
            if (_fromCheckpoint is { } last && last.Since == since && last.Generation == generation && last.Length == length)
            {
                LastReadFrom = -1;
                return last.Read;
            }
            DateTimeOffset before = since - CheckpointMargin;
            var fits = Checkpoints(generation).Where(c => c.MaxTime < before && c.Offset <= length).OrderByDescending(c => c.Offset).ToList();
            if (fits.Count == 0 || CheckpointText(fits[0], generation) is not byte[] line) return null;
            var scratch = new UsageHistory(Path, _compactAbove) { UseIndex = false, Clock = Clock };
            try
            {
                using (JsonDocument doc = JsonDocument.Parse(line))
                {
                    if (!doc.RootElement.TryGetProperty("tails", out JsonElement tails) || tails.ValueKind != JsonValueKind.Array) return null;
                    scratch.Reset(generation);
                    foreach (JsonElement t in tails.EnumerateArray())
                    {
                        if (EndpointTail.Parse(t) is not EndpointTail tail) return null;
                        scratch._tails[tail.Last.Key] = tail;
                        // The records a report may need from before the checkpoint: the last of each endpoint (its state when
                        // the period begins, unless a later one comes before it), the one before (what that change fell from),
                        // and the streak's first (its hardware, when the last is a deletion).
                        foreach (UsageEvent e in new[] { tail.Streak, tail.Previous, tail.Last }.OfType<UsageEvent>().Distinct())
                            scratch._events.Add(e);
                    }
                }
                scratch._offset = fits[0].Offset;
                scratch._partial = true;
                scratch.CatchUpFrom(whole: false);
            }
            catch (NeedsWholeFile)
            {
                return null;
            }
            catch (JsonException)
            {
                return null;
            }
            if (scratch._generation != generation) return null; // compacted meanwhile
            var read = ((IReadOnlyList<UsageEvent>)scratch._events.OrderBy(e => e.Time).ToList(), scratch._tails);
            _fromCheckpoint = (since, generation, scratch._offset, read);
            LastReadFrom = fits[0].Offset;
            return read;
        }

        /// <summary>A record nested in an index line, read as a history line is.</summary>
        internal static UsageEvent? EventOf(JsonElement r, string property) =>
            r.TryGetProperty(property, out JsonElement e) ? EventOf(e) : null;

        private static UsageEvent? EventOf(JsonElement e)
        {
            if (e.ValueKind != JsonValueKind.Object) return null;
            byte[] bytes = Encoding.UTF8.GetBytes(e.GetRawText());
            return TryParse(bytes, 0, bytes.Length, out UsageEvent? parsed) ? parsed : null;
        }
    }
}
