namespace PocketCoder.Sessions.Running;

/// <summary>
/// When the last running agent stops (every session paused on a call, idle-suspended or ended), the server is about to wait,
/// perhaps for hours, and the memory its busy time left committed is the whole of what those waiting sessions cost. Once that
/// has lasted <see cref="After"/>, one compacting collection hands it back to the system (docs/performance.md, "Resources").
/// An agent starting again before then cancels it; it runs at most once per quiet spell.
/// </summary>
public sealed class QuietTrim(TimeProvider clock, Func<int> running, Action collect)
{
    /// <summary>How long nothing must run first: past a pause's stop and the agent's exit, not between two turns' processes.</summary>
    public static readonly TimeSpan After = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private CancellationTokenSource? _waiting;
    private bool _trimmed;

    /// <summary>The collection the server makes: every generation, compacted, and the freed memory decommitted.</summary>
    public static void Collect() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    /// <summary>Told whenever the agent slots change (how many run is read again as the wait ends: two changes told out of order
    /// never trim under a running agent).</summary>
    public void Changed()
    {
        lock (_lock)
        {
            if (running() > 0)
            {
                _waiting?.Cancel();
                _waiting = null;
                _trimmed = false;
                return;
            }

            if (_waiting is not null || _trimmed)
            {
                return;
            }

            _waiting = new CancellationTokenSource();
            _ = TrimAsync(_waiting);
        }
    }

    private async Task TrimAsync(CancellationTokenSource waiting)
    {
        using (waiting)
        {
            try
            {
                await Task.Delay(After, clock, waiting.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            lock (_lock)
            {
                if (_waiting != waiting)
                {
                    // An agent started (and the wait was ended) as the delay ran out.
                    return;
                }

                _waiting = null;
                if (running() > 0)
                {
                    // A change told out of order: an agent runs after all, and its stop arms the next wait.
                    return;
                }

                _trimmed = true;
            }
        }

        collect();
    }
}
