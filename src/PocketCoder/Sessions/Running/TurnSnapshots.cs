namespace PocketCoder.Sessions.Running;

/// <summary>
/// The working tree as each turn begins and ends, for its review. A turn's opening snapshot is taken while its message goes
/// out, and the gate lets the agent do nothing before it (<see cref="Opening"/>): the agent changes nothing until a call is
/// allowed, so the prompt is not held up by git. A turn's closing snapshot is taken before the next turn's opening one.
/// </summary>
/// <param name="open">Opens the turn's review: its number, or null when there is none (not a repository).</param>
/// <param name="close">Closes a review, with where the agent's conversation can be cut after the turn (or null): the number of files the turn changed, or null.</param>
/// <param name="changed">Told the review's turn and files changed once a turn's review closes.</param>
/// <param name="failed">Told when a review cannot open: the turn goes without one, never the gate without a decision.</param>
public sealed class TurnSnapshots(Func<Task<int?>> open, Func<int, string?, Task<int?>> close, Action<int, int> changed, Action<Exception> failed)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private Task _opening = Task.CompletedTask;

    /// <summary>The running turn's review number (0: none), set as a turn begins and taken as it ends.</summary>
    private int _turn;

    /// <summary>The current turn's opening snapshot, as it is taken: whatever the agent does waits for it.</summary>
    public Task Opening => Volatile.Read(ref _opening);

    /// <summary>A turn begins: its opening snapshot starts, off the caller's thread.</summary>
    public void BeginTurn() => Volatile.Write(ref _opening, Task.Run(OpenAsync, CancellationToken.None));

    private Task OpenAsync() => _lock.RunAsync(async () =>
    {
        try
        {
            Volatile.Write(ref _turn, await open().ConfigureAwait(false) ?? 0);
        }
        catch (Exception exception)
        {
            failed(exception);
        }
    });

    /// <summary>
    /// Completes once no turn's review is being closed: what the latest turn left is written by then. A turn is seen as over
    /// while its closing snapshot is still taken in the background, and a rewind sent at that moment must read its result,
    /// not a turn that looks cut off.
    /// </summary>
    public async Task SettledAsync(CancellationToken cancellationToken)
    {
        await Opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        _lock.Release();
    }

    /// <summary>
    /// The turn ended: its review closes. The lock is taken here, before the turn is seen as over, so the next turn's opening
    /// snapshot (and so the agent's next edits) wait for this one; the closing itself goes on in the background.
    /// </summary>
    /// <param name="resumeAt">Where the agent's conversation can be cut to keep the turns up to this one (<see cref="Agents.TurnCompleted.ResumeAt"/>).</param>
    public async Task EndTurnAsync(string? resumeAt = null)
    {
        // A turn can end before its opening snapshot has even begun (a quick reply): that one comes first.
        await Opening.ConfigureAwait(false);
        await _lock.WaitAsync().ConfigureAwait(false);
        var turn = Interlocked.Exchange(ref _turn, 0);
        if (turn == 0)
        {
            _lock.Release();
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                if (await close(turn, resumeAt).ConfigureAwait(false) is { } files)
                {
                    changed(turn, files);
                }
            }
            finally
            {
                _lock.Release();
            }
        });
    }
}
