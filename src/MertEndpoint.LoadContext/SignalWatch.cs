using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace MertEndpoint.LoadContext
{
    /// <summary>
    /// The endings a scheduler, a closed terminal or a supervisor gives a process: SIGTERM, SIGHUP (on Windows: the
    /// console closing) and SIGINT when there is no console to type Ctrl+C in. .NET 10 does not turn SIGTERM into
    /// ProcessExit and pwsh then skips finally blocks, so a pause owed by a running command would never be sent. Here
    /// (net8.0: PosixSignalRegistration is not in netstandard2.0) the module is told of each; when it owed something
    /// it pays, and the process exits 128 + the signal number. When it owed nothing the signal takes its usual course.
    /// </summary>
    public static class SignalWatch
    {
        private static readonly object Gate = new object();
        private static readonly List<PosixSignalRegistration> Registrations = new List<PosixSignalRegistration>();
        private static Func<int, string, bool>? handler;

        /// <summary>
        /// Installs the watch once per process (a re-import replaces the handler). <paramref name="onSignal"/> gets the
        /// signal's number and name and returns true when it paid something, so the process must end with 128 + number.
        /// </summary>
        public static void Install(Func<int, string, bool> onSignal)
        {
            lock (Gate)
            {
                handler = onSignal ?? throw new ArgumentNullException(nameof(onSignal));
                if (Registrations.Count > 0) return;
                foreach (PosixSignal signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGINT })
                {
                    try { Registrations.Add(PosixSignalRegistration.Create(signal, Handle)); }
                    catch (PlatformNotSupportedException) { /* a platform without it keeps its default */ }
                }
            }
        }

        private static void Handle(PosixSignalContext context)
        {
            // Ctrl+C typed in a console is PowerShell's own: it stops the pipeline, whose commands pay what they owe.
            if (context.Signal == PosixSignal.SIGINT && !Console.IsInputRedirected) return;
            (int number, string name) = Describe(context.Signal);
            Func<int, string, bool>? current;
            lock (Gate) current = handler;
            bool paid;
            try { paid = current?.Invoke(number, name) == true; }
            catch (Exception) { paid = false; }
            if (!paid) return;
            context.Cancel = true;
            Environment.Exit(128 + number);
        }

        private static (int, string) Describe(PosixSignal signal) => signal switch
        {
            PosixSignal.SIGHUP => (1, OperatingSystem.IsWindows() ? "the console closing" : "SIGHUP"),
            PosixSignal.SIGINT => (2, "SIGINT"),
            PosixSignal.SIGTERM => (15, "SIGTERM"),
            _ => ((int)signal, signal.ToString()),
        };
    }
}
