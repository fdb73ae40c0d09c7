using PocketCoder.Agents;

namespace PocketCoder.Sessions.Running;

/// <summary>
/// Pausing an agent on a call the owner has not decided, so that a wait costs no memory: a call that waited past
/// <c>pauseAfter</c> is let go by the agent's gate hook (<see cref="PermissionDecision.PauseAgent"/>); once the agent's turn
/// ends on it, its process is stopped; once the owner decides, the agent starts again with its native resume and their
/// decision applied to that very call as they saw it. Where the agent could not pause, the call comes back through its
/// permission request and joins the same wait. An agent that cannot defer a call but continues a conversation stopped mid-turn
/// (<see cref="IPauseHost.StopsToPause"/>) is stopped while its request still waits, and on the decision resumed and told it. Each released call keeps its gate wait: the same approval throughout.
/// Stopping, resuming, cancelling and stopping for good happen one at a time (<see cref="ExclusiveAsync"/>).
/// While someone who may decide has the call in front of them, a stopped agent is started again ahead of their decision
/// (<see cref="WarmAsync"/>), so that their allow runs the call in the time the model takes rather than the agent's start-up;
/// undecided after the hold, it is stopped again.
/// </summary>
public sealed class PausedCalls(IPauseHost host, TimeProvider clock, TimeSpan pauseAfter)
{
    /// <summary>The reason a <c>session.status</c> event gives while the agent is paused on a call (the app shows it).</summary>
    public const string PausedReason = "agent paused to save memory";

    /// <summary>The reason given once a paused agent was started again ahead of the decision (someone who may decide has it open).</summary>
    public const string ReadyReason = "agent ready for the decision";

    /// <summary>The reason given once a paused agent runs again, the owner's decision applied.</summary>
    public const string ResumedReason = "resumed on the owner's decision";

    /// <summary>What a paused call becomes when the owner never decided it (the turn was cancelled, the server restarted).</summary>
    public const string UndecidedPausedCall =
        "This call was not run: the turn was cancelled, or PocketCoder restarted, before it could run. Ask again if it is still needed.";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, PausedWait> _released = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _transition = new(1, 1);

    /// <summary>True while the agent's process is stopped on a call the owner has not decided; their decision resumes it.</summary>
    public bool IsPaused
    {
        get
        {
            lock (_lock)
            {
                return !host.Stopping && _released.Values.Any(wait => wait is { ProcessGone: true, Resumed: false });
            }
        }
    }

    /// <summary>
    /// True from the moment a call is let go to pause the agent until it is settled: while its process is being stopped, while
    /// it is gone (<see cref="IsPaused"/>) and while it is being started again. The session's agent is this runner's all along,
    /// even in the moments its process neither runs nor counts as paused, so a message or a resume sent then joins this
    /// runner, never starting a second process on the conversation (which the owner's decision would then start again).
    /// </summary>
    public bool HoldsTheAgent
    {
        get
        {
            lock (_lock)
            {
                return !host.Stopping && _released.Values.Any(wait => !wait.TakenByAgent);
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> after any pause or resume under way, and keeps the next one waiting until it is done.</summary>
    public Task ExclusiveAsync(Func<Task> action, CancellationToken cancellationToken) => _transition.RunAsync(action, cancellationToken);

    /// <summary>
    /// The owner cancels the turn: released calls' approvals are withdrawn. A paused agent is then left stopped (the call is
    /// denied when it next resumes), and <paramref name="cancelTurn"/> is not needed; otherwise it runs.
    /// </summary>
    public Task CancelAsync(Func<Task> cancelTurn, CancellationToken cancellationToken) =>
        ExclusiveAsync(() => WithdrawAll() ? Task.CompletedTask : cancelTurn(), cancellationToken);

    /// <summary>
    /// The agent asks for a call: a call let go earlier and asked again takes the wait already open; any other waits for the
    /// turn's opening snapshot, then for the owner through <paramref name="ask"/>, and is let go to pause the agent on once it
    /// has waited <c>pauseAfter</c> where the request can pause.
    /// </summary>
    public async Task<PermissionDecision> RequestAsync(PermissionRequest request, Task opening,
        Func<PermissionRequest, CancellationToken, Task<PermissionDecision>> ask, CancellationToken cancellationToken)
    {
        if (TakeReleased(request.ToolCallId) is { } released)
        {
            return await JoinReleasedAsync(request, released, cancellationToken).ConfigureAwait(false);
        }

        // Nothing the agent does may come before the turn's opening snapshot.
        await opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        var stops = !request.CanPause && pauseAfter > TimeSpan.Zero && host.StopsToPause(request);
        if (!(request.CanPause || stops) || pauseAfter <= TimeSpan.Zero)
        {
            return await ask(request, cancellationToken).ConfigureAwait(false);
        }

        // Withdrawn with the agent's request until it is let go; from then on only the owner (or a cancel, a stop) ends the wait.
        var withdraw = new CancellationTokenSource();
        var registration = cancellationToken.Register(static source => ((CancellationTokenSource)source!).Cancel(), withdraw);
        var decision = ask(request, withdraw.Token);
        try
        {
            // Not WaitAsync(…, cancellationToken): its callback would run before the registration's (newest first), and this
            // catch would then unregister the withdrawal before it ran, leaving the question open with nobody waiting.
            var decided = await decision.WaitAsync(pauseAfter, clock).ConfigureAwait(false);
            await registration.DisposeAsync().ConfigureAwait(false);
            withdraw.Dispose();
            return decided;
        }
        catch (TimeoutException)
        {
            // Waited long enough: let go below.
        }
        catch (Exception)
        {
            // Withdrawn (through the registration), or the gate failed.
            await registration.DisposeAsync().ConfigureAwait(false);
            withdraw.Dispose();
            throw;
        }

        await registration.DisposeAsync().ConfigureAwait(false);
        return await ReleaseAsync(request, decision, withdraw, stops, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The call waited long enough: it is let go for the agent to pause on, unless it was decided or the session stops meanwhile.</summary>
    /// <param name="stops">The agent cannot defer the call: it is stopped now, its request unanswered (it gets a deny once its
    /// process is gone, which nobody reads), and told the decision after its resume.</param>
    private async Task<PermissionDecision> ReleaseAsync(PermissionRequest request, Task<PermissionDecision> decision, CancellationTokenSource withdraw,
        bool stops, CancellationToken cancellationToken)
    {
        var wait = new PausedWait(request, decision, withdraw) { StopsProcess = stops, AgentStopped = stops };
        lock (_lock)
        {
            if (host.Stopping || decision.IsCompleted)
            {
                wait = null;
            }
            else
            {
                _released[request.ToolCallId] = wait;
            }
        }

        if (wait is null)
        {
            try
            {
                return await decision.ConfigureAwait(false);
            }
            finally
            {
                withdraw.Dispose();
            }
        }

        host.Releasing(request);
        _ = WhenDecidedAsync(wait);
        if (!stops)
        {
            return PermissionDecision.PauseAgent;
        }

        _ = Task.Run(() => SettleAsync(wait), CancellationToken.None);
        // Never an answer the old process could act on: it is stopped before this returns (or its request goes first).
        await wait.Gone.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return PermissionDecision.PauseAgent;
    }

    /// <summary>
    /// Someone who may decide the call the agent was stopped on has it in front of them: the agent is started again now, its
    /// conversation loaded and nothing told, and kept for <paramref name="hold"/> from this view (a later view extends it). Decided
    /// meanwhile, only the decision is left to tell; undecided, it is stopped again. Only for an agent stopped mid-wait (told the
    /// decision after its resume): one that deferred its call would ask it again at once.
    /// </summary>
    /// <param name="screenOpened">
    /// The look is a session screen's stream opening, which a phone on a flaky network does again at every reconnect: within twice
    /// the hold of the agent being stopped again undecided, such a look starts nothing (the decision then takes the agent's
    /// start-up). A card shown in the inbox is a person turning to this call, and always starts it.
    /// </param>
    public async Task WarmAsync(TimeSpan hold, bool screenOpened = false)
    {
        PausedWait? wait;
        lock (_lock)
        {
            wait = _released.Values.FirstOrDefault(w => w is { StopsProcess: true, ProcessGone: true, Resumed: false, Cancelled: false, Decided: null });
            if (wait is null || hold <= TimeSpan.Zero)
            {
                return;
            }

            // Each look extends the hold, up to twice the hold from the first look of this warm start; never one cut short
            // for someone in line for a slot (CoolNow).
            var now = clock.GetUtcNow();
            if ((wait.Warm && wait.Wake is { IsCancellationRequested: true })
                || (screenOpened && !wait.Warm && wait.CooledAt is { } cooled && now - cooled < hold * 2))
            {
                return;
            }

            wait.WarmUntil = wait.Warm ? Min(now + hold, wait.WarmSince + (hold * 2)) : now + hold;
        }

        await _transition.WaitAsync().ConfigureAwait(false);
        try
        {
            if (host.Stopping || wait.Warm || wait.Resumed || wait.Cancelled || wait.Decided is not null || !await host.WarmAsync().ConfigureAwait(false))
            {
                return;
            }

            wait.Warm = true;
            wait.WarmSince = clock.GetUtcNow();
            wait.Wake = new CancellationTokenSource();
        }
        finally
        {
            _transition.Release();
        }

        _ = Task.Run(() => CoolAsync(wait), CancellationToken.None);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>A session waits in line for an agent slot: an agent started ahead of a decision gives its slot up now.</summary>
    public void CoolNow()
    {
        List<PausedWait> warm;
        lock (_lock)
        {
            warm = [.. _released.Values.Where(w => w is { Warm: true, Resumed: false })];
        }

        foreach (var wait in warm)
        {
            wait.WarmUntil = clock.GetUtcNow();
            try
            {
                wait.Wake?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Cooled meanwhile.
            }
        }
    }

    /// <summary>
    /// The agent started ahead of a decision exited by itself before it: the call stays open and the pause goes on, as if
    /// it had been stopped again (true); false when no such agent ran (the exit is then the session's to handle).
    /// </summary>
    public bool WarmExited()
    {
        lock (_lock)
        {
            if (_released.Values.FirstOrDefault(w => w is { Warm: true, Resumed: false }) is not { } wait)
            {
                return false;
            }

            wait.Warm = false;
            return true;
        }
    }

    /// <summary>An agent started ahead of a decision that did not come within its hold is stopped again: the wait costs nothing.</summary>
    private async Task CoolAsync(PausedWait wait)
    {
        while (true)
        {
            // Woken for someone in line: stopped now, whatever a look set its hold to meanwhile (its token stays cancelled).
            var left = wait.Wake is { IsCancellationRequested: true } ? TimeSpan.Zero : wait.WarmUntil - clock.GetUtcNow();
            if (left > TimeSpan.Zero && wait.Warm)
            {
                try
                {
                    await Task.Delay(left, clock, wait.Wake?.Token ?? CancellationToken.None).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Woken early: someone waits for a slot.
                }

                continue;
            }

            await _transition.WaitAsync().ConfigureAwait(false);
            try
            {
                if (wait is { Warm: true, Resumed: false, Wake.IsCancellationRequested: false } && wait.WarmUntil > clock.GetUtcNow())
                {
                    continue;
                }

                // Resumed (decided) or ended meanwhile: the process is the session's now, or gone.
                if (wait.Warm && !wait.Resumed && !host.Stopping)
                {
                    await host.StopForPauseAsync(wait.ToolCallId, midTurn: true).ConfigureAwait(false);
                }

                if (wait.Warm)
                {
                    wait.CooledAt = clock.GetUtcNow();
                }

                wait.Warm = false;
                wait.Wake?.Dispose();
                wait.Wake = null;
                return;
            }
            finally
            {
                _transition.Release();
            }
        }
    }

    private PausedWait? TakeReleased(string toolCallId)
    {
        lock (_lock)
        {
            // One whose decision a resume is already telling the agent is not taken again: asked again meanwhile, the call is
            // a question of its own (the allow runs once, on the grant the resume leaves).
            if (_released.TryGetValue(toolCallId, out var released) && released.Resumed)
            {
                return null;
            }

            if (released is not null)
            {
                released.TakenByAgent = true;
                // A warm agent asking the call itself takes the decision in place: its process is the session's, not to cool,
                // and it runs: nothing is paused on the call any more, so no look starts another and a cancel reaches its turn.
                // Undecided by the end of its hold, it is paused again all the same (JoinReleasedAsync).
                released.TakenWhileWarm = released.Warm;
                released.Warm = false;
                released.ProcessGone = false;
            }

            return released;
        }
    }

    /// <summary>A call let go to pause the agent, asked again (Claude would not defer it): the wait already open answers it.</summary>
    private async Task<PermissionDecision> JoinReleasedAsync(PermissionRequest request, PausedWait released, CancellationToken cancellationToken)
    {
        var pausedAgain = false;
        try
        {
            var hold = released.WarmUntil - clock.GetUtcNow();
            if (released.TakenWhileWarm && !await DecidedWithinAsync(released.Decision, hold, cancellationToken).ConfigureAwait(false)
                && await PauseAgainAsync(released).ConfigureAwait(false))
            {
                // Its process is gone: nobody reads this answer, and the decision resumes the agent as for any pause.
                pausedAgain = true;
                return PermissionDecision.PauseAgent;
            }

            var decided = await released.Decision.WaitAsync(cancellationToken).ConfigureAwait(false);
            // On the call as the owner saw it. An agent that runs the input the allow sends back gets that one (theirs, or their
            // edit), so only the tool must be the same; any other runs its own input, which must then be the very one they saw.
            var same = request.CanEditInput ? request.Tool == released.Tool : released.Request.AsksTheSameAs(request);
            return !decided.Allow ? decided
                : !same ? PermissionDecision.NotTheCallDecided
                : decided with { UpdatedInput = decided.UpdatedInput ?? released.Input };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            released.WithdrawQuietly();
            throw;
        }
        finally
        {
            if (!pausedAgain)
            {
                Forget(released);
            }
        }
    }

    private async Task<bool> DecidedWithinAsync(Task<PermissionDecision> decision, TimeSpan within, CancellationToken cancellationToken)
    {
        try
        {
            await decision.WaitAsync(within > TimeSpan.Zero ? within : TimeSpan.Zero, clock, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// A warm agent took its call and the hold ran out undecided: it is stopped again, the call still open, as a pause is
    /// (the memory goes back; a later look or the decision starts it anew). False when decided or ended meanwhile.
    /// </summary>
    private async Task<bool> PauseAgainAsync(PausedWait wait)
    {
        await _transition.WaitAsync().ConfigureAwait(false);
        try
        {
            if (host.Stopping || wait.Cancelled || wait.Decision.IsCompleted || !wait.TakenByAgent
                || !await host.StopForPauseAsync(wait.ToolCallId, midTurn: true).ConfigureAwait(false))
            {
                return false;
            }

            lock (_lock)
            {
                wait.ProcessGone = true;
                wait.TakenByAgent = false;
                wait.TakenWhileWarm = false;
            }
        }
        finally
        {
            _transition.Release();
        }

        // A decision that came as it was stopped found it taken, and settled nothing: it is settled here (at most once).
        if (wait.Decision.IsCompleted)
        {
            _ = Task.Run(() => SettleAsync(wait), CancellationToken.None);
        }

        return true;
    }

    /// <summary>
    /// The agent's turn ended as paused on <paramref name="toolCallId"/>: when the call was let go here, its process is to
    /// go, and the pause moves on in the background. False when nothing here let it go (the turn then simply ended).
    /// </summary>
    public bool TurnPausedOn(string? toolCallId)
    {
        PausedWait? wait;
        lock (_lock)
        {
            if (toolCallId is null || !_released.TryGetValue(toolCallId, out wait) || wait.TakenByAgent)
            {
                return false;
            }

            wait.AgentStopped = true;
        }

        _ = Task.Run(() => SettleAsync(wait), CancellationToken.None);
        return true;
    }

    /// <summary>
    /// A turn that ended without pausing (interrupted, or calls let go came back and ran) leaves nothing released behind:
    /// a question still open for one is withdrawn, since no agent waits for its answer any more.
    /// </summary>
    public void TurnEnded()
    {
        List<PausedWait> unused;
        lock (_lock)
        {
            unused = [.. _released.Values.Where(wait => !wait.AgentStopped)];
            unused.ForEach(wait => _released.Remove(wait.ToolCallId));
        }

        unused.Where(wait => wait.Decided is null).ToList().ForEach(wait => wait.WithdrawQuietly());
    }

    /// <summary>Every released call's question is withdrawn (the turn is cancelled, the session stops, or its agent died).</summary>
    /// <returns>Whether an agent is left stopped on one of them (paused, and not resumed).</returns>
    public bool WithdrawAll()
    {
        List<PausedWait> released;
        lock (_lock)
        {
            released = [.. _released.Values];
        }

        released.ForEach(wait => wait.WithdrawQuietly());
        return released.Any(wait => wait is { ProcessGone: true, Resumed: false });
    }

    private async Task WhenDecidedAsync(PausedWait wait)
    {
        try
        {
            wait.Decided = await wait.Decision.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Withdrawn: the turn was cancelled or the session stops. The agent, if paused, stays stopped.
            wait.Cancelled = true;
        }
        finally
        {
            wait.Withdraw.Dispose();
        }

        bool settle;
        lock (_lock)
        {
            // Decided before the turn ended on the call: the turn's end (TurnPausedOn) settles it then.
            settle = wait.AgentStopped && !wait.TakenByAgent;
        }

        if (settle)
        {
            await SettleAsync(wait).ConfigureAwait(false);
        }
    }

    /// <summary>The call came back and took its decision itself: nothing is paused on it.</summary>
    private void Forget(PausedWait wait)
    {
        lock (_lock)
        {
            if (_released.TryGetValue(wait.ToolCallId, out var current) && current == wait)
            {
                _released.Remove(wait.ToolCallId);
            }
        }
    }

    /// <summary>
    /// Moves a pause on: stops the agent's process once its turn ended on the call, and once the owner decided, resumes it.
    /// A pause withdrawn while the process is gone leaves it gone: the session is idle until the next message, and the call is
    /// denied as the agent resumes then.
    /// </summary>
    private async Task SettleAsync(PausedWait wait)
    {
        await _transition.WaitAsync().ConfigureAwait(false);
        try
        {
            // Taken meanwhile by a running agent that asked the call itself (a decision racing its ask): the decision is its
            // answer there, and that process is neither stopped nor a second one started (the call would run twice).
            if (host.Stopping || wait.Resumed || wait.TakenByAgent)
            {
                return;
            }

            if (!wait.ProcessGone && await host.StopForPauseAsync(wait.ToolCallId, wait.StopsProcess).ConfigureAwait(false))
            {
                lock (_lock)
                {
                    wait.ProcessGone = true;
                }
            }

            if (wait.Cancelled)
            {
                if (wait.Warm)
                {
                    // Started ahead of a decision that is not coming: stopped again, as it was.
                    await host.StopForPauseAsync(wait.ToolCallId, midTurn: true).ConfigureAwait(false);
                    wait.Warm = false;
                }

                End(LifeEvent.BetweenTurns, "the turn was cancelled while the agent was paused", wait);
                return;
            }

            if (wait.Decided is not { } decided)
            {
                return;
            }

            wait.Gone.TrySetResult();
            lock (_lock)
            {
                // The agent started ahead asked the call itself meanwhile: the decision is its answer there, never told twice.
                if (wait.TakenByAgent)
                {
                    return;
                }

                wait.Resumed = true;
            }

            await host.ResumeAsync(new PausedCall(wait.ToolCallId, wait.Tool, wait.Input, decided), wait.StopsProcess ? wait.Request : null, wait.Warm)
                .ConfigureAwait(false);
            Forget(wait);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            host.ResumeFailed(exception);
            End(LifeEvent.AgentFailed, "the paused agent could not be resumed", wait);
        }
        finally
        {
            wait.Gone.TrySetResult();
            _transition.Release();
        }
    }

    private void End(LifeEvent ending, string reason, PausedWait wait)
    {
        Forget(wait);
        host.EndPaused(ending, reason, wait.Cancelled);
    }
}
