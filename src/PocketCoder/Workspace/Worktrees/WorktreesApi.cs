using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Sessions;

namespace PocketCoder.Workspace.Worktrees;

/// <param name="DiscardBranch">Also delete the branch, and with it whatever was not merged.</param>
public sealed record RemoveWorktreeRequest(bool DiscardBranch);

/// <param name="Commit">The branch's commit the owner reviewed (<c>head</c> of GET …/worktree): a branch that moved since is not merged.</param>
/// <param name="Tree">The tree the owner reviewed (<c>tree</c> of GET …/worktree): a worktree whose files changed since is not merged.</param>
public sealed record MergeWorktreeRequest(
    [property: GitObjectId(ErrorMessage = "'commit' must be a commit id as the session's worktree gives it (head).")] string? Commit,
    [property: GitObjectId(ErrorMessage = "'tree' must be a tree id as the session's worktree gives it.")] string? Tree);

/// <summary>A session's worktree (see <see cref="SessionWorktrees"/>): its state, merging it, removing it; a project's orphans.</summary>
public static class WorktreesApi
{
    /// <summary>Session worktrees, and the roots (a project's folder or a session's worktree) files, git and commands act in.</summary>
    public static IServiceCollection AddWorktrees(this IServiceCollection services) =>
        services.AddSingleton<SessionWorktrees>().AddSingleton<WorkspaceRoots>();

    public static void MapWorktrees(this IEndpointRouteBuilder api)
    {
        var session = api.MapGroup("/sessions/{id}/worktree");
        session.MapGet("/", (string id, SessionWorktrees worktrees, CancellationToken ct) => worktrees.StatusAsync(id, ct)).WithName("GetWorktree");
        session.MapGet("/diff", (string id, SessionWorktrees worktrees, CancellationToken ct) => worktrees.DiffAsync(id, ct)).WithName("GetWorktreeDiff");
        session.MapPost("/merge", MergeAsync).WithName("MergeWorktree");
        session.MapPost("/remove", RemoveAsync).WithName("RemoveWorktree");

        api.MapGet("/projects/{id}/worktrees", (string id, SessionWorktrees worktrees) => worktrees.List(id)).WithName("ListWorktrees");
        var project = api.MapGroup("/projects/{id}/worktrees/orphans");
        project.MapGet("/", (string id, SessionWorktrees worktrees) => worktrees.Orphans(id)).WithName("ListWorktreeOrphans");
        project.MapPost("/clean", (string id, SessionWorktrees worktrees, ClaimsPrincipal user, CancellationToken ct) =>
            worktrees.CleanOrphansAsync(id, user.Actor(), ct)).WithName("CleanWorktreeOrphans");
    }

    /// <summary>Only between turns, and what the owner reviewed (when the request says what that was), or nothing.</summary>
    private static async Task<WorktreeMergeResponse> MergeAsync(string id, MergeWorktreeRequest? request, SessionWorktrees worktrees, SessionStore sessions,
        ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var session = sessions.Get(id);
        if (SessionStatuses.Busy.Contains(session.Status))
        {
            throw ApiProblem.Conflict(ErrorCodes.SessionBusy, "The agent is working in this worktree: merge when its turn is over.");
        }

        return await worktrees.MergeAsync(id, session.Title, new ReviewedWork(request?.Commit, request?.Tree), user.Actor(), cancellationToken);
    }

    /// <summary>Stops the session (its work there is over), then removes the worktree, keeping the branch unless told otherwise.</summary>
    private static async Task<Results<Ok<WorktreeResponse>, NoContent>> RemoveAsync(string id, RemoveWorktreeRequest request, SessionWorktrees worktrees,
        SessionManager manager, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        worktrees.Get(id);
        await manager.StopAsync(id, user.Actor(), cancellationToken);
        return await worktrees.RemoveAsync(id, request.DiscardBranch, user.Actor(), cancellationToken) is { } kept
            ? TypedResults.Ok(kept)
            : TypedResults.NoContent();
    }
}
