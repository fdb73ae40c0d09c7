using PocketCoder.Auth;

namespace PocketCoder.Sessions;

/// <summary>
/// The commands on a session's queue of messages (list, edit, remove, confirm a held one, let a held queue go on), each asking
/// the right to steer first, as sending does (<see cref="SessionManager.EnsureMaySteer"/>). Apart from the session's other
/// commands because the queue is its own thing: the messages wait in <see cref="MessageQueue"/>, the live session says only
/// whether they wait for the owner.
/// </summary>
public sealed class SessionQueues(Running.SessionServices runnerServices, SessionManager manager, Live.LiveSessions live, Live.SessionStarts starts)
{
    private SessionStore Sessions => runnerServices.Sessions;

    private MessageQueue Messages => runnerServices.Queue;

    /// <summary>The messages waiting for the session's turn to end, and whether they wait for the owner.</summary>
    public MessageQueueResponse Queue(string sessionId)
    {
        var session = Sessions.Get(sessionId);
        var messages = Messages.List(session.Id);
        return new MessageQueueResponse(messages, messages.Count > 0 && live.QueueHeld(session.Id));
    }

    public QueuedMessage EditQueued(string sessionId, string messageId, string text, Actor actor)
    {
        manager.EnsureMaySteer(sessionId, actor);
        return Messages.Edit(Sessions.Get(sessionId).Id, messageId, text, actor, live.QueueHeld(sessionId));
    }

    public void RemoveQueued(string sessionId, string messageId) => Messages.Remove(Sessions.Get(sessionId).Id, messageId, live.QueueHeld(sessionId));

    /// <summary>
    /// Lets a message held for its revoked sender go on, on <paramref name="actor"/>'s authority; if it is first in line,
    /// the agent is between turns and the queue is not waiting for the owner, it starts now.
    /// </summary>
    public async Task<QueuedMessage> ConfirmQueuedAsync(string sessionId, string messageId, Actor actor, CancellationToken cancellationToken)
    {
        var session = Sessions.Get(sessionId);
        manager.EnsureMaySteer(session.Id, actor);
        var confirmed = Messages.Confirm(session.Id, messageId, actor, live.QueueHeld(session.Id));
        if (live.RunnerOf(session.Id) is { QueueHeld: false } runner)
        {
            await runner.RunQueueAsync(cancellationToken);
        }

        return confirmed;
    }

    /// <summary>Tells every device the session's queue as it now stands (messages were held outside the runner).</summary>
    public void AnnounceQueue(string sessionId) => Messages.Announce(sessionId, live.QueueHeld(sessionId));

    /// <summary>Lets a held queue go on, bringing the agent back first if its process is gone; says whether a message started.</summary>
    public Task<bool> RunQueueAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        manager.EnsureMaySteer(sessionId, actor);
        return starts.RunQueueAsync(sessionId, cancellationToken);
    }
}
