using System;

namespace MertEndpoint
{
    /// <summary>
    /// The one channel through which Core tells the user anything while an operation runs: passed per operation (it
    /// travels with the client view an operation uses, see <see cref="EndpointClient.With"/>), implemented once by the
    /// cmdlet base for PowerShell, and silent by default. Every method may be called from any thread; an implementation
    /// masks secrets (<see cref="Secrets.Mask"/>) before anything is shown.
    /// </summary>
    public abstract class Reporter
    {
        /// <summary>Tells no one.</summary>
        public static readonly Reporter None = new Silent();

        /// <summary>A decision or step worth knowing when asked (PowerShell: verbose).</summary>
        public virtual void Detail(string line) { }

        /// <summary>A call about to wait before it tries again; long waits should not look like a hang.</summary>
        public virtual void Waiting(string line, TimeSpan wait) => Detail(line);

        /// <summary>How a wait for readiness is going (PowerShell: a progress bar per endpoint).</summary>
        public virtual void Progress(WaitProgress progress) { }

        /// <summary>
        /// How a long piece of local work goes (PowerShell: a progress bar per activity): the usage history read from its
        /// top, or rewritten. <paramref name="percent"/> at 100 ends it.
        /// </summary>
        public virtual void Working(string activity, string status, int percent) { }

        /// <summary>Something the user should know that did not stop the operation (PowerShell: a warning).</summary>
        public virtual void Warning(string line) { }

        /// <summary>
        /// A line the user must see now, even after Ctrl+C or a stopped pipeline, when the pipeline can no longer be
        /// written (PowerShell: a warning, else the host, else stderr).
        /// </summary>
        public virtual void Notice(string line) => Warning(line);

        /// <summary>What an operation did, in one line (PowerShell: the information stream, shown by default).</summary>
        public virtual void Summary(string line) { }

        /// <summary>This reporter with every line prefixed (for instance by the endpoint an operation is about).</summary>
        public Reporter Prefixed(string prefix) => new WithPrefix(this, prefix);

        private sealed class Silent : Reporter { }

        private sealed class WithPrefix : Reporter
        {
            private readonly Reporter _inner;
            private readonly string _prefix;

            public WithPrefix(Reporter inner, string prefix)
            {
                _inner = inner;
                _prefix = prefix;
            }

            public override void Detail(string line) => _inner.Detail(_prefix + line);
            public override void Waiting(string line, TimeSpan wait) => _inner.Waiting(_prefix + line, wait);
            public override void Progress(WaitProgress progress) => _inner.Progress(progress);
            public override void Working(string activity, string status, int percent) => _inner.Working(activity, status, percent);
            public override void Warning(string line) => _inner.Warning(_prefix + line);
            public override void Notice(string line) => _inner.Notice(_prefix + line);
            public override void Summary(string line) => _inner.Summary(_prefix + line);
        }
    }
}
