using System;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace MertEndpoint
{
    /// <summary>
    /// The history's upkeep (a compaction: seconds of CPU for a large file) on a thread of its own at a low priority, so
    /// that the commands that run meanwhile, in this process or another, take the cores first: a Get during a compaction
    /// should not wait for it. Windows honours the thread's priority; Linux, the thread's nice value (10). Elsewhere (macOS
    /// sets priorities per process, not per thread) it runs as it is. Only the compaction's synchronous part (reading,
    /// writing the new file, reading it back) runs there: the last step, under the lock, is short.
    /// </summary>
    internal static class Upkeep
    {
        private const int Nice = 10;

        /// <summary>
        /// Runs <paramref name="work"/> (synchronous: it must queue nothing, since a thread started from a low-priority one
        /// inherits its priority on Linux) on a new thread of low priority. The task completes from a thread of normal
        /// priority, so nothing after it runs low.
        /// </summary>
        public static Task Run(Action work)
        {
            Exception? failed = null;
            var thread = new Thread(() =>
            {
                Lower();
                try { work(); }
                catch (Exception ex) { failed = ex; }
            }) { IsBackground = true, Name = "MertEndpoint history upkeep" };
            thread.Start();
            return Task.Factory.StartNew(() =>
            {
                thread.Join();
                if (failed != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failed).Throw();
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        /// <summary>Lowers the calling thread's priority; a platform that refuses leaves it as it was.</summary>
        internal static void Lower()
        {
            try { Thread.CurrentThread.Priority = ThreadPriority.Lowest; } // Windows (.NET ignores it on Linux and macOS)
            catch (Exception ex) when (ex is ThreadStateException || ex is PlatformNotSupportedException) { }
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
            try
            {
                // On Linux a thread is a task with its own nice value: PRIO_PROCESS with the thread's id sets this thread only.
                // Raising one's own nice value needs no privilege.
                setpriority(0, (uint)gettid(), Nice);
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException || ex is DllNotFoundException) { }
        }

        /// <summary>The calling thread's nice value (tests only); null where it cannot be read.</summary>
        internal static int? CurrentNice()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return null;
            try { return getpriority(0, (uint)gettid()); }
            catch (Exception ex) when (ex is EntryPointNotFoundException || ex is DllNotFoundException) { return null; }
        }

        [DllImport("libc")]
        private static extern int setpriority(int which, uint who, int prio);

        [DllImport("libc")]
        private static extern int getpriority(int which, uint who);

        [DllImport("libc")]
        private static extern int gettid();
    }
}
