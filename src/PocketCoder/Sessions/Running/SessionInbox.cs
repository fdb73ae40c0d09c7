using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Realtime;

namespace PocketCoder.Sessions.Running;

/// <summary>What sending messages needs of its session: its agent now, its transcript, its stall watch and its budget.</summary>
public interface IInboxHost : ISessionEventTarget
{
    /// <summary>The agent's session now (a paused agent's is replaced when it resumes).</summary>
    IAgentSession? Agent { get; }

    /// <summary>Something was sent: the stall watch counts from now.</summary>
    void Sent();

    /// <summary>
    /// Whether the session's budget (or its project's) is spent: then no turn starts; what was sent waits in the queue, held,
    /// on "raise the budget?" (<see cref="HoldOnBudget"/> asks it; once raised the queue goes on).
    /// </summary>
    bool BudgetSpent { get; }

    /// <summary>Asks to raise the spent budget for the message that waits for it (its first words).</summary>
    void HoldOnBudget(string text);
}

/// <summary>
/// A session's messages on their way to its agent: one at a time, in order. A message sent between turns begins a turn at
/// once; one sent while a turn runs or a question waits joins the session's <see cref="MessageQueue"/> and starts when the
/// turn ends. After the owner cancels a turn, or when the agent comes back with messages still queued, the queue is
/// <see cref="Held"/> until they say go on.
/// </summary>
public sealed class SessionInbox(string sessionId, string agentId, TurnState turn, TurnSnapshots snapshots, MessageQueue queue,
    IInboxHost host, ILogger logger)
{
    // One message at a time: which one begins a turn, and the order the agent gets them in, are then certain.
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    /// <summary>Queued messages do not start by themselves (after a cancel, or an agent brought back with some waiting).</summary>
    private volatile bool _held;

    /// <summary>True while queued messages wait for the owner rather than starting by themselves.</summary>
    public bool Held => _held;

    /// <summary>
    /// Who started the turn now running (or the last one): the sender of its message, or whoever resumed the session. The gate
    /// holds every allow by the session's mode or a grant to their rights (<see cref="Approvals.GateVerdict"/>).
    /// </summary>
    public Actor? TurnBy { get; private set; }

    /// <summary>The session was resumed by <paramref name="actor"/>: what the agent does before the next message (a paused call
    /// it carries on with) is on their word.</summary>
    public void ResumedBy(Actor actor) => TurnBy = actor;

    /// <summary>Nobody waits for a message about to start (one held for confirming is not about to).</summary>
    public bool NothingAboutToStart => _held || !queue.NextStarts(sessionId);

    /// <summary>The agent has just started: messages queued before it went away (a restart, a stop) wait for the owner.</summary>
    public void HoldWhatWaits()
    {
        if (!queue.IsEmpty(sessionId))
        {
            _held = true;
            queue.Announce(sessionId, held: true);
        }
    }

    /// <summary>
    /// A turn ended on its own: the next queued message starts (off the agent's event pump, which must not wait on it),
    /// unless the owner had cancelled it: what they queued behind it then waits for them to say go on.
    /// </summary>
    public void TurnEnded(bool cancelled)
    {
        if (cancelled)
        {
            _held = true;
            queue.Announce(sessionId, held: true);
        }
        else
        {
            _ = Task.Run(StartNextAfterTurnAsync, CancellationToken.None);
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
        host.Sent();
        var agent = host.Agent ?? throw new InvalidOperationException("The session has not started.");
        if (message.Prompt.Images.Count > 0 && !agent.TakesImages)
        {
            // Refused before it is recorded: the transcript never shows a message the agent did not get.
            throw new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.AttachmentUnsupported,
                $"This agent ({agentId}) said it takes no images in its prompts. Send the message without them.");
        }

        return await _sendLock.RunAsync<QueuedMessage?>(async () =>
        {
            var (busy, cancelling) = turn.Admit();
            if (busy || (!_held && !queue.IsEmpty(sessionId)))
            {
                var queued = queue.Add(sessionId, message, sender, _held, first: cancelling);
                // Between turns with messages already waiting (the last turn just ended): the first of them goes now.
                return !busy && await StartNextLockedAsync(cancellationToken).ConfigureAwait(false) == queued.Id ? null : queued;
            }

            if (host.BudgetSpent)
            {
                // No token is spent past a cap without a decider's yes: the message waits, held, and goes once it is raised.
                var waiting = queue.Add(sessionId, message, sender, held: true);
                _held = true;
                host.HoldOnBudget(message.Text);
                return waiting;
            }

            _held = false;
            await BeginTurnAsync(agent, message, sender, cancellationToken).ConfigureAwait(false);
            return null;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lets a held queue go on: its first message starts now if the agent is between turns. Says whether one did.</summary>
    public Task<bool> RunQueueAsync(CancellationToken cancellationToken) => _sendLock.RunAsync(async () =>
    {
        var wasHeld = _held;
        _held = false;
        var started = await StartNextLockedAsync(cancellationToken).ConfigureAwait(false) is not null;
        if (wasHeld && !started)
        {
            queue.Announce(sessionId, held: false);
        }

        return started;
    }, cancellationToken);

    /// <summary>
    /// A turn begins: its review opens, the transcript shows the message, and the agent gets it. A message the agent
    /// did not take ends the turn again (nothing would end it otherwise, and everything sent later would wait behind it).
    /// </summary>
    private async Task BeginTurnAsync(IAgentSession agent, OwnerMessage message, Actor sender, CancellationToken cancellationToken)
    {
        // Taken while the message goes out, not before: the gate waits for it (RequestPermissionAsync).
        snapshots.BeginTurn();
        TurnBy = sender;
        host.Append(new UserMessageEvent(message.Text, sender.Name, message.Attachments.Count > 0 ? message.Attachments : null));
        turn.Begin();
        try
        {
            await agent.SendAsync(message.Prompt, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            turn.SetActive(false);
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
        if (host.Agent is not { } live || live.Exited.IsCompleted || turn.Stopping)
        {
            return null;
        }

        // Nothing to start: the turn is not claimed even for a moment, as a claim makes the session look busy (IsQuiescent)
        // just after it said it was idle, and whoever looked then (the backlog) would wait for a turn that never comes.
        // Messages join the queue under the send lock, held here: none can arrive between the look and the claim.
        if (!queue.NextStarts(sessionId))
        {
            return null;
        }

        if (host.BudgetSpent)
        {
            // The next message waits for the budget to be raised; the queue goes on once it is.
            _held = true;
            queue.Announce(sessionId, held: true);
            host.HoldOnBudget(queue.List(sessionId)[0].Text);
            return null;
        }

        if (!turn.TryClaim())
        {
            return null;
        }

        var next = queue.TakeNext(sessionId);
        if (next is null)
        {
            turn.SetActive(false, write: false);
            return null;
        }

        if (next.Value.Message.Prompt.Images.Count > 0 && !live.TakesImages)
        {
            // Waited in the queue (a new session's first prompt, sent before its agent said what it takes): never sent, so no
            // turn opens on it; it stays first in line, held, and the owner is told why.
            turn.SetActive(false, write: false);
            _held = true;
            queue.Unsent(sessionId, next.Value.Queued.Id);
            host.Append(new ErrorEvent($"This agent ({agentId}) said it takes no images in its prompts: the message waits first in line. " +
                "Remove it and send it again without them.") { Code = ErrorCodes.AttachmentUnsupported });
            return null;
        }

        try
        {
            await BeginTurnAsync(live, next.Value.Message, next.Value.Sender, cancellationToken).ConfigureAwait(false);
            queue.Sent(next.Value.Queued.Id);
            return next.Value.Queued.Id;
        }
        catch (Exception exception) when (!turn.Stopping)
        {
            _held = true;
            queue.Unsent(sessionId, next.Value.Queued.Id);
            logger.LogWarning(exception, "Session {SessionId}: a queued message could not be sent", sessionId);
            host.Append(new ErrorEvent(
                $"The queued message could not be sent to {agentId} ({exception.Message}); it waits first in line. Send queued now to try again."));
            return null;
        }
    }

    private async Task StartNextAfterTurnAsync()
    {
        try
        {
            await _sendLock.RunAsync(async () =>
            {
                if (!_held)
                {
                    await StartNextLockedAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        }
        catch (Exception exception) when (!turn.Stopping)
        {
            logger.LogWarning(exception, "Session {SessionId}: the next queued message could not be sent", sessionId);
            host.Append(new ErrorEvent($"The next queued message could not be sent to {agentId}: {exception.Message}"));
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
    /// <remarks>
    /// Messages still queued would be left behind with nobody to send them: the session then stays open. With
    /// <paramref name="leavingHeldMessages"/>, messages that wait for someone do not keep it open, as they do not keep it from
    /// counting as quiet (<see cref="NothingAboutToStart"/>): the queue held for the owner after a cancel or a restart, or a first
    /// message held for its revoked sender. They wait either way, and the resume the owner's next word brings sends them.
    /// </remarks>
    public Task<bool> CloseBetweenTurnsAsync(CancellationToken cancellationToken, bool leavingHeldMessages = false) =>
        _sendLock.RunAsync(() => Task.FromResult(turn.TryClose(() => queue.IsEmpty(sessionId) || (leavingHeldMessages && NothingAboutToStart))),
            cancellationToken);
}
