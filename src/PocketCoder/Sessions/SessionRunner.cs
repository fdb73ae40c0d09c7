using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Realtime;

namespace PocketCoder.Sessions;

/// <summary>
/// One live session: owns the agent process, turns what it does into session events, sends every
/// permission question through the <see cref="Gatekeeper"/>, and keeps the session's status true
/// (waiting for you beats running beats idle).
/// </summary>
public sealed class SessionRunner(
    Session session,
    Project project,
    IAgentAdapter adapter,
    SessionStore sessions,
    EventLog events,
    Gatekeeper gatekeeper,
    string logDirectory,
    ILogger logger,
    TimeProvider clock,
    TimeSpan stallAfter,
    TurnReviews reviews,
    Sandboxing sandboxing,
    Mcp.McpServerStore mcp,
    MessageQueue queue,
    Action<SessionRunner> onEnded,
    TimeSpan pauseAfter = default) : IAgentSink
{
    /// <summary>The reason a <c>session.status</c> event gives while the agent is paused on a call (the app shows it).</summary>
    public const string PausedReason = "agent paused to save memory";

    /// <summary>The reason given once a paused agent runs again, the owner's decision applied.</summary>
    public const string ResumedReason = "resumed on the owner's decision";

    /// <summary>What a paused call becomes when the owner never decided it (the turn was cancelled, the server restarted).</summary>
    internal const string UndecidedPausedCall =
        "This call was not run: the turn was cancelled, or PocketCoder restarted, before it could run. Ask again if it is still needed.";

    /// <summary>Tool output beyond this is cut in the event (the agent itself saw all of it).</summary>
    public const int ToolResultLimit = 64 * 1024;

    /// <summary>A tool's result as the transcript keeps it: cut at <see cref="ToolResultLimit"/>, and saying so.</summary>
    internal static ToolResultEvent ToolResultEventOf(string toolCallId, string content, bool isError)
    {
        var truncated = content.Length > ToolResultLimit;
        return new ToolResultEvent(toolCallId, truncated ? content[..ToolResultLimit] : content, isError, truncated);
    }

    /// <summary>The <c>code</c> of the <c>session.error</c> event that reports a turn with no progress (docs/api.md).</summary>
    public const string StalledCode = "AGENT_STALLED";

    private readonly Lock _statusLock = new();
    private IAgentSession? _agent;
    private bool _turnActive;
    private int _pendingApprovals;
    private volatile bool _stopping;
    private long _lastActivityTicks = clock.GetUtcNow().UtcTicks;
    private ITimer? _stallTimer;
    private bool _stalled;

    /// <summary>The running turn's review number (0: none), set as a turn begins and taken as it ends.</summary>
    private int _reviewTurn;

    /// <summary>The owner cancelled the running turn: when it ends, the queue waits rather than starting the next message.</summary>
    private bool _cancelRequested;

    /// <summary>Queued messages do not start by themselves (after a cancel, or an agent brought back with some waiting).</summary>
    private volatile bool _held;

    /// <summary>The owner sent a message while their cancel was under way: it goes first, and the queue goes on after it.</summary>
    private bool _nextAfterCancel;

    /// <summary>Set once the session is being handed back: no message starts a turn after that.</summary>
    private bool _closing;

    // One message at a time: which one begins a turn, and the order the agent gets them in, are then certain.
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    // A turn's closing snapshot is taken before the next turn's opening one, which is taken before the gate allows the agent anything.
    private readonly SemaphoreSlim _snapshotLock = new(1, 1);

    /// <summary>The current turn's opening snapshot, as it is taken.</summary>
    private Task _opening = Task.CompletedTask;

    /// <summary>
    /// Calls that waited past the threshold and were let go by the agent's gate hook: to pause the agent on, or, where it
    /// could not pause, to come back through its permission request and join the wait. Each keeps its gate wait (the
    /// same approval). Guarded by <see cref="_statusLock"/>.
    /// </summary>
    private readonly Dictionary<string, PausedWait> _released = new(StringComparer.Ordinal);

    /// <summary>Stopping, resuming, cancelling or stopping for good a paused agent, one at a time.</summary>
    private readonly SemaphoreSlim _pauseTransition = new(1, 1);

    /// <summary>Set while a paused agent's process is being stopped: its exit is not the session's end.</summary>
    private volatile bool _pausing;

    /// <summary>The agent session was disposed when it paused (it is kept only until the resumed one replaces it).</summary>
    private bool _agentDisposed;

    /// <summary>What this agent process has reported costing so far (each process starts at zero).</summary>
    private decimal _processCost;

    /// <summary>The session's total cost so far; read from the log on first use (null: none known yet).</summary>
    private decimal? _sessionCost;

    public string SessionId => session.Id;

    /// <summary>
    /// True when the agent is doing nothing anyone waits for: no turn running and no question open.
    /// Only then may its process be suspended.
    /// </summary>
    public bool IsQuiescent
    {
        get
        {
            lock (_statusLock)
            {
                if (_turnActive || Volatile.Read(ref _pendingApprovals) > 0)
                {
                    return false;
                }
            }

            // A message about to start from the queue is work someone waits for (one held for confirming is not about to).
            return _held || !queue.NextStarts(session.Id);
        }
    }

    /// <summary>When the agent last did or was sent anything.</summary>
    public DateTimeOffset LastActivity => new(Interlocked.Read(ref _lastActivityTicks), TimeSpan.Zero);

    /// <summary>True while queued messages wait for the owner rather than starting by themselves.</summary>
    public bool QueueHeld => _held;

    /// <summary>True while the agent process runs and can take messages.</summary>
    public bool IsAlive => _agent is { Exited.IsCompleted: false } && !_stopping;

    private volatile ErrorEvent? _unexpectedExit;

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

    /// <summary>True while the agent's process is stopped on a call the owner has not decided; their decision resumes it.</summary>
    public bool IsPaused
    {
        get
        {
            lock (_statusLock)
            {
                return !_stopping && _released.Values.Any(wait => wait is { ProcessGone: true, Resumed: false });
            }
        }
    }

    /// <summary>Starts the agent process, continuing its earlier conversation when <paramref name="resume"/> is set.</summary>
    public async Task StartAsync(bool resume, CancellationToken cancellationToken)
    {
        // An agent that paused on a call before this runner (a restart, a cancelled turn): whatever it was, the owner did
        // not allow it, and it must not run as the agent resumes.
        var paused = resume && sessions.PausedCall(session.Id) is { } call ? new PausedCall(call, null, null, PermissionDecision.Deny(UndecidedPausedCall)) : null;
        await StartAgentAsync(resume, paused, cancellationToken).ConfigureAwait(false);
        UpdateStatus(resume ? "resumed" : null);
        if (!queue.IsEmpty(session.Id))
        {
            // Messages queued before the agent went away (a restart, a stop): the owner says when they go on.
            _held = true;
            queue.Announce(session.Id, held: true);
        }

        if (stallAfter > TimeSpan.Zero)
        {
            // Checked a few times per stall period, so a stall is seen at most a quarter period late.
            var every = TimeSpan.FromTicks(Math.Max(stallAfter.Ticks / 4, TimeSpan.TicksPerSecond));
            _stallTimer = clock.CreateTimer(_ => CheckStall(), null, every, every);
        }
    }

    private async Task StartAgentAsync(bool resume, PausedCall? paused, CancellationToken cancellationToken)
    {
        // project.Path is where this session works: the project's folder, or the session's worktree.
        var sandbox = await sandboxing.ForAsync(project, adapter.Id, project.Path, cancellationToken).ConfigureAwait(false);
        sessions.SetSandbox(session.Id, sandbox is null ? Sandboxing.None : Sandboxing.Sandboxed);
        if (resume && adapter is IAgentConversations conversations)
        {
            await BringConversationAsync(conversations, sandbox is not null, cancellationToken).ConfigureAwait(false);
        }

        var options = new AgentStartOptions(
            project.Path,
            session.Model,
            resume ? session.AgentSessionId : null,
            session.AgentSessionId,
            sessions.Mode(session.Id),
            logDirectory,
            logger,
            sandbox,
            sessions.Instructions(session.Id),
            pauseAfter > TimeSpan.Zero ? pauseAfter : null,
            paused,
            // Read at every start: a server's file changed since the owner enabled it is left out, never run unseen.
            mcp.ForSession(project.Id, project.Path, adapter, sessions.McpServers(session.Id)));
        _agent = await adapter.StartAsync(options, this, cancellationToken).ConfigureAwait(false);
        _agentDisposed = false;
    }

    /// <summary>
    /// A sandboxed agent keeps its conversations in its home of PocketCoder's own, an unsandboxed one in the owner's: the
    /// conversation is brought to the one this start uses where the other holds a newer copy (begun or carried on in a terminal,
    /// or run before the project's sandbox setting changed).
    /// </summary>
    private async Task BringConversationAsync(IAgentConversations conversations, bool sandboxed, CancellationToken cancellationToken)
    {
        try
        {
            await conversations.CopyConversationAsync(project.Path, session.AgentSessionId, sandboxing.HomeOf(adapter.Id), toAgentHome: sandboxed,
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is AgentUnavailableException or IOException or UnauthorizedAccessException)
        {
            // Where it already is, the agent resumes it all the same; where not, the agent says it has no such conversation.
            logger.LogWarning("The {Agent} conversation {Conversation} could not be brought to where it resumes: {Reason}", adapter.Id,
                session.AgentSessionId, exception.Message);
        }
    }

    /// <summary>
    /// Sends the message as a turn of its own when the agent is between turns; while a turn runs (or a question waits, or
    /// earlier messages wait their turn) it joins the session's queue instead and starts after them. A message sent while
    /// the queue is held goes first, and lets the queue go on after it. Returns the message as queued, or null when it
    /// started a turn at once.
    /// </summary>
    public async Task<QueuedMessage?> SendAsync(OwnerMessage message, Actor sender, CancellationToken cancellationToken)
    {
        Touch();
        var agent = _agent ?? throw new InvalidOperationException("The session has not started.");
        if (message.Prompt.Images.Count > 0 && !agent.TakesImages)
        {
            // Refused before it is recorded: the transcript never shows a message the agent did not get.
            throw new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.AttachmentUnsupported,
                $"This agent ({session.Agent}) said it takes no images in its prompts. Send the message without them.");
        }

        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            bool busy;
            bool cancelling;
            lock (_statusLock)
            {
                if (_closing)
                {
                    throw new InvalidOperationException("the session is being handed back to a terminal");
                }

                busy = _turnActive || Volatile.Read(ref _pendingApprovals) > 0;
                cancelling = busy && _cancelRequested;
                _nextAfterCancel |= cancelling;
            }

            if (busy || (!_held && !queue.IsEmpty(session.Id)))
            {
                var queued = queue.Add(session.Id, message, sender, _held, first: cancelling);
                // Between turns with messages already waiting (the last turn just ended): the first of them goes now.
                return !busy && await StartNextLockedAsync(cancellationToken).ConfigureAwait(false) == queued.Id ? null : queued;
            }

            _held = false;
            await BeginTurnAsync(agent, message, sender.Name, cancellationToken).ConfigureAwait(false);
            return null;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Lets a held queue go on: its first message starts now if the agent is between turns. Says whether one did.</summary>
    public async Task<bool> RunQueueAsync(CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var wasHeld = _held;
            _held = false;
            var started = await StartNextLockedAsync(cancellationToken).ConfigureAwait(false) is not null;
            if (wasHeld && !started)
            {
                queue.Announce(session.Id, held: false);
            }

            return started;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// A turn begins: its review opens, the transcript shows the message, and the agent gets it. A message the agent
    /// did not take ends the turn again (nothing would end it otherwise, and everything sent later would wait behind it).
    /// </summary>
    private async Task BeginTurnAsync(IAgentSession agent, OwnerMessage message, string sender, CancellationToken cancellationToken)
    {
        // Taken while the message goes out, not before: the agent changes nothing until the gate allows a call,
        // and the gate waits for this snapshot first (RequestPermissionAsync). The prompt is not held up by git.
        Volatile.Write(ref _opening, Task.Run(BeginReviewAsync, CancellationToken.None));
        events.Append(session.Id, new UserMessageEvent(message.Text, sender, message.Attachments.Count > 0 ? message.Attachments : null));
        lock (_statusLock)
        {
            _turnActive = true;
            _cancelRequested = false;
        }

        UpdateStatus(null);
        try
        {
            await agent.SendAsync(message.Prompt, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (_statusLock)
            {
                _turnActive = false;
            }

            UpdateStatus(null);
            throw;
        }
    }

    /// <summary>
    /// Under the send lock: starts the queue's first message if the agent is between turns; its id, or null. The turn is
    /// claimed before the message is taken, so nothing sees an idle session with an empty queue in between. A message the
    /// agent did not take goes back first in line, and the queue is held (said as an error event), never lost.
    /// </summary>
    private async Task<string?> StartNextLockedAsync(CancellationToken cancellationToken)
    {
        if (_agent is not { } agent || !IsAlive)
        {
            return null;
        }

        lock (_statusLock)
        {
            if (_closing || _stopping || _turnActive || Volatile.Read(ref _pendingApprovals) > 0)
            {
                return null;
            }

            _turnActive = true;
        }

        var next = queue.TakeNext(session.Id);
        if (next is null)
        {
            lock (_statusLock)
            {
                _turnActive = false;
            }

            return null;
        }

        try
        {
            await BeginTurnAsync(agent, next.Value.Message, next.Value.Queued.SentBy, cancellationToken).ConfigureAwait(false);
            queue.Sent(next.Value.Queued.Id);
            return next.Value.Queued.Id;
        }
        catch (Exception exception) when (!_stopping)
        {
            _held = true;
            queue.Unsent(session.Id, next.Value.Queued.Id);
            logger.LogWarning(exception, "Session {SessionId}: a queued message could not be sent", session.Id);
            events.Append(session.Id, new ErrorEvent(
                $"The queued message could not be sent to {adapter.Id} ({exception.Message}); it waits first in line. Send queued now to try again."));
            return null;
        }
    }

    /// <summary>A turn ended on its own: the next queued message starts (off the agent's event pump, which must not wait on it).</summary>
    private async Task StartNextAfterTurnAsync()
    {
        try
        {
            await _sendLock.WaitAsync().ConfigureAwait(false);
            try
            {
                if (!_held)
                {
                    await StartNextLockedAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception exception) when (!_stopping)
        {
            logger.LogWarning(exception, "Session {SessionId}: the next queued message could not be sent", session.Id);
            events.Append(session.Id, new ErrorEvent($"The next queued message could not be sent to {adapter.Id}: {exception.Message}"));
        }
        catch (Exception)
        {
            // The session is stopping: what is still queued stays queued for when it comes back.
        }
    }

    /// <summary>
    /// Closes the session to new messages if the agent is between turns with no question open, and says whether it did.
    /// Taken under the send lock, so no message is half sent; the caller then stops the process.
    /// </summary>
    public async Task<bool> CloseBetweenTurnsAsync(CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_statusLock)
            {
                if (_turnActive || Volatile.Read(ref _pendingApprovals) > 0)
                {
                    return false;
                }
            }

            // Messages still queued would be left behind with nobody to send them.
            if (!queue.IsEmpty(session.Id))
            {
                return false;
            }

            lock (_statusLock)
            {
                _closing = true;
                return true;
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>The working tree as the turn begins, before the agent can change it: its review shows what it then changed.</summary>
    private async Task BeginReviewAsync()
    {
        await _snapshotLock.WaitAsync().ConfigureAwait(false);
        try
        {
            Volatile.Write(ref _reviewTurn, await reviews.BeginAsync(session.Id, project, CancellationToken.None).ConfigureAwait(false) ?? 0);
        }
        catch (Exception exception)
        {
            // The gate waits on this: a review that cannot open costs the turn its review, never a decision.
            logger.LogWarning(exception, "The turn review of session {SessionId} could not open", session.Id);
        }
        finally
        {
            _snapshotLock.Release();
        }
    }

    /// <summary>
    /// Closes the turn's review off the agent's event pump. The snapshot lock is taken here, before the turn is seen as
    /// over, so the next message's opening snapshot (and so the agent's next edits) wait for this one.
    /// </summary>
    private async Task EndReviewAsync()
    {
        // A turn can end before its opening snapshot has even begun (a quick reply): that one comes first.
        await Volatile.Read(ref _opening).ConfigureAwait(false);
        await _snapshotLock.WaitAsync().ConfigureAwait(false);
        var turn = Interlocked.Exchange(ref _reviewTurn, 0);
        if (turn == 0)
        {
            _snapshotLock.Release();
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var files = await reviews.EndAsync(session.Id, turn, project).ConfigureAwait(false);
                if (files is { } changed)
                {
                    events.Append(session.Id, new TurnChangesEvent(turn, changed));
                }
            }
            finally
            {
                _snapshotLock.Release();
            }
        });
    }

    public async Task SetModeAsync(string mode, CancellationToken cancellationToken)
    {
        if (_agent is { } agent && IsAlive)
        {
            await agent.SetModeAsync(mode, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task CancelTurnAsync(CancellationToken cancellationToken)
    {
        // Not while a paused agent is stopped or resumed: the cancel applies to whichever process there is after that.
        await _pauseTransition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            bool active;
            List<PausedWait> released;
            lock (_statusLock)
            {
                active = _turnActive;
                released = [.. _released.Values];
            }

            // Their approvals are withdrawn; a paused agent is then left stopped, and the call denied when it next resumes.
            released.ForEach(wait => wait.WithdrawQuietly());
            if (released.Any(wait => wait is { ProcessGone: true, Resumed: false }))
            {
                return;
            }

            if (active && _agent is { Exited.IsCompleted: false } agent)
            {
                Volatile.Write(ref _cancelRequested, true);
                await agent.CancelTurnAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _pauseTransition.Release();
        }
    }

    /// <summary>Stops the process. The caller sets the final status (stopped, interrupted).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _stallTimer?.Dispose();
        // Nobody will resume the agent for them: their questions are withdrawn (a paused call stays denied for any later resume).
        WithdrawReleased();

        // After any pause or resume under way: whatever process there is then (a resumed one too) is stopped. Whoever asked
        // may give up waiting; the stop itself is never abandoned halfway.
        await _pauseTransition.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (_agent is { } agent && !_agentDisposed)
            {
                _agentDisposed = true;
                // Between turns (a restart, an idle suspension) the agent is asked to exit by itself, so that it writes all it
                // keeps: Claude Code signalled right after a turn lost that turn's answer from its transcript, and the next
                // resume with it. One that lingers is stopped all the same; one in a turn is stopped at once.
                if (IsQuiescent)
                {
                    await agent.EndAsync(CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    await agent.StopAsync(CancellationToken.None).ConfigureAwait(false);
                }

                await agent.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _pauseTransition.Release();
        }
    }

    public async ValueTask OnEventAsync(AgentEvent agentEvent, CancellationToken cancellationToken)
    {
        Touch();
        lock (_statusLock)
        {
            // Word from the agent: a stall is over, and the next one is reported again.
            _stalled = false;
        }

        switch (agentEvent)
        {
            case AgentReady ready when ready.AgentSessionId.Length > 0 && ready.AgentSessionId != session.AgentSessionId:
                // Agents that choose their own conversation id (Codex threads, OpenCode and ACP sessions): remember it, so
                // the next start resumes that conversation. Claude takes the id we chose, so this never fires for it.
                sessions.SetAgentSessionId(session.Id, ready.AgentSessionId);
                session = session with { AgentSessionId = ready.AgentSessionId };
                break;
            case MessageDelta delta:
                BeginOutput();
                events.Append(session.Id, new MessageDeltaEvent(delta.Text));
                break;
            case AssistantMessage message:
                BeginOutput();
                events.Append(session.Id, new MessageEvent(message.Text));
                break;
            case Thinking thinking:
                events.Append(session.Id, new ThinkingEvent(thinking.Text));
                break;
            case ToolCall call:
                BeginOutput();
                events.Append(session.Id, new ToolCallEvent(call.ToolCallId, call.Tool, call.Kind.ToWire(), call.Title, call.Input.Clone()));
                break;
            case ToolResult result:
                events.Append(session.Id, ToolResultEventOf(result.ToolCallId, result.Content, result.IsError));
                // The call the agent had paused on is settled in its transcript: a later resume has nothing to apply.
                sessions.ClearPausedCall(session.Id, result.ToolCallId);
                break;
            case PlanUpdate plan:
                events.Append(session.Id, new PlanEvent(plan.Entries));
                break;
            case UsageReport usage:
                events.Append(session.Id, Costed(usage));
                break;
            case TurnCompleted { StopReason: TurnCompleted.Paused } paused when PauseInEffect(paused.PausedOn) is { } pause:
                // Not the end of the turn for the owner: it goes on where it stopped once they decide (its review stays open).
                _ = Task.Run(() => SettlePauseAsync(pause), CancellationToken.None);
                break;
            case TurnCompleted completed:
                await EndReviewAsync().ConfigureAwait(false);
                EndUnusedReleased();

                events.Append(session.Id, new TurnCompletedEvent(completed.StopReason, completed.IsError, completed.Result));
                bool cancelled;
                lock (_statusLock)
                {
                    _turnActive = false;
                    // A message sent during the cancel is what the owner wants next: the queue is not held for it.
                    cancelled = _cancelRequested && !_nextAfterCancel;
                    _cancelRequested = false;
                    _nextAfterCancel = false;
                }

                UpdateStatus(null);
                if (cancelled)
                {
                    // The owner stopped this turn: what they queued behind it waits for them to say go on.
                    _held = true;
                    queue.Announce(session.Id, held: true);
                }
                else
                {
                    _ = Task.Run(StartNextAfterTurnAsync, CancellationToken.None);
                }

                break;
            case AgentError error:
                events.Append(session.Id, new ErrorEvent(error.Message));
                break;
            case AgentExited exited:
                OnExited(exited);
                break;
        }
    }

    public async Task<PermissionDecision> RequestPermissionAsync(PermissionRequest request, CancellationToken cancellationToken)
    {
        PausedWait? released;
        lock (_statusLock)
        {
            if (_released.TryGetValue(request.ToolCallId, out released))
            {
                released.TakenByAgent = true;
            }
        }

        if (released is not null)
        {
            // A call let go to pause the agent, asked again (Claude would not defer it): the wait already open answers it.
            try
            {
                var decided = await released.Decision.WaitAsync(cancellationToken).ConfigureAwait(false);
                // On the call as the owner saw it: its input (or their edit), and only for the same tool.
                return !decided.Allow ? decided
                    : request.Tool != released.Tool ? PermissionDecision.NotTheCallDecided
                    : decided with { UpdatedInput = decided.UpdatedInput ?? released.Input };
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                released.WithdrawQuietly();
                throw;
            }
            finally
            {
                Forget(released);
            }
        }

        // Nothing the agent does may come before the turn's opening snapshot (see SendAsync).
        await Volatile.Read(ref _opening).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!request.CanPause || pauseAfter <= TimeSpan.Zero)
        {
            return await AskGateAsync(request, cancellationToken).ConfigureAwait(false);
        }

        // Withdrawn with the agent's request until it is let go; from then on only the owner (or a cancel, a stop) ends the wait.
        var withdraw = new CancellationTokenSource();
        var registration = cancellationToken.Register(static source => ((CancellationTokenSource)source!).Cancel(), withdraw);
        var decision = AskGateAsync(request, withdraw.Token);
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
            // Waited long enough: below.
        }
        catch (Exception)
        {
            // Withdrawn (through the registration), or the gate failed.
            await registration.DisposeAsync().ConfigureAwait(false);
            withdraw.Dispose();
            throw;
        }

        var wait = new PausedWait(request, decision, withdraw);
        lock (_statusLock)
        {
            if (_stopping || decision.IsCompleted)
            {
                wait = null;
            }
            else
            {
                _released[request.ToolCallId] = wait;
            }
        }

        await registration.DisposeAsync().ConfigureAwait(false);
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

        sessions.SetPausedCall(session.Id, request.ToolCallId);
        logger.LogInformation("Session {SessionId}: {Tool} call {ToolCallId} waited {Seconds} s for the owner; pausing the agent",
            session.Id, request.Tool, request.ToolCallId, (int)pauseAfter.TotalSeconds);
        _ = WhenReleasedCallDecidedAsync(wait);
        return PermissionDecision.PauseAgent;
    }

    /// <summary>Puts the request to the gatekeeper; while the owner is asked, the session counts as waiting for them.</summary>
    private async Task<PermissionDecision> AskGateAsync(PermissionRequest request, CancellationToken cancellationToken)
    {
        var asked = false;
        try
        {
            var context = new GateContext(session.Id, project, sessions.Mode(session.Id));
            return await gatekeeper.RequestAsync(context, request, () =>
            {
                asked = true;
                Interlocked.Increment(ref _pendingApprovals);
                UpdateStatus(null);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (asked)
            {
                // The time spent waiting for the owner is not the agent's silence.
                Touch();
                Interlocked.Decrement(ref _pendingApprovals);
                UpdateStatus(null);
            }
        }
    }

    /// <summary>The released call the turn ended on, marked as having stopped the agent; null when nothing here let it go.</summary>
    private PausedWait? PauseInEffect(string? toolCallId)
    {
        lock (_statusLock)
        {
            if (toolCallId is not null && _released.TryGetValue(toolCallId, out var wait) && !wait.TakenByAgent)
            {
                wait.AgentStopped = true;
                return wait;
            }

            return null;
        }
    }

    /// <summary>
    /// A turn that ended without pausing (interrupted, or calls let go came back and ran) leaves nothing released behind:
    /// a question still open for one is withdrawn, since no agent waits for its answer any more.
    /// </summary>
    private void EndUnusedReleased()
    {
        List<PausedWait> unused;
        lock (_statusLock)
        {
            unused = [.. _released.Values.Where(wait => !wait.AgentStopped)];
            unused.ForEach(wait => _released.Remove(wait.ToolCallId));
        }

        unused.Where(wait => wait.Decided is null).ToList().ForEach(wait => wait.WithdrawQuietly());
    }

    /// <summary>Every released call's question is withdrawn (the session stops, or its agent died).</summary>
    private void WithdrawReleased()
    {
        List<PausedWait> released;
        lock (_statusLock)
        {
            released = [.. _released.Values];
        }

        released.ForEach(wait => wait.WithdrawQuietly());
    }

    private async Task WhenReleasedCallDecidedAsync(PausedWait wait)
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
        lock (_statusLock)
        {
            // Decided before the turn ended on the call: the turn's end (PauseInEffect) settles it then.
            settle = wait.AgentStopped && !wait.TakenByAgent;
        }

        if (settle)
        {
            await SettlePauseAsync(wait).ConfigureAwait(false);
        }
    }

    /// <summary>The call came back and took its decision itself: nothing is paused on it.</summary>
    private void Forget(PausedWait wait)
    {
        lock (_statusLock)
        {
            if (_released.TryGetValue(wait.ToolCallId, out var current) && current == wait)
            {
                _released.Remove(wait.ToolCallId);
            }
        }
    }

    /// <summary>
    /// Moves a pause on: stops the agent's process once its turn ended on the call (the session stays waiting for the owner,
    /// said as <see cref="PausedReason"/>), and once the owner decided, starts it again with its native resume and their
    /// decision applied to that very call as they saw it. A pause withdrawn while the process is gone leaves it gone: the
    /// session is idle until the next message, and the call is denied as the agent resumes then.
    /// </summary>
    private async Task SettlePauseAsync(PausedWait wait)
    {
        await _pauseTransition.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stopping || wait.Resumed)
            {
                return;
            }

            if (!wait.ProcessGone && _agent is { } agent && !_agentDisposed)
            {
                _pausing = true;
                try
                {
                    _agentDisposed = true;
                    await agent.EndAsync(CancellationToken.None).ConfigureAwait(false);
                }
                finally
                {
                    await agent.DisposeAsync().ConfigureAwait(false);
                    _pausing = false;
                }

                lock (_statusLock)
                {
                    wait.ProcessGone = true;
                }

                sessions.Announce(session.Id, PausedReason);
                logger.LogInformation("Session {SessionId}: agent paused on call {ToolCallId} until the owner decides", session.Id, wait.ToolCallId);
            }

            if (wait.Cancelled)
            {
                EndPausedRunner(SessionStatuses.Idle, "the turn was cancelled while the agent was paused", wait);
                return;
            }

            if (wait.Decided is not { } decided)
            {
                return;
            }

            if (TerminalProcesses.Holding(TerminalProcesses.CommandLines(), session.AgentSessionId, null, null) is { } holder)
            {
                // Carried on in a terminal meanwhile: never a second process on one conversation (it ran the call there, if at all).
                throw new InvalidOperationException($"a process on this machine holds the conversation (pid {holder.Pid}: {holder.Name})");
            }

            wait.Resumed = true;
            await StartAgentAsync(resume: true, new PausedCall(wait.ToolCallId, wait.Tool, wait.Input, decided), CancellationToken.None).ConfigureAwait(false);
            lock (_statusLock)
            {
                _released.Remove(wait.ToolCallId);
                // The agent carries on with the turn by itself, the decided call first.
                _turnActive = true;
            }

            UpdateStatus(null);
            sessions.Announce(session.Id, ResumedReason);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning(exception, "Session {SessionId}: the paused agent could not be resumed", session.Id);
            events.Append(session.Id, new ErrorEvent(
                $"The paused {adapter.Id} could not be resumed ({exception.Message}). Send a message to try again: the call it paused on is then denied."));
            EndPausedRunner(SessionStatuses.Failed, "the paused agent could not be resumed", wait);
        }
        finally
        {
            _pauseTransition.Release();
        }
    }

    /// <summary>Nothing runs here any more: the runner leaves the live set, and the next message brings the agent back.</summary>
    private void EndPausedRunner(string status, string reason, PausedWait wait)
    {
        lock (_statusLock)
        {
            _released.Remove(wait.ToolCallId);
            _turnActive = false;
        }

        _stopping = true;
        _stallTimer?.Dispose();
        onEnded(this);
        // The turn ends here: its review closes on what it changed, and the transcript says so.
        _ = Task.Run(EndReviewAsync, CancellationToken.None);
        events.Append(session.Id, new TurnCompletedEvent(wait.Cancelled ? "cancelled" : "error", !wait.Cancelled, null));
        sessions.SetStatus(session.Id, status, reason);
    }

    /// <summary>A call the agent is to pause on: the gate's wait for it, and where it stands.</summary>
    private sealed class PausedWait(PermissionRequest request, Task<PermissionDecision> decision, CancellationTokenSource withdraw)
    {
        public string ToolCallId { get; } = request.ToolCallId;

        /// <summary>The call as the owner saw it: what their allow runs when the agent resumes.</summary>
        public string Tool { get; } = request.Tool;

        public JsonElement Input { get; } = request.Input;

        public Task<PermissionDecision> Decision { get; } = decision;

        /// <summary>Withdraws the approval (a cancel, a stop).</summary>
        public CancellationTokenSource Withdraw { get; } = withdraw;

        /// <summary>The agent did not pause but asked for the call again, and took the decision itself.</summary>
        public bool TakenByAgent { get; set; }

        /// <summary>The agent's turn ended on the call: its process is to go.</summary>
        public bool AgentStopped { get; set; }

        public bool ProcessGone { get; set; }

        public bool Resumed { get; set; }

        public volatile PermissionDecision? Decided;

        public volatile bool Cancelled;

        /// <summary>Withdraws the approval unless it is already settled; the pause is then cancelled either way.</summary>
        public void WithdrawQuietly()
        {
            Cancelled = true;
            try
            {
                Withdraw.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Decided meanwhile.
            }
        }
    }

    /// <summary>
    /// The turn's own cost, whatever the agent reports: a running total of this process (Claude Code, ACP) becomes the
    /// difference from the last one; the session's total adds every turn's, starting from what the log already holds.
    /// </summary>
    private UsageEvent Costed(UsageReport usage)
    {
        _sessionCost ??= events.LastSessionCost(session.Id);
        var turn = usage.CostUsd;
        if (usage.CostIsRunningTotal && usage.CostUsd is { } total)
        {
            turn = Math.Max(0, total - _processCost);
            _processCost = total;
        }

        if (turn is { } cost)
        {
            _sessionCost = (_sessionCost ?? 0) + cost;
        }

        return new UsageEvent(usage.InputTokens, usage.OutputTokens, usage.CacheReadTokens, usage.CacheWriteTokens, turn, _sessionCost);
    }

    private void Touch() => Interlocked.Exchange(ref _lastActivityTicks, clock.GetUtcNow().UtcTicks);

    /// <summary>
    /// A turn running with no question open and no word from the agent for <c>stallAfter</c> is reported once, as a
    /// <c>session.error</c> event with code <see cref="StalledCode"/>: a model that cannot be reached, or an agent that hangs,
    /// must not leave the phone at "Working…" forever. The turn is left alone: the owner decides to wait or cancel.
    /// </summary>
    private void CheckStall()
    {
        TimeSpan silent;
        lock (_statusLock)
        {
            silent = clock.GetUtcNow() - LastActivity;
            if (_stopping || _stalled || !_turnActive || Volatile.Read(ref _pendingApprovals) > 0 || silent < stallAfter)
            {
                return;
            }

            _stalled = true;
        }

        events.Append(session.Id, new ErrorEvent(
            $"No word from {adapter.Id} for {(int)silent.TotalSeconds} s while it was working: it may be stuck or unable to reach " +
            "its model. Wait, cancel the turn, or stop the session.")
        {
            Code = StalledCode,
            SilentSeconds = (int)silent.TotalSeconds,
        });
    }

    private void OnExited(AgentExited exited)
    {
        if (_pausing)
        {
            // Stopped to pause on a call: the session goes on when the owner decides.
            return;
        }

        // Calls it had let go wait for no agent now: their questions are withdrawn, and no pause of it moves on. Whether
        // a stop was asked for is read first: an exit nobody asked for is the owner's to hear about.
        var stopRequested = _stopping;
        _stopping = true;
        WithdrawReleased();
        _stallTimer?.Dispose();
        onEnded(this);
        if (exited.Expected || stopRequested)
        {
            return;
        }

        var tail = exited.StderrTail.Trim();
        var error = new ErrorEvent($"The {adapter.Id} process exited unexpectedly (exit code {exited.ExitCode}).")
        {
            StderrTail = tail.Length > 2000 ? tail[^2000..] : tail,
        };
        _unexpectedExit = error;
        events.Append(session.Id, error);
        sessions.SetStatus(session.Id, SessionStatuses.Failed, $"agent exited with code {exited.ExitCode}");
    }

    /// <summary>Output after the turn ended means the agent carried on by itself: show it running.</summary>
    private void BeginOutput()
    {
        lock (_statusLock)
        {
            if (_turnActive)
            {
                return;
            }

            _turnActive = true;
        }

        UpdateStatus(null);
    }

    private void UpdateStatus(string? reason)
    {
        if (_stopping)
        {
            return;
        }

        // Under the lock so that two threads cannot write statuses out of order.
        lock (_statusLock)
        {
            var status = Volatile.Read(ref _pendingApprovals) > 0 ? SessionStatuses.WaitingApproval
                : _turnActive ? SessionStatuses.Running
                : SessionStatuses.Idle;
            sessions.SetStatus(session.Id, status, reason);
        }
    }
}
