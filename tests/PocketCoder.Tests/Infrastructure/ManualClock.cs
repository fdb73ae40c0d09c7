namespace PocketCoder.Tests.Infrastructure;

/// <summary>A clock tests move by hand: expiry and timeouts without waiting.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<(DateTimeOffset Due, TimeSpan Period, ManualTimer Timer)> _timers = [];
    private DateTimeOffset _now = start;
    private TaskCompletionSource _armed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ManualClock()
        : this(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_lock)
        {
            _now += by;
            var fired = _timers.Where(t => t.Due <= _now).ToList();
            _timers.RemoveAll(t => t.Due <= _now);
            // A periodic timer fires once per Advance, however far the clock jumps, and is armed again.
            foreach (var timer in fired.Where(t => t.Period != Timeout.InfiniteTimeSpan && t.Period > TimeSpan.Zero))
            {
                _timers.Add((_now + timer.Period, timer.Period, timer.Timer));
            }

            due = [.. fired.Select(t => t.Timer)];
        }

        foreach (var timer in due)
        {
            timer.Fire();
        }
    }

    /// <summary>How many timers are armed: lets a test wait until the code under test has scheduled one.</summary>
    public int PendingTimers
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count;
            }
        }
    }

    /// <summary>Completes once at least <paramref name="count"/> timers are armed: the code under test has begun to wait on this clock.</summary>
    public async Task TimersArmedAsync(int count = 1)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            Task armed;
            lock (_lock)
            {
                if (_timers.Count >= count)
                {
                    return;
                }

                armed = _armed.Task;
            }

            await armed.WaitAsync(timeout.Token);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private void Schedule(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_lock)
        {
            _timers.RemoveAll(t => t.Timer == timer);
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                _timers.Add((_now + dueTime, period, timer));
                var armed = _armed;
                _armed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                armed.TrySetResult();
            }
        }
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            clock.Schedule(this, dueTime, period);
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose() => clock.Schedule(this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
