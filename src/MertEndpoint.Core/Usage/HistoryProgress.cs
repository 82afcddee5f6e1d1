using System;
using System.Collections.Generic;
using System.Threading;

namespace MertEndpoint
{
    /// <summary>
    /// Progress of the history's long work: a read of many megabytes (a file with no index yet, the one-time conversion
    /// of an older history, a cost report's first read) and a compaction. Told to every command watching the history
    /// (<see cref="Watch"/>), since any of them may be waiting for it: the history is one per process and its reads
    /// take turns.
    /// </summary>
    public sealed partial class UsageHistory
    {
        internal const string ReadingActivity = "Reading the usage history";
        internal const string CompactingActivity = "Compacting the usage history";

        // The commands watching (shared with a compaction's new file, read before it is in place).
        private List<Reporter> _watchers = new();

        /// <summary>Work on fewer bytes than this is quick (a fraction of a second) and told no one.</summary>
        internal long WorkReportedAboveBytes { get; set; } = 16L << 20;

        /// <summary>Tells <paramref name="reporter"/> how this history's long reads and compactions go, until disposed.</summary>
        internal IDisposable Watch(Reporter reporter)
        {
            lock (_watchers) _watchers.Add(reporter);
            return new OnDispose(() => { lock (_watchers) _watchers.Remove(reporter); });
        }

        /// <summary>Whether anyone watches now, without the lock: a long piece of work asks at every step.</summary>
        private bool Watched => Volatile.Read(ref _watchers).Count > 0;

        private Reporter[] Watchers()
        {
            lock (_watchers) return _watchers.ToArray();
        }

        /// <summary>
        /// How this history's reads are told: as a read of their own, or (a compaction's new file, checked before it is
        /// put in place) as the rest of the compaction's bar.
        /// </summary>
        private (string Activity, string Verb, int From) _readsTold = (ReadingActivity, "Read", 0);

        /// <summary>
        /// One piece of work over the bytes from <c>from</c> to <c>to</c> of a file, shown as the percents
        /// <c>first</c> to 100 of its activity's bar in whole percents, and only when it is large. Each report goes to the
        /// commands watching at that moment: one that begins while the work is under way (a cost report waiting for the
        /// reading a Get left running in the background) sees the bar from its next report on. A watcher that fails is
        /// the watcher's problem, never the history's.
        /// </summary>
        private sealed class Told
        {
            private readonly string _activity, _verb;
            private readonly long _from, _total;
            private readonly int _first, _last;
            private readonly UsageHistory _history;
            private readonly bool _large;
            private int _percent = -1;
            private readonly System.Diagnostics.Stopwatch _since = new();
            private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(250);

            /// <param name="last">Where this piece ends on the bar: 100 closes it, less leaves it to the piece after it.</param>
            public Told(UsageHistory history, (string Activity, string Verb, int From) told, long from, long to, int last = 100)
            {
                (_activity, _verb, _first, _last) = (told.Activity, told.Verb, told.From, last);
                _from = from;
                _total = to - from;
                _history = history;
                _large = _total >= history.WorkReportedAboveBytes;
            }

            public void At(long position)
            {
                if (!_large || !_history.Watched) return;
                long done = Math.Min(Math.Max(0, position - _from), _total);
                int percent = _first + (int)(done * (_last - _first) / _total);
                // A few times a second at most: a terminal redraws the bar for each.
                if (percent == _percent || percent >= 100 || (_percent >= 0 && _since.Elapsed < Every)) return;
                _percent = percent;
                _since.Restart();
                Tell($"{_verb} {Megabytes(done)} of {Megabytes(_total)} MB", percent);
            }

            /// <summary>The piece is over (done or failed): a bar it ends closes.</summary>
            public void End()
            {
                if (!_large || _last < 100) return;
                Tell("Done", 100);
            }

            /// <summary>The whole work is over before its last piece ran: its bar closes if it showed.</summary>
            public void Close()
            {
                if (_percent >= 0) Tell("Done", 100);
            }

            private static string Megabytes(long bytes) => (bytes / 1e6).ToString("0", System.Globalization.CultureInfo.InvariantCulture);

            private void Tell(string status, int percent)
            {
                foreach (Reporter r in _history.Watchers())
                {
                    try { r.Working(_activity, status, percent); }
                    catch (Exception) { /* the work goes on */ }
                }
            }
        }
    }
}
