using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Teams;

namespace PocketCoder.Sessions;

/// <summary>
/// The one answer to "does this look start a paused agent ahead of the decision?" (docs/agents.md, "Started ahead of the
/// decision"), asked by each door where a person comes to a waiting call: the session's screen (its event stream) and the
/// inbox's card. A look starts the agent only when the looker may decide the call (an allow, a deny or an answer is offered
/// them, by the same offers the app's buttons come from), so a viewer's, a revoked device's or a watch link's look starts
/// nothing; how long it stays started and what stops it sooner is <see cref="Running.PausedCalls.WarmAsync"/>'s.
/// </summary>
public sealed class LooksAhead(Live.LiveSessions live, Server.PocketCoderOptions options, SessionStore sessions, ApprovalStore approvals, Authority authority)
{
    /// <summary>The session's screen opened: true when its agent is paused on a call the looker may decide.</summary>
    public bool SessionOpened(Actor actor, string sessionId) =>
        live.IsPaused(sessionId) && PausedOn(sessionId) is { } call && MayDecide(actor, call) && WarmPaused(sessionId, screenOpened: true);

    /// <summary>
    /// One call's card shown (the inbox's first): true when it is the call its session's agent is paused on, and that agent
    /// is asked to start ahead (it may not, with every agent slot taken). False for a call settled meanwhile.
    /// </summary>
    /// <exception cref="Errors.ApiProblem">403 <c>ROLE_FORBIDDEN</c> when the call, still waiting, is not the looker's to decide.</exception>
    public bool CardShown(Actor actor, Approval approval)
    {
        if (approval.Status != ApprovalStatus.Pending)
        {
            return false;
        }

        if (!MayDecide(actor, approval))
        {
            throw new Errors.ApiProblem(StatusCodes.Status403Forbidden, Errors.ErrorCodes.RoleForbidden,
                "This call is not yours to decide, so your look starts nothing: its agent starts on the decision of whoever may decide it.");
        }

        return live.IsPaused(approval.SessionId) && PausedOn(approval.SessionId)?.Id == approval.Id && WarmPaused(approval.SessionId, screenOpened: false);
    }

    /// <summary>
    /// The agent starts again in the background while they read, so their decision runs the call without its start-up.
    /// </summary>
    /// <returns>Whether the agent is paused and is asked to start (it may find every agent slot taken, and start nothing).</returns>
    /// <param name="screenOpened">The look is the session's screen opening (again at every reconnect), not a card shown.</param>
    private bool WarmPaused(string sessionId, bool screenOpened)
    {
        if (options.WarmPausedFor > TimeSpan.Zero && live.RunnerOf(sessionId) is { IsPaused: true } runner)
        {
            _ = Task.Run(() => runner.WarmPausedAsync(options.WarmPausedFor, screenOpened), CancellationToken.None);
            return true;
        }

        return false;
    }

    /// <summary>The waiting call the session's agent was stopped on: a look starts it only for someone who may decide that one.</summary>
    private Approval? PausedOn(string sessionId) => sessions.PausedCall(sessionId) is { } toolCallId
        ? approvals.List(ApprovalStatus.Pending, sessionId).FirstOrDefault(a => a.ToolCallId == toolCallId)
        : null;

    private bool MayDecide(Actor actor, Approval approval) => authority.OffersFor(actor, [approval], approvals)[approval.Id].Decides;
}
