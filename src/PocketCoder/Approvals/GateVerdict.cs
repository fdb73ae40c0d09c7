using PocketCoder.Agents;
using PocketCoder.Teams;

namespace PocketCoder.Approvals;

/// <summary>
/// What the gate does with a call before any person is asked: the policy's verdict (rules, mode, grants, the project's own
/// defaults), held to the team's policy. A call whose kind needs two people is asked whatever a mode, grant or default
/// says (an owner's rule naming it still decides: rules are the owners' alone). And an allow that stands on the session's
/// mode or a grant is one person's word: it runs only if whoever started the turn could allow that kind of call alone now
/// (<see cref="AllowUnasked"/>), else it is asked, so no change of role, membership, policy, mode or grant between the
/// message and the call lets a call run on a word nobody may give.
/// </summary>
public static class GateVerdict
{
    /// <param name="turnBy">Who started the turn the call belongs to, as of now; null when no one is known (it is then asked).</param>
    public static Verdict Of(PermissionRequest request, string mode, IReadOnlyList<Rule> rules, IReadOnlySet<string> grants, string projectRoot,
        TeamPolicy team, Decider? turnBy)
    {
        var verdict = Policy.Evaluate(request, mode, rules, grants, projectRoot);
        if (verdict is not { Outcome: Outcome.Allow, Rule: null } || request.Kind == ToolKind.Bookkeeping)
        {
            return verdict;
        }

        var risk = RiskReading.Of(request, projectRoot);
        if (risk.Routed.FirstOrDefault(routed => team.NeedsTwo(routed)) is { } two)
        {
            return new Verdict(Outcome.Ask, $"This project asks two people to allow {two} calls.");
        }

        if (verdict.Standing == Standing.None)
        {
            return verdict;
        }

        var right = turnBy is null
            ? Right.Forbidden("No one known started this turn, so nothing runs unasked in it.")
            : DecisionRights.Check(turnBy, new AllowUnasked(risk.Class, risk.Signs), team);
        return right.Allowed ? verdict : new Verdict(Outcome.Ask, $"{verdict.Reason} But {right.Reason} So it is asked.");
    }
}
