using System;
using System.Threading;

namespace MertEndpoint
{
    /// <summary>
    /// What the calls of one operation ask of the shared retry pipeline, carried with the async flow so that the
    /// client's methods keep their signatures: say each retry wait (a long Retry-After must not look like a hang), or
    /// make one attempt only (the owed pause runs its own loop, honouring Retry-After in full within its own bound).
    /// </summary>
    internal sealed class CallScope
    {
        private static readonly AsyncLocal<CallScope?> Ambient = new();

        private CallScope(bool singleAttempt, Action<string>? log)
        {
            SingleAttempt = singleAttempt;
            Log = log;
        }

        public static CallScope? Current => Ambient.Value;

        /// <summary>No retries inside a call: every failure, with its Retry-After, goes back to the caller.</summary>
        public bool SingleAttempt { get; }
        /// <summary>Told before each retry wait (any thread).</summary>
        public Action<string>? Log { get; }

        /// <summary>Sets the scope for the calls that follow in this async flow; disposing restores the one before.</summary>
        public static IDisposable Enter(bool singleAttempt, Action<string>? log)
        {
            var before = Ambient.Value;
            Ambient.Value = new CallScope(singleAttempt, log);
            return new Restore(before);
        }

        private sealed class Restore : IDisposable
        {
            private readonly CallScope? _before;
            public Restore(CallScope? before) => _before = before;
            public void Dispose() => Ambient.Value = _before;
        }
    }
}
