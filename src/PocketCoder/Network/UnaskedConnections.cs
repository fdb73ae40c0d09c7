using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Data;

namespace PocketCoder.Network;

/// <summary>
/// A connection out of a sandbox nobody is asked about: the agent's own process (its update checks, packages it installs for
/// itself, telemetry; its web fetches were asked about as calls) or anything between turns (the agent starting or idle, something
/// a command left running). Nobody set it going, so the phone is not filled with questions at every start: the project's rules
/// decide, as the gate's own policy would, and the rest is refused (the host of a fetch the agent was just allowed is asked about
/// instead, during a turn: <see cref="AllowedFetches"/>). Each decision is in the ledger, as the gate writes its own, and in the
/// session's timeline.
/// </summary>
public sealed class UnaskedConnections(Database database, Rules rules, Ledger.LedgerStore ledger)
{
    /// <summary>Whether a project rule allows the connection (and none denies it): what a short reuse of the decision rests on.</summary>
    public bool AllowedByRule(IEgressSession session, PermissionRequest request) =>
        Policy.Evaluate(request, session.Mode, rules.List(session.ProjectId), new HashSet<string>(), session.ProjectPath) is { Outcome: Outcome.Allow, Rule: not null };

    public PermissionDecision Decide(IEgressSession session, PermissionRequest request)
    {
        // Rules only: an "allow for this session" is a person's answer to a question, and nobody was asked here.
        var verdict = Policy.Evaluate(request, session.Mode, rules.List(session.ProjectId), new HashSet<string>(), session.ProjectPath);

        var allowed = verdict.Outcome == Outcome.Allow;
        var reason = verdict.Outcome == Outcome.Ask
            ? "Refused unasked: the agent's own traffic, or nothing the owner set going (no turn was running). A project rule for the host lets it through."
            : verdict.Reason;
        database.Write(write => ledger.Append(write, Actor.Policy.Name, allowed ? "approval.auto_allowed" : "approval.auto_denied", session.SessionId,
            new JsonObject
            {
                ["toolCallId"] = request.ToolCallId,
                ["tool"] = request.Tool,
                ["input"] = JsonNode.Parse(request.Input.GetRawText()),
                ["reason"] = reason,
                ["ruleId"] = verdict.Rule?.Id,
                ["mode"] = session.Mode,
            }));
        return allowed ? new PermissionDecision(true, verdict.Reason) : PermissionDecision.Deny(reason);
    }
}
