using PocketCoder.Realtime;

namespace PocketCoder.Sessions.Running;

/// <summary>
/// Notices a turn with no progress: while <paramref name="working"/> holds (a turn runs and no question is open) and nothing
/// was heard for <paramref name="stallAfter"/>, <paramref name="onStalled"/> is told once, with how long it has been silent.
/// Word from the agent ends the stall, and the next one is told again. A model that cannot be reached, or an agent that hangs,
/// must not leave the phone at "Working…" forever; what to do about it is the owner's choice.
/// </summary>
public sealed class StallWatch(TimeProvider clock, TimeSpan stallAfter, Func<bool> working, Action<TimeSpan> onStalled) : IDisposable
{
    /// <summary>The <c>code</c> of the <c>session.error</c> event that reports a turn with no progress (docs/api.md).</summary>
    public const string StalledCode = "AGENT_STALLED";

    private long _lastActivityTicks = clock.GetUtcNow().UtcTicks;
    private int _stalled;
    private ITimer? _timer;

    /// <summary>When the agent last did or was sent anything.</summary>
    public DateTimeOffset LastActivity => new(Interlocked.Read(ref _lastActivityTicks), TimeSpan.Zero);

    /// <summary>Starts watching (nothing is watched when <c>stallAfter</c> is zero).</summary>
    public void Start()
    {
        if (stallAfter > TimeSpan.Zero)
        {
            // Checked a few times per stall period, so a stall is seen at most a quarter period late.
            var every = TimeSpan.FromTicks(Math.Max(stallAfter.Ticks / 4, TimeSpan.TicksPerSecond));
            _timer = clock.CreateTimer(_ => Check(), null, every, every);
        }
    }

    /// <summary>Something happened that is not the agent's silence (a message sent, an answer given).</summary>
    public void Touch() => Interlocked.Exchange(ref _lastActivityTicks, clock.GetUtcNow().UtcTicks);

    /// <summary>Word from the agent: a stall is over.</summary>
    public void Heard()
    {
        Touch();
        Volatile.Write(ref _stalled, 0);
    }

    private void Check()
    {
        var silent = clock.GetUtcNow() - LastActivity;
        if (silent < stallAfter || Volatile.Read(ref _stalled) == 1 || !working() || Interlocked.Exchange(ref _stalled, 1) == 1)
        {
            return;
        }

        onStalled(silent);
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>What the transcript says of a stall: how long the agent has been silent, and what the owner can do.</summary>
    public static ErrorEvent Stalled(string agent, TimeSpan silent) => new(
        $"No word from {agent} for {(int)silent.TotalSeconds} s while it was working: it may be stuck or unable to reach " +
        "its model. Wait, cancel the turn, or stop the session.")
    {
        Code = StalledCode,
        SilentSeconds = (int)silent.TotalSeconds,
    };
}
