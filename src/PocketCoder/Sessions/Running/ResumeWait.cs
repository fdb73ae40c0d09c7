namespace PocketCoder.Sessions.Running;

/// <summary>
/// A paused agent being started again on the owner's decision, in line for an agent slot perhaps: what that wait gives up on
/// (a stop, or the owner cancelling the turn).
/// </summary>
internal sealed class ResumeWait
{
    private volatile bool _resuming;
    private CancellationTokenSource? _wait;

    /// <summary>True while a paused agent is being started again on the owner's decision.</summary>
    public bool Resuming => _resuming;

    /// <summary>The resume begins: its wait ends with <paramref name="stopped"/> or a cancel. The caller disposes it, after <see cref="End"/>.</summary>
    public CancellationTokenSource Begin(CancellationToken stopped)
    {
        var wait = CancellationTokenSource.CreateLinkedTokenSource(stopped);
        _wait = wait;
        _resuming = true;
        return wait;
    }

    public void End()
    {
        _resuming = false;
        _wait = null;
    }

    /// <summary>The owner cancels the turn: a resume still waiting for its slot gives up at once.</summary>
    public void Cancel()
    {
        if (_resuming)
        {
            try
            {
                _wait?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Its slot came meanwhile: the agent runs, and the cancel is its turn's.
            }
        }
    }
}
