using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Projects;
using PocketCoder.Realtime;
using PocketCoder.Sessions.Running;

namespace PocketCoder.Sessions;

/// <summary>
/// One live session: owns the agent process, turns what it does into session events, sends every permission question
/// through the <see cref="Gatekeeper"/>, and keeps the session's status true (waiting for you beats running beats idle).
/// Its parts: <see cref="AgentEventMapper"/> (what the transcript shows), <see cref="CostMeter"/>, <see cref="StallWatch"/>,
/// <see cref="TurnSnapshots"/> (turn reviews), <see cref="PausedCalls"/> (pausing on a call nobody decided), <see cref="AgentLaunch"/>
/// (how a process is started), <see cref="AgentCallGate"/> (how its calls reach the gate), <see cref="DecisionOnResume"/> (what a
/// resumed agent is told) and <see cref="SessionEgress"/> (the session its sandbox's connections are put to); what stays here is
/// the agent's lifecycle, its sink, the session's status and its message queue.
/// </summary>
public sealed class SessionRunner : IAgentSink, IPauseHost, IInboxHost
{
    private readonly Project _project;
    private readonly IAgentAdapter _adapter;
    private readonly SessionServices _services;
    private readonly Action<SessionRunner> _onEnded;
    private readonly Action<string> _holdOnBudget;
    private readonly SessionStore _sessions;
    private readonly EventLog _events;
    private readonly ILogger _logger;
    private readonly CostMeter _cost;
    private readonly StallWatch _stall;
    private readonly TurnSnapshots _snapshots;
    private readonly PausedCalls _paused;
    private readonly SessionInbox _inbox;
    private readonly AgentLaunch _launch;
    private readonly ProcessSinks _sinks;
    private readonly SessionEgress _egress;
    private readonly DecisionOnResume _decision;
    private readonly AgentCallGate _gate;
    private readonly ResumeWait _resume = new();
    private Session _session;

    private readonly TurnState _turn;
    private IAgentSession? _agent;

    /// <summary>The agent slot its process holds (<see cref="AgentSlots"/>): null while it has none (paused, suspended, stopped).</summary>
    private SlotLease? _slot;

    private readonly AgentTasks _tasks = new();

    /// <summary>Set while a paused agent's process is being stopped: its exit is not the session's end.</summary>
    private volatile bool _pausing;

    /// <summary>
    /// Set from the moment an agent stopped mid-turn for a pause is stopped until its resume starts: whatever the old process still
    /// says (its turn cut short, its exit) is not the session's.
    /// </summary>
    private volatile bool _muted;

    /// <summary>The agent runs on a copy of an earlier conversation (<see cref="AgentFork"/>) whose first turn has not ended yet.</summary>
    private volatile bool _forking;

    /// <summary>The agent session was disposed when it paused (it is kept only until the resumed one replaces it).</summary>
    private bool _agentDisposed;

    private volatile ErrorEvent? _unexpectedExit;

    /// <summary>Cancelled as the session stops: a resume waiting in line for an agent slot gives up.</summary>
    private readonly CancellationTokenSource _stopped = new();

    /// <param name="holdOnBudget">The budget is spent and a message waits for it to be raised (its first words): the manager asks.</param>
    public SessionRunner(Session session, Project project, IAgentAdapter adapter, string logDirectory, SessionServices services,
        Action<SessionRunner> onEnded, Action<string> holdOnBudget)
    {
        (_session, _project, _adapter, _services, _onEnded) = (session, project, adapter, services, onEnded);
        (_sessions, _events, _logger) = (services.Sessions, services.Events, services.Logger);
        _turn = new TurnState((@event, reason) => _sessions.Move(_session.Id, @event, reason));
        _cost = new CostMeter(() => _events.LastSessionCost(_session.Id));
        _stall = new StallWatch(services.Clock, services.Options.StallAfter, () => _turn.Working,
            silent => _events.Append(_session.Id, StallWatch.Stalled(_adapter.Id, silent)));
        _snapshots = new TurnSnapshots(
            () => services.Reviews.BeginAsync(_session.Id, _project, CancellationToken.None),
            (turn, resumeAt) => services.Reviews.EndAsync(_session.Id, turn, resumeAt, _project),
            (turn, files) => _events.Append(_session.Id, new TurnChangesEvent(turn, files)),
            exception => _logger.LogWarning(exception, "The turn review of session {SessionId} could not open", _session.Id));
        _paused = new PausedCalls(this, services.Clock, services.Options.PauseWaitingAfter);
        _holdOnBudget = holdOnBudget;
        _inbox = new SessionInbox(session.Id, adapter.Id, _turn, _snapshots, services.Queue, this, _logger);
        _launch = new AgentLaunch(project, adapter, logDirectory, services);
        _sinks = new ProcessSinks(this, _logger, session.Id, adapter.Id);
        _decision = new DecisionOnResume(session.Id, adapter.Id, _sessions, _logger);
        _gate = new AgentCallGate(_paused, _snapshots, services.Gatekeeper,
            () => new GateContext(_session.Id, _project, _sessions.Mode(_session.Id), _adapter, _inbox.TurnBy, _decision.Grant),
            _turn, _stall, input => services.Egress.Fetches.Allowed(_session.Id, input));
        _egress = new SessionEgress(session.Id, project, _sessions, _turn, _inbox, _gate.RequestAsync);
    }

    public string SessionId => _session.Id;

    public string Agent => _adapter.Id;

    /// <summary>The agent's process (the root of its tree, for its memory) while it runs.</summary>
    public int? ProcessId => IsAlive ? _agent?.ProcessId : null;
    /// <summary>
    /// True when the agent is doing nothing anyone waits for: no turn running and no question open.
    /// Only then may its process be suspended.
    /// </summary>
    /// <remarks>A message about to start from the queue is work someone waits for (one held for confirming is not about to).</remarks>
    public bool IsQuiescent => _turn.Quiet && _inbox.NothingAboutToStart;

    /// <summary>When the agent last did or was sent anything.</summary>
    public DateTimeOffset LastActivity => _stall.LastActivity;

    /// <summary>True while queued messages wait for the owner rather than starting by themselves.</summary>
    public bool QueueHeld => _inbox.Held;

    /// <summary>True while the agent process runs and can take messages.</summary>
    public bool IsAlive => _agent is { Exited.IsCompleted: false } && !_turn.Stopping;

    /// <summary>True while the agent's process is stopped on a call the owner has not decided; their decision resumes it.</summary>
    public bool IsPaused => _paused.IsPaused;

    /// <inheritdoc cref="PausedCalls.WarmAsync"/>
    public Task WarmPausedAsync(TimeSpan hold, bool screenOpened) => _paused.WarmAsync(hold, screenOpened);

    /// <inheritdoc cref="PausedCalls.CoolNow"/>
    public void CoolWarmPaused() => _paused.CoolNow();

    /// <summary>True while a paused agent is being started again on the owner's decision (in line for an agent slot, perhaps).</summary>
    public bool IsResuming => _resume.Resuming;

    /// <summary>True from the moment a call is let go to pause the agent until it is settled (<see cref="PausedCalls.HoldsTheAgent"/>).</summary>
    public bool OnAPausedCall => _paused.HoldsTheAgent;

    /// <summary>
    /// True while this runner has the session's agent: its process runs, is paused on a call, or is on its way from one to the
    /// other. Only a runner without one is replaced: never two processes on one conversation.
    /// </summary>
    public bool HasAgent => IsAlive || IsResuming || OnAPausedCall;

    bool IPauseHost.Stopping => _turn.Stopping;

    /// <summary>
    /// Why an agent that would not take a message stopped: its exit code and the end of its error output, once its
    /// exit is seen (waited for a few seconds: a closed input comes just before the exit).
    /// </summary>
    public async Task<string> WhyTheAgentStoppedAsync()
    {
        try
        {
            await (_agent?.Exited ?? Task.CompletedTask).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        return _unexpectedExit is { } exit ? $"{exit.Message}{(exit.StderrTail is { Length: > 0 } tail ? $" It printed: {tail}" : "")}"
            : "It stopped without saying why.";
    }

    /// <summary>Starts the agent process, continuing its earlier conversation when <paramref name="resume"/> is set.</summary>
    /// <param name="holdQueued">Messages already queued wait for the owner (they were sent to an agent that went away); false
    /// for a session whose worktree was just made, whose queue holds what was sent meanwhile, to run now.</param>
    /// <param name="slot">The agent slot its manager took for this start; the runner lets it go with the process.</param>
    public async Task StartAsync(bool resume, SlotLease slot, CancellationToken cancellationToken, bool holdQueued = true)
    {
        _slot = slot;
        // An agent that paused on a call before this runner (a restart, a cancelled turn): whatever it was, the owner did
        // not allow it, and it must not run as the agent resumes.
        var paused = resume && _sessions.PausedCall(_session.Id) is { } call
            ? new PausedCall(call, null, null, PermissionDecision.Deny(PausedCalls.UndecidedPausedCall)) : null;
        await StartAgentAsync(resume, paused, cancellationToken).ConfigureAwait(false);
        _turn.Write(resume ? "resumed" : null);
        if (holdQueued)
        {
            _inbox.HoldWhatWaits();
        }

        // Its agent just came up: idle from now, however long the start took (the line's 30 s count from here).
        _stall.Touch();
        _stall.Start();
    }

    private async Task StartAgentAsync(bool resume, PausedCall? paused, CancellationToken cancellationToken)
    {
        var sandbox = await _launch.PrepareAsync(_session, resume, _egress, cancellationToken).ConfigureAwait(false);
        // Within the limit on running agents: held already for a start the manager made or one ahead of a decision, waited for
        // in line for a resume on the owner's decision (the session says its place meanwhile).
        _slot ??= await _services.Slots.TakeAsync(_session.Id, cancellationToken).ConfigureAwait(false);
        try
        {
            // An allow that waited for the slot counts only if its deciders may still make it (revoked meanwhile: denied).
            paused = paused is null ? null : paused with { Decision = _services.Gatekeeper.StillStanding(_session.Id, paused) };
            var fork = _launch.ForkOf(_session);
            _forking = fork is not null;
            _agent = await _launch.StartAsync(_session, resume, paused, sandbox, fork, _sinks.Next(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            LetSlotGo();
            throw;
        }

        _agentDisposed = false;
        _launch.ReportModels(_session, _agent);
        _cost.NewProcess();
    }

    /// <inheritdoc cref="SessionInbox.SendAsync"/>
    public Task<QueuedMessage?> SendAsync(OwnerMessage message, Actor sender, CancellationToken cancellationToken) =>
        _inbox.SendAsync(message, sender, cancellationToken);

    /// <inheritdoc cref="SessionInbox.RunQueueAsync"/>
    public Task<bool> RunQueueAsync(CancellationToken cancellationToken) => _inbox.RunQueueAsync(cancellationToken);

    /// <summary>Someone resumed the session: what the agent carries on with before the next message is on their word.</summary>
    public void ResumedBy(Actor actor) => _inbox.ResumedBy(actor);

    /// <inheritdoc cref="SessionInbox.CloseBetweenTurnsAsync"/>
    public Task<bool> CloseBetweenTurnsAsync(CancellationToken cancellationToken, bool leavingHeldMessages = false) =>
        _inbox.CloseBetweenTurnsAsync(cancellationToken, leavingHeldMessages);

    public async Task SetModeAsync(string mode, CancellationToken cancellationToken)
    {
        if (_agent is { } agent && IsAlive)
        {
            await agent.SetModeAsync(mode, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Cancels the running turn; not while a paused agent is stopped or resumed (see <see cref="PausedCalls.CancelAsync"/>), but
    /// a resume still waiting in line for an agent slot gives up at once (the turn then ends here).
    /// </summary>
    public Task CancelTurnAsync(CancellationToken cancellationToken)
    {
        _resume.Cancel();

        return CancelAfterAnyPauseAsync(cancellationToken);
    }

    private Task CancelAfterAnyPauseAsync(CancellationToken cancellationToken) => _paused.CancelAsync(async () =>
    {
        if (_agent is { Exited.IsCompleted: false } agent && _turn.RequestCancel())
        {
            await agent.CancelTurnAsync(cancellationToken).ConfigureAwait(false);
        }
    }, cancellationToken);

    /// <summary>Whether the agent's task of this id has started and not ended.</summary>
    public bool RunsTask(string taskId) => _tasks.Runs(taskId);

    /// <summary>A background command or subagent of the agent still runs after its turn (never suspended for the line).</summary>
    public bool RunsAnyTask => _tasks.Any;

    /// <summary>Stops one of the agent's tasks on its own; false where its agent cannot (or it is not running).</summary>
    public Task<bool> StopAgentTaskAsync(string taskId, CancellationToken cancellationToken) =>
        _agent is { Exited.IsCompleted: false } agent ? agent.StopTaskAsync(taskId, cancellationToken) : Task.FromResult(false);

    /// <summary>Stops the process. The caller sets the final status (stopped, interrupted).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _turn.Stop();
        await _stopped.CancelAsync().ConfigureAwait(false);
        _stall.Dispose();
        _services.Egress.Fetches.Forget(_session.Id);
        // Nobody will resume the agent for them: their questions are withdrawn (a paused call stays denied for any later resume).
        _paused.WithdrawAll();

        // After any pause or resume under way: whatever process there is then (a resumed one too) is stopped. Whoever asked
        // may give up waiting; the stop itself is never abandoned halfway.
        await _paused.ExclusiveAsync(async () =>
        {
            try
            {
                if (_agent is { } agent && !_agentDisposed)
                {
                    _agentDisposed = true;
                    // Between turns (a restart, an idle suspension) the agent is asked to exit by itself, so that it writes all it
                    // keeps: Claude Code signalled right after a turn lost that turn's answer from its transcript, and the next
                    // resume with it. One that lingers is stopped all the same; one in a turn is stopped at once.
                    await (IsQuiescent ? agent.EndAsync(CancellationToken.None) : agent.StopAsync(CancellationToken.None)).ConfigureAwait(false);
                    await agent.DisposeAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                // Stopped or suspended (or its clean-up failed, the runner being gone all the same): its slot goes to the next in line.
                LetSlotGo();
            }
        }, CancellationToken.None).ConfigureAwait(false);
    }

    void ISessionEventTarget.Append<T>(T data) => _events.Append(_session.Id, data);

    IAgentSession? IInboxHost.Agent => _agent;

    void IInboxHost.Sent() => _stall.Touch();

    bool IInboxHost.BudgetSpent => _services.Budgets.Reached(_project.Id, _session.Id) is not null;

    void IInboxHost.HoldOnBudget(string text) => _holdOnBudget(text);

    public async ValueTask OnEventAsync(AgentEvent agentEvent, CancellationToken cancellationToken)
    {
        if (_muted)
        {
            return;
        }

        // Word from the agent: a stall is over, and the next one is reported again.
        _stall.Heard();
        if (AgentEventMapper.IsOutput(agentEvent))
        {
            // Output after the turn ended means the agent carried on by itself: show it running.
            _turn.Output();
        }

        if (agentEvent is AgentTaskUpdate task)
        {
            _tasks.Update(task);
        }

        if (AgentEventMapper.Map(agentEvent, this))
        {
            if (agentEvent is ToolResult result)
            {
                // The call the agent had paused on is settled in its transcript: a later resume has nothing to apply.
                _sessions.ClearPausedCall(_session.Id, result.ToolCallId);
            }

            return;
        }

        switch (agentEvent)
        {
            case AgentReady ready when ready.AgentSessionId.Length > 0 && ready.AgentSessionId != _session.AgentSessionId:
                // Agents that choose their own conversation id (Codex threads, OpenCode and ACP sessions): remember it, so
                // the next start resumes that conversation. Claude takes the id we chose, so this never fires for it.
                _sessions.SetAgentSessionId(_session.Id, ready.AgentSessionId);
                _session = _session with { AgentSessionId = ready.AgentSessionId };
                break;
            case UsageReport usage:
                _events.Append(_session.Id, _cost.Costed(usage));
                break;
            case TurnCompleted { StopReason: TurnCompleted.Paused } paused when _paused.TurnPausedOn(paused.PausedOn):
                // Not the end of the turn for the owner: it goes on where it stopped once they decide (its review stays open).
                break;
            case TurnCompleted completed:
                await OnTurnCompletedAsync(completed).ConfigureAwait(false);
                break;
            case AgentExited exited:
                OnExited(exited);
                break;
        }
    }

    /// <summary>Completes once the last turn's review is closed (<see cref="TurnSnapshots.SettledAsync"/>).</summary>
    public Task TurnReviewsSettledAsync(CancellationToken cancellationToken) => _snapshots.SettledAsync(cancellationToken);

    private async Task OnTurnCompletedAsync(TurnCompleted completed)
    {
        _decision.TurnEnded();
        await _snapshots.EndTurnAsync(completed.ResumeAt).ConfigureAwait(false);
        _paused.TurnEnded();
        // The copy of an earlier conversation (a rewind's, a fork's) is the agent's own once a turn of it ended: it resumes from now on.
        if (_forking)
        {
            _forking = false;
            _sessions.ClearFork(_session.Id);
        }

        // Claude Code ends an interrupted turn as an error ("error_during_execution"): a turn the owner stopped is told as
        // stopped, never as a failure.
        _events.Append(_session.Id, _turn.CancelRequested
            ? new TurnCompletedEvent(TurnCompletedEvent.Cancelled, false, null)
            : new TurnCompletedEvent(completed.StopReason, completed.IsError, completed.Result));
        _inbox.TurnEnded(cancelled: _turn.End());
        _services.Slots.TurnOver(_session.Id);
    }

    public Task<PermissionDecision> RequestPermissionAsync(PermissionRequest request, CancellationToken cancellationToken) =>
        // Stopped (the session, or this runner for a newer one): nothing is asked or run on its behalf any more.
        _stopped.IsCancellationRequested
            ? Task.FromResult(PermissionDecision.Deny("This session's agent was stopped; nothing it asks runs."))
            : _gate.RequestAsync(request, cancellationToken);

    void IPauseHost.Releasing(PermissionRequest request)
    {
        _sessions.SetPausedCall(_session.Id, request.ToolCallId);
        _logger.LogInformation("Session {SessionId}: {Tool} call {ToolCallId} waited {Seconds} s for the owner; pausing the agent",
            _session.Id, request.Tool, request.ToolCallId, (int)_services.Options.PauseWaitingAfter.TotalSeconds);
    }

    // Not a subagent's call: stopping the agent ends the subagent's conversation, and the resumed main thread would be asked
    // to make a call that was its subagent's.
    bool IPauseHost.StopsToPause(PermissionRequest request) =>
        request.Kind != ToolKind.Network && request.ParentToolCallId is null && _agent is { ResumesOnDecision: true } && !_agentDisposed;

    async Task<bool> IPauseHost.StopForPauseAsync(string toolCallId, bool midTurn)
    {
        if (_agent is not { } agent || _agentDisposed)
        {
            return false;
        }

        _pausing = true;
        _muted = midTurn;
        try
        {
            _agentDisposed = true;
            // A deferred call ended the turn: the agent exits by itself, having written all it keeps. One still in its turn is
            // stopped at once (what it keeps of the conversation is written as it goes: docs/agents.md says what each keeps).
            await (midTurn ? agent.StopAsync(CancellationToken.None) : agent.EndAsync(CancellationToken.None)).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await agent.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                _pausing = false;
                // Paused, it costs no memory and takes no slot: the next in line starts.
                LetSlotGo();
            }
        }

        _sessions.Announce(_session.Id, PausedCalls.PausedReason);
        _logger.LogInformation("Session {SessionId}: agent paused on call {ToolCallId} until the owner decides", _session.Id, toolCallId);
        return true;
    }

    async Task<bool> IPauseHost.WarmAsync()
    {
        // Never in line for a mere look, nor ahead of a session waiting for a slot; never a second process on one conversation.
        if (TerminalProcesses.Holding(TerminalProcesses.CommandLines(), _session.AgentSessionId, null, null) is not null
            || _services.Slots.TryTake(_session.Id) is not { } slot)
        {
            return false;
        }

        _slot = slot;
        _muted = false;
        try
        {
            await StartAgentAsync(resume: true, null, _stopped.Token).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            // The decision then starts it as it would have: a look is worth no error in the transcript.
            LetSlotGo();
            _logger.LogInformation("Session {SessionId}: the paused {Agent} could not be started ahead of the decision: {Reason}",
                _session.Id, _adapter.Id, exception.Message);
            return false;
        }

        _logger.LogInformation("Session {SessionId}: the paused {Agent} started ahead of the decision, someone who may decide having the call open",
            _session.Id, _adapter.Id);
        _sessions.Announce(_session.Id, PausedCalls.ReadyReason);
        return true;
    }

    async Task IPauseHost.ResumeAsync(PausedCall call, PermissionRequest? asked, bool warm)
    {
        if (warm && asked is not null && _agent is { Exited.IsCompleted: false } && !_agentDisposed)
        {
            // Started ahead of the decision, its conversation loaded: only the decision is left to tell.
            _turn.SetActive(true);
            _sessions.Announce(_session.Id, PausedCalls.ResumedReason);
            await _decision.TellAsync(_agent!, asked, call.Decision, _stopped.Token).ConfigureAwait(false);
            return;
        }

        if (TerminalProcesses.Holding(TerminalProcesses.CommandLines(), _session.AgentSessionId, null, null) is { } holder)
        {
            // Carried on in a terminal meanwhile: never a second process on one conversation (it ran the call there, if at all).
            throw new InvalidOperationException($"a process on this machine holds the conversation (pid {holder.Pid}: {holder.Name})");
        }

        // The agent carries on with the turn by itself, the decided call first: what is sent meanwhile (while it waits in line
        // for an agent slot, say) queues behind it.
        using var wait = _resume.Begin(_stopped.Token);
        _turn.SetActive(true, write: false);
        _muted = false;
        try
        {
            await StartAgentAsync(resume: true, asked is null ? call : null, wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (wait.IsCancellationRequested && !_stopped.IsCancellationRequested)
        {
            // The owner cancelled the turn while it waited for a slot: it ends here, and the call it paused on is denied when
            // the agent next resumes (as after any cancel of a paused turn).
            ((IPauseHost)this).EndPaused(LifeEvent.BetweenTurns, "the turn was cancelled while it waited for an agent slot", cancelled: true);
            return;
        }
        finally
        {
            _resume.End();
        }

        _turn.SetActive(true);
        _sessions.Announce(_session.Id, PausedCalls.ResumedReason);
        if (asked is not null)
        {
            await _decision.TellAsync(_agent!, asked, call.Decision, _stopped.Token).ConfigureAwait(false);
        }
    }

    void IPauseHost.ResumeFailed(Exception exception)
    {
        _logger.LogWarning(exception, "Session {SessionId}: the paused agent could not be resumed", _session.Id);
        _events.Append(_session.Id, new ErrorEvent(
            $"The paused {_adapter.Id} could not be resumed ({exception.Message}). Send a message to try again: the call it paused on is then denied."));
    }

    /// <summary>Nothing runs here any more: the runner leaves the live set, and the next message brings the agent back.</summary>
    void IPauseHost.EndPaused(LifeEvent ending, string reason, bool cancelled)
    {
        if (_agent is { } live && !_agentDisposed)
        {
            // A process still runs (started ahead of the decision, or resumed and then failed): nothing is to run for the
            // session any more, and what it says as it goes is not the session's.
            _agentDisposed = true;
            _muted = true;
            // The slot is that process's: it goes when the process has, whatever runs for the session by then.
            var slot = Interlocked.Exchange(ref _slot, null);
            _ = Task.Run(async () =>
            {
                try
                {
                    await live.StopAsync(CancellationToken.None).ConfigureAwait(false);
                    await live.DisposeAsync().ConfigureAwait(false);
                }
                finally
                {
                    _services.Slots.Release(slot);
                }
            }, CancellationToken.None);
        }

        _turn.SetActive(false, write: false);
        _turn.Stop();
        _stall.Dispose();
        _onEnded(this);
        // The turn ends here: its review closes on what it changed, and the transcript says so.
        _ = Task.Run(() => _snapshots.EndTurnAsync(), CancellationToken.None);
        _events.Append(_session.Id, new TurnCompletedEvent(cancelled ? TurnCompletedEvent.Cancelled : "error", !cancelled, null));
        _sessions.Move(_session.Id, ending, reason);
    }

    /// <summary>The process's slot goes to the next in line (once: a second call for the same process does nothing).</summary>
    private void LetSlotGo() => _services.Slots.Release(Interlocked.Exchange(ref _slot, null));

    private void OnExited(AgentExited exited)
    {
        _tasks.ProcessExited();
        if (_pausing)
        {
            // Stopped to pause on a call: the session goes on when the owner decides.
            return;
        }

        if (_paused.WarmExited())
        {
            // Started ahead of a decision and gone before it: paused again, the call still open; the decision starts it anew.
            _agentDisposed = true;
            LetSlotGo();
            _logger.LogWarning("Session {SessionId}: the {Agent} started ahead of the decision exited (code {ExitCode}); paused again",
                _session.Id, _adapter.Id, exited.ExitCode);
            _sessions.Announce(_session.Id, PausedCalls.PausedReason);
            return;
        }

        // Calls it had let go wait for no agent now: their questions are withdrawn, and no pause of it moves on. Whether
        // a stop was asked for is read first: an exit nobody asked for is the owner's to hear about.
        var stopRequested = _turn.Stop();
        _paused.WithdrawAll();
        _stall.Dispose();
        LetSlotGo();
        _onEnded(this);
        if (exited.Expected || stopRequested)
        {
            return;
        }

        var tail = exited.StderrTail.Trim();
        var error = new ErrorEvent($"The {_adapter.Id} process exited unexpectedly (exit code {exited.ExitCode}).")
        {
            StderrTail = tail.Length > 2000 ? tail[^2000..] : tail,
        };
        _unexpectedExit = error;
        _events.Append(_session.Id, error);
        _sessions.Move(_session.Id, LifeEvent.AgentFailed, $"agent exited with code {exited.ExitCode}");
    }
}
