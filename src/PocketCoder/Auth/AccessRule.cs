using PocketCoder.Teams;

namespace PocketCoder.Auth;

/// <summary>
/// What a route needs of its caller's role. Every authenticated route has one in <see cref="RouteAccess"/>; a route
/// without one is refused to everyone (<see cref="RoleGuard"/>), and the role matrix test fails.
/// </summary>
public enum Access
{
    /// <summary>Anyone paired: sessions, files, the ledger, the team. Also a person's own settings (their notifications).</summary>
    Read,

    /// <summary>Operators and up: start, message and stop sessions, run commands, change files and git.</summary>
    Steer,

    /// <summary>
    /// Operators and up reach the route; the gatekeeper then checks the project's policy for the call's kind (who decides
    /// shell calls, protected paths…), so a chat press or a notification action is held to the same rule.
    /// </summary>
    Decide,

    /// <summary>
    /// Approvers and up: a shell of one's own (commands, the terminal) outside any agent, which is deciding a shell call
    /// alone; owners only in a project that asks two people for shell calls.
    /// </summary>
    Shell,

    /// <summary>Owners only: people, rules, MCP servers, profiles, the sandbox, bridges, projects.</summary>
    Own,
}

/// <summary>Where a route's project comes from, for a role narrowed in that project (<c>project_members</c>).</summary>
public enum ProjectFrom
{
    None,
    ProjectRoute,
    SessionRoute,
    ApprovalRoute,
    CommandRoute,
    TaskRoute,
    ScheduleRoute,
}

/// <param name="RouteValue">The route value naming the thing (<c>id</c>, <c>projectId</c>, …).</param>
public sealed record AccessRule(Access Access, ProjectFrom ProjectFrom = ProjectFrom.None, string RouteValue = "id")
{
    /// <summary>The least role that passes.</summary>
    public Role Least => LeastFor(Access);

    public static Role LeastFor(Access access) => access switch
    {
        Access.Read => Role.Viewer,
        Access.Steer or Access.Decide => Role.Operator,
        Access.Shell => Role.Approver,
        _ => Role.Owner,
    };
}
