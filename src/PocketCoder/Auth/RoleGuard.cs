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

        // A watch link's page: its one session's read routes, nothing else, whatever a role would allow.
        if (context.User.Watcher() is { } watcher)
        {
            if (!RouteAccess.WatcherMay(name, context.Request.RouteValues["id"] as string, watcher.SessionId))
            {
                await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.WatchForbidden,
                    "A watch link shows one session as it runs (its stream and its changes), and nothing else: no other session, no decision, no other part of PocketCoder.");
                return;
            }

            await next(context);
            return;
        }

        var right = DecisionRights.Check(CallerFor(context, rule, out var projectId), new UseRoute(rule.Access),
            rule.Access == Access.Shell && projectId is not null ? context.RequestServices.GetRequiredService<Authority>().Policy(projectId) : TeamPolicy.Default);
        if (!right.Allowed)
        {
            await Problems.WriteAsync(context, right.Status, right.Code!, right.Reason!);
            return;
        }

        await next(context);
    });

    /// <summary>
    /// The caller as the table sees them for this route: from their device's claims, or, where the route's project narrows
    /// roles and theirs could be narrowed, as the project has them (one read only then).
    /// </summary>
    private static Decider CallerFor(HttpContext context, AccessRule rule, out string? projectId)
    {
        var own = context.User.Role();
        var name = context.User.PersonName() ?? context.User.Actor().Name;
        projectId = rule.ProjectFrom == ProjectFrom.None ? null : ProjectOf(context, rule);
        if (own < rule.Least || own == Role.Owner || projectId is null || context.User.PersonId() is null)
        {
            return new Decider(context.User.PersonId(), name, own, Active: true);
        }

        return context.RequestServices.GetRequiredService<Authority>().Who(context.User.Actor(), projectId);
    }

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
