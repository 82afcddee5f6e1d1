namespace MertEndpoint.Tests;

/// <summary>
/// A fake clock whose time moves only when the code under test waits on a timer: <see cref="Drive{T}"/> advances
/// it to the next due timer exactly when the code is blocked on a wait (a Task.Delay on this clock), and otherwise
/// waits for the code to complete or to start its next wait. No wall-clock pause decides anything, so a loaded
/// machine changes nothing but how long the test takes. Timers whose state is a CancellationTokenSource (deadlines
/// and per-attempt timeouts) are armed like any timer but are not waits: they fire when time reaches them.
/// </summary>
public sealed class TestClock : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<TestTimer> _timers = [];
    private DateTimeOffset _now;
    private long _elapsedTicks;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TestClock(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() { lock (_gate) return _now; }
    public override long GetTimestamp() { lock (_gate) return _elapsedTicks; }
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new TestTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves time forward by <paramref name="by"/>, firing every timer that falls due on the way, in order.</summary>
    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_gate) target = _now + by;
        while (true)
        {
            TestTimer? next;
            lock (_gate)
            {
                next = _timers.Where(t => t.Due <= target).MinBy(t => t.Due);
                if (next == null) { Set(target); return; }
                Set(next.Due);
                next.Fired();
            }
            next.Fire();
        }
    }

    /// <summary>Runs time for <paramref name="task"/>: see the class summary. <paramref name="limit"/> bounds fake time.</summary>
    public async Task<T> Drive<T>(Task<T> task, TimeSpan? limit = null)
    {
        await DriveCore(task, limit ?? TimeSpan.FromHours(2));
        return await task;
    }

    public async Task Drive(Task task, TimeSpan? limit = null)
    {
        await DriveCore(task, limit ?? TimeSpan.FromHours(2));
        await task;
    }

    /// <summary>
    /// Moves time on, one due timer at a time and only while the code waits on one, until <paramref name="condition"/>
    /// holds: for a test that must act at a point in the middle of the code's run (cancel it after its first pause).
    /// </summary>
    public async Task Until(Func<bool> condition, TimeSpan? limit = null)
    {
        DateTimeOffset end = GetUtcNow() + (limit ?? TimeSpan.FromHours(2));
        while (!condition())
        {
            Task changed;
            TestTimer? wait;
            lock (_gate)
            {
                changed = _changed.Task;
                wait = _timers.Any(t => t.IsWait) ? _timers.MinBy(t => t.Due) : null;
            }
            if (wait == null)
            {
                await Task.WhenAny(changed, Task.Delay(5)); // the condition may come true without any timer: look again soon
                continue;
            }
            if (wait.Due > end) throw new TimeoutException($"The condition did not hold within {limit} of fake time.");
            Advance(wait.Due - GetUtcNow());
        }
    }

    private async Task DriveCore(Task task, TimeSpan limit)
    {
        DateTimeOffset end = GetUtcNow() + limit;
        while (!task.IsCompleted)
        {
            Task changed;
            TestTimer? wait;
            lock (_gate)
            {
                changed = _changed.Task;
                wait = _timers.Any(t => t.IsWait) ? _timers.MinBy(t => t.Due) : null;
            }
            if (wait == null)
            {
                await Task.WhenAny(task, changed); // the code is busy: wait for it to finish or to wait on a timer
                continue;
            }
            if (wait.Due > end) throw new TimeoutException($"Still running after {limit} of fake time.");
            Advance(wait.Due - GetUtcNow());
        }
    }

    private void Set(DateTimeOffset now)
    {
        _elapsedTicks += (now - _now).Ticks;
        _now = now;
    }

    private void Changed()
    {
        var previous = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        previous.TrySetResult();
    }

    private sealed class TestTimer(TestClock clock, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public DateTimeOffset Due { get; private set; }
        public bool IsWait => state is not CancellationTokenSource;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                clock._timers.Remove(this);
                _period = period;
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    Due = clock._now + (dueTime < TimeSpan.Zero ? TimeSpan.Zero : dueTime);
                    clock._timers.Add(this);
                }
                clock.Changed();
            }
            return true;
        }

        /// <summary>Under the clock's lock: disarm, or re-arm a periodic timer.</summary>
        public void Fired()
        {
            clock._timers.Remove(this);
            if (_period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan)
            {
                Due += _period;
                clock._timers.Add(this);
            }
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (clock._gate)
            {
                clock._timers.Remove(this);
                clock.Changed();
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
