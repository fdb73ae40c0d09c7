using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Teams;

namespace PocketCoder.Auth;

/// <summary>
/// Holds every authenticated route to what <see cref="RouteAccess"/> says it needs: the caller's role, narrowed in the
/// route's project where a project narrows it. A route missing there is refused to everyone, so a new route cannot be
/// forgotten into being open (the role matrix test also fails).
/// </summary>
public static class RoleGuard
{
    public static IApplicationBuilder UseRoleGuard(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        // Only routes: routing's own answers (405 for a wrong method, 415 for a wrong body type) are plain endpoints that run no app code.
        if (context.GetEndpoint() is not RouteEndpoint endpoint || endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null
            || context.User.Identity?.IsAuthenticated != true)
        {
            await next(context);
            return;
        }

        if (endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is not { } name || !RouteAccess.ByRoute.TryGetValue(name, out var rule))
        {
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.RouteWithoutRole,
                "This route says nothing about who may use it, so no one may. (A bug: please report it.)");
            return;
        }

        var role = RoleFor(context, rule);
        if (role < rule.Least || (rule.Access == Access.Shell && role != Role.Owner && ShellNeedsTwo(context, rule)))
        {
            var who = rule.Access == Access.Shell && role >= rule.Least ? "owners (this project asks two people for shell calls)" : rule.Least.AndAbove();
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.RoleForbidden,
                $"Only {who} may do this; you are {(role is Role.Approver or Role.Operator or Role.Owner ? "an" : "a")} {role.ToWire()}{(role < context.User.Role() ? " in this project" : "")}.");
            return;
        }

        await next(context);
    });

    /// <summary>The caller's role for this route: their own, or lower where the route's project narrows it.</summary>
    private static Role RoleFor(HttpContext context, AccessRule rule)
    {
        var own = context.User.Role();
        if (own < rule.Least || own == Role.Owner || rule.ProjectFrom == ProjectFrom.None || context.User.PersonId() is not { } personId
            || ProjectOf(context, rule) is not { } projectId)
        {
            return own;
        }

        var people = context.RequestServices.GetRequiredService<People>();
        return people.Find(personId) is { } person ? people.RoleIn(person, projectId) : Role.Viewer;
    }

    private static bool ShellNeedsTwo(HttpContext context, AccessRule rule) =>
        ProjectOf(context, rule) is { } projectId
        && context.RequestServices.GetRequiredService<Teams.TeamPolicies>().For(projectId).NeedsTwo(Approvals.RiskClasses.Shell);

    /// <summary>The project the route is about, from its route value (null: none, or a thing that does not exist, which the route says).</summary>
    private static string? ProjectOf(HttpContext context, AccessRule rule)
    {
        if (context.Request.RouteValues[rule.RouteValue] is not string id)
        {
            return null;
        }

        var table = rule.ProjectFrom switch
        {
            ProjectFrom.ProjectRoute => null,
            ProjectFrom.SessionRoute => "sessions",
            ProjectFrom.ApprovalRoute => "approvals",
            ProjectFrom.CommandRoute => "commands",
            ProjectFrom.TaskRoute => "backlog_tasks",
            ProjectFrom.ScheduleRoute => "schedules",
            _ => "",
        };
        return table switch
        {
            null => id,
            "" => null,
            _ => context.RequestServices.GetRequiredService<Database>().Read(connection =>
                connection.Scalar<string>($"SELECT project_id FROM {table} WHERE id = $id", ("$id", id))),
        };
    }
}
