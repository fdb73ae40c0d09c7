namespace PocketCoder.Teams;

/// <summary>
/// The team: its people and their roles, each project's policy (who decides which calls, two-person kinds, escalation,
/// budgets), and the one authority every door asks (<see cref="Authority"/>, reading <see cref="DecisionRights"/>).
/// </summary>
public static class TeamsApi
{
    public static IServiceCollection AddTeams(this IServiceCollection services) =>
        services.AddSingleton<People>().AddSingleton<TeamPolicies>().AddSingleton<Authority>().AddSingleton<Budgets>();

    public static void MapTeams(this IEndpointRouteBuilder api)
    {
        api.MapPeople();
        api.MapTeamPolicy();
    }
}
