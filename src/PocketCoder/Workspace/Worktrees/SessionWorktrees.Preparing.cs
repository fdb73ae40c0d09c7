using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Workspace.Git;

namespace PocketCoder.Workspace.Worktrees;

/// <summary>Where a new session's worktree starts from, checked before the session is answered.</summary>
/// <param name="BaseRef">The branch the work merges back into, or the commit itself when the base was not a branch.</param>
public sealed record WorktreeBase(string BaseRef, string BaseCommit);

/// <summary>A session's worktree being made (or that could not be: <paramref name="Failed"/> says why).</summary>
public sealed record WorktreePreparation(string SessionId, string ProjectId, string BaseRef, string BaseCommit, DateTimeOffset StartedAt, string? Failed);

/// <summary>One step of making a worktree, as the phone shows it (<c>session.preparing</c>).</summary>
/// <param name="Percent">How far git's checkout is, when it says (a long one: git is quiet for its first second).</param>
/// <param name="Done">Files written so far, with <paramref name="Percent"/>.</param>
/// <param name="Total">Files to write, with <paramref name="Percent"/>.</param>
public sealed record WorktreeProgress(string Phase, int? Percent = null, long? Done = null, long? Total = null);

/// <summary>The phases of <c>session.preparing</c> (docs/api.md).</summary>
public static class PreparationPhases
{
    /// <summary>The session's branch and its empty worktree are being made.</summary>
    public const string Branch = "branch";

    /// <summary>The base's files are being written into the worktree (with a percentage once git gives one).</summary>
    public const string Checkout = "checkout";

    /// <summary>Submodules are being checked out from the project's own copies.</summary>
    public const string Submodules = "submodules";

    /// <summary>The worktree is there; the agent starts in it.</summary>
    public const string Ready = "ready";
}

/// <summary>
/// Making a session's worktree takes as long as git takes to write every file of the base (seconds on a large repository),
/// so it happens after the session is answered: <see cref="PlanAsync"/> checks the base while the owner waits,
/// <see cref="RecordPreparation"/> keeps what to make with the new session, and <see cref="PrepareAsync"/> makes it, step by step
/// with progress. A worktree that is half made when it fails or is cancelled is taken away again, branch and all; the
/// preparation's row stays with the reason, so the session can never start its agent in the project's own folder instead.
/// </summary>
public sealed partial class SessionWorktrees
{
    private const string PreparationColumns = "session_id, project_id, base_ref, base_commit, started_at, failed";

    /// <summary>Writing a large repository's files takes a while; a git that hangs is still stopped some day.</summary>
    private static readonly TimeSpan CheckoutTimeout = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Awaited before each phase of <see cref="PrepareAsync"/> with its name and the preparation's cancellation: a test holds
    /// a phase here to see what the owner sees meanwhile (a worktree takes seconds to make only on a large repository).
    /// </summary>
    internal Func<string, CancellationToken, Task> BeforePhase { get; set; } = (_, _) => Task.CompletedTask;

    /// <summary>Checks that a worktree can start from <paramref name="baseRef"/> (null: the branch the repository is on, or its commit).</summary>
    /// <exception cref="ApiProblem"><c>WORKTREE_UNAVAILABLE</c> (no such base, no commit yet, not the repository's top folder),
    /// <c>GIT_NOT_INITIALIZED</c>, <c>VALIDATION_FAILED</c>.</exception>
    public async Task<WorktreeBase> PlanAsync(Project project, string? baseRef, CancellationToken cancellationToken)
    {
        // As few git runs as can be (each is two processes, see GitCli): the owner waits for these.
        var head = (await git.RunAsync(project.Path, ["rev-parse", "--show-toplevel", "--symbolic-full-name", "HEAD"], cancellationToken)).Stdout
            .Split('\n', StringSplitOptions.TrimEntries);
        var top = head[0];
        if (top != project.Path)
        {
            throw ApiProblem.Conflict(ErrorCodes.WorktreeUnavailable,
                $"A session worktree needs the project to be a repository's top folder; this project is inside {top}.");
        }

        // The branch the repository is on; none when detached (HEAD), or before the first commit (git names nothing then).
        var current = head.Length > 1 && head[1].StartsWith("refs/heads/", StringComparison.Ordinal) ? head[1]["refs/heads/".Length..] : "";
        var from = baseRef is { Length: > 0 } given ? given : current.Length > 0 ? current : "HEAD";
        if (from.StartsWith('-') || from.Any(char.IsControl))
        {
            throw ApiProblem.Validation($"'base' must name a branch or a commit; got '{from}'.");
        }

        // A branch by that name wins over a tag or other ref with the same name.
        var commit = await git.RunAsync(project.Path, ["rev-parse", "--verify", "--quiet", "--end-of-options", "refs/heads/" + from + "^{commit}"], cancellationToken);
        var isBranch = commit.ExitCode == 0;
        if (!isBranch)
        {
            commit = await git.RunAsync(project.Path, ["rev-parse", "--verify", "--quiet", "--end-of-options", from + "^{commit}"], cancellationToken);
        }

        if (commit.ExitCode != 0)
        {
            throw ApiProblem.BadRequest(ErrorCodes.WorktreeUnavailable,
                from == "HEAD" ? "The repository has no commit yet: commit once, then start a session in a worktree." : $"No branch or commit '{from}' in the repository.");
        }

        var baseCommit = commit.Stdout.Trim();
        // A branch name as base stays a name (what the work merges into); anything else is the commit itself.
        return new WorktreeBase(isBranch ? from : baseCommit, baseCommit);
    }

    /// <summary>Keeps what the new session's worktree is made from, in the transaction that records the session.</summary>
    public void RecordPreparation(DbWrite write, string sessionId, Project project, WorktreeBase from) =>
        write.Execute($"INSERT INTO session_preparations ({PreparationColumns}) VALUES ($s, $p, $ref, $c, $at, NULL)",
            ("$s", sessionId), ("$p", project.Id), ("$ref", from.BaseRef), ("$c", from.BaseCommit), ("$at", clock.GetUtcNow().ToDb()));

    public WorktreePreparation? Preparation(string sessionId) => database.Read(connection => connection.Query(
        $"SELECT {PreparationColumns} FROM session_preparations WHERE session_id = $s", MapPreparation, ("$s", sessionId)).FirstOrDefault());

    /// <summary>Worktrees whose making a restart cut short (a crash, a shutdown): the server finishes them as it starts.</summary>
    public IReadOnlyList<WorktreePreparation> Unfinished() => database.Read(connection => connection.Query(
        $"SELECT {PreparationColumns} FROM session_preparations WHERE failed IS NULL ORDER BY started_at", MapPreparation));

    /// <summary>
    /// The new worktree's files start as <paramref name="tree"/> (a snapshot of this repository's, <see cref="WorktreeSnapshots"/>)
    /// rather than as its base commit has them: a fork's, from the opening of the turn it forks from. In the session's recording transaction.
    /// </summary>
    public void StartAs(DbWrite write, string sessionId, string tree) =>
        write.Execute("UPDATE session_preparations SET start_tree = $t WHERE session_id = $s", ("$t", tree), ("$s", sessionId));

    /// <summary>A fork's worktree: its base's files as checked out, put to the snapshot's (uncommitted changes on its branch, for the owner to see).</summary>
    private async Task StartAsSnapshotAsync(string sessionId, string path, CancellationToken cancellationToken)
    {
        if (StartTree(sessionId) is { } start)
        {
            var checkedOut = await snapshots.TakeAsync(path, cancellationToken)
                ?? throw new InvalidOperationException("The new worktree is not a git repository.");
            await snapshots.RestoreAsync(path, checkedOut, start, cancellationToken);
        }
    }

    private string? StartTree(string sessionId) => database.Read(connection =>
        connection.Scalar<string>("SELECT start_tree FROM session_preparations WHERE session_id = $s", ("$s", sessionId)));

    /// <summary>The worktree will not be made: why (it stays, so the session never starts without it).</summary>
    public void PreparationFailed(DbWrite write, string sessionId, string reason) =>
        write.Execute("UPDATE session_preparations SET failed = $why WHERE session_id = $s", ("$why", reason), ("$s", sessionId));

    /// <summary>
    /// Makes the session's branch and worktree from its recorded preparation, telling <paramref name="progress"/> each step, and
    /// records it. Whatever stops it (git failing, a full disk, <paramref name="cancellationToken"/>) takes the half-made
    /// worktree and branch away before the exception goes on; the caller records the failure.
    /// </summary>
    public async Task<SessionWorktree> PrepareAsync(string sessionId, Actor actor, Action<WorktreeProgress> progress, CancellationToken cancellationToken)
    {
        var preparation = Preparation(sessionId) ?? throw new InvalidOperationException($"Session {sessionId} has no worktree to prepare.");
        var project = projects.Get(preparation.ProjectId);
        var branch = BranchName(sessionId);
        var path = System.IO.Path.Combine(Root(project.Id), sessionId);
        try
        {
            // What a run the server did not live to finish left behind.
            await DiscardHalfMadeAsync(project, sessionId, path, branch, preparation.BaseCommit, CancellationToken.None);
            await BeforePhase(PreparationPhases.Branch, cancellationToken);
            progress(new WorktreeProgress(PreparationPhases.Branch));
            Directory.CreateDirectory(Root(project.Id));
            // The branch and an empty worktree first (quick at any size), then the files with git's progress meter.
            await git.RunCheckedAsync(project.Path, ["worktree", "add", "--no-checkout", "--quiet", "-b", branch, "--end-of-options", path, preparation.BaseCommit],
                cancellationToken, GitTimeout);
            await BeforePhase(PreparationPhases.Checkout, cancellationToken);
            progress(new WorktreeProgress(PreparationPhases.Checkout));
            var meter = new CheckoutMeter(progress);
            var checkout = await git.RunAsync(path, ["checkout", "--progress", "--force"], cancellationToken, CheckoutTimeout, onProgress: meter.Read);
            if (checkout.ExitCode != 0)
            {
                throw GitCli.Failed("checkout", checkout with { Stderr = CheckoutMeter.WithoutMeter(checkout.Stderr) });
            }

            if (File.Exists(System.IO.Path.Combine(path, ".gitmodules")))
            {
                await BeforePhase(PreparationPhases.Submodules, cancellationToken);
                progress(new WorktreeProgress(PreparationPhases.Submodules));
                await CheckOutSubmodulesAsync(project, path, preparation.BaseCommit, cancellationToken);
            }

            await StartAsSnapshotAsync(sessionId, path, cancellationToken);
            await BeforePhase(PreparationPhases.Ready, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            var worktree = new SessionWorktree(sessionId, project.Id, path, branch, preparation.BaseRef, preparation.BaseCommit, clock.GetUtcNow(), null);
            database.Write(write =>
            {
                write.Execute($"INSERT INTO session_worktrees ({Columns}) VALUES ($s, $p, $path, $b, $ref, $c, $at, NULL)",
                    ("$s", sessionId), ("$p", project.Id), ("$path", path), ("$b", branch), ("$ref", worktree.BaseRef), ("$c", worktree.BaseCommit),
                    ("$at", worktree.CreatedAt.ToDb()));
                write.Execute("DELETE FROM session_preparations WHERE session_id = $s", ("$s", sessionId));
                ledger.Append(write, actor.Name, "worktree.created", sessionId, new JsonObject
                {
                    ["projectId"] = project.Id, ["branch"] = branch, ["base"] = worktree.BaseRef, ["baseCommit"] = worktree.BaseCommit, ["deviceId"] = actor.Id,
                });
            });
            progress(new WorktreeProgress(PreparationPhases.Ready));
            return worktree;
        }
        catch (Exception)
        {
            try
            {
                await DiscardHalfMadeAsync(project, sessionId, path, branch, preparation.BaseCommit, CancellationToken.None);
            }
            catch (Exception cleanup)
            {
                // The first failure is the one the owner hears of; the orphan list shows what is left.
                logger.LogWarning(cleanup, "The half-made worktree {Path} of session {Session} could not be removed", path, sessionId);
            }

            throw;
        }
    }

    /// <summary>
    /// Takes away what an unfinished preparation left: its folder (as git's worktree or a plain folder of ours) and its branch,
    /// when that holds nothing but its base and no recorded worktree has it (a branch of the same name made by anyone else, with
    /// work on it, is never touched).
    /// </summary>
    private async Task DiscardHalfMadeAsync(Project project, string sessionId, string path, string branch, string baseCommit, CancellationToken cancellationToken)
    {
        if (Find(sessionId) is not null)
        {
            return;
        }

        if (Directory.Exists(path))
        {
            await RemoveWorktreeAsync(project, path, cancellationToken);
        }
        else
        {
            await git.RunAsync(project.Path, ["worktree", "prune"], cancellationToken);
        }

        var taken = database.Read(connection => connection.Scalar<long>("SELECT COUNT(*) FROM session_worktrees WHERE branch = $b", ("$b", branch))) > 0;
        var tip = await git.RunAsync(project.Path, ["rev-parse", "--verify", "--quiet", "--end-of-options", "refs/heads/" + branch], cancellationToken);
        if (!taken && tip.ExitCode == 0 && tip.Stdout.Trim() == baseCommit)
        {
            await git.RunAsync(project.Path, ["branch", "-D", "--end-of-options", branch], cancellationToken);
        }
    }

    private static ApiProblem NotReady(WorktreePreparation preparation) => ApiProblem.Conflict(ErrorCodes.WorktreeUnavailable, preparation.Failed is { } why
        ? $"This session's worktree could not be made ({why}). Start a new session."
        : "This session's worktree is being prepared: it is ready once the session starts its agent.");

    private static WorktreePreparation MapPreparation(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.Time(4), r.NullableString(5));
}

/// <summary>
/// Reads git's progress meter ("Updating files:  42% (4200/10000)", redrawn with carriage returns, in pieces as they
/// arrive) and reports the checkout every five percent, so a long one moves on the phone without an event per file.
/// Anything else git prints is passed over.
/// </summary>
public sealed partial class CheckoutMeter(Action<WorktreeProgress> report)
{
    private const int Step = 5;

    /// <summary>A line longer than this is no meter line: it is dropped rather than kept growing.</summary>
    private const int MaxLine = 512;

    private readonly StringBuilder _line = new();
    private int _reported = -1;

    public void Read(string chunk)
    {
        foreach (var c in chunk)
        {
            if (c is '\r' or '\n')
            {
                Line(_line.ToString());
                _line.Clear();
            }
            else if (_line.Length < MaxLine)
            {
                _line.Append(c);
            }
        }
    }

    /// <summary>git's error output with the meter's redrawn lines taken out: what is left says what went wrong.</summary>
    public static string WithoutMeter(string stderr) =>
        string.Join('\n', stderr.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries).Where(l => !MeterLine().IsMatch(l)));

    private void Line(string line)
    {
        if (MeterLine().Match(line) is not { Success: true } match
            || !int.TryParse(match.Groups["percent"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var percent) || percent > 100
            || !long.TryParse(match.Groups["done"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var done)
            || !long.TryParse(match.Groups["total"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var total))
        {
            return;
        }

        // Each time it passes a multiple of five (the first reading whatever it is), and 100 once.
        if (percent / Step > _reported / Step || (_reported < 0 && percent >= 0))
        {
            _reported = percent;
            report(new WorktreeProgress(PreparationPhases.Checkout, percent, done, total));
        }
    }

    [GeneratedRegex(@"^\s*[A-Za-z][A-Za-z ]*:\s+(?<percent>\d{1,3})% \((?<done>\d{1,12})/(?<total>\d{1,12})\)")]
    private static partial Regex MeterLine();
}
