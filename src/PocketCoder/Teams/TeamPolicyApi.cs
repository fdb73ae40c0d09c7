using System.Security.Claims;
using PocketCoder.Approvals;

namespace PocketCoder.Teams;

/// <summary>A project's team policy with every kind spelled out, as the app's editor shows it, and each sign it names.</summary>
public sealed record TeamPolicyResponse(IReadOnlyDictionary<string, string> Deciders, IReadOnlyList<string> TwoPerson, int? EscalateAfterSeconds,
    BudgetPolicy Budget)
{
    public static TeamPolicyResponse From(TeamPolicy policy) => new(
        RiskClasses.Routed.Concat(RiskReading.RoutableSigns.Where(policy.Deciders.ContainsKey))
            .ToDictionary(risk => risk, risk => Teams.Roles.ToWire(policy.LeastToDecide(risk)), StringComparer.Ordinal),
        policy.TwoPerson, policy.EscalateAfterSeconds, policy.Budget);
}

public static class TeamPolicyApi
{
    public static void MapTeamPolicy(this IEndpointRouteBuilder api)
    {
        var policy = api.MapGroup("/projects/{projectId}/policy");
        policy.MapGet("/", (string projectId, Projects.ProjectStore projects, TeamPolicies policies) =>
            TeamPolicyResponse.From(policies.For(projects.Get(projectId).Id))).WithName("GetTeamPolicy");
        policy.MapPut("/", (string projectId, TeamPolicyRequest request, Projects.ProjectStore projects, TeamPolicies policies, ClaimsPrincipal user) =>
            TeamPolicyResponse.From(policies.Set(projects.Get(projectId).Id, TeamPolicy.From(request), Auth.DeviceClaims.Actor(user)))).WithName("SetTeamPolicy");
        api.MapGet("/projects/{projectId}/budget", (string projectId, string? sessionId, Projects.ProjectStore projects, Budgets budgets) =>
            budgets.Status(projects.Get(projectId).Id, sessionId)).WithName("GetBudget");
    }
}
