using System.Text;
using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Realtime;
using PocketCoder.Workspace.Git;

namespace PocketCoder.Sessions;

/// <summary>One turn's snapshots and where the conversation can be cut after it (null: the agent said nowhere).</summary>
public sealed record TurnPoint(int Turn, string Before, string? After, string? ResumeAt);

/// <summary>One path a rewind puts back: <c>restore</c> (written as it was) or <c>delete</c> (it was not there).</summary>
public sealed record RewindFile(string Path, string Action);

/// <summary>
/// What a rewind to before <c>turn</c> would do (<c>GET …/rewind-preview</c>): <c>files</c>, the agent's changes it undoes;
/// <c>others</c>, the paths changed since by someone else (the owner, another program), each with what discarding would do to it
/// (keeping leaves it as it is); and how the conversation goes on.
/// </summary>
public sealed record RewindPreview(int Turn, IReadOnlyList<RewindFile> Files, IReadOnlyList<RewindFile> Others, string Conversation, int UndoHours);

/// <summary>The files now, what putting them back to the target would write and remove, and the paths that were not the agent's doing.</summary>
public sealed record RewindPlan(string Now, List<string> Written, List<string> Removed, IReadOnlySet<string> NotTheAgents)
{
    /// <summary>What a rewind that keeps the others does, and the others with what a discard would do to each.</summary>
    public (List<RewindFile> Files, List<RewindFile> Others) Split()
    {
        var files = new List<RewindFile>();
        var others = new List<RewindFile>();
        foreach (var file in Written.Select(p => new RewindFile(p, "restore")).Concat(Removed.Select(p => new RewindFile(p, "delete")))
                     .OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            (NotTheAgents.Contains(file.Path) ? others : files).Add(file);
        }

        return (files, others);
    }

    /// <summary>
    /// The paths changed in the gaps between the agent's turns and since the latest (<paramref name="gaps"/>, one diff each):
    /// between a turn's closing snapshot and the next one's opening, nothing of the agent's ran.
    /// </summary>
    public static IReadOnlySet<string> Others(IEnumerable<(List<string> Written, List<string> Removed)> gaps) =>
        gaps.SelectMany(g => g.Written.Concat(g.Removed)).ToHashSet(StringComparer.Ordinal);
}

/// <summary>
/// Rewinding a session to before one of its turns (docs/steering.md, "Rewind and fork"): the project's files go back to the turn's
/// opening snapshot, except what was not the agent's doing (changed between any of its turns since, or after the latest), which
/// the owner must say to keep or discard; and a new session carries the conversation on from the turn before: the agent's own copy
/// of it cut there where the agent can fork (Claude), else a new conversation whose first prompt summarises the earlier turns. The
/// original session is stopped and kept as it was; its agent's transcript stays whole. The files before the rewind are kept on a
/// ref for <see cref="RewindUndo"/>.
/// </summary>
public sealed class Rewinds(
    Database database,
    SessionStore sessions,
    SessionManager manager,
    AgentRegistry agents,
    SessionHistory history,
    Ledger.LedgerStore ledger,
    WorktreeSnapshots snapshots,
    Workspace.Worktrees.SessionWorktrees worktrees)
{
    /// <summary>How long a rewind can be undone (while the files are as it left them).</summary>
    public const int UndoHours = 24;

    /// <summary>What the owner says of the files that were not the agent's doing.</summary>
    public const string Keep = "keep", Discard = "discard";

    // One rewind (or undo) at a time: the files compared and the files restored are the same files.
    private readonly SemaphoreSlim _rewinding = new(1, 1);

    internal IAgentAdapter AdapterOf(Session session) => agents.Find(session.Agent)
        ?? throw ApiProblem.Conflict(ErrorCodes.AgentUnavailable, $"{session.Agent} is not an agent this server knows any more.");

    /// <summary>Where the session's files are: its worktree, or the project's folder.</summary>
    internal string FolderOf(Session session) => worktrees.WorkingDirectory(session.Id, session.ProjectId);

    internal Task<T> ExclusivelyAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken) => _rewinding.RunAsync(work, cancellationToken);

    /// <summary>What <see cref="RewindAsync"/> would do now, changing nothing.</summary>
    public async Task<RewindPreview> PreviewAsync(string sessionId, int turn, Actor actor, CancellationToken cancellationToken)
    {
        // As the rewind itself: only someone who may steer the session sees what it would put back.
        manager.EnsureMaySteer(sessionId, actor);
        EnsureNotCarriedOn(sessionId);
        var session = sessions.Get(sessionId);
        var adapter = AdapterOf(session);
        var points = Points(session.Id);
        var target = Target(session.Id, points, turn);
        if (manager.IsWorking(session.Id))
        {
            // The running turn has no closing snapshot yet: what it changes cannot be told from anyone else's.
            throw Busy();
        }

        await manager.TurnReviewsSettledAsync(session.Id, cancellationToken);
        var plan = await PlanAsync(FolderOf(session), Points(session.Id), target, cancellationToken);
        var (files, others) = plan.Split();
        return new RewindPreview(turn, files, others, Conversation(ForkOf(adapter, session, points, turn), turn), UndoHours);
    }

    /// <summary>Puts the files back to before <paramref name="turn"/> and returns the session that carries the conversation on.</summary>
    /// <param name="others"><see cref="Keep"/> or <see cref="Discard"/> what was not the agent's doing; null: refuse if there is any.</param>
    /// <exception cref="ApiProblem">404 <c>TURN_NOT_FOUND</c>; 409 <c>SESSION_BUSY</c> while a turn runs or a call waits;
    /// 409 <c>FILES_CHANGED_SINCE</c> (naming the files) when something else changed files since the turn and the owner did not say.</exception>
    public async Task<Session> RewindAsync(string sessionId, int turn, string? others, Actor actor, CancellationToken cancellationToken)
    {
        if (others is not (null or Keep or Discard))
        {
            throw ApiProblem.Validation("others is keep (the files changed outside the agent stay as they are) or discard (they go back too).");
        }

        manager.EnsureMaySteer(sessionId, actor);
        return await _rewinding.RunAsync(async () =>
        {
            EnsureNotCarriedOn(sessionId);
            var session = sessions.Get(sessionId);
            var adapter = AdapterOf(session);
            var folder = FolderOf(session);
            var target = Target(session.Id, Points(session.Id), turn);
            if (manager.IsWorking(session.Id))
            {
                throw Busy();
            }

            // A turn that just ended is over before its closing snapshot is written: read what it left once it is, never a
            // turn that only looks cut off.
            await manager.TurnReviewsSettledAsync(session.Id, cancellationToken);
            if (manager.IsWorking(session.Id))
            {
                // A turn began meanwhile: it is busy, not cut off.
                throw Busy();
            }

            var points = Points(session.Id);
            if (!await snapshots.ExistAsync(folder, [target.Before], cancellationToken))
            {
                throw ApiProblem.NotFound(ErrorCodes.TurnNotFound,
                    $"Turn {turn}'s opening snapshot is gone from the repository (git gc removes unreferenced trees after a while): the files cannot be put back.");
            }

            var plan = await PlanAsync(folder, points, target, cancellationToken);
            var (_, notTheAgents) = plan.Split();
            if (notTheAgents.Count > 0 && others is null)
            {
                throw ChangedOutside(notTheAgents.Select(f => f.Path).ToList(), turn);
            }

            // Between turns, its process goes: nothing edits the files while they are put back (a turn that began meanwhile refuses).
            try
            {
                await manager.HandBackAsync(session.Id, actor, cancellationToken);
            }
            catch (ApiProblem problem) when (problem.Code == ErrorCodes.SessionBusy)
            {
                throw Busy();
            }

            // The files as they are now, kept from git gc until the rewind is undone or its time is up.
            await snapshots.KeepAsync(folder, session.Id, plan.Now, cancellationToken);
            var restored = await RestoreAsync(folder, plan.Now, target.Before, others == Keep ? plan.NotTheAgents : null, session.Id, cancellationToken);
            var after = await snapshots.TakeAsync(folder, cancellationToken) ?? plan.Now;
            var kept = others == Keep ? notTheAgents.Count : 0;
            return await CarryOnAsync(session, adapter, points, turn, actor, "rewind", "session.rewound", new JsonObject
            {
                ["filesRestored"] = restored,
                ["others"] = new JsonArray([.. notTheAgents.Select(f => JsonValue.Create(f.Path))]),
                ["othersKept"] = others == Keep,
            }, (write, created) =>
            {
                // The session's own worktree, put back, is the new session's to work in (its branch keeps its name).
                write.Execute("UPDATE session_worktrees SET session_id = $new WHERE session_id = $old", ("$new", created.Id), ("$old", session.Id));
                write.Execute("""
                    INSERT INTO session_rewinds (session_id, rewound_id, turn, before_tree, after_tree, others, kept, rewound_at)
                    VALUES ($id, $rewound, $turn, $before, $after, $others, $kept, $at)
                    """, ("$id", created.Id), ("$rewound", session.Id), ("$turn", turn), ("$before", plan.Now), ("$after", after),
                    ("$others", System.Text.Json.JsonSerializer.Serialize(notTheAgents.Select(f => f.Path).ToList(), PlainJson.Default.ListString)),
                    ("$kept", kept), ("$at", created.CreatedAt.ToDb()));
            }, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// A new session on a worktree and branch of its own whose files are as at the opening of <paramref name="turn"/>, carrying on the
    /// conversation from the turn before (forked, or summarised as for a rewind). The original session, its files and its agent's
    /// conversation are left as they are, whatever it is doing.
    /// </summary>
    public async Task<Session> ForkAsync(string sessionId, int turn, Actor actor, CancellationToken cancellationToken)
    {
        manager.EnsureMaySteer(sessionId, actor);
        var session = sessions.Get(sessionId);
        var adapter = AdapterOf(session);
        var points = Points(session.Id);
        var target = points.FirstOrDefault(p => p.Turn == turn) ?? throw ApiProblem.NotFound(ErrorCodes.TurnNotFound,
            $"Session {session.Id} has no turn {turn} to fork from (turns are counted from 1; a project that is not a git repository has none).");
        if (!await snapshots.ExistAsync(FolderOf(session), [target.Before], cancellationToken))
        {
            throw ApiProblem.NotFound(ErrorCodes.TurnNotFound,
                $"Turn {turn}'s opening snapshot is gone from the repository (git gc removes unreferenced trees after a while): there is nothing to fork from.");
        }

        return await CarryOnAsync(session, adapter, points, turn, actor, "fork", "session.forked", [],
            (write, created) => worktrees.StartAs(write, created.Id, target.Before), cancellationToken, worktree: new WorktreeChoice(null));
    }

    /// <summary>
    /// Puts the files back; where a path cannot be, says where the files as they were before are kept (nothing was followed out of
    /// the project, and what was put back stays).
    /// </summary>
    internal async Task<int> RestoreAsync(string folder, string from, string to, IReadOnlySet<string>? except, string keptAs,
        CancellationToken cancellationToken)
    {
        try
        {
            return await snapshots.RestoreAsync(folder, from, to, cancellationToken, except);
        }
        catch (ApiProblem problem) when (problem.Code == ErrorCodes.RestoreFailed)
        {
            throw ApiProblem.Conflict(ErrorCodes.RestoreFailed,
                $"{problem.Message} The files as they were before are kept on {WorktreeSnapshots.KeptRef(keptAs)} " +
                $"(`git restore --source={WorktreeSnapshots.KeptRef(keptAs)} -- .` in the project's folder puts them back).");
        }
    }

    /// <summary>
    /// A new session carrying <paramref name="original"/>'s conversation on from before <paramref name="turn"/>, under its title,
    /// ledgered as <paramref name="action"/> with <paramref name="detail"/>; <paramref name="more"/> is written with it.
    /// </summary>
    internal async Task<Session> CarryOnAsync(Session original, IAgentAdapter adapter, IReadOnlyList<TurnPoint> points, int turn, Actor actor,
        string source, string action, JsonObject detail, Action<DbWrite, Session> more, CancellationToken cancellationToken,
        WorktreeChoice? worktree = null)
    {
        var earlier = history.Before(original.Id, turn);
        var fork = ForkOf(adapter, original, points, turn);
        // An agent that cannot fork starts a new conversation told what came before (nothing for a rewind to the first turn).
        var summary = fork is null && turn > 1 ? OwnerMessage.FromText(RewindSummary.Of(turn, earlier)) : null;
        return await manager.CreateAsync(original.ProjectId, original.Agent, summary, original.Model, original.Mode, actor, cancellationToken,
            worktree: worktree, profile: ProfileOf(original), onCreated: created => database.Write(write =>
            {
                sessions.SetTitle(write, created.Id, original.Title, original.ShortTitle);
                Carry(write, created.Id, fork, earlier, source, turn);
                more(write, created);
                detail["turn"] = turn;
                detail["newSessionId"] = created.Id;
                detail["conversation"] = Conversation(fork, turn);
                detail["deviceId"] = actor.Id;
                ledger.Append(write, actor.Name, action, original.Id, detail);
            }));
    }

    /// <summary>The turn's snapshots, or 404.</summary>
    private static TurnPoint Target(string sessionId, IReadOnlyList<TurnPoint> points, int turn) =>
        points.FirstOrDefault(p => p.Turn == turn) ?? throw ApiProblem.NotFound(ErrorCodes.TurnNotFound,
            $"Session {sessionId} has no turn {turn} to rewind to (turns are counted from 1; a project that is not a git repository has none).");

    /// <summary>
    /// The files now, what going back to before <paramref name="target"/> changes, and what of that was not the agent's doing:
    /// whatever changed between the end of each turn since and the start of the next, or since the latest ended.
    /// </summary>
    private async Task<RewindPlan> PlanAsync(string folder, IReadOnlyList<TurnPoint> points, TurnPoint target, CancellationToken cancellationToken)
    {
        var now = await snapshots.TakeAsync(folder, cancellationToken)
            ?? throw ApiProblem.Conflict(ErrorCodes.GitNotInitialized, "The project is no longer a git repository: there are no snapshots to rewind to.");
        var since = points.Where(p => p.Turn >= target.Turn).ToList();
        if (since.FirstOrDefault(p => p.After is null) is { } cut)
        {
            throw ApiProblem.Conflict(ErrorCodes.FilesChangedSince,
                $"Turn {cut.Turn} never finished (cut off by a restart), so what it changed cannot be told from what changed since: nothing was rewound.");
        }

        var gaps = new List<(List<string>, List<string>)>();
        for (var i = 0; i < since.Count; i++)
        {
            gaps.Add(await snapshots.ChangesAsync(folder, since[i].After!, i + 1 < since.Count ? since[i + 1].Before : now, cancellationToken));
        }

        var (written, removed) = await snapshots.ChangesAsync(folder, now, target.Before, cancellationToken);
        return new RewindPlan(now, written, removed, RewindPlan.Others(gaps).Union(await HiddenAsync(folder, now, target.Before, cancellationToken))
            .ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>
    /// The paths the rewind would write that are on disk but not in the snapshot of now: ignored since (a <c>.gitignore</c> line
    /// the agent may add with no one asked), so no snapshot tells whose their content is, and none keeps it for an undo. They are
    /// counted as the owner's, never overwritten unasked (an attacker review's finding).
    /// </summary>
    private async Task<IEnumerable<string>> HiddenAsync(string folder, string now, string before, CancellationToken cancellationToken)
    {
        var (_, notInNow) = await snapshots.ChangesAsync(folder, before, now, cancellationToken);
        // Only asked whether a file or a link is there (never written); a folder is not hidden content (a link the turn made a
        // folder of is in the snapshot as the folder's files).
        return notInNow.Where(path => new FileInfo(Path.Combine(folder, path)) is var there && (there.Exists || there.LinkTarget is not null));
    }

    private static ApiProblem ChangedOutside(List<string> changed, int turn) =>
        new(StatusCodes.Status409Conflict, ErrorCodes.FilesChangedSince,
            $"Files changed outside the agent's turns since turn {turn} began ({string.Join(", ", changed.Take(10))}{(changed.Count > 10 ? ", …" : "")}): " +
            "nothing was rewound. Say keep (they stay as they are) or discard (they go back too; an undo brings them back).")
        {
            Fields = new Dictionary<string, object?> { ["files"] = changed.ToArray() },
        };

    /// <summary>Where the agent's own conversation can be cut before <paramref name="turn"/>, or null (it cannot fork, or it is the first turn).</summary>
    internal static AgentFork? ForkOf(IAgentAdapter adapter, Session session, IReadOnlyList<TurnPoint> points, int turn) =>
        adapter.CanFork && turn > 1 && points.FirstOrDefault(p => p.Turn == turn - 1)?.ResumeAt is { } at ? new AgentFork(session.AgentSessionId, at) : null;

    internal static string Conversation(AgentFork? fork, int turn) => fork is not null ? "forked" : turn > 1 ? "summarised" : "new";

    /// <summary>
    /// A forked conversation's earlier turns are the new session's history, and its agent starts on the copy; either way the
    /// transcript says what happened (<c>history.imported</c> with <paramref name="source"/> and the turn).
    /// </summary>
    private void Carry(DbWrite write, string sessionId, AgentFork? fork, List<StoredEvent> earlier, string source, int turn)
    {
        var count = 0;
        if (fork is not null)
        {
            count = history.Copy(write, sessionId, earlier);
            sessions.SetFork(write, sessionId, fork);
        }

        history.Imported(write, sessionId, new HistoryImportedEvent(source, count, 0, turn));
    }

    /// <summary>
    /// A session whose files a rewind (or its undo) carried on into another session is done with them: its worktree is the other
    /// one's now, and rewinding it again would work on the project's own folder instead (an attacker review's finding).
    /// </summary>
    /// <exception cref="ApiProblem">409 <c>SESSION_NOT_ACTIVE</c>, naming the session that carries it on.</exception>
    internal void EnsureNotCarriedOn(string sessionId)
    {
        var by = database.Read(c => c.Query("""
            SELECT session_id FROM session_rewinds WHERE rewound_id = $s
            UNION ALL SELECT $s FROM session_rewinds WHERE session_id = $s AND undone_at IS NOT NULL
            """, r => r.GetString(0), ("$s", sessionId))).FirstOrDefault();
        if (by is not null)
        {
            throw ApiProblem.Conflict(ErrorCodes.SessionNotActive, by == sessionId
                ? "This session's rewind was undone: the files went on in the session the undo started. Rewind that one."
                : $"This session was rewound: session {by} carries its files and conversation on. Rewind that one.");
        }
    }

    internal static ApiProblem Busy() => ApiProblem.Conflict(ErrorCodes.SessionBusy,
        "The agent is in the middle of a turn, waiting for a decision, or has messages queued: let it finish (or stop the turn and remove what is queued), then rewind.");

    internal IReadOnlyList<TurnPoint> Points(string sessionId) => database.Read(c => c.Query(
        "SELECT turn, before_tree, after_tree, resume_at FROM turn_reviews WHERE session_id = $s ORDER BY turn",
        r => new TurnPoint(r.GetInt32(0), r.GetString(1), r.NullableString(2), r.NullableString(3)), ("$s", sessionId)));

    /// <summary>The original's instructions and MCP servers go on in the new session, as its profile gave them.</summary>
    private SessionProfile? ProfileOf(Session session)
    {
        var instructions = sessions.Instructions(session.Id);
        var mcp = sessions.McpServers(session.Id);
        return instructions is null && mcp is null && session.Profile is null ? null : new SessionProfile(session.Profile ?? "", instructions, mcp);
    }
}

/// <summary>What a new conversation is told of the turns before a rewind, for an agent that cannot fork its own.</summary>
public static class RewindSummary
{
    /// <summary>Each side of a turn is cut at this many characters, and the whole at <see cref="MaxLength"/>.</summary>
    public const int MaxPart = 2_000;

    public const int MaxLength = 16_000;

    /// <summary>The owner's message and the agent's last reply of each turn before <paramref name="turn"/>, oldest first, capped.</summary>
    public static string Of(int turn, IReadOnlyList<StoredEvent> earlier)
    {
        var text = new StringBuilder($"This conversation goes on from an earlier one, rewound to before its turn {turn}: the project's files are as they were then. " +
                                     "Its earlier turns, for context (nothing to do about them now):\n");
        var number = 0;
        string? asked = null;
        string? answered = null;
        foreach (var stored in earlier)
        {
            if (stored.As<UserMessageEvent>() is { } user)
            {
                asked = asked is null ? user.Text : asked + "\n" + user.Text;
            }
            else if (stored.As<MessageEvent>() is { ParentToolCallId: null } reply)
            {
                answered = reply.Text;
            }
            else if (stored.Kind == TurnCompletedEvent.Kind)
            {
                text.Append($"\nTurn {++number}. I asked: {Cut(asked)}\nYou answered: {Cut(answered)}\n");
                (asked, answered) = (null, null);
            }
        }

        return text.Length <= MaxLength ? text.ToString() : text.ToString(0, MaxLength) + "…";
    }

    private static string Cut(string? text) => text is null ? "(nothing)" : text.Length <= MaxPart ? text : text[..MaxPart] + "…";
}
