using PocketCoder.Agents;

namespace PocketCoder.Approvals;

/// <summary>
/// One approval waiting for its decision: it owns the completion the asking agent awaits and every timer that may act on it
/// meanwhile (the project's timeout, the escalation to the owners). Registered before the approval is visible, so even an
/// instant decision finds it; its timers are armed before anyone can see the question, so none can be missed; and they are
/// cancelled once, when it is disposed, however it ended (decided, withdrawn, interrupted).
/// </summary>
/// <remarks>
/// Pausing the agent while it waits (<see cref="Sessions.Running.PausedCalls"/>) is the session's timer, not the
/// approval's: the approval goes on waiting unchanged while the agent's process comes and goes.
/// </remarks>
internal sealed class PendingApproval(Approval asked, IAgentAdapter? agent, TimeProvider clock) : IDisposable
{
    private readonly TaskCompletionSource<PermissionDecision> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _timers = new();
    private int _disposed;

    public Approval Asked => asked;

    /// <summary>The agent that asked: gives an edited call the title it runs under.</summary>
    public IAgentAdapter? Agent => agent;

    public Task<PermissionDecision> Decision => _decision.Task;

    /// <summary>Hands the decision to the waiting agent; false when it was already given.</summary>
    public bool Complete(PermissionDecision decision) => _decision.TrySetResult(decision);

    /// <summary>Runs <paramref name="act"/> after <paramref name="delay"/>, unless the approval is disposed first.</summary>
    public void After(TimeSpan delay, Action act) => _ = RunAfterAsync(delay, act);

    private async Task RunAfterAsync(TimeSpan delay, Action act)
    {
        try
        {
            await Task.Delay(delay, clock, _timers.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // Decided or withdrawn in time.
        }

        act();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _timers.Cancel();
            _timers.Dispose();
        }
    }
}
