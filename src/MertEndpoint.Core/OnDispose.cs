using System;
using System.Threading;

namespace MertEndpoint
{
    /// <summary>An <see cref="IDisposable"/> that runs its action once, on the first Dispose, from any thread.</summary>
    internal sealed class OnDispose : IDisposable
    {
        private Action? _action;

        public OnDispose(Action action) => _action = action;

        public void Dispose() => Interlocked.Exchange(ref _action, null)?.Invoke();
    }
}
