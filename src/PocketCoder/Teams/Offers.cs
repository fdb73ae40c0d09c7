using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;

namespace PocketCoder.Teams;

/// <summary>
/// What the caller may do with a waiting approval now, each read from <see cref="DecisionRights"/> (so the app, a chat card
/// and the CLI offer exactly what the server will accept); where they may decide nothing, who can (<paramref name="WaitingFor"/>).
/// </summary>
/// <param name="Edit">An allow with the input edited (only where the agent runs an edited input).</param>
/// <param name="Answer">Answering a question (questions are answered or dismissed, never allowed).</param>
/// <param name="WaitingFor">"Waiting for an approver", "Waiting for another person's allow": set when the caller may not allow it.</param>
public sealed record ApprovalOffers(bool AllowOnce, bool AllowSession, bool AllowAlways, bool Edit, bool Deny, bool Answer, string? WaitingFor)
{
    public static readonly ApprovalOffers None = new(false, false, false, false, false, false, null);

    public bool Decides => AllowOnce || Answer || Deny;
}

/// <summary>What the caller may do with a session now: steer it (send, queue, review, resume), which modes they may switch it to, stop it.</summary>
/// <param name="SteerRefusal">Why not, naming who can, when <paramref name="Steer"/> is false.</param>
public sealed record SessionOffers(bool Steer, string? SteerRefusal, IReadOnlyList<string> Modes, bool Stop);

/// <summary>What the caller may do in a project now.</summary>
/// <param name="Modes">The modes they may start a session (task, schedule) in; empty: they start none.</param>
/// <param name="WriteProtected">Write git, agent or CI configuration by hand.</param>
/// <param name="Shell">Run commands and the terminal of their own.</param>
/// <param name="Manage">Change the project, its rules, policy, MCP servers and profiles.</param>
public sealed record ProjectOffers(IReadOnlyList<string> Modes, bool WriteFiles, bool WriteProtected, bool Shell, bool Manage);

/// <summary>Offers read from the table: every "may I?" the app asks to draw a button is the question the server will ask.</summary>
public static class Offers
{
    public static readonly IReadOnlyList<string> AllModes = [SessionModes.Ask, SessionModes.Plan, SessionModes.AcceptEdits, SessionModes.Trusted];

    /// <param name="allowedAlready">The caller's allow already counts toward the people this call needs.</param>
    public static ApprovalOffers For(Decider who, Approval approval, bool allowedAlready)
    {
        if (approval.Status != ApprovalStatus.Pending)
        {
            return ApprovalOffers.None;
        }

        var least = Roles.FromWire(approval.DeciderRole) ?? Role.Approver;
        bool May(string decision, bool edited = false) => DecisionRights.Check(who,
            new DecideCall(approval.Risk, least, approval.Needed, allowedAlready, decision, edited), TeamPolicy.Default).Allowed;
        var question = approval.Kind is ApprovalKind.Question;
        var offers = question
            ? new ApprovalOffers(false, false, false, false, May(Decisions.Deny), May(DecideCall.Answer), null)
            : new ApprovalOffers(May(Decisions.AllowOnce), May(Decisions.AllowSession), May(Decisions.AllowAlways),
                approval.CanEditInput && May(Decisions.AllowOnce, edited: true), May(Decisions.Deny), false, null);
        if (offers.AllowOnce || offers.Answer)
        {
            return offers;
        }

        var waiting = allowedAlready ? "Waiting for another person's allow"
            : $"Waiting for {DecisionRights.Article(least)} {least.ToWire()}{(least == Role.Owner ? "" : " or an owner")}";
        return offers with { WaitingFor = approval.Kind is ApprovalKind.Budget ? waiting + " to raise the budget" : waiting };
    }

    /// <summary>
    /// What a message with buttons that anyone linked may press can offer (a chat card): the decisions the table lets at
    /// least someone make on this call, the highest role asking, so no button is shown that every press would be refused.
    /// </summary>
    public static ApprovalOffers ForAnyone(Approval approval) => For(new Decider(null, "anyone", Role.Owner, Active: true), approval, allowedAlready: false);

    public static SessionOffers For(Decider who, Steer steer, TeamPolicy policy)
    {
        var right = DecisionRights.Check(who, steer, policy);
        return new SessionOffers(right.Allowed, right.Reason, Modes(who, policy),
            DecisionRights.Check(who, new UseRoute(Access.Steer), policy).Allowed);
    }

    public static ProjectOffers For(Decider who, TeamPolicy policy) => new(
        Modes(who, policy),
        DecisionRights.Check(who, new WriteFile(false), policy).Allowed,
        DecisionRights.Check(who, new WriteFile(true), policy).Allowed,
        DecisionRights.Check(who, new UseRoute(Access.Shell), policy).Allowed,
        DecisionRights.Check(who, new Manage("manage the project"), policy).Allowed);

    private static IReadOnlyList<string> Modes(Decider who, TeamPolicy policy) =>
        [.. AllModes.Where(mode => DecisionRights.Check(who, new ChooseMode(mode), policy).Allowed)];
}
