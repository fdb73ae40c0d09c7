using PocketCoder.Approvals;
using PocketCoder.Teams;

namespace PocketCoder.Notifications;

/// <summary>Whose devices a notification may go to: a question's deciders, a budget's raisers (never a viewer's).</summary>
public sealed class NotificationRecipients(Teams.People people, TeamPolicies policies)
{
    /// <summary>
    /// The devices a question goes to: those of the people who may decide it in its project (never a viewer's). Where the
    /// project escalates, owners are asked only once it has been escalated, unless no one else could decide it.
    /// </summary>
    public HashSet<string> Deciders(Approval approval, bool escalated)
    {
        // Whoever the one table lets allow (or answer) it: a notification offers Allow, so it goes to no one else.
        var eligible = people.DeviceRoles(approval.ProjectId)
            .Where(d => Teams.Offers.For(new Teams.Decider(null, d.DeviceId, d.Role, Active: true), approval, allowedAlready: false) is { AllowOnce: true } or { Answer: true })
            .ToList();
        if (!escalated && approval.DeciderRole != Teams.Roles.Owner && policies.For(approval.ProjectId).EscalateAfterSeconds is not null
            && eligible.Any(d => d.Role != Teams.Role.Owner))
        {
            eligible.RemoveAll(d => d.Role == Teams.Role.Owner);
        }

        return [.. eligible.Select(d => d.DeviceId)];
    }

    /// <summary>The devices of those who may raise the project's budgets.</summary>
    public HashSet<string> Raisers(string projectId) =>
        // Those the one table lets raise it: the warning is theirs to act on.
        people.DeviceRoles(projectId)
            .Where(d => Teams.DecisionRights.Check(new Teams.Decider(null, d.DeviceId, d.Role, Active: true), Teams.DecideCall.RaiseBudget, Teams.TeamPolicy.Default).Allowed)
            .Select(d => d.DeviceId).ToHashSet(StringComparer.Ordinal);
}
