using PocketCoder.Agents;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Network;

/// <summary>
/// The approvals connections wait on, one per session and host: a second connection to a host the owner is being asked
/// about joins that question rather than asking again (a package manager opens several at once, and retries). A question
/// stays open a little after the last connection waiting on it gave up (<see cref="Grace"/>): most clients time out in seconds,
/// the owner takes longer, and a retry should find the decision, not a new question. Allowing once lets through the
/// connections waiting when the owner decides; allowing for the session or always is the gate's grant or rule for later ones.
/// </summary>
public sealed class EgressWaits(TimeProvider clock)
{
    /// <summary>How long a question outlives the last connection waiting on it.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(60);

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Session, string Target), Wait> _waits = [];

    /// <summary>The decision on a connection to <paramref name="target"/>: the open question's, or a new one's.</summary>
    /// <param name="cancellationToken">This connection gives up (its client closed, the sandbox ended): others may still wait.</param>
    public async Task<PermissionDecision> AskAsync(IEgressSession session, NetworkEndpoint target, Func<PermissionRequest> request,
        CancellationToken cancellationToken)
    {
        var key = (session.SessionId, target.ToString());
        Wait wait;
        lock (_lock)
        {
            if (!_waits.TryGetValue(key, out wait!))
            {
                wait = new Wait();
                _waits[key] = wait;
                wait.Decision = session.AskAsync(request(), wait.Withdraw.Token);
                _ = wait.Decision.ContinueWith(_ => Forget(key, wait), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            wait.Waiting++;
        }

        try
        {
            return await wait.Decision.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            bool last;
            lock (_lock)
            {
                last = --wait.Waiting == 0;
            }

            if (last && !wait.Decision.IsCompleted)
            {
                _ = WithdrawUnlessJoinedAsync(wait);
            }
        }
    }

    private async Task WithdrawUnlessJoinedAsync(Wait wait)
    {
        try
        {
            await Task.Delay(Grace, clock, wait.Withdraw.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (_lock)
        {
            if (wait.Waiting > 0 || wait.Decision.IsCompleted)
            {
                return;
            }
        }

        // Nobody waits any more: the question is withdrawn (the gate marks it so), and the next connection asks afresh.
        await wait.Withdraw.CancelAsync().ConfigureAwait(false);
    }

    private void Forget((string, string) key, Wait wait)
    {
        lock (_lock)
        {
            if (_waits.TryGetValue(key, out var current) && current == wait)
            {
                _waits.Remove(key);
            }
        }
    }

    private sealed class Wait
    {
        public CancellationTokenSource Withdraw { get; } = new();

        public Task<PermissionDecision> Decision { get; set; } = null!;

        public int Waiting { get; set; }
    }
}
