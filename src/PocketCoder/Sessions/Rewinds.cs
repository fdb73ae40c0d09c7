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

/// <summary>
/// Rewinding a session to before one of its turns (docs/steering.md, "Rewind and fork"): the project's files go back to the turn's
/// opening snapshot, refused when anything changed them since the latest turn ended (not the agent's doing, so not ours to undo),
/// and a new session carries the conversation on from the turn before: the agent's own copy of it cut there where the agent can
/// fork (Claude), else a new conversation whose first prompt summarises the earlier turns. The original session is stopped and
/// kept as it was; its agent's transcript stays whole.
/// </summary>
public sealed class Rewinds(
    Database database,
    SessionManager manager,
    TurnOrigins origins,
    Ledger.LedgerStore ledger,
    WorktreeSnapshots snapshots,
    Workspace.Worktrees.SessionWorktrees worktrees)
{
    // One rewind at a time: the files compared and the files restored are the same files.
    private readonly SemaphoreSlim _rewinding = new(1, 1);

    /// <summary>Puts the files back to before <paramref name="turn"/> and returns the session that carries the conversation on.</summary>
    /// <exception cref="ApiProblem">404 <c>TURN_NOT_FOUND</c>; 409 <c>SESSION_BUSY</c> while a turn runs or a call waits;
    /// 409 <c>FILES_CHANGED_SINCE</c> (naming the files) when the files are not as the latest turn left them.</exception>
    public async Task<Session> RewindAsync(string sessionId, int turn, Actor actor, CancellationToken cancellationToken)
    {
        manager.EnsureMaySteer(sessionId, actor);
        return await _rewinding.RunAsync(async () =>
        {
            var (session, project, adapter, points, target) = origins.Find(sessionId, turn, "rewind to");
            var folder = worktrees.WorkingDirectory(session.Id, project);
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

            points = origins.Points(session.Id);
            var now = await EnsureUnchangedAsync(folder, points[^1], cancellationToken);
            // Between turns, its process goes: nothing edits the files while they are put back (a turn that began meanwhile refuses).
            try
            {
                await manager.HandBackAsync(session.Id, actor, cancellationToken);
            }
            catch (ApiProblem problem) when (problem.Code == ErrorCodes.SessionBusy)
            {
                throw Busy();
            }

            if (!await snapshots.ExistAsync(folder, [target.Before], cancellationToken))
            {
                throw ApiProblem.NotFound(ErrorCodes.TurnNotFound,
                    $"Turn {turn}'s opening snapshot is gone from the repository (git gc removes unreferenced trees after a while): the files cannot be put back.");
            }

            var restored = await snapshots.RestoreAsync(folder, now, target.Before, cancellationToken);
            var (fork, summary, earlier) = origins.Conversation(adapter, session, points, turn);
            return await manager.CreateAsync(project.Id, session.Agent, summary, session.Model, session.Mode, actor, cancellationToken,
                profile: origins.ProfileOf(session), onCreated: created => database.Write(write =>
                {
                    origins.Carry(write, created.Id, fork, earlier);

                    // The session's own worktree, put back, is the new session's to work in (its branch keeps its name).
                    write.Execute("UPDATE session_worktrees SET session_id = $new WHERE session_id = $old", ("$new", created.Id), ("$old", session.Id));
                    ledger.Append(write, actor.Name, "session.rewound", session.Id, new JsonObject
                    {
                        ["turn"] = turn,
                        ["newSessionId"] = created.Id,
                        ["conversation"] = Conversation(fork, turn),
                        ["filesRestored"] = restored,
                        ["deviceId"] = actor.Id,
                    });
                }));
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
        var (session, project, adapter, points, target) = origins.Find(sessionId, turn, "fork from");
        if (!await snapshots.ExistAsync(worktrees.WorkingDirectory(session.Id, project), [target.Before], cancellationToken))
        {
            throw ApiProblem.NotFound(ErrorCodes.TurnNotFound,
                $"Turn {turn}'s opening snapshot is gone from the repository (git gc removes unreferenced trees after a while): there is nothing to fork from.");
        }

        var (fork, summary, earlier) = origins.Conversation(adapter, session, points, turn);
        return await manager.CreateAsync(project.Id, session.Agent, summary, session.Model, session.Mode, actor, cancellationToken,
            worktree: new WorktreeChoice(null), profile: origins.ProfileOf(session), onCreated: created => database.Write(write =>
            {
                origins.Carry(write, created.Id, fork, earlier);
                worktrees.StartAs(write, created.Id, target.Before);
                ledger.Append(write, actor.Name, "session.forked", session.Id, new JsonObject
                {
                    ["turn"] = turn,
                    ["newSessionId"] = created.Id,
                    ["conversation"] = Conversation(fork, turn),
                    ["deviceId"] = actor.Id,
                });
            }));
    }

    private static string Conversation(AgentFork? fork, int turn) => fork is not null ? "forked" : turn > 1 ? "summarised" : "new";

    private static ApiProblem Busy() => ApiProblem.Conflict(ErrorCodes.SessionBusy,
        "The agent is in the middle of a turn, waiting for a decision, or has messages queued: let it finish (or stop the turn and remove what is queued), then rewind.");

    /// <summary>The tree now, when it is exactly as the latest turn left it; else 409 naming what changed since.</summary>
    private async Task<string> EnsureUnchangedAsync(string folder, TurnPoint latest, CancellationToken cancellationToken)
    {
        var now = await snapshots.TakeAsync(folder, cancellationToken)
            ?? throw ApiProblem.Conflict(ErrorCodes.GitNotInitialized, "The project is no longer a git repository: there are no snapshots to rewind to.");
        if (latest.After is null)
        {
            throw ApiProblem.Conflict(ErrorCodes.FilesChangedSince,
                $"Turn {latest.Turn} never finished (cut off by a restart), so what it changed cannot be told from what changed since: nothing was rewound.");
        }

        if (now == latest.After)
        {
            return now;
        }

        var changed = (await snapshots.DiffAsync(folder, latest.After, now, cancellationToken)).Files.Select(f => f.Path).ToList();
        throw new ApiProblem(StatusCodes.Status409Conflict, ErrorCodes.FilesChangedSince,
            $"Files changed outside the agent since turn {latest.Turn} ended ({string.Join(", ", changed.Take(10))}{(changed.Count > 10 ? ", …" : "")}): " +
            "rewinding would lose those changes, so nothing was rewound. Commit or undo them first.")
        {
            Fields = new Dictionary<string, object?> { ["files"] = changed.ToArray() },
        };
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
