using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Workspace.Files;

namespace PocketCoder.Workspace.Git;

public sealed record GitDiffResponse(string? Path, bool Staged, string Diff, bool Truncated);

public sealed record GitBranch(string Name, string Sha, bool Current, bool Remote, string? Upstream);

public sealed record GitBranchesResponse(string? Current, IReadOnlyList<GitBranch> Branches);

public sealed record GitPathsRequest(
    [property: Required(ErrorMessage = "'paths' must list at least one path.")]
    [property: ItemCount(GitWorkspace.MaxPaths, Min = 1, ErrorMessage = "'paths' must list 1 to 1000 paths.")]
    IReadOnlyList<string>? Paths);

public sealed record GitCommitRequest(
    [property: Required(ErrorMessage = "'message' is required.")]
    [property: NoNulText(GitWorkspace.MaxMessage, ErrorMessage = "'message' must be text of at most 10000 characters.")]
    string? Message);

public sealed record GitCommitResponse(string Sha, string? Branch);

public sealed record GitRefRequest(string? Ref);

public sealed record GitBranchRequest(string? Name, string? From, bool? Checkout);

public sealed record GitPushResponse(bool Ok, string? Branch, string? Upstream, string Output);

public sealed record GitFileResponse(string Path, string Ref, string Content, long Size);

public sealed record GitOkResponse(bool Ok, string? Branch);

/// <summary>One commit as the history lists it.</summary>
public sealed record GitCommitSummary(string Sha, IReadOnlyList<string> Parents, string AuthorName, string AuthorEmail, DateTimeOffset AuthoredAt,
    string Subject);

/// <summary>A page of history, newest first; <c>Next</c> is the skip to pass for the following page, or null at the root.</summary>
public sealed record GitLogResponse(string? Ref, IReadOnlyList<GitCommitSummary> Commits, int? Next);

/// <summary>A commit with its whole message and its patch (against its first parent; cut at 2 MB).</summary>
public sealed record GitCommitDetail(GitCommitSummary Commit, string Message, string Diff, bool Truncated);

public sealed record GitDiscardRequest(
    [property: Required(ErrorMessage = "'paths' must list at least one path.")]
    [property: ItemCount(GitWorkspace.MaxPaths, Min = 1, ErrorMessage = "'paths' must list 1 to 1000 paths.")]
    IReadOnlyList<string>? Paths,
    bool? IncludeStaged);

/// <summary>Who commits made from the phone are by. Null where git has none configured.</summary>
public sealed record GitIdentity(string? Name, string? Email);

/// <summary>
/// Git for a phone: status, diffs, branches, stage/unstage, commit, checkout, push and the file at HEAD.
/// Nothing a client sends is ever read by git as an option: paths go after <c>--</c> (and are literal),
/// refs are validated by git itself and may never start with '-'. Every change is recorded in the ledger.
/// </summary>
public sealed class GitWorkspace(Projects.ProjectStore projects, WorkspaceRoots roots, GitCli git, Database database, Ledger.LedgerStore ledger)
{
    internal const int MaxPaths = 1000;
    internal const int MaxMessage = 10_000;
    private static readonly TimeSpan PushTimeout = TimeSpan.FromSeconds(120);

    public async Task<GitStatusResponse> StatusAsync(string projectId, string? session, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var result = await git.RunCheckedAsync(project.Path, ["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all"], cancellationToken);
        return GitStatusParser.Parse(result.Stdout);
    }

    public async Task<GitDiffResponse> DiffAsync(string projectId, string? session, string? path, bool staged, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        List<string> arguments = ["diff", "--no-color", "--no-ext-diff", "--no-textconv"];
        if (staged)
        {
            arguments.Add("--cached");
        }

        string? relative = null;
        arguments.Add("--");
        if (!string.IsNullOrEmpty(path))
        {
            relative = ProjectPaths.RelativeForGit(project, path);
            arguments.Add(relative.Length == 0 ? "." : relative);
        }

        var result = await git.RunCheckedAsync(project.Path, arguments, cancellationToken);
        return new GitDiffResponse(relative, staged, result.Stdout, result.Truncated);
    }

    public async Task<GitBranchesResponse> BranchesAsync(string projectId, string? session, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var result = await git.RunCheckedAsync(project.Path,
            ["for-each-ref", "--format=%(refname)%00%(refname:short)%00%(objectname)%00%(HEAD)%00%(upstream:short)", "refs/heads", "refs/remotes"],
            cancellationToken);
        var branches = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\0'))
            .Where(fields => fields.Length >= 5 && !fields[0].EndsWith("/HEAD", StringComparison.Ordinal))
            .Select(fields => new GitBranch(fields[1], fields[2], fields[3] == "*", fields[0].StartsWith("refs/remotes/", StringComparison.Ordinal),
                fields[4].Length > 0 ? fields[4] : null))
            .ToList();
        return new GitBranchesResponse(branches.FirstOrDefault(b => b.Current)?.Name, branches);
    }

    public async Task<GitStatusResponse> StageAsync(string projectId, string? session, GitPathsRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var paths = Paths(project, request.Paths);
        await git.RunCheckedAsync(project.Path, ["add", "--all", "--", .. paths], cancellationToken);
        Record(actor, "git.staged", project, new JsonObject { ["paths"] = ToJson(paths) });
        return await StatusAsync(projectId, session, cancellationToken);
    }

    public async Task<GitStatusResponse> UnstageAsync(string projectId, string? session, GitPathsRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var paths = Paths(project, request.Paths);
        var hasHead = await HasHeadAsync(project, cancellationToken);
        // Before the first commit there is no HEAD to restore from: take the paths out of the index instead.
        string[] arguments = hasHead ? ["restore", "--staged", "--", .. paths] : ["rm", "--cached", "-r", "-q", "--", .. paths];
        await git.RunCheckedAsync(project.Path, arguments, cancellationToken);
        Record(actor, "git.unstaged", project, new JsonObject { ["paths"] = ToJson(paths) });
        return await StatusAsync(projectId, session, cancellationToken);
    }

    public async Task<GitCommitResponse> CommitAsync(string projectId, string? session, GitCommitRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        // Checked first, so the owner gets an answer they can act on instead of git's advice to edit a global file, and no
        // commit is ever made as an identity git guessed (root@hostname).
        await git.RequireIdentityAsync(project.Path, "give it a name and an email for this project, or run " +
            "`git config --global user.name …` and `git config --global user.email …` on the machine.", cancellationToken);

        // --message=<text> is one argument: a message that starts with '-' stays a message.
        var result = await git.RunAsync(project.Path, ["commit", "--no-edit", "--message=" + request.Message], cancellationToken);
        if (result.ExitCode != 0)
        {
            if (result.Stdout.Contains("nothing to commit", StringComparison.Ordinal) || result.Stdout.Contains("nothing added to commit", StringComparison.Ordinal)
                || result.Stdout.Contains("no changes added to commit", StringComparison.Ordinal))
            {
                throw ApiProblem.Conflict(ErrorCodes.NothingToCommit, "Nothing is staged: stage changes before committing.");
            }

            throw GitCli.Failed("commit", result);
        }

        var sha = (await git.RunCheckedAsync(project.Path, ["rev-parse", "--verify", "HEAD"], cancellationToken)).Stdout.Trim();
        var branch = await CurrentBranchAsync(project, cancellationToken);
        Record(actor, "git.committed", project, new JsonObject { ["sha"] = sha, ["branch"] = branch, ["message"] = request.Message });
        return new GitCommitResponse(sha, branch);
    }

    /// <summary>The identity git would commit as (project, global or environment), without guessing one.</summary>
    public async Task<GitIdentity> IdentityAsync(string projectId, CancellationToken cancellationToken) =>
        await git.IdentityAsync(projects.Get(projectId).Path, cancellationToken);

    /// <summary>Sets the project's own identity (its <c>.git/config</c>); the machine's global one is left alone.</summary>
    public async Task<GitIdentity> SetIdentityAsync(string projectId, GitIdentity request, Actor actor, CancellationToken cancellationToken)
    {
        var project = projects.Get(projectId);
        var name = IdentityPart(request.Name, "name");
        var email = IdentityPart(request.Email, "email");
        if (!email.Contains('@', StringComparison.Ordinal))
        {
            throw ApiProblem.Validation("'email' must be an email address.");
        }

        // Values follow "--" so neither can be read as an option, whatever it starts with.
        await git.RunCheckedAsync(project.Path, ["config", "--local", "--replace-all", "--", "user.name", name], cancellationToken);
        await git.RunCheckedAsync(project.Path, ["config", "--local", "--replace-all", "--", "user.email", email], cancellationToken);
        Record(actor, "git.identity_set", project, new JsonObject { ["name"] = name, ["email"] = email });
        return await git.IdentityAsync(project.Path, cancellationToken);
    }

    private static string IdentityPart(string? value, string field)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed) || trimmed.Length > 200 || trimmed.Any(c => char.IsControl(c) || c is '<' or '>'))
        {
            throw ApiProblem.Validation($"'{field}' is required: at most 200 characters, no control characters or angle brackets.");
        }

        return trimmed;
    }

    public async Task<GitOkResponse> CheckoutAsync(string projectId, string? session, GitRefRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        // Verified to name a commit and not to start with '-' (checkout mishandles --end-of-options), so it is never an option.
        var reference = await VerifyRefAsync(project, request.Ref, cancellationToken);
        await git.RunCheckedAsync(project.Path, ["checkout", reference, "--"], cancellationToken);
        var branch = await CurrentBranchAsync(project, cancellationToken);
        Record(actor, "git.checked_out", project, new JsonObject { ["ref"] = reference, ["branch"] = branch });
        return new GitOkResponse(true, branch);
    }

    public async Task<GitOkResponse> CreateBranchAsync(string projectId, string? session, GitBranchRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var name = request.Name;
        if (string.IsNullOrWhiteSpace(name) || name.StartsWith('-') || name.Length > 250
            || (await git.RunAsync(project.Path, ["check-ref-format", "--branch", name], cancellationToken)).ExitCode != 0)
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidRef, $"'{name}' is not a valid branch name.");
        }

        List<string> arguments = ["branch", "--", name];
        if (request.From is not null)
        {
            arguments.Add(await VerifyRefAsync(project, request.From, cancellationToken));
        }

        await git.RunCheckedAsync(project.Path, arguments, cancellationToken);
        if (request.Checkout == true)
        {
            await git.RunCheckedAsync(project.Path, ["checkout", name, "--"], cancellationToken);
        }

        var branch = await CurrentBranchAsync(project, cancellationToken);
        Record(actor, "git.branch_created", project, new JsonObject { ["name"] = name, ["from"] = request.From, ["checkout"] = request.Checkout == true });
        return new GitOkResponse(true, branch);
    }

    /// <summary>Pushes the current branch to its configured upstream; never a remote or refspec from the client.</summary>
    public async Task<GitPushResponse> PushAsync(string projectId, string? session, Actor actor, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var branch = await CurrentBranchAsync(project, cancellationToken)
            ?? throw ApiProblem.Conflict(ErrorCodes.NoUpstream, "HEAD is detached: check out a branch to push.");
        var upstream = await git.RunAsync(project.Path, ["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"], cancellationToken);
        if (upstream.ExitCode != 0)
        {
            throw ApiProblem.Conflict(ErrorCodes.NoUpstream,
                $"Branch '{branch}' has no upstream. Set one on the machine (git push -u <remote> {branch}) and push again.");
        }

        var result = await git.RunAsync(project.Path, ["push", "--porcelain"], cancellationToken, PushTimeout);
        var output = (result.Stdout + result.Stderr).Trim();
        Record(actor, "git.pushed", project, new JsonObject
        {
            ["branch"] = branch,
            ["upstream"] = upstream.Stdout.Trim(),
            ["ok"] = result.ExitCode == 0,
        });
        if (result.ExitCode != 0)
        {
            var why = output.Contains("[rejected]", StringComparison.Ordinal) || output.Contains("non-fast-forward", StringComparison.Ordinal)
                ? "The remote has commits this branch does not: pull (or rebase) on the machine first. "
                : output.Contains("Authentication failed", StringComparison.OrdinalIgnoreCase) || output.Contains("could not read Username", StringComparison.Ordinal)
                    ? "The remote needs credentials that are not available without a prompt. "
                    : "";
            throw ApiProblem.Conflict(ErrorCodes.GitFailed, $"git push failed (exit {result.ExitCode}). {why}Output: {Tail(output)}");
        }

        return new GitPushResponse(true, branch, upstream.Stdout.Trim(), output);
    }

    public async Task<GitFileResponse> FileAtHeadAsync(string projectId, string? session, string? path, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var relative = ProjectPaths.RelativeForGit(project, path);
        if (relative.Length == 0)
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidPath, "'path' must name a file.");
        }

        // "HEAD:<path>" is one argument that starts with "HEAD:", so it can never be read as an option.
        var spec = "HEAD:" + relative;
        var size = await git.RunAsync(project.Path, ["cat-file", "-s", spec], cancellationToken);
        if (size.ExitCode != 0)
        {
            throw ApiProblem.NotFound(ErrorCodes.FileNotFound, $"'{relative}' is not in HEAD.");
        }

        var bytes = long.Parse(size.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        if (bytes > Math.Min(Files.WorkspaceFiles.MaxReadBytes, GitCli.OutputLimit))
        {
            throw new ApiProblem(StatusCodes.Status413PayloadTooLarge, ErrorCodes.FileTooLarge, $"'{relative}' is {bytes} bytes at HEAD; too large to show.");
        }

        var content = await git.RunCheckedAsync(project.Path, ["cat-file", "blob", spec], cancellationToken);
        if (content.Stdout.AsSpan(0, Math.Min(content.Stdout.Length, 8192)).Contains('\0'))
        {
            throw new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.BinaryFile, $"'{relative}' is binary at HEAD.");
        }

        return new GitFileResponse(relative, "HEAD", content.Stdout, bytes);
    }

    // Six fields per commit, each ended by a NUL (-z ends the last one): nothing in a name or subject can shift them.
    private const string SummaryFields = "%H%x00%P%x00%an%x00%ae%x00%at%x00%s";
    private const int SummaryFieldCount = 6;

    /// <summary>History of <paramref name="reference"/> (HEAD when null), newest first, <paramref name="limit"/> at a time.</summary>
    public async Task<GitLogResponse> LogAsync(string projectId, string? session, string? reference, int skip, int limit, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        if (reference is null && !await HasHeadAsync(project, cancellationToken))
        {
            return new GitLogResponse(null, [], null);
        }

        var start = await ResolveCommitAsync(project, reference ?? "HEAD", cancellationToken);
        // One more than asked tells whether there is a next page.
        var result = await git.RunCheckedAsync(project.Path,
            ["log", "-z", "--format=" + SummaryFields, $"--skip={skip}", $"--max-count={limit + 1}", start, "--"], cancellationToken);
        var fields = result.Stdout.Split('\0');
        var commits = Enumerable.Range(0, fields.Length / SummaryFieldCount)
            .Select(i => Summary(fields.AsSpan(i * SummaryFieldCount, SummaryFieldCount))).ToList();
        var more = commits.Count > limit;
        return new GitLogResponse(reference, more ? commits[..limit] : commits, more ? skip + limit : null);
    }

    public async Task<GitCommitDetail> CommitDetailAsync(string projectId, string? session, string? sha, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        // The commit's own id, also for a tag's name: what is shown and diffed is the commit, never a tag object.
        var commit = await ResolveCommitAsync(project, sha, cancellationToken);
        var head = await git.RunCheckedAsync(project.Path, ["show", "--no-patch", "--format=" + SummaryFields + "%x00%B", commit], cancellationToken);
        var fields = head.Stdout.Split('\0');
        var summary = Summary(fields.AsSpan(0, SummaryFieldCount));
        // A merge shows what it brought in over its first parent, as a reviewer reads it.
        var patch = await git.RunCheckedAsync(project.Path,
            ["show", "--format=", "--patch", "--stat", "--diff-merges=first-parent", "--no-color", "--no-ext-diff", "--no-textconv", commit],
            cancellationToken);
        return new GitCommitDetail(summary, fields.Length > 6 ? fields[6].TrimEnd('\n') : summary.Subject, patch.Stdout.TrimStart('\n'), patch.Truncated);
    }

    /// <summary>
    /// Throws away working-tree changes to the paths: tracked files go back to the index (or, with
    /// <c>IncludeStaged</c>, to HEAD), untracked files are deleted. Folders are never removed whole.
    /// </summary>
    public async Task<GitStatusResponse> DiscardAsync(string projectId, string? session, GitDiscardRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var project = roots.Get(projectId, session);
        var paths = Paths(project, request.Paths);
        // Files only: a folder would take everything under it, whatever the owner saw listed.
        if (paths.FirstOrDefault(p => Directory.Exists(Path.Combine(project.Path, p))) is { } folder)
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidPath, $"'{(folder == "." ? "" : folder)}' is a folder: discard names files, as git status lists them.");
        }

        var status = await StatusAsync(projectId, session, cancellationToken);
        var untracked = status.Untracked.Select(p => p.TrimEnd('/')).ToHashSet(StringComparer.Ordinal);
        var tracked = paths.Where(p => !untracked.Contains(p)).ToList();
        var removed = paths.Where(untracked.Contains).ToList();
        var includeStaged = request.IncludeStaged == true;
        var hasHead = await HasHeadAsync(project, cancellationToken);
        if (tracked.Count > 0)
        {
            string[] arguments = includeStaged && hasHead
                ? ["restore", "--source=HEAD", "--staged", "--worktree", "--", .. tracked]
                : ["restore", "--worktree", "--", .. tracked];
            var result = await git.RunAsync(project.Path, arguments, cancellationToken);
            if (result.ExitCode != 0)
            {
                throw result.Stderr.Contains("did not match", StringComparison.Ordinal)
                    ? ApiProblem.BadRequest(ErrorCodes.InvalidPath, $"Nothing to discard at: {string.Join(", ", tracked)} (not changed, or not known to git).")
                    : GitCli.Failed("restore", result);
            }
        }

        if (removed.Count > 0)
        {
            // Without -d, clean deletes only files: a path naming a folder cannot take the folder with it.
            await git.RunCheckedAsync(project.Path, ["clean", "--force", "--quiet", "--", .. removed], cancellationToken);
        }

        Record(actor, "git.discarded", project, new JsonObject
        {
            ["paths"] = ToJson(tracked),
            ["deleted"] = ToJson(removed),
            ["includeStaged"] = includeStaged,
        });
        return await StatusAsync(projectId, session, cancellationToken);
    }

    private static GitCommitSummary Summary(ReadOnlySpan<string> f) => new(f[0], f[1].Split(' ', StringSplitOptions.RemoveEmptyEntries), f[2], f[3],
        // Seconds since the epoch: a commit's hand-written time zone can be anything, the instant cannot.
        DateTimeOffset.FromUnixTimeSeconds(long.TryParse(f[4], System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? seconds : 0), f[5]);

    /// <summary>The full id of the commit a ref names (checked as <see cref="VerifyRefAsync"/> does).</summary>
    private async Task<string> ResolveCommitAsync(Project project, string? reference, CancellationToken cancellationToken)
    {
        var verified = await VerifyRefAsync(project, reference, cancellationToken);
        var sha = await git.RunCheckedAsync(project.Path, ["rev-parse", "--verify", "--quiet", "--end-of-options", verified + "^{commit}"], cancellationToken);
        return sha.Stdout.Trim();
    }

    private async Task<string> VerifyRefAsync(Project project, string? reference, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(reference) || reference.StartsWith('-') || reference.Length > 250
            || reference.Any(c => char.IsControl(c) || c == ' '))
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidRef, $"'{reference}' is not a valid ref.");
        }

        var verified = await git.RunAsync(project.Path, ["rev-parse", "--verify", "--quiet", "--end-of-options", reference + "^{commit}"], cancellationToken);
        if (verified.ExitCode != 0)
        {
            throw ApiProblem.BadRequest(ErrorCodes.InvalidRef, $"No commit named '{reference}'.");
        }

        return reference;
    }

    private async Task<bool> HasHeadAsync(Project project, CancellationToken cancellationToken) =>
        (await git.RunAsync(project.Path, ["rev-parse", "--verify", "--quiet", "HEAD"], cancellationToken)).ExitCode == 0;

    private async Task<string?> CurrentBranchAsync(Project project, CancellationToken cancellationToken)
    {
        var result = await git.RunAsync(project.Path, ["symbolic-ref", "--quiet", "--short", "HEAD"], cancellationToken);
        return result.ExitCode == 0 ? result.Stdout.Trim() : null;
    }

    private static List<string> Paths(Project project, IReadOnlyList<string>? paths) =>
        [.. paths!.Select(p => ProjectPaths.RelativeForGit(project, p)).Select(p => p.Length == 0 ? "." : p)];

    private void Record(Actor actor, string action, Project project, JsonObject detail)
    {
        detail["deviceId"] = actor.Id;
        database.Write(write => ledger.Append(write, actor.Name, action, project.Id, detail));
    }

    private static JsonArray ToJson(IEnumerable<string> paths) => [.. paths.Select(p => (JsonNode)p)];

    private static string Tail(string output) => output.Length > 4000 ? "…" + output[^4000..] : output;
}
