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
public sealed class LooksAhead(SessionManager manager, ApprovalStore approvals, Authority authority)
{
    /// <summary>The session's screen opened: true when one of its waiting calls is the looker's to decide and its agent is paused.</summary>
    public bool SessionOpened(Actor actor, string sessionId)
    {
        if (!manager.IsPaused(sessionId))
        {
            return false;
        }

        var pending = approvals.List(ApprovalStatuses.Pending, sessionId);
        return pending.Count > 0 && authority.OffersFor(actor, pending, approvals).Values.Any(o => o.Decides) && manager.WarmPaused(sessionId);
    }

    /// <summary>One call's card shown (the inbox's first): true when its agent is paused and starts ahead for this look.</summary>
    /// <exception cref="Errors.ApiProblem">403 <c>ROLE_FORBIDDEN</c> when the call is not the looker's to decide.</exception>
    public bool CardShown(Actor actor, Approval approval)
    {
        if (!authority.OffersFor(actor, [approval], approvals)[approval.Id].Decides)
        {
            throw new Errors.ApiProblem(StatusCodes.Status403Forbidden, Errors.ErrorCodes.RoleForbidden,
                "This call is not yours to decide, so your look starts nothing: its agent starts on the decision of whoever may decide it.");
        }

        return approval.Status == ApprovalStatuses.Pending && manager.WarmPaused(approval.SessionId);
    }
}
