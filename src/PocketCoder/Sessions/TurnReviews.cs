using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Workspace.Git;

namespace PocketCoder.Sessions;

/// <summary>A turn's changes: <c>finished</c> is false for a turn cut off (a restart), whose changes run up to now.</summary>
public sealed record TurnChanges(int Turn, bool Finished, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, IReadOnlyList<ChangedFile> Files,
    string Diff, bool Truncated);

public sealed record TurnReviewRequest(
    [property: Required(ErrorMessage = "'verdict' is 'approve' or 'changes'.")]
    [property: AllowedValues("approve", "changes", ErrorMessage = "'verdict' is 'approve' or 'changes'.")]
    string? Verdict,
    [property: StringLength(SessionsApi.MaxMessageLength, ErrorMessage = "'message' is at most {1} characters.")]
    string? Message);

/// <summary>
/// What each turn of a session changed in its project, for the owner to review: a snapshot of the working tree when a
/// turn begins and another when it ends (<see cref="WorktreeSnapshots"/>). Reviewing sends the verdict to the agent.
/// A snapshot that fails (not a repository, git too slow) leaves that turn without a review; the turn itself goes on.
/// </summary>
public sealed class TurnReviews(Database database, WorktreeSnapshots snapshots, Ledger.LedgerStore ledger, TimeProvider clock,
    ILogger<TurnReviews> logger)
{
    /// <summary>Snapshots the tree as a turn begins; returns the turn's number, or null when there is nothing to review against (never throws but for cancellation).</summary>
    public async Task<int?> BeginAsync(string sessionId, Project project, CancellationToken cancellationToken)
    {
        if (await SnapshotAsync(project, cancellationToken).ConfigureAwait(false) is not { } before)
        {
            return null;
        }

        return database.Write(write => (int)write.Scalar<long>("""
            INSERT INTO turn_reviews (session_id, turn, before_tree, started_at)
            VALUES ($session, (SELECT coalesce(max(turn), 0) + 1 FROM turn_reviews WHERE session_id = $session), $tree, $at)
            RETURNING turn
            """, ("$session", sessionId), ("$tree", before), ("$at", clock.GetUtcNow().ToDb())));
    }

    /// <summary>
    /// Snapshots the tree as the turn ends: the number of files it changed (null: no review for this turn).
    /// Runs after the turn, off the request and the agent's events: nothing waits on it, so it never throws.
    /// </summary>
    /// <param name="resumeAt">Where the agent's conversation can be cut after this turn, kept for a rewind or fork (<see cref="Rewinds"/>).</param>
    public async Task<int?> EndAsync(string sessionId, int turn, string? resumeAt, Project project)
    {
        if (resumeAt is not null)
        {
            database.Write(write => write.Execute("UPDATE turn_reviews SET resume_at = $at WHERE session_id = $s AND turn = $t",
                ("$at", resumeAt), ("$s", sessionId), ("$t", turn)));
        }

        var before = database.Read(c => c.Scalar<string>("SELECT before_tree FROM turn_reviews WHERE session_id = $s AND turn = $t AND after_tree IS NULL",
            ("$s", sessionId), ("$t", turn)));
        if (before is null || await SnapshotAsync(project, CancellationToken.None).ConfigureAwait(false) is not { } after)
        {
            return null;
        }

        int files;
        try
        {
            files = after == before ? 0 : (await snapshots.DiffAsync(project.Path, before, after, CancellationToken.None).ConfigureAwait(false)).Files.Count;
        }
        catch (Exception exception)
        {
            logger.LogWarning("Turn {Turn} of session {Session}: its changes could not be listed: {Detail}", turn, sessionId, exception.Message);
            return null;
        }

        var at = clock.GetUtcNow().ToDb();
        database.Write(write => write.Execute(
            "UPDATE turn_reviews SET after_tree = $after, files = $files, finished_at = $at WHERE session_id = $s AND turn = $t",
            ("$after", after), ("$files", files), ("$at", at), ("$s", sessionId), ("$t", turn)));
        return files;
    }

    public async Task<TurnChanges> ChangesAsync(Session session, Project project, int turn, CancellationToken cancellationToken)
    {
        var row = database.Read(c => c.Query(
            "SELECT before_tree, after_tree, started_at, finished_at FROM turn_reviews WHERE session_id = $s AND turn = $t",
            r => (Before: r.GetString(0), After: r.NullableString(1), Started: r.Time(2), Finished: r.NullableTime(3)),
            ("$s", session.Id), ("$t", turn)).FirstOrDefault());
        if (row.Before is null)
        {
            throw ApiProblem.NotFound(ErrorCodes.TurnNotFound, $"Session {session.Id} has no reviewable turn {turn} (turns are counted from 1; a project that is not a git repository has none).");
        }

        // A turn cut off by a restart never got its closing snapshot: its changes run up to the tree as it is now.
        var after = row.After ?? await SnapshotAsync(project, cancellationToken).ConfigureAwait(false)
            ?? throw ApiProblem.Conflict(ErrorCodes.GitNotInitialized, "The project is no longer a git repository, or its tree could not be read now.");
        if (!await snapshots.ExistAsync(project.Path, [row.Before, after], cancellationToken).ConfigureAwait(false))
        {
            throw ApiProblem.NotFound(ErrorCodes.TurnNotFound,
                $"Turn {turn}'s snapshots are gone from the repository (git gc removes unreferenced trees after a while): its changes can no longer be shown.");
        }

        var diff = await snapshots.DiffAsync(project.Path, row.Before, after, cancellationToken).ConfigureAwait(false);
        return new TurnChanges(turn, row.After is not null, row.Started, row.Finished, diff.Files, diff.Diff, diff.Truncated);
    }

    /// <summary>The message the verdict sends to the agent; recorded in the ledger as <c>turn.reviewed</c>.</summary>
    public string Review(Session session, int turn, TurnReviewRequest request, Auth.Actor actor)
    {
        if (database.Read(c => c.Scalar<long>("SELECT count(*) FROM turn_reviews WHERE session_id = $s AND turn = $t", ("$s", session.Id), ("$t", turn))) == 0)
        {
            throw ApiProblem.NotFound(ErrorCodes.TurnNotFound, $"Session {session.Id} has no reviewable turn {turn}.");
        }

        var note = request.Message?.Trim();
        if (request.Verdict == "changes" && string.IsNullOrEmpty(note))
        {
            throw ApiProblem.Validation("Say which changes you want: 'message' is required with the verdict 'changes'.");
        }

        database.Write(write => ledger.Append(write, actor.Name, "turn.reviewed", session.Id, new JsonObject
        {
            ["turn"] = turn,
            ["verdict"] = request.Verdict,
            ["deviceId"] = actor.Id,
        }));
        return request.Verdict == "approve"
            ? "I reviewed your changes: they look good." + (string.IsNullOrEmpty(note) ? "" : "\n\n" + note)
            : "I reviewed your changes and want these changed:\n\n" + note;
    }

    /// <summary>The tree now, or null: a snapshot that fails for any reason (disk, permissions, time) costs the turn its review, never the turn.</summary>
    private async Task<string?> SnapshotAsync(Project project, CancellationToken cancellationToken)
    {
        try
        {
            return await snapshots.TakeAsync(project.Path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Could not snapshot the working tree of {Project} for a turn review: {Detail}", project.Name, exception.Message);
            return null;
        }
    }
}
