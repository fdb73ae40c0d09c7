using System.Security.Claims;
using PocketCoder.Auth;

namespace PocketCoder.Workspace.Git;

public static class GitApi
{
    public static void MapGit(this IEndpointRouteBuilder api)
    {
        var git = api.MapGroup("/projects/{id}/git");
        git.MapGet("/status", (string id, GitWorkspace w, CancellationToken ct) => w.StatusAsync(id, ct)).WithName("GitStatus");
        git.MapGet("/diff", (string id, string? path, bool? staged, GitWorkspace w, CancellationToken ct) => w.DiffAsync(id, path, staged == true, ct))
            .WithName("GitDiff");
        git.MapGet("/branches", (string id, GitWorkspace w, CancellationToken ct) => w.BranchesAsync(id, ct)).WithName("GitBranches");
        git.MapGet("/file-base", (string id, string? path, GitWorkspace w, CancellationToken ct) => w.FileAtHeadAsync(id, path, ct)).WithName("GitFileBase");
        git.MapPost("/stage", (string id, GitPathsRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.StageAsync(id, request, user.Actor(), ct)).WithName("GitStage");
        git.MapPost("/unstage", (string id, GitPathsRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.UnstageAsync(id, request, user.Actor(), ct)).WithName("GitUnstage");
        git.MapPost("/commit", (string id, GitCommitRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.CommitAsync(id, request, user.Actor(), ct)).WithName("GitCommit");
        git.MapGet("/identity", (string id, GitWorkspace w, CancellationToken ct) => w.IdentityAsync(id, ct)).WithName("GitIdentity");
        git.MapPut("/identity", (string id, GitIdentity request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.SetIdentityAsync(id, request, user.Actor(), ct)).WithName("GitSetIdentity");
        git.MapPost("/checkout", (string id, GitRefRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.CheckoutAsync(id, request, user.Actor(), ct)).WithName("GitCheckout");
        git.MapPost("/branch", (string id, GitBranchRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.CreateBranchAsync(id, request, user.Actor(), ct)).WithName("GitCreateBranch");
        git.MapGet("/log", (string id, string? @ref, int? skip, int? limit, GitWorkspace w, CancellationToken ct) =>
            w.LogAsync(id, @ref, Math.Max(skip ?? 0, 0), Math.Clamp(limit ?? 50, 1, 200), ct)).WithName("GitLog");
        git.MapGet("/commits/{sha}", (string id, string sha, GitWorkspace w, CancellationToken ct) => w.CommitDetailAsync(id, sha, ct))
            .WithName("GitCommitDetail");
        git.MapPost("/discard", (string id, GitDiscardRequest request, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) =>
            w.DiscardAsync(id, request, user.Actor(), ct)).WithName("GitDiscard");
        git.MapPost("/push", (string id, GitWorkspace w, ClaimsPrincipal user, CancellationToken ct) => w.PushAsync(id, user.Actor(), ct))
            .WithName("GitPush");
    }
}
