namespace PocketCoder.Sessions.Running;

/// <summary>
/// Where a session's turn stands, and the status the owner sees of it: waiting for you beats running beats idle. Every
/// change of it is made under one lock, and the status is written under the same lock, so two threads cannot write
/// statuses out of order, and nothing sees an idle session in the middle of a turn being claimed.
/// </summary>
/// <param name="write">Moves the session by an event, with its reason (the session store, which asks the lifecycle table and announces it).</param>
public sealed class TurnState(Action<LifeEvent, string?> write)
{
    private readonly Lock _lock = new();
    private bool _turnActive;
    private int _asking;
    private bool _cancelRequested;
    private bool _nextAfterCancel;
    private bool _closing;
    private volatile bool _stopping;

    /// <summary>The session is stopping (or its agent went): nothing is written or started any more.</summary>
    public bool Stopping => _stopping;

    /// <summary>No turn runs and no question is open: only then may the agent's process be suspended or handed back.</summary>
    public bool Quiet => Locked(() => !_turnActive && _asking == 0);

    /// <summary>A turn runs (whether or not someone is asked something in it).</summary>
    public bool Active => Locked(() => _turnActive);

    /// <summary>A turn runs and nobody is asked anything: the only time silence from the agent is a stall.</summary>
    public bool Working => Locked(() => !_stopping && _turnActive && _asking == 0);

    /// <summary>Says whether the session is busy (the message then waits in the queue), and whether the owner's cancel is under way.</summary>
    /// <exception cref="InvalidOperationException">The session is being handed back: no message starts a turn.</exception>
    public (bool Busy, bool Cancelling) Admit()
    {
        lock (_lock)
        {
            if (_closing)
            {
                throw new InvalidOperationException("the session is being handed back to a terminal");
            }

            var busy = _turnActive || _asking > 0;
            var cancelling = busy && _cancelRequested;
            // A message sent during the cancel is what the owner wants next: the queue is not held for it.
            _nextAfterCancel |= cancelling;
            return (busy, cancelling);
        }
    }

    /// <summary>Claims the next turn for a queued message, when the session is between turns and open.</summary>
    public bool TryClaim()
    {
        lock (_lock)
        {
            if (_closing || _stopping || _turnActive || _asking > 0)
            {
                return false;
            }

            _turnActive = true;
            return true;
        }
    }

    /// <summary>A turn begins (a message goes to the agent).</summary>
    public void Begin()
    {
        lock (_lock)
        {
            _turnActive = true;
            _cancelRequested = false;
        }

        Write(null);
    }

    /// <summary>Sets whether a turn runs (a claim given back, an agent resumed on its turn, a message it did not take) and writes the status.</summary>
    public void SetActive(bool active, bool write = true)
    {
        lock (_lock)
        {
            _turnActive = active;
        }

        if (write)
        {
            Write(null);
        }
    }

    /// <summary>Output after the turn ended means the agent carried on by itself: it shows as running.</summary>
    public void Output()
    {
        lock (_lock)
        {
            if (_turnActive)
            {
                return;
            }

            _turnActive = true;
        }

        Write(null);
    }

    /// <summary>The turn ended: says whether the owner had cancelled it (the queue then waits for them).</summary>
    public bool End()
    {
        bool cancelled;
        lock (_lock)
        {
            _turnActive = false;
            cancelled = _cancelRequested && !_nextAfterCancel;
            _cancelRequested = false;
            _nextAfterCancel = false;
        }

        Write(null);
        return cancelled;
    }

    /// <summary>The owner asked to stop the running turn: however the agent words its end (Claude Code: an error), it was stopped.</summary>
    public bool CancelRequested => Locked(() => _cancelRequested);

    /// <summary>The owner cancels the running turn; false when no turn runs.</summary>
    public bool RequestCancel()
    {
        lock (_lock)
        {
            _cancelRequested |= _turnActive;
            return _turnActive;
        }
    }

    /// <summary>Closes the session to new messages when it is quiet and <paramref name="nothingQueued"/>; says whether it did.</summary>
    public bool TryClose(Func<bool> nothingQueued)
    {
        lock (_lock)
        {
            if (_turnActive || _asking > 0 || !nothingQueued())
            {
                return false;
            }

            _closing = true;
            return true;
        }
    }

    /// <summary>The owner is asked something: the session waits for them.</summary>
    public void Asking()
    {
        Interlocked.Increment(ref _asking);
        Write(null);
    }

    /// <summary>The question was answered (or withdrawn).</summary>
    public void Answered()
    {
        Interlocked.Decrement(ref _asking);
        Write(null);
    }

    /// <summary>From now on nothing is written or started; says whether the session was already stopping.</summary>
    public bool Stop()
    {
        lock (_lock)
        {
            var was = _stopping;
            _stopping = true;
            return was;
        }
    }

    /// <summary>Writes the status the session is in now, with <paramref name="reason"/>.</summary>
    public void Write(string? reason)
    {
        lock (_lock)
        {
            if (_stopping)
            {
                return;
            }

            write(_asking > 0 ? LifeEvent.Asking : _turnActive ? LifeEvent.Working : LifeEvent.BetweenTurns, reason);
        }
    }

    private T Locked<T>(Func<T> read)
    {
        lock (_lock)
        {
            return read();
        }
    }
}
