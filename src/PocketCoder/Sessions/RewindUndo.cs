using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Workspace.Git;

namespace PocketCoder.Sessions;

/// <summary>A rewind that can still be undone: the session it made, the one it rewound, and until when.</summary>
public sealed record RewindRecord(string SessionId, string RewoundId, int Turn, string BeforeTree, string AfterTree, DateTimeOffset RewoundAt,
    DateTimeOffset? UndoneAt)
{
    public DateTimeOffset UndoUntil => RewoundAt.AddHours(Rewinds.UndoHours);
}

/// <summary>
/// Undoing a rewind (docs/steering.md, "Rewind and fork"), for <see cref="Rewinds.UndoHours"/> after it and while the files are as it
/// left them: the files go back to exactly what they were before it (kept on its ref), through the same link-safe restore; the
/// rewind's session stops, and a new one carries the rewound session's whole conversation on, as if the rewind had not happened.
/// </summary>
public sealed class RewindUndo(
    Database database,
    SessionStore sessions,
    SessionManager manager,
    WorktreeSnapshots snapshots,
    Rewinds rewinds,
    TimeProvider clock)
{
    /// <summary>The rewind that made <paramref name="sessionId"/>, or null.</summary>
    public RewindRecord? Find(string sessionId) => database.Read(c => c.Query(
        "SELECT session_id, rewound_id, turn, before_tree, after_tree, rewound_at, undone_at FROM session_rewinds WHERE session_id = $s",
        r => new RewindRecord(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.Time(5), r.NullableTime(6)),
        ("$s", sessionId))).FirstOrDefault();

    /// <summary>Puts the files back as they were before the rewind that made <paramref name="sessionId"/>; returns the session that carries on.</summary>
    /// <exception cref="ApiProblem">404 <c>REWIND_NOT_FOUND</c>; 409 <c>UNDO_EXPIRED</c>, <c>SESSION_BUSY</c>, <c>FILES_CHANGED_SINCE</c>.</exception>
    public async Task<Session> UndoAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        manager.EnsureMaySteer(sessionId, actor);
        return await rewinds.ExclusivelyAsync(async () =>
        {
            var record = Find(sessionId) is { UndoneAt: null } found ? found : throw ApiProblem.NotFound(ErrorCodes.RewindNotFound,
                "This session was not made by a rewind, or its rewind was undone already.");
            // Its files carried on by a rewind of its own: undoing this one would work on the project's own folder.
            rewinds.EnsureNotCarriedOn(sessionId);
            if (clock.GetUtcNow() > record.UndoUntil)
            {
                throw ApiProblem.Conflict(ErrorCodes.UndoExpired,
                    $"A rewind can be undone for {Rewinds.UndoHours} hours; this one was at {record.RewoundAt:u}. The files before it stay on " +
                    $"{WorktreeSnapshots.KeptRef(record.RewoundId)} until git gc, if you need them.");
            }

            var session = sessions.Get(sessionId);
            var rewound = sessions.Get(record.RewoundId);
            var adapter = rewinds.AdapterOf(rewound);
            var folder = rewinds.FolderOf(session);
            if (manager.IsWorking(session.Id))
            {
                throw Rewinds.Busy();
            }

            await manager.TurnReviewsSettledAsync(session.Id, cancellationToken);
            var now = await snapshots.TakeAsync(folder, cancellationToken)
                ?? throw ApiProblem.Conflict(ErrorCodes.GitNotInitialized, "The project is no longer a git repository.");
            if (now != record.AfterTree)
            {
                var (written, removed) = await snapshots.ChangesAsync(folder, record.AfterTree, now, cancellationToken);
                var changed = written.Concat(removed).Order(StringComparer.Ordinal).ToList();
                throw new ApiProblem(StatusCodes.Status409Conflict, ErrorCodes.FilesChangedSince,
                    $"Files changed since the rewind ({string.Join(", ", changed.Take(10))}{(changed.Count > 10 ? ", …" : "")}): undoing it would " +
                    "lose those changes, so nothing was undone. Undo them first, or rewind this session instead.")
                {
                    Fields = new Dictionary<string, object?> { ["files"] = changed.ToArray() },
                };
            }

            if (!await snapshots.ExistAsync(folder, [record.BeforeTree], cancellationToken))
            {
                throw ApiProblem.Conflict(ErrorCodes.UndoExpired, "The files as they were before the rewind are gone from the repository: it cannot be undone.");
            }

            try
            {
                await manager.HandBackAsync(session.Id, actor, cancellationToken);
            }
            catch (ApiProblem problem) when (problem.Code == ErrorCodes.SessionBusy)
            {
                throw Rewinds.Busy();
            }

            var restored = await rewinds.RestoreAsync(folder, now, record.BeforeTree, null, record.RewoundId, cancellationToken);
            var points = rewinds.Points(rewound.Id);
            var next = points.Count == 0 ? 1 : points[^1].Turn + 1;
            var carried = await rewinds.CarryOnAsync(rewound, adapter, points, next, actor, "undo", "session.rewind_undone",
                new JsonObject { ["undoneSessionId"] = session.Id, ["filesRestored"] = restored }, (write, created) =>
                {
                    write.Execute("UPDATE session_worktrees SET session_id = $new WHERE session_id = $old", ("$new", created.Id), ("$old", session.Id));
                    write.Execute("UPDATE session_rewinds SET undone_at = $at WHERE session_id = $s", ("$at", created.CreatedAt.ToDb()), ("$s", session.Id));
                }, cancellationToken);
            await snapshots.DropAsync(folder, record.RewoundId, cancellationToken);
            return carried;
        }, cancellationToken);
    }
}
