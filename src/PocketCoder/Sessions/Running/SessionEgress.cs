using PocketCoder.Agents;
using PocketCoder.Projects;

namespace PocketCoder.Sessions.Running;

/// <summary>
/// A live session as its sandbox's connections out see it. A connection is asked about as a call of the agent's (the session
/// waits for the owner, the stall watch with it; it can never pause the agent: <see cref="PermissionRequest.CanPause"/> is
/// false). One decided after its turn ended leaves the session free again: what was queued behind it starts.
/// </summary>
internal sealed class SessionEgress(string sessionId, Project project, SessionStore sessions, TurnState turn, SessionInbox inbox,
    Func<PermissionRequest, CancellationToken, Task<PermissionDecision>> ask) : Network.IEgressSession
{
    public string SessionId => sessionId;

    public string ProjectId => project.Id;

    public string ProjectPath => project.Path;

    public string Mode => sessions.Mode(sessionId);

    public bool InTurn => turn.Active;

    public async Task<PermissionDecision> AskAsync(PermissionRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await ask(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (turn.Quiet && !turn.Stopping)
            {
                inbox.TurnEnded(cancelled: false);
            }
        }
    }
}
