using System.Globalization;
using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Workspace.Git;

namespace PocketCoder.Workspace.Worktrees;

/// <param name="BaseRef">The branch the work merges back into (or a commit, when the repository was on none).</param>
/// <param name="BaseCommit">Where the branch started.</param>
/// <param name="RemovedAt">When the worktree was taken away (the branch may live on); null while it is there.</param>
public sealed record SessionWorktree(string SessionId, string ProjectId, string Path, string Branch, string BaseRef, string BaseCommit,
    DateTimeOffset CreatedAt, DateTimeOffset? RemovedAt);

/// <param name="Ahead">Commits on the session's branch that the base lacks (its uncommitted changes not counted).</param>
/// <param name="Behind">Commits on the base since the branch started.</param>
/// <param name="Changed">Files that differ from the base, committed or not.</param>
/// <param name="Head">The branch's commit now: what Merge is told the owner reviewed.</param>
/// <param name="Tree">What a merge brings in now: the worktree as a tree, uncommitted changes and new files in (the branch's, once
/// the worktree is removed); told to Merge with <paramref name="Head"/>.</param>
/// <param name="Merged">Its base holds all of it: the branch moved from where it started, has no commit the base lacks and
/// nothing uncommitted beside them (after a Merge, until the agent works on): there is nothing to merge.</param>
public sealed record WorktreeResponse(string SessionId, string Path, string Branch, string BaseRef, string BaseCommit, bool Present, int Ahead,
    int Behind, IReadOnlyList<string> Changed, string Head, string Tree, bool Merged);

/// <summary>What the owner reviewed before a merge (<see cref="WorktreeResponse.Head"/> and <see cref="WorktreeResponse.Tree"/>);
/// null where the caller does not say.</summary>
public sealed record ReviewedWork(string? Commit, string? Tree);

/// <param name="FastForward">The base moved to the branch without a merge commit.</param>
public sealed record WorktreeMergeResponse(string Commit, bool FastForward, string BaseRef);

/// <param name="Kind"><c>no-session</c>: a worktree under the data folder nothing here knows (a crash between creating it and
/// recording it, or its session removed); <c>gone</c>: a session's worktree deleted by hand.</param>
public sealed record WorktreeOrphan(string Kind, string Path, string? SessionId, string? Branch);

/// <summary>
/// A git worktree per session: a new branch from a chosen base, checked out under the data folder (never inside the
/// repository's own working tree), where the session's agent works. When the work is done it is merged into the base
/// (fast-forward, or a merge commit; a conflict is reported and the base left as it was, never resolved silently), or
/// the branch is kept and the worktree removed, or both are discarded. Worktrees whose session is gone, and sessions
/// whose worktree was deleted by hand, are listed and cleaned.
/// </summary>
public sealed partial class SessionWorktrees(Database database, GitCli git, ProjectStore projects, Ledger.LedgerStore ledger, TimeProvider clock,
    Terminal.Terminals terminals, WorktreeSnapshots snapshots, ILogger<SessionWorktrees> logger)
{
    private const string Columns = "session_id, project_id, path, branch, base_ref, base_commit, created_at, removed_at";
    private static readonly TimeSpan GitTimeout = TimeSpan.FromMinutes(2);

    // One change to a project's branches at a time: two merges into one base must not interleave.
    private readonly SemaphoreSlim _changing = new(1, 1);

    public string Root(string projectId) => System.IO.Path.Combine(database.DataDirectory, "worktrees", projectId);

    /// <summary>
    /// A session's branch, the only one in its ref folder (<c>refs/heads/pocketcoder/ID8/</c>): git moves a ref by renaming a
    /// lock file over it, so the folder is what a sandboxed agent's git must be able to write, and nothing else's ref may be in it.
    /// </summary>
    public static string BranchName(string sessionId) => $"pocketcoder/{sessionId[..8]}/work";

    /// <summary>The ref folder (under <c>refs/heads</c>) that holds this branch alone, or null for an older session's
    /// <c>pocketcoder/ID8</c>, which shares one.</summary>
    public static string? RefFolder(string branch) => branch.Split('/') is ["pocketcoder", { Length: 8 } id, "work"] ? $"pocketcoder/{id}" : null;

    /// <summary>The project's session worktrees, present or removed (branch kept), newest first.</summary>
    public IReadOnlyList<SessionWorktree> List(string projectId) => database.Read(connection =>
        connection.Query($"SELECT {Columns} FROM session_worktrees WHERE project_id = $p ORDER BY created_at DESC", Map, ("$p", projects.Get(projectId).Id)));

    public SessionWorktree? Find(string sessionId) => database.Read(connection =>
        connection.Query($"SELECT {Columns} FROM session_worktrees WHERE session_id = $id", Map, ("$id", sessionId)).FirstOrDefault());

    /// <exception cref="ApiProblem"><c>WORKTREE_UNAVAILABLE</c> (409) while its worktree is being made or when it could not be (a session
    /// that will work in one must never read as one that does not); <c>WORKTREE_NOT_FOUND</c> for a session without one.</exception>
    public SessionWorktree Get(string sessionId)
    {
        if (Find(sessionId) is { } worktree)
        {
            return worktree;
        }

        throw Preparation(sessionId) is { } preparing
            ? NotReady(preparing)
            : ApiProblem.NotFound(ErrorCodes.WorktreeNotFound, $"Session {sessionId} does not work in a worktree of its own.");
    }

    /// <summary>Where the session's agent works: its worktree, or the project for a session without one.</summary>
    /// <exception cref="ApiProblem"><c>WORKTREE_UNAVAILABLE</c>: its worktree was removed or deleted, is still being made, or could not
    /// be made; it never falls back to the project.</exception>
    public string WorkingDirectory(string sessionId, string projectId) => WorkingDirectory(sessionId, projects.Get(projectId));

    /// <inheritdoc cref="WorkingDirectory(string, string)"/>
    public string WorkingDirectory(string sessionId, Project project) => Find(sessionId) switch
    {
        null when Preparation(sessionId) is { } preparing => throw NotReady(preparing),
        null => project.Path,
        { RemovedAt: null } worktree when Directory.Exists(worktree.Path) => worktree.Path,
        var gone => throw ApiProblem.Conflict(ErrorCodes.WorktreeUnavailable,
            $"This session worked in a worktree that is gone ({gone.Path}); its branch {gone.Branch} remains. Start a new session."),
    };

    public async Task<WorktreeResponse> StatusAsync(string sessionId, CancellationToken cancellationToken)
    {
        var worktree = Get(sessionId);
        var project = projects.Get(worktree.ProjectId);
        var baseTip = await TipAsync(project, worktree, cancellationToken);
        var head = await BranchTipAsync(project, worktree, cancellationToken);
        var counts = (await git.RunCheckedAsync(project.Path, ["rev-list", "--left-right", "--count", $"{baseTip}...{head}"],
            cancellationToken)).Stdout.Split('\t', StringSplitOptions.TrimEntries);
        var present = IsPresent(worktree);
        var tree = present ? await SnapshotAsync(worktree, cancellationToken) : await TreeOfAsync(project, head, cancellationToken);
        // Against the point it branched from: what the session did, committed or not, as a merge would bring it in.
        var changed = (await git.RunCheckedAsync(project.Path, ["diff", "--name-only", "-z", worktree.BaseCommit, tree], cancellationToken)).Stdout
            .Split('\0', StringSplitOptions.RemoveEmptyEntries);
        var ahead = int.Parse(counts[1], CultureInfo.InvariantCulture);
        var merged = ahead == 0 && head != worktree.BaseCommit && (!present || tree == await TreeOfAsync(project, head, cancellationToken));
        return new WorktreeResponse(sessionId, worktree.Path, worktree.Branch, worktree.BaseRef, worktree.BaseCommit, present,
            ahead, int.Parse(counts[0], CultureInfo.InvariantCulture), [.. changed.Distinct().Order(StringComparer.Ordinal)],
            head, tree, merged);
    }

    /// <summary>
    /// Everything the session's branch changed against the commit it started from — committed or not, new files included
    /// (the worktree as a snapshot tree, as a turn review takes it) — file by file with the patch. A removed worktree: its branch.
    /// </summary>
    public async Task<WorktreeDiff> DiffAsync(string sessionId, CancellationToken cancellationToken)
    {
        var worktree = Get(sessionId);
        var project = projects.Get(worktree.ProjectId);
        if (worktree.RemovedAt is null && Directory.Exists(worktree.Path)
            && await snapshots.TakeAsync(worktree.Path, cancellationToken) is { } now)
        {
            return await snapshots.DiffAsync(worktree.Path, worktree.BaseCommit, now, cancellationToken);
        }

        return await snapshots.DiffAsync(project.Path, worktree.BaseCommit, await BranchTipAsync(project, worktree, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Commits what the session left uncommitted in its worktree, then brings the branch into its base: a fast-forward
    /// where the base has not moved, else a merge commit. A conflict is reported (<c>MERGE_CONFLICT</c>, with the files)
    /// and the base stays exactly as it was. The caller makes sure no turn runs; a process the agent left running may still
    /// commit or write, so what the owner <paramref name="reviewed"/> is what is merged, or nothing is (<c>WORKTREE_MOVED</c>).
    /// </summary>
    public Task<WorktreeMergeResponse> MergeAsync(string sessionId, string? title, ReviewedWork reviewed, Actor actor, CancellationToken cancellationToken) =>
        ChangingAsync(async () =>
        {
            var worktree = Get(sessionId);
            var project = projects.Get(worktree.ProjectId);
            if (worktree.BaseRef == worktree.BaseCommit)
            {
                throw ApiProblem.Conflict(ErrorCodes.WorktreeUnavailable,
                    $"The session started from commit {worktree.BaseCommit[..12]}, not a branch: keep its branch ({worktree.Branch}) and merge it yourself.");
            }

            await git.RequireIdentityAsync(project.Path, "give it a name and an email before merging.", cancellationToken);
            var message = $"PocketCoder session {sessionId[..8]}" + (title is { Length: > 0 } ? $": {title}" : "");
            var tip = await BranchTipAsync(project, worktree, cancellationToken);
            if (reviewed.Commit is { } seen && seen != tip)
            {
                throw Moved(worktree, $"{worktree.Branch} is at {tip[..12]} now, not {seen[..12]}");
            }

            // From here on the branch is named by its commit: whatever lands on it meanwhile is not merged.
            var head = tip;
            if (IsPresent(worktree))
            {
                head = await CommitLeftoversAsync(project, worktree, tip, reviewed.Tree, message, cancellationToken);
            }
            else if (reviewed.Tree is { } tree && tree != await TreeOfAsync(project, tip, cancellationToken))
            {
                throw Moved(worktree, $"{worktree.Branch} holds other files than the ones shown");
            }

            var baseTip = await TipAsync(project, worktree, cancellationToken);
            // Full names: a tag called like the branch would make the short name ambiguous.
            var checkedOut = (await git.RunAsync(project.Path, ["symbolic-ref", "--quiet", "HEAD"], cancellationToken)).Stdout.Trim() == "refs/heads/" + worktree.BaseRef;
            var fastForward = (await git.RunAsync(project.Path, ["merge-base", "--is-ancestor", baseTip, head], cancellationToken)).ExitCode == 0;
            string merged;
            if (checkedOut)
            {
                // The base is what the project's folder has checked out: merge there, so its files follow.
                merged = await MergeCheckedOutAsync(project, worktree, head, fastForward, message, cancellationToken);
            }
            else if (fastForward)
            {
                await git.RunCheckedAsync(project.Path, ["update-ref", "refs/heads/" + worktree.BaseRef, head, baseTip], cancellationToken);
                merged = head;
            }
            else
            {
                merged = await MergeElsewhereAsync(project, worktree, baseTip, head, message, cancellationToken);
            }

            database.Write(write => ledger.Append(write, actor.Name, "worktree.merged", sessionId, new JsonObject
            {
                ["projectId"] = project.Id, ["branch"] = worktree.Branch, ["base"] = worktree.BaseRef, ["commit"] = merged,
                ["fastForward"] = fastForward, ["deviceId"] = actor.Id,
            }));
            return new WorktreeMergeResponse(merged, fastForward, worktree.BaseRef);
        }, cancellationToken);

    /// <summary>Removes the worktree; the branch stays (<paramref name="discardBranch"/>: it goes too, unmerged work and all).</summary>
    public Task<WorktreeResponse?> RemoveAsync(string sessionId, bool discardBranch, Actor actor, CancellationToken cancellationToken) =>
        ChangingAsync(async () =>
        {
            var worktree = Get(sessionId);
            var project = projects.Get(worktree.ProjectId);
            await RemoveWorktreeAsync(project, worktree.Path, cancellationToken);
            // Its shell would sit in a deleted folder.
            await terminals.CloseQuietlyAsync(project.Id, sessionId);
            if (discardBranch)
            {
                await git.RunAsync(project.Path, ["branch", "-D", "--end-of-options", worktree.Branch], cancellationToken);
            }

            database.Write(write =>
            {
                if (discardBranch)
                {
                    write.Execute("DELETE FROM session_worktrees WHERE session_id = $s", ("$s", sessionId));
                }
                else
                {
                    write.Execute("UPDATE session_worktrees SET removed_at = $at WHERE session_id = $s", ("$at", clock.GetUtcNow().ToDb()), ("$s", sessionId));
                }

                ledger.Append(write, actor.Name, discardBranch ? "worktree.discarded" : "worktree.removed", sessionId, new JsonObject
                {
                    ["projectId"] = project.Id, ["branch"] = worktree.Branch, ["deviceId"] = actor.Id,
                });
            });
            return discardBranch ? null : await StatusAsync(sessionId, cancellationToken);
        }, cancellationToken);

    /// <summary>Worktrees nothing here knows, and sessions whose worktree was deleted by hand.</summary>
    public IReadOnlyList<WorktreeOrphan> Orphans(string projectId)
    {
        var project = projects.Get(projectId);
        var known = database.Read(connection =>
            connection.Query($"SELECT {Columns} FROM session_worktrees WHERE project_id = $p", Map, ("$p", project.Id)));
        var live = database.Read(connection => connection.Query("SELECT id FROM sessions WHERE project_id = $p", r => r.GetString(0), ("$p", project.Id)))
            .ToHashSet(StringComparer.Ordinal);
        // A worktree being made is not recorded yet, and no orphan: cleaning it would pull it from under git.
        var preparing = database.Read(connection => connection.Query("SELECT session_id FROM session_preparations WHERE project_id = $p AND failed IS NULL",
            r => r.GetString(0), ("$p", project.Id))).ToHashSet(StringComparer.Ordinal);
        var folders = Directory.Exists(Root(project.Id)) ? Directory.EnumerateDirectories(Root(project.Id)) : [];
        var unknown = folders.Where(folder => !preparing.Contains(System.IO.Path.GetFileName(folder)))
            .Select(folder => (Folder: folder, Owner: known.FirstOrDefault(w => w.Path == folder)))
            .Where(f => f.Owner is null || !live.Contains(f.Owner.SessionId))
            .Select(f => new WorktreeOrphan("no-session", f.Folder, f.Owner?.SessionId, f.Owner?.Branch));
        var gone = known.Where(w => w.RemovedAt is null && live.Contains(w.SessionId) && !Directory.Exists(w.Path))
            .Select(w => new WorktreeOrphan("gone", w.Path, w.SessionId, w.Branch));
        return [.. unknown, .. gone];
    }

    /// <summary>Cleans every orphan: a worktree nothing knows is removed (its branch kept); a session's vanished worktree is recorded as removed.</summary>
    public Task<IReadOnlyList<WorktreeOrphan>> CleanOrphansAsync(string projectId, Actor actor, CancellationToken cancellationToken) =>
        ChangingAsync(async () =>
        {
            var project = projects.Get(projectId);
            var orphans = Orphans(projectId);
            foreach (var orphan in orphans.Where(o => o.Kind == "no-session"))
            {
                await RemoveWorktreeAsync(project, orphan.Path, cancellationToken);
            }

            // Git's own record of worktrees whose folder is gone.
            await git.RunAsync(project.Path, ["worktree", "prune"], cancellationToken);
            database.Write(write =>
            {
                foreach (var orphan in orphans.Where(o => o.SessionId is not null))
                {
                    write.Execute("UPDATE session_worktrees SET removed_at = $at WHERE session_id = $s", ("$at", clock.GetUtcNow().ToDb()), ("$s", orphan.SessionId));
                }

                ledger.Append(write, actor.Name, "worktree.orphans_cleaned", project.Id, new JsonObject
                {
                    ["paths"] = new JsonArray([.. orphans.Select(o => (JsonNode)o.Path)]), ["deviceId"] = actor.Id,
                });
            });
            return orphans;
        }, cancellationToken);

    /// <summary>Runs a change to the project's branches under <see cref="_changing"/>.</summary>
    private Task<T> ChangingAsync<T>(Func<Task<T>> change, CancellationToken cancellationToken) => _changing.RunAsync(change, cancellationToken);

    private async Task RemoveWorktreeAsync(Project project, string path, CancellationToken cancellationToken)
    {
        // Only ever a folder under this project's worktree root.
        if (!path.StartsWith(Root(project.Id) + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{path} is not a session worktree of project {project.Id}.");
        }

        // Deleting every file of a large repository's worktree takes as long as writing them did.
        var removed = await git.RunAsync(project.Path, ["worktree", "remove", "--force", "--force", "--end-of-options", path], cancellationToken, CheckoutTimeout);
        if (removed.ExitCode != 0 && Directory.Exists(path))
        {
            // Not a worktree git knows (a crash before it was recorded, or git's own record pruned): just a folder of ours.
            Directory.Delete(path, recursive: true);
        }

        await git.RunAsync(project.Path, ["worktree", "prune"], cancellationToken);
        // Submodules checked out as worktrees of the project's own copies: their records of this one go too.
        foreach (var (_, relative) in await GitlinksAsync(project, "HEAD", cancellationToken))
        {
            var source = System.IO.Path.Combine(project.Path, relative);
            if (Directory.Exists(source))
            {
                await git.RunAsync(source, ["worktree", "prune"], cancellationToken);
            }
        }
    }

    /// <summary>
    /// git does not check out submodules in a new worktree. Each submodule the base commit records, and the project has
    /// checked out, becomes a worktree of the project's own copy of that submodule at the commit the base records: nothing
    /// is fetched or cloned (a hostile <c>.gitmodules</c> cannot make it copy some other repository on this machine into
    /// the sandbox's reach), and a submodule folder that is not its own repository, or leads out of the project, is left
    /// empty, as git itself leaves an uninitialised one. Nested submodules are not followed.
    /// </summary>
    private async Task CheckOutSubmodulesAsync(Project project, string path, string commit, CancellationToken cancellationToken)
    {
        if (!File.Exists(System.IO.Path.Combine(path, ".gitmodules")))
        {
            return;
        }

        foreach (var (sha, relative) in await GitlinksAsync(project, commit, cancellationToken))
        {
            var source = System.IO.Path.GetFullPath(System.IO.Path.Combine(project.Path, relative));
            var target = System.IO.Path.GetFullPath(System.IO.Path.Combine(path, relative));
            if (!Within(target, path) || Agents.FileSystem.RealPath.Resolve(source) is not { } real || real != source || !Within(real, project.Path)
                || (await git.RunAsync(source, ["rev-parse", "--show-toplevel"], cancellationToken)).Stdout.Trim() != source
                || (await git.RunAsync(source, ["cat-file", "-e", "--end-of-options", sha + "^{commit}"], cancellationToken)).ExitCode != 0)
            {
                continue;
            }

            try
            {
                // Made as git's checkout makes a submodule's folder, step by step from the worktree, never through a link on the way.
                Agents.FileSystem.BeneathRoot.CreateDirectories(path, relative);
            }
            catch (Agents.FileSystem.ConfinedIOException exception)
            {
                logger.LogWarning("Submodule {Path} was not checked out in worktree {Worktree}: {Error}", relative, path, exception.Message);
                continue;
            }

            var added = await git.RunAsync(source, ["worktree", "add", "--quiet", "--detach", "--end-of-options", target, sha], cancellationToken, GitTimeout);
            if (added.ExitCode != 0)
            {
                logger.LogWarning("Submodule {Path} could not be checked out in worktree {Worktree}: {Error}", relative, path, added.Stderr.Trim());
            }
        }
    }

    /// <summary>The submodules a commit records: each one's commit and path (ls-tree's mode 160000 entries).</summary>
    private async Task<List<(string Sha, string Path)>> GitlinksAsync(Project project, string commit, CancellationToken cancellationToken)
    {
        var tree = await git.RunAsync(project.Path, ["ls-tree", "-r", "-z", "--end-of-options", commit], cancellationToken, GitTimeout);
        var links = new List<(string, string)>();
        if (tree.ExitCode != 0)
        {
            return links;
        }

        foreach (var entry in tree.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            // "<mode> <type> <object>\t<path>"
            var tab = entry.IndexOf('\t', StringComparison.Ordinal);
            if (tab > 0 && entry[..tab].Split(' ') is ["160000", "commit", var sha] && entry[(tab + 1)..] is { Length: > 0 } relative && !relative.Contains("..", StringComparison.Ordinal))
            {
                links.Add((sha, relative));
            }
        }

        return links;
    }

    private static bool Within(string path, string root) => path.StartsWith(root + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private async Task<string> TipAsync(Project project, SessionWorktree worktree, CancellationToken cancellationToken) =>
        worktree.BaseRef == worktree.BaseCommit
            ? worktree.BaseCommit
            : (await git.RunCheckedAsync(project.Path, ["rev-parse", "--verify", "--end-of-options", "refs/heads/" + worktree.BaseRef], cancellationToken)).Stdout.Trim();

    /// <summary>
    /// Commits the worktree as it is (the tree a review shows) on top of <paramref name="tip"/>, and returns the commit the
    /// branch then names (<paramref name="tip"/> when nothing was left). Refused (<c>WORKTREE_MOVED</c>) when the worktree is not
    /// the <paramref name="reviewed"/> tree, or the branch moved from <paramref name="tip"/> meanwhile.
    /// </summary>
    private async Task<string> CommitLeftoversAsync(Project project, SessionWorktree worktree, string tip, string? reviewed, string message,
        CancellationToken cancellationToken)
    {
        // The worktree's index and files follow its HEAD, which its agent can rewrite: only ever the session's branch.
        var head = (await git.RunAsync(worktree.Path, ["symbolic-ref", "--quiet", "HEAD"], cancellationToken)).Stdout.Trim();
        if (head != "refs/heads/" + worktree.Branch)
        {
            throw ApiProblem.Conflict(ErrorCodes.WorktreeUnavailable,
                $"The session's worktree is not on its branch {worktree.Branch} (HEAD: {(head.Length > 0 ? head : "detached")}), so what it left " +
                $"uncommitted cannot be committed there. Check out {worktree.Branch} in the worktree (git checkout {worktree.Branch}), then merge.");
        }

        var tree = await SnapshotAsync(worktree, cancellationToken);
        if (reviewed is not null && reviewed != tree)
        {
            throw Moved(worktree, "files in its worktree changed");
        }

        if (tree == await TreeOfAsync(project, tip, cancellationToken))
        {
            return tip;
        }

        // Exactly that tree, whatever is written after it was taken; and only onto the tip it was checked against.
        var commit = (await git.RunCheckedAsync(project.Path, ["commit-tree", tree, "-p", tip, "-m", message], cancellationToken)).Stdout.Trim();
        if ((await git.RunAsync(project.Path, ["update-ref", "refs/heads/" + worktree.Branch, commit, tip], cancellationToken)).ExitCode != 0)
        {
            throw Moved(worktree, $"a commit landed on {worktree.Branch} while it was being merged");
        }

        // The worktree's index follows, so its own git shows nothing left to commit (a file written since shows as changed).
        var indexed = await git.RunAsync(worktree.Path, ["read-tree", commit], cancellationToken);
        if (indexed.ExitCode == 0)
        {
            await git.RunAsync(worktree.Path, ["update-index", "-q", "--refresh"], cancellationToken);
        }
        else
        {
            logger.LogWarning("The index of worktree {Worktree} could not follow the commit {Commit}: {Error}", worktree.Path, commit, indexed.Stderr.Trim());
        }

        return commit;
    }

    /// <summary>The worktree as a tree, as a turn review takes it: uncommitted changes and new files in, ignored ones out.</summary>
    private async Task<string> SnapshotAsync(SessionWorktree worktree, CancellationToken cancellationToken)
    {
        try
        {
            return await snapshots.TakeAsync(worktree.Path, cancellationToken)
                ?? throw ApiProblem.Conflict(ErrorCodes.WorktreeUnavailable, $"git does not take {worktree.Path} for a repository any more.");
        }
        catch (TimeoutException exception)
        {
            throw new ApiProblem(StatusCodes.Status504GatewayTimeout, ErrorCodes.GitFailed, exception.Message);
        }
    }

    private async Task<string> BranchTipAsync(Project project, SessionWorktree worktree, CancellationToken cancellationToken) =>
        (await git.RunCheckedAsync(project.Path, ["rev-parse", "--verify", "--end-of-options", "refs/heads/" + worktree.Branch + "^{commit}"],
            cancellationToken)).Stdout.Trim();

    private async Task<string> TreeOfAsync(Project project, string commit, CancellationToken cancellationToken) =>
        (await git.RunCheckedAsync(project.Path, ["rev-parse", "--verify", "--end-of-options", commit + "^{tree}"], cancellationToken)).Stdout.Trim();

    private static bool IsPresent(SessionWorktree worktree) => worktree.RemovedAt is null && Directory.Exists(worktree.Path);

    private static ApiProblem Moved(SessionWorktree worktree, string what) =>
        ApiProblem.Conflict(ErrorCodes.WorktreeMoved,
            $"The session's work changed since it was shown to you ({what}), so it was not merged: {worktree.BaseRef} is as it was. " +
            "Look at the branch again, then merge.");

    private async Task<string> MergeCheckedOutAsync(Project project, SessionWorktree worktree, string head, bool fastForward, string message,
        CancellationToken cancellationToken)
    {
        var merge = await git.RunAsync(project.Path,
            fastForward ? ["merge", "--ff-only", "--quiet", head] : ["merge", "--no-ff", "--no-edit", "--quiet", "--message=" + message, head], cancellationToken, GitTimeout);
        if (merge.ExitCode != 0)
        {
            var conflicted = (await git.RunAsync(project.Path, ["diff", "--name-only", "-z", "--diff-filter=U"], cancellationToken)).Stdout
                .Split('\0', StringSplitOptions.RemoveEmptyEntries);
            if (conflicted.Length > 0)
            {
                await git.RunAsync(project.Path, ["merge", "--abort"], cancellationToken);
                throw Conflict(worktree, conflicted);
            }

            // Refused before it began (local changes in the project's folder that the merge would overwrite): nothing changed.
            throw GitCli.Failed("merge", merge);
        }

        return (await git.RunCheckedAsync(project.Path, ["rev-parse", "--verify", "HEAD"], cancellationToken)).Stdout.Trim();
    }

    /// <summary>A merge into a base that is not checked out: made from trees alone, so no working folder changes.</summary>
    private async Task<string> MergeElsewhereAsync(Project project, SessionWorktree worktree, string baseTip, string head, string message,
        CancellationToken cancellationToken)
    {
        var tree = await git.RunAsync(project.Path, ["merge-tree", "--write-tree", "--name-only", "-z", baseTip, head], cancellationToken, GitTimeout);
        if (tree.ExitCode == 1)
        {
            // The tree id, then the conflicted files, then an empty field and git's messages.
            var fields = tree.Stdout.Split('\0');
            throw Conflict(worktree, [.. fields.Skip(1).TakeWhile(f => f.Length > 0).Distinct()]);
        }

        if (tree.ExitCode != 0)
        {
            throw GitCli.Failed("merge-tree", tree);
        }

        var treeId = tree.Stdout.Split('\0')[0].Trim();
        var commit = (await git.RunCheckedAsync(project.Path, ["commit-tree", treeId, "-p", baseTip, "-p", head, "-m", message], cancellationToken)).Stdout.Trim();
        await git.RunCheckedAsync(project.Path, ["update-ref", "refs/heads/" + worktree.BaseRef, commit, baseTip], cancellationToken);
        return commit;
    }

    private static ApiProblem Conflict(SessionWorktree worktree, IReadOnlyList<string> files) =>
        new(StatusCodes.Status409Conflict, ErrorCodes.MergeConflict,
            $"Merging {worktree.Branch} into {worktree.BaseRef} conflicts in {files.Count} file(s): {string.Join(", ", files.Take(20))}. " +
            $"{worktree.BaseRef} is unchanged; resolve it in the session (ask the agent to merge {worktree.BaseRef} in), or keep the branch and merge it yourself.")
        {
            Fields = new Dictionary<string, object?> { ["files"] = files.ToArray() },
        };

    private static SessionWorktree Map(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.Time(6), r.IsDBNull(7) ? null : r.Time(7));
}
