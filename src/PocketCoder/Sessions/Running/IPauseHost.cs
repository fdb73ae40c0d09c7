using PocketCoder.Agents;

namespace PocketCoder.Sessions.Running;

/// <summary>What pausing an agent on a call needs of its session.</summary>
public interface IPauseHost
{
    /// <summary>The session is stopping: nothing is paused or resumed any more.</summary>
    bool Stopping { get; }

    /// <summary>A call waited past the threshold and is let go, to pause the agent on (its id is recorded for any later resume).</summary>
    void Releasing(PermissionRequest request);

    /// <summary>
    /// Can the agent be stopped while <paramref name="request"/> waits, in the middle of its turn, and told the owner's decision
    /// once its conversation is resumed (<see cref="IAgentSession.ResumesOnDecision"/>)? Asked of a call the agent cannot defer.
    /// </summary>
    bool StopsToPause(PermissionRequest request);

    /// <summary>Stops the agent's process for the pause (its exit is not the session's end); false when there is none to stop.</summary>
    /// <param name="midTurn">The agent still waits for the call (it could not defer it): it is stopped at once, its turn unfinished.</param>
    Task<bool> StopForPauseAsync(string toolCallId, bool midTurn);

    /// <summary>Starts the agent again with its native resume and the owner's decision applied to the call: its turn goes on.</summary>
    /// <param name="asked">The call as the agent asked it, when the agent was stopped mid-wait and is to be told the decision in
    /// its next prompt (and allowed to ask that very call once more); null when it applies the decision itself (a deferred call).</param>
    /// <param name="warm">Its process was started already (<see cref="WarmAsync"/>): only the decision is to be told.</param>
    Task ResumeAsync(PausedCall call, PermissionRequest? asked, bool warm);

    /// <summary>
    /// Starts the paused agent again on its conversation ahead of the owner's decision (nothing is told it, so nothing runs):
    /// false when it cannot be now (no free agent slot, a terminal holds the conversation, the start failed).
    /// </summary>
    Task<bool> WarmAsync();

    /// <summary>The paused agent could not be resumed: the owner hears why.</summary>
    void ResumeFailed(Exception exception);

    /// <summary>Nothing runs for the session any more: the turn ends (cancelled, or failed), and the next message brings the agent back.</summary>
    void EndPaused(LifeEvent ending, string reason, bool cancelled);
}
