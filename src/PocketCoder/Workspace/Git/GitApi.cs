using System.Security.Claims;
using PocketCoder.Auth;

namespace PocketCoder.Workspace.Git;

public static class GitApi
{
    public static IServiceCollection AddGit(this IServiceCollection services) =>
        services.AddSingleton<GitLocations>().AddSingleton<GitCli>().AddSingleton<GitWorkspace>().AddSingleton<WorktreeSnapshots>();

    public static void MapGit(this IEndpointRouteBuilder api)
    {
        // `session` (every route but identity, which is the repository's): act on that session's worktree (WorkspaceRoots).
        var git = api.MapGroup("/projects/{id}/git");
        git.MapGet("/status", (string id, string? session, GitWorkspace w, CancellationToken ct) => w.StatusAsync(id, session, ct)).WithName("GitStatus");
        git.MapGet("/diff", (string id, string? session, string? path, bool? staged, GitWorkspace w, CancellationToken ct) => w.DiffAsync(id, session, path, staged == true, ct))
            .WithName("GitDiff");
        git.MapGet("/branches", (string id, string? session, GitWorkspace w, CancellationToken ct) => w.BranchesAsync(id, session, ct)).WithName("GitBranches");
        git.MapGet("/file-base", (string id, string? session, string? path, GitWorkspace w, CancellationToken ct) => w.FileAtHeadAsync(id, session, path, ct)).WithName("GitFileBase");
        git.MapPost("/stage", (string id, string? session, GitPathsRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.StageAsync(id, session, request, user.Actor(), ct)).WithName("GitStage");
        git.MapPost("/unstage", (string id, string? session, GitPathsRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.UnstageAsync(id, session, request, user.Actor(), ct)).WithName("GitUnstage");
        git.MapPost("/commit", (string id, string? session, GitCommitRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.CommitAsync(id, session, request, user.Actor(), ct)).WithName("GitCommit");
        git.MapGet("/identity", (string id, GitWorkspace w, CancellationToken ct) => w.IdentityAsync(id, ct)).WithName("GitIdentity");
        git.MapPut("/identity", (string id, GitIdentity request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.SetIdentityAsync(id, request, user.Actor(), ct)).WithName("GitSetIdentity");
        git.MapPost("/checkout", (string id, string? session, GitRefRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.CheckoutAsync(id, session, request, user.Actor(), ct)).WithName("GitCheckout");
        git.MapPost("/branch", (string id, string? session, GitBranchRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.CreateBranchAsync(id, session, request, user.Actor(), ct)).WithName("GitCreateBranch");
        git.MapGet("/log", (string id, string? session, string? @ref, int? skip, int? limit, GitWorkspace w, CancellationToken ct) =>
            w.LogAsync(id, session, @ref, Math.Max(skip ?? 0, 0), Math.Clamp(limit ?? 50, 1, 200), ct)).WithName("GitLog");
        git.MapGet("/commits/{sha}", (string id, string? session, string sha, GitWorkspace w, CancellationToken ct) => w.CommitDetailAsync(id, session, sha, ct))
            .WithName("GitCommitDetail");
        git.MapPost("/discard", (string id, string? session, GitDiscardRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.DiscardAsync(id, session, request, user.Actor(), ct)).WithName("GitDiscard");
        git.MapPost("/push", (string id, string? session, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) => w.PushAsync(id, session, user.Actor(), ct))
            .WithName("GitPush");
    }
}
