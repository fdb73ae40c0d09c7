using System.Text.Json.Nodes;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Realtime;
using PocketCoder.Sessions.Live;

namespace PocketCoder.Sessions;

/// <param name="Base">The branch or commit to start from; null: the branch the repository is on.</param>
public sealed record WorktreeChoice(string? Base);

/// <summary>
/// The commands on sessions: create, send, cancel, resume, hand back, stop, archive, mode (the queue's are <see cref="SessionQueues"/>). Each asks the one authority
/// first, then acts on the session's one live object (<see cref="LiveSessions"/>) under its start lock; starting an agent is
/// <see cref="SessionStarts"/>'s, giving memory back <see cref="Suspensions"/>'. The states a session goes through are one table
/// (<see cref="SessionLifecycle"/>).
/// </summary>
public sealed class SessionManager(
    Database database,
    Running.SessionServices runnerServices,
    Projects.ProjectStore projects,
    Teams.Authority authority,
    Ledger.LedgerStore ledger,
    Workspace.Worktrees.SessionWorktrees worktrees,
    SessionStarts starts,
    LiveSessions live)
{
    /// <summary>The <c>code</c> of the <c>session.error</c> event that says a session's worktree could not be made (docs/api.md).</summary>
    public const string WorktreeFailedCode = "WORKTREE_FAILED";

    private SessionStore Sessions => runnerServices.Sessions;

    private MessageQueue Messages => runnerServices.Queue;

    /// <param name="worktree">Work in a git worktree of its own, on a new branch (see <see cref="Workspace.Worktrees.SessionWorktrees"/>):
    /// the session is returned <c>preparing</c> as soon as its base is checked, and the worktree is made after (see
    /// <see cref="PrepareAsync"/>); the prompt waits in its queue meanwhile.</param>
    /// <param name="onCreated">Told the session as soon as it is recorded, before its agent starts (a backlog task's link to it).</param>
    public async Task<Session> CreateAsync(string projectId, string agentId, OwnerMessage? prompt, string? model, string mode, Actor actor,
        CancellationToken cancellationToken, WorktreeChoice? worktree = null, Action<Session>? onCreated = null,
        SessionProfile? profile = null)
    {
        var project = projects.Get(projectId);
        // The calls the mode allows unasked are the starter's decision (a backlog task or schedule: its author's, as of now).
        authority.Ensure(actor, project.Id, new Teams.ChooseMode(mode));
        var adapter = starts.Agent(agentId);
        // What can be known at once is refused at once, with no session left behind: a bad base, no sandbox.
        var from = worktree is null ? null : await worktrees.PlanAsync(project, worktree.Base, cancellationToken);
        if (runnerServices.Sandboxing.Refusal(project) is { } refused)
        {
            throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.SandboxUnavailable, refused);
        }

        var title = prompt?.Text is not { Length: > 0 } text ? null : text.Length > 80 ? text[..80] + "…" : text;
        var session = database.Write(write =>
        {
            var created = Sessions.Create(write, project.Id, adapter.Id, model, mode, title, profile: profile, shortTitle: SessionTitles.Short(prompt?.Text),
                status: from is null ? SessionStatuses.Starting : SessionStatuses.Preparing, startedBy: SessionStore.StarterOf(write, actor));
            if (from is not null)
            {
                worktrees.RecordPreparation(write, created.Id, project, from);
            }

            ledger.Append(write, actor.Name, "session.started", created.Id,
                new JsonObject { ["projectId"] = project.Id, ["agent"] = adapter.Id, ["model"] = model, ["mode"] = mode, ["profile"] = profile?.Name });
            return created;
        });
        onCreated?.Invoke(session);

        if (prompt is not null)
        {
            try
            {
                // Kept where a restart keeps it, and shown as waiting; it starts the first turn once the agent is up.
                Messages.Add(session.Id, prompt, actor, held: false);
            }
            catch (ApiProblem problem)
            {
                // Its device was revoked a moment ago: no session is left waiting for a prompt that never comes.
                await DiscardUnstartedAsync(session.Id, adapter.Id, problem.Code, stoppedBy: null);
                throw;
            }
        }

        if (from is not null)
        {
            starts.BeginPreparation(session, project, adapter, actor);
            return Sessions.Get(session.Id);
        }

        // No request waits for an agent to start (one that never answered held it for a minute and more): the session is
        // answered now, starting (or queued, in line for a slot), and its start goes on in the background, its outcome told
        // as events (a failure: session.error with its code, and the status failed). Under its start lock, as every start is.
        await live.ExclusivelyAsync(session.Id, () =>
        {
            if (Sessions.Get(session.Id).Status != SessionStatuses.Stopped)
            {
                starts.BeginQueuedStart(session, project, adapter, resume: false);
            }

            return Task.CompletedTask;
        }, CancellationToken.None);
        return Sessions.Get(session.Id);
    }

    /// <summary>
    /// A session that never got going (its agent did not start, or could not take the first prompt): no failed husk is
    /// left behind for every retry, only the ledger's record that it was tried. <paramref name="stoppedBy"/> stops its agent first.
    /// </summary>
    internal async Task DiscardUnstartedAsync(string sessionId, string agent, string? code, Actor? stoppedBy)
    {
        if (stoppedBy is not null)
        {
            await StopAsync(sessionId, stoppedBy, CancellationToken.None);
        }

        // Its worktree and branch held nothing yet.
        if (worktrees.Find(sessionId) is not null)
        {
            await worktrees.RemoveAsync(sessionId, discardBranch: true, Actor.System, CancellationToken.None);
        }

        database.Write(write =>
        {
            write.Execute("DELETE FROM sessions WHERE id = $id", ("$id", sessionId));
            var detail = new JsonObject { ["agent"] = agent };
            if (code is not null)
            {
                detail["code"] = code;
            }

            ledger.Append(write, Actor.System.Name, "session.start_failed", sessionId, detail);
        });
    }

    /// <summary>
    /// Sends a message. While a turn runs it is queued (returned); between turns it starts one (null). When the agent's process
    /// is gone (suspended, interrupted, failed) the request does not wait for it: the message is queued first in line and
    /// returned, and the agent comes back with its native resume in the background and takes it (a message sent while the
    /// queue was held goes first and lets the queue go on after it, as it does to a running agent).
    /// </summary>
    public async Task<QueuedMessage?> SendAsync(string sessionId, OwnerMessage message, Actor actor, CancellationToken cancellationToken)
    {
        EnsureMaySteer(sessionId, actor);
        for (var attempt = 1; ; attempt++)
        {
            SessionRunner? runner;
            // A session waiting for its worktree or an agent slot takes the message into its queue; one whose agent is not running
            // and cannot start now joins the line, and takes it the same way (or, its slot come meanwhile, finds the agent up).
            do
            {
                if (await starts.QueueWhilePreparingAsync(sessionId, message, actor, cancellationToken) is { } waiting)
                {
                    return waiting;
                }

                QueuedMessage? forTheStart = null;
                runner = await starts.EnsureRunningAsync(sessionId, cancellationToken, new BackgroundStart("for a message",
                    First: session => forTheStart = Messages.Add(session.Id, message, actor, held: false, first: true)));
                if (forTheStart is not null)
                {
                    return forTheStart;
                }
            }
            while (runner is null);

            InvalidOperationException refused;
            try
            {
                return await runner.SendAsync(message, actor, cancellationToken);
            }
            catch (InvalidOperationException exception)
            {
                refused = exception;
            }

            // Suspended for the line as the message came: it brings the session back, as to any suspended one.
            if (attempt > 1 || !await starts.SuspendedMeanwhileAsync(sessionId, runner, cancellationToken))
            {
                throw ApiProblem.Conflict(ErrorCodes.SessionNotActive,
                    $"The agent stopped before it could take the message ({refused.Message}). Send it again to restart the agent.");
            }
        }
    }

    /// <summary>
    /// Steering is authority: sending to, queueing in, reviewing, resuming or retrying a session needs the right to allow
    /// what it runs unasked (its mode and its standing grants), exactly as starting it in that mode does.
    /// </summary>
    /// <exception cref="ApiProblem">403 <c>STEER_NOT_ALLOWED</c> (or <c>ROLE_FORBIDDEN</c> for a viewer).</exception>
    public void EnsureMaySteer(string sessionId, Actor actor)
    {
        var session = Sessions.Get(sessionId);
        authority.Ensure(actor, session.ProjectId, authority.SteerOf(session.Id, session.Mode));
    }

    /// <inheritdoc cref="LiveSessions.TurnReviewsSettledAsync"/>
    public Task TurnReviewsSettledAsync(string sessionId, CancellationToken cancellationToken) => live.TurnReviewsSettledAsync(sessionId, cancellationToken);

    /// <summary>
    /// True while the session's agent runs a turn, waits for a decision or is about to start a queued message, and while its
    /// agent is being brought up to take one (its worktree made, its start under way; not while it waits in line for a slot,
    /// which may be long): a message sent to a gone agent is queued at once and started in the background, and whoever waits
    /// for the session to settle must not find it settled before that message has run.
    /// </summary>
    public bool IsWorking(string sessionId) => live.RunnerOf(sessionId) is { IsQuiescent: false }
        || (live.IsPreparing(sessionId) && runnerServices.Slots.Place(sessionId) is null);

    /// <summary>Cancels the running turn; while the session's worktree is being made, that stops the session (nothing else runs).</summary>
    public async Task CancelAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        var session = Sessions.Get(sessionId);
        if (await starts.LeaveLineAsync(session.Id))
        {
            return;
        }

        if (live.IsPreparing(session.Id))
        {
            await StopAsync(session.Id, actor, cancellationToken);
            return;
        }

        if (live.RunnerOf(session.Id) is { } runner)
        {
            await runner.CancelTurnAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Stops one task of the session's running agent (a subagent, a background command) as its <c>task.status</c> named it,
    /// ledgered: only while that task runs (<c>AGENT_TASK_NOT_RUNNING</c>) and where the agent can stop one task on its own
    /// (<c>AGENT_TASK_STOP_UNSUPPORTED</c>).
    /// </summary>
    public async Task StopAgentTaskAsync(string sessionId, string taskId, Actor actor, CancellationToken cancellationToken)
    {
        var session = Sessions.Get(sessionId);
        if (live.RunnerOf(session.Id) is not { } runner || !runner.RunsTask(taskId))
        {
            throw ApiProblem.Conflict(ErrorCodes.AgentTaskNotRunning, $"No task '{taskId}' is running in this session.");
        }

        if (!await runner.StopAgentTaskAsync(taskId, cancellationToken))
        {
            throw ApiProblem.Conflict(ErrorCodes.AgentTaskStopUnsupported, $"{session.Agent} cannot stop one task on its own; stop the turn instead.");
        }

        database.Write(write => ledger.Append(write, actor.Name, "session.task_stopped", session.Id, new JsonObject { ["taskId"] = taskId }));
    }

    /// <summary>
    /// Stops the session's agent to hand the conversation back to a terminal: only between turns with no question open
    /// (else <c>SESSION_BUSY</c>), under the session's start lock and the runner's send lock, so neither a start nor a
    /// message slips in between the check and the stop.
    /// </summary>
    public async Task<Session> HandBackAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        var session = Sessions.Get(sessionId);
        return await live.ExclusivelyAsync(session.Id, async () =>
        {
            if (live.RunnerOf(session.Id) is { } runner
                && (runner.OnAPausedCall || runner.IsResuming || (runner.IsAlive && !await runner.CloseBetweenTurnsAsync(cancellationToken))))
            {
                throw ApiProblem.Conflict(ErrorCodes.SessionBusy,
                    "The agent is in the middle of a turn, waiting for a decision, or has messages queued: let it finish (or stop the turn " +
                    "and remove what is queued), then hand it back.");
            }

            return await StopUnderLockAsync(session.Id, actor, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// Brings an interrupted (or idle, process-less) session's agent back, conversation intact, on <paramref name="actor"/>'s word.
    /// A session whose agent is already there changes nothing: resuming never takes over whose word a running turn is on. The
    /// request does not wait for the agent: the session is returned <c>starting</c> (or <c>queued</c>, in line for a slot), and
    /// the start's outcome is told as events; what was queued before waits for the owner once the agent is back.
    /// </summary>
    public async Task<Session> ResumeAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        EnsureMaySteer(sessionId, actor);
        var resumed = false;
        await starts.EnsureRunningAsync(sessionId, cancellationToken, new BackgroundStart($"at {actor.Name}'s request", First: _ => resumed = true, ResumedBy: actor));
        if (resumed)
        {
            database.Write(write => ledger.Append(write, actor.Name, "session.resumed", sessionId));
        }

        return Sessions.Get(sessionId);
    }

    /// <summary>
    /// Stops the session for good. Under its start lock (taken after any preparation has handed over, as that takes the lock to
    /// start the agent), and said stopped before the lock goes: a message sent while the agent is being stopped waits, then
    /// finds the session stopped, rather than starting a second agent on the conversation.
    /// </summary>
    public async Task<Session> StopAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        var session = Sessions.Get(sessionId);
        return await live.ExclusivelyAsync(session.Id, () => StopUnderLockAsync(session.Id, actor, cancellationToken), cancellationToken);
    }

    /// <summary><see cref="StopAsync"/> for a caller that holds the session's start lock.</summary>
    private async Task<Session> StopUnderLockAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        if (live.PreparationOf(sessionId) is { } preparation)
        {
            // In line for a slot, or its worktree being made (git is stopped and what it half made taken away) before the session
            // says it stopped. Safe under the lock: a preparation waits for it only on the token cancelled here.
            await preparation.Cancel.CancelAsync();
            await preparation.Finished.Task;
        }

        if (live.Of(sessionId).TakeRunner() is { } runner)
        {
            await runner.StopAsync(cancellationToken);
        }

        database.Write(write =>
        {
            Sessions.Move(write, sessionId, LifeEvent.Stopped, $"stopped by {actor.Name}");
            ledger.Append(write, actor.Name, "session.stopped", sessionId);
        });
        return Sessions.Get(sessionId);
    }

    /// <summary>Stops the session if it runs, then hides it from the app's lists; its events and ledger entries stay.</summary>
    public async Task<Session> ArchiveAsync(string sessionId, bool archived, Actor actor, CancellationToken cancellationToken)
    {
        var session = Sessions.Get(sessionId);
        if (archived && session.Status != SessionStatuses.Stopped)
        {
            await StopAsync(session.Id, actor, cancellationToken);
        }

        database.Write(write =>
        {
            if (Sessions.SetArchived(write, session.Id, archived))
            {
                ledger.Append(write, actor.Name, archived ? "session.archived" : "session.unarchived", session.Id);
            }
        });
        return Sessions.Get(session.Id);
    }

    /// <summary>Changes the mode for every device at once; the gatekeeper applies it from the next tool call.</summary>
    public async Task<Session> SetModeAsync(string sessionId, string mode, Actor actor, CancellationToken cancellationToken)
    {
        var session = Sessions.Get(sessionId);
        authority.Ensure(actor, session.ProjectId, new Teams.ChooseMode(mode));
        var changed = database.Write(write =>
        {
            if (!Sessions.SetMode(write, session.Id, mode))
            {
                return false;
            }

            ledger.Append(write, actor.Name, "session.mode_changed", session.Id, new JsonObject { ["from"] = session.Mode, ["to"] = mode });
            return true;
        });
        if (changed && live.RunnerOf(session.Id) is { } runner)
        {
            await runner.SetModeAsync(mode, cancellationToken);
        }

        return Sessions.Get(session.Id);
    }

    public async Task StopProjectAsync(string projectId, Actor actor, CancellationToken cancellationToken)
    {
        // Every live one of the project, however old (the list is a page of the newest).
        foreach (var sessionId in live.Active.Where(id => Sessions.Find(id)?.ProjectId == projectId).ToList())
        {
            await StopAsync(sessionId, actor, cancellationToken);
        }
    }
}
