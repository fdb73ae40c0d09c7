using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Realtime;
using PocketCoder.Teams;

namespace PocketCoder.Sessions;

/// <param name="Base">The branch or commit to start from; null: the branch the repository is on.</param>
public sealed record WorktreeChoice(string? Base);

/// <summary>
/// Starts, resumes and stops the live sessions (one agent process each) and keeps the session
/// records honest across restarts: at start-up, sessions that were busy become <c>interrupted</c>
/// and their pending approvals are settled; at shutdown, every agent process is stopped.
/// </summary>
public sealed partial class SessionManager(
    Database database,
    SessionStore sessions,
    Projects.ProjectStore projects,
    EventLog events,
    Gatekeeper gatekeeper,
    Teams.Authority authority,
    Ledger.LedgerStore ledger,
    AgentRegistry agents,
    Server.PocketCoderOptions options,
    TimeProvider clock,
    Running.SessionServices runnerServices,
    Workspace.Worktrees.SessionWorktrees worktrees,
    MessageQueue queue,
    ILogger<SessionManager> logger) : IHostedService
{
    /// <summary>How often idle sessions are looked for; suspension is not urgent, memory is the point.</summary>
    private static readonly TimeSpan SuspendCheckInterval = TimeSpan.FromMinutes(1);

    /// <summary>The <c>code</c> of the <c>session.error</c> event that says a session's worktree could not be made (docs/api.md).</summary>
    public const string WorktreeFailedCode = "WORKTREE_FAILED";

    private readonly ConcurrentDictionary<string, SessionRunner> _live = new(StringComparer.Ordinal);

    // Sessions whose worktree is being made, each with what stops it.
    private readonly ConcurrentDictionary<string, Preparation> _preparing = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _startLocks = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    // Sessions whose queue waits on "raise the budget?": one question each at a time, kept here rather than in the runner so
    // that the agent may be suspended meanwhile (a wait costs no memory) and the raise still sends what waits.
    private readonly ConcurrentDictionary<string, byte> _budgetWaits = new(StringComparer.Ordinal);
    private Task _suspender = Task.CompletedTask;

    public int LiveCount => _live.Count;

    /// <summary>The runner of a live session (for tests that follow what a suspended one leaves behind).</summary>
    internal SessionRunner? LiveRunner(string sessionId) => _live.GetValueOrDefault(sessionId);

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
        var adapter = agents.Find(agentId) ?? throw ApiProblem.BadRequest(ErrorCodes.UnknownAgent,
            $"Unknown agent '{agentId}'. Known agents: {string.Join(", ", agents.All.Select(a => a.Id))}.");
        // What can be known at once is refused at once, with no session left behind: a bad base, no sandbox.
        var from = worktree is null ? null : await worktrees.PlanAsync(project, worktree.Base, cancellationToken);
        if (runnerServices.Sandboxing.Refusal(project) is { } refused)
        {
            throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.SandboxUnavailable, refused);
        }

        var title = prompt?.Text is not { Length: > 0 } text ? null : text.Length > 80 ? text[..80] + "…" : text;
        var session = database.Write(write =>
        {
            var created = sessions.Create(write, project.Id, adapter.Id, model, mode, title, profile: profile, shortTitle: SessionTitles.Short(prompt?.Text),
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
                queue.Add(session.Id, prompt, actor, held: false);
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
            BeginPreparation(session, project, adapter, actor);
            return sessions.Get(session.Id);
        }

        // No request waits for an agent to start (one that never answered held it for a minute and more): the session is
        // answered now, starting (or queued, in line for a slot), and its start goes on in the background, its outcome told
        // as events (a failure: session.error with its code, and the status failed). Under its start lock, as every start is.
        await _startLocks.GetOrAdd(session.Id, _ => new SemaphoreSlim(1, 1)).RunAsync(() =>
        {
            if (sessions.Get(session.Id).Status != SessionStatuses.Stopped)
            {
                BeginQueuedStart(session, project, adapter, resume: false);
            }

            return Task.CompletedTask;
        }, CancellationToken.None);
        return sessions.Get(session.Id);
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
    /// Sends a message, bringing the agent back with its native resume first if its process is gone. While a turn runs
    /// it is queued (returned); between turns it starts one (null).
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
                if (await QueueWhilePreparingAsync(sessionId, message, actor, cancellationToken) is { } waiting)
                {
                    return waiting;
                }

                runner = await EnsureRunningAsync(sessionId, cancellationToken);
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
            if (attempt > 1 || !await SuspendedMeanwhileAsync(sessionId, runner, cancellationToken))
            {
                throw ApiProblem.Conflict(ErrorCodes.SessionNotActive,
                    $"The agent stopped before it could take the message ({refused.Message}). Send it again to restart the agent.");
            }
        }
    }

    /// <summary>Whether <paramref name="runner"/> was suspended (not stopped for good) once what holds the start lock is done.</summary>
    private async Task<bool> SuspendedMeanwhileAsync(string sessionId, SessionRunner runner, CancellationToken cancellationToken)
    {
        await _startLocks.GetOrAdd(sessionId, _ => new SemaphoreSlim(1, 1)).RunAsync(() => Task.CompletedTask, cancellationToken);
        return !(_live.TryGetValue(sessionId, out var current) && current == runner) && sessions.Find(sessionId)?.Status == SessionStatuses.Idle;
    }

    /// <summary>The messages waiting for the session's turn to end, and whether they wait for the owner.</summary>
    public MessageQueueResponse Queue(string sessionId)
    {
        var session = sessions.Get(sessionId);
        var messages = queue.List(session.Id);
        return new MessageQueueResponse(messages, messages.Count > 0 && QueueHeld(session.Id));
    }

    /// <summary>
    /// Steering is authority: sending to, queueing in, reviewing, resuming or retrying a session needs the right to allow
    /// what it runs unasked (its mode and its standing grants), exactly as starting it in that mode does.
    /// </summary>
    /// <exception cref="ApiProblem">403 <c>STEER_NOT_ALLOWED</c> (or <c>ROLE_FORBIDDEN</c> for a viewer).</exception>
    public void EnsureMaySteer(string sessionId, Actor actor)
    {
        var session = sessions.Get(sessionId);
        authority.Ensure(actor, session.ProjectId, authority.SteerOf(session.Id, session.Mode));
    }

    public QueuedMessage EditQueued(string sessionId, string messageId, string text, Actor actor)
    {
        EnsureMaySteer(sessionId, actor);
        return queue.Edit(sessions.Get(sessionId).Id, messageId, text, actor, QueueHeld(sessionId));
    }

    public void RemoveQueued(string sessionId, string messageId) => queue.Remove(sessions.Get(sessionId).Id, messageId, QueueHeld(sessionId));

    /// <summary>
    /// Lets a message held for its revoked sender go on, on <paramref name="actor"/>'s authority; if it is first in line,
    /// the agent is between turns and the queue is not waiting for the owner, it starts now.
    /// </summary>
    public async Task<QueuedMessage> ConfirmQueuedAsync(string sessionId, string messageId, Actor actor, CancellationToken cancellationToken)
    {
        var session = sessions.Get(sessionId);
        EnsureMaySteer(session.Id, actor);
        var confirmed = queue.Confirm(session.Id, messageId, actor, QueueHeld(session.Id));
        if (_live.TryGetValue(session.Id, out var runner) && !runner.QueueHeld)
        {
            await runner.RunQueueAsync(cancellationToken);
        }

        return confirmed;
    }

    /// <summary>Tells every device the session's queue as it now stands (messages were held outside the runner).</summary>
    public void AnnounceQueue(string sessionId) => queue.Announce(sessionId, QueueHeld(sessionId));

    /// <summary>Lets a held queue go on, bringing the agent back first if its process is gone; says whether a message started.</summary>
    public Task<bool> RunQueueAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        EnsureMaySteer(sessionId, actor);
        return RunQueueAsync(sessionId, cancellationToken);
    }

    /// <remarks>A session that must wait for an agent slot runs its queue when it starts: false now.</remarks>
    private async Task<bool> RunQueueAsync(string sessionId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (await EnsureRunningAsync(sessionId, cancellationToken) is not { } runner)
            {
                return false;
            }

            if (await runner.RunQueueAsync(cancellationToken))
            {
                return true;
            }

            // Suspended as the queue was let go (closed to messages, its agent stopping): it comes back and runs it, as a message
            // that comes then brings it back (SendAsync).
            if (attempt > 1 || !await SuspendedMeanwhileAsync(sessionId, runner, cancellationToken))
            {
                return false;
            }
        }
    }

    /// <summary>True while the session's agent runs a turn, waits for a decision, or is about to start a queued message.</summary>
    /// <summary>True while the session's agent is stopped on a call nobody has decided yet (its decision resumes it).</summary>
    public bool IsPaused(string sessionId) => _live.TryGetValue(sessionId, out var runner) && runner.IsPaused;

    /// <summary>
    /// Someone who may decide the call the session's paused agent waits on has opened it: the agent starts again in the
    /// background while they read, so their decision runs the call without its start-up (<see cref="Running.PausedCalls.WarmAsync"/>).
    /// </summary>
    /// <returns>Whether the agent is paused and is asked to start (it may find every agent slot taken, and start nothing).</returns>
    /// <param name="screenOpened">The look is the session's screen opening (again at every reconnect), not a card shown.</param>
    public bool WarmPaused(string sessionId, bool screenOpened)
    {
        if (options.WarmPausedFor > TimeSpan.Zero && _live.TryGetValue(sessionId, out var runner) && runner.IsPaused)
        {
            _ = Task.Run(() => runner.WarmPausedAsync(options.WarmPausedFor, screenOpened), CancellationToken.None);
            return true;
        }

        return false;
    }

    /// <summary>Completes once the session's last turn's review is written (none is being closed in the background).</summary>
    public Task TurnReviewsSettledAsync(string sessionId, CancellationToken cancellationToken) =>
        _live.TryGetValue(sessionId, out var runner) ? runner.TurnReviewsSettledAsync(cancellationToken) : Task.CompletedTask;

    public bool IsWorking(string sessionId) => _live.TryGetValue(sessionId, out var runner) && !runner.IsQuiescent;

    // With no agent running, nothing queued starts until the owner says so; while the worktree is made, it starts once it is there.
    private bool QueueHeld(string sessionId) => !_preparing.ContainsKey(sessionId) && (!_live.TryGetValue(sessionId, out var runner) || runner.QueueHeld);

    /// <summary>Cancels the running turn; while the session's worktree is being made, that stops the session (nothing else runs).</summary>
    public async Task CancelAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        var session = sessions.Get(sessionId);
        if (await LeaveLineAsync(session.Id))
        {
            return;
        }

        if (_preparing.ContainsKey(session.Id))
        {
            await StopAsync(session.Id, actor, cancellationToken);
            return;
        }

        if (_live.TryGetValue(session.Id, out var runner))
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
        var session = sessions.Get(sessionId);
        if (!_live.TryGetValue(session.Id, out var runner) || !runner.RunsTask(taskId))
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
        var session = sessions.Get(sessionId);
        var gate = _startLocks.GetOrAdd(session.Id, _ => new SemaphoreSlim(1, 1));
        return await gate.RunAsync(async () =>
        {
            if (_live.TryGetValue(session.Id, out var runner)
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
    /// A session whose agent is already there changes nothing: resuming never takes over whose word a running turn is on.
    /// </summary>
    public async Task<Session> ResumeAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        EnsureMaySteer(sessionId, actor);
        // In line for an agent slot (this call put it there), it resumes when its turn comes, its queue going on.
        var resumed = false;
        await EnsureRunningAsync(sessionId, cancellationToken, started: runner =>
        {
            runner?.ResumedBy(actor);
            resumed = true;
        });
        if (resumed)
        {
            database.Write(write => ledger.Append(write, actor.Name, "session.resumed", sessionId));
        }

        return sessions.Get(sessionId);
    }

    /// <summary>
    /// Stops the session for good. Under its start lock (taken after any preparation has handed over, as that takes the lock to
    /// start the agent), and said stopped before the lock goes: a message sent while the agent is being stopped waits, then
    /// finds the session stopped, rather than starting a second agent on the conversation.
    /// </summary>
    public async Task<Session> StopAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        var session = sessions.Get(sessionId);
        var gate = _startLocks.GetOrAdd(session.Id, _ => new SemaphoreSlim(1, 1));
        return await gate.RunAsync(() => StopUnderLockAsync(session.Id, actor, cancellationToken), cancellationToken);
    }

    /// <summary><see cref="StopAsync"/> for a caller that holds the session's start lock.</summary>
    private async Task<Session> StopUnderLockAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        if (_preparing.TryGetValue(sessionId, out var preparation))
        {
            // In line for a slot, or its worktree being made (git is stopped and what it half made taken away) before the session
            // says it stopped. Safe under the lock: a preparation waits for it only on the token cancelled here.
            await preparation.Cancel.CancelAsync();
            await preparation.Finished.Task;
        }

        if (_live.TryRemove(sessionId, out var runner))
        {
            await runner.StopAsync(cancellationToken);
        }

        database.Write(write =>
        {
            sessions.Move(write, sessionId, LifeEvent.Stopped, $"stopped by {actor.Name}");
            ledger.Append(write, actor.Name, "session.stopped", sessionId);
        });
        return sessions.Get(sessionId);
    }

    /// <summary>Stops the session if it runs, then hides it from the app's lists; its events and ledger entries stay.</summary>
    public async Task<Session> ArchiveAsync(string sessionId, bool archived, Actor actor, CancellationToken cancellationToken)
    {
        var session = sessions.Get(sessionId);
        if (archived && session.Status != SessionStatuses.Stopped)
        {
            await StopAsync(session.Id, actor, cancellationToken);
        }

        database.Write(write =>
        {
            if (sessions.SetArchived(write, session.Id, archived))
            {
                ledger.Append(write, actor.Name, archived ? "session.archived" : "session.unarchived", session.Id);
            }
        });
        return sessions.Get(session.Id);
    }

    /// <summary>Changes the mode for every device at once; the gatekeeper applies it from the next tool call.</summary>
    public async Task<Session> SetModeAsync(string sessionId, string mode, Actor actor, CancellationToken cancellationToken)
    {
        var session = sessions.Get(sessionId);
        authority.Ensure(actor, session.ProjectId, new Teams.ChooseMode(mode));
        var changed = database.Write(write =>
        {
            if (!sessions.SetMode(write, session.Id, mode))
            {
                return false;
            }

            ledger.Append(write, actor.Name, "session.mode_changed", session.Id, new JsonObject { ["from"] = session.Mode, ["to"] = mode });
            return true;
        });
        if (changed && _live.TryGetValue(session.Id, out var runner))
        {
            await runner.SetModeAsync(mode, cancellationToken);
        }

        return sessions.Get(session.Id);
    }

    public async Task StopProjectAsync(string projectId, Actor actor, CancellationToken cancellationToken)
    {
        // Every live one of the project, however old (the list is a page of the newest).
        foreach (var sessionId in _live.Keys.Concat(_preparing.Keys).Distinct().Where(id => sessions.Find(id)?.ProjectId == projectId).ToList())
        {
            await StopAsync(sessionId, actor, cancellationToken);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var interrupted = sessions.WithStatus(SessionStatuses.Busy);
        foreach (var session in interrupted)
        {
            database.Write(write =>
            {
                sessions.Move(write, session.Id, LifeEvent.ServerStopped, "the server stopped while the agent was working");
                ledger.Append(write, Actor.System.Name, "session.interrupted", session.Id);
            });
        }

        // Queued messages survive a restart, held: every device is told so (the last word on them may have said otherwise).
        queue.ReleaseUnsent();
        foreach (var waiting in queue.SessionsWaiting())
        {
            queue.Announce(waiting, held: sessions.Find(waiting)?.Status != SessionStatuses.Preparing);
        }

        // Worktrees a restart cut short are made now, from the start; their sessions go on as if nothing had happened.
        foreach (var unfinished in worktrees.Unfinished())
        {
            ResumePreparation(unfinished);
        }

        var approvals = gatekeeper.InterruptPending();
        if (interrupted.Count + approvals > 0)
        {
            logger.LogInformation("Marked {Sessions} session(s) and {Approvals} pending approval(s) interrupted after a restart", interrupted.Count, approvals);
        }

        // Whoever waits for an agent slot is told their place whenever the line moves.
        runnerServices.Slots.Watch(SayPlaces);
        // A session in line for a slot goes before an agent started ahead of a decision only because someone looked, and
        // before one whose turn is over.
        runnerServices.Slots.Watch(() =>
        {
            if (runnerServices.Slots.Need() is { OwnOnly: false })
            {
                foreach (var runner in _live.Values)
                {
                    runner.CoolWarmPaused();
                }

                _ = Task.Run(MakeRoomAsync, CancellationToken.None);
            }
        });
        // With no agent left running, what the busy time left committed goes back to the system.
        var trim = new Running.QuietTrim(clock, () => runnerServices.Slots.Running, () =>
        {
            var before = Environment.WorkingSet;
            Running.QuietTrim.Collect();
            logger.LogInformation("No agent runs: memory given back to the system (working set {Before} MiB, now {After} MiB)",
                before >> 20, Environment.WorkingSet >> 20);
        });
        runnerServices.Slots.Watch(trim.Changed);
        _suspender = SuspendIdleLoopAsync(_stopping.Token);

        return Task.CompletedTask;
    }

    /// <summary>
    /// Agent processes are heavy (an idle claude holds ~160 MiB). One idle longer than the configured time is
    /// stopped cleanly, its conversation kept; the next message brings it back with the agent's native resume.
    /// Never while a turn runs or a question is open.
    /// </summary>
    public async Task<int> SuspendIdleAsync(CancellationToken cancellationToken)
    {
        // Counted apart: the list and the last runner of the loop stay referenced from its state until it completes, and the
        // collection below is to take them too.
        var suspended = await SuspendEachIdleAsync(cancellationToken);
        if (suspended > 0)
        {
            ReturnMemory();
        }

        return suspended;
    }

    private async Task<int> SuspendEachIdleAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var suspended = 0;
        foreach (var runner in _live.Values.Where(r => r.IsQuiescent && now - r.LastActivity >= options.SuspendIdleAfter).ToList())
        {
            if (await SuspendAsync(runner, SuspendedWhileIdle, r => now - r.LastActivity >= options.SuspendIdleAfter,
                    ledgerDetail: null, cancellationToken))
            {
                suspended++;
            }
        }

        return suspended;
    }

    /// <summary>What an idle session suspended after the idle time says (the phone shows it).</summary>
    public const string SuspendedWhileIdle = "suspended while idle; the next message resumes it";

    /// <summary>
    /// Under the session's start lock, as a hand-back is: closed to new messages between turns (a message that got in first
    /// keeps it open; messages that wait for someone stay queued), then stopped, its conversation kept. A message that comes
    /// meanwhile waits for the lock and brings it back (<see cref="SendAsync"/>) rather than finding it stopping. Says whether
    /// it suspended it.
    /// </summary>
    /// <param name="stillDue">Asked again under the lock: a message or an event may have come while it was awaited.</param>
    /// <param name="ledgerDetail">When given, a <c>session.suspended</c> ledger entry with this detail, written before it is announced.</param>
    private async Task<bool> SuspendAsync(SessionRunner runner, string reason, Func<SessionRunner, bool> stillDue,
        JsonObject? ledgerDetail, CancellationToken cancellationToken)
    {
        var suspended = false;
        var gate = _startLocks.GetOrAdd(runner.SessionId, _ => new SemaphoreSlim(1, 1));
        await gate.RunAsync(async () =>
        {
            if (!_live.TryGetValue(runner.SessionId, out var current) || current != runner || !runner.IsQuiescent || !stillDue(runner)
                || !await runner.CloseBetweenTurnsAsync(cancellationToken, leavingHeldMessages: true)
                || !_live.TryRemove(new KeyValuePair<string, SessionRunner>(runner.SessionId, runner)))
            {
                return;
            }

            await runner.StopAsync(cancellationToken);
            if (ledgerDetail is not null)
            {
                database.Write(write => ledger.Append(write, Actor.System.Name, "session.suspended", runner.SessionId, ledgerDetail));
            }

            sessions.Announce(runner.SessionId, reason);
            suspended = true;
        }, cancellationToken);
        return suspended;
    }

    /// <summary>
    /// Someone waits in line for an agent slot: the session idle the longest among those holding one (its turn over for
    /// <see cref="IdleBeforeGivingWay"/> at least; the first waiter's own before anyone else's) is suspended now, as it would
    /// be after the idle time (its conversation kept, the next message resumes it), so that "starts when one of the running
    /// sessions finishes" holds. Nothing working, asking or about to take a message is touched; messages that wait for someone
    /// (held for the owner, or for a revoked sender's message to be confirmed) stay queued and go when it is resumed. Each slot
    /// let go moves the line and comes back here, one session at a time.
    /// </summary>
    private async Task MakeRoomAsync()
    {
        // One at a time: a suspended agent lets its slot go only once it has exited, and until then the line still looks
        // unserved; a second pass meanwhile would suspend one session more than the line needs.
        await _makingRoom.WaitAsync(_stopping.Token);
        try
        {
            // Asked at every minute tick: with nobody in line (or a slot free for them), nothing is read.
            if (runnerServices.Slots.Need() is not { } need)
            {
                return;
            }

            var now = clock.GetUtcNow();
            var idle = _live.Values
                .Where(r => r.IsQuiescent && r.IsAlive && !r.RunsAnyTask && runnerServices.Slots.Holds(r.SessionId)
                    && sessions.Find(r.SessionId)?.Status == SessionStatuses.Idle)
                .ToList();

            // Of those idle long enough, the first waiter's own first (any device of theirs), then anyone's: never waiting on the
            // waiter's own while someone else's is due, or a chatty agent of theirs would hold up the whole line.
            var waiter = sessions.Find(need.SessionId);
            bool Due(SessionRunner r) => now - r.LastActivity >= IdleBeforeGivingWay;
            bool WaitersOwn(SessionRunner r) => waiter is not null && SameStarter(waiter, sessions.Find(r.SessionId));
            // A waiter held by their own cap is served only by their own agent giving way: nobody else's is stopped for nothing.
            idle = need.OwnOnly ? idle.Where(WaitersOwn).ToList() : idle;
            if (idle.Count == 0)
            {
                return;
            }

            var due = idle.Where(Due).OrderByDescending(WaitersOwn).ThenBy(r => r.LastActivity).ToList();
            if (due.Count == 0)
            {
                // Its owner may still be typing the next message: asked again once the longest idle has been idle long enough.
                MakeRoomLater(IdleBeforeGivingWay - (now - idle.Min(r => r.LastActivity)));
                return;
            }

            // In that order until one gives way: one that cannot now (a message got in first) must not hold up the line.
            foreach (var runner in due)
            {
                if (await SuspendAsync(runner, SuspendedForTheLine, Due, ForWhom(waiter, runner), _stopping.Token))
                {
                    return;
                }
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning(exception, "Making room for a session in line failed");
        }
        finally
        {
            _makingRoom.Release();
        }
    }

    /// <summary>
    /// Started by the same person (from any of their devices), or the same device that is no one's. Sessions started before the
    /// person was kept are compared by their starters' names.
    /// </summary>
    private static bool SameStarter(Session waiter, Session? other) =>
        other is not null && (waiter.StartedByPerson is { } person && other.StartedByPerson is not null
            ? person == other.StartedByPerson
            : waiter.StartedBy is { } name && other.StartedBy == name);

    /// <summary>
    /// The ledger's detail of a suspension for the line: someone else's session may be the one stopped, so it says for whom (the
    /// waiting session itself only when it is of the same project: the ledger's project exports carry no other project's ids).
    /// </summary>
    private JsonObject ForWhom(Session? waiter, SessionRunner suspended)
    {
        var detail = new JsonObject { ["reason"] = "agent_slot", ["forPerson"] = waiter?.StartedBy };
        if (waiter is not null && waiter.ProjectId == sessions.Find(suspended.SessionId)?.ProjectId)
        {
            detail["for"] = waiter.Id;
        }

        return detail;
    }

    private readonly SemaphoreSlim _makingRoom = new(1, 1);

    /// <summary>How long a session's turn must have been over before it gives its slot to a session in line.</summary>
    public static readonly TimeSpan IdleBeforeGivingWay = TimeSpan.FromSeconds(30);

    private int _roomLater;

    /// <summary>One wait at a time for the line's next chance (the suspender's minute tick asks too).</summary>
    private void MakeRoomLater(TimeSpan after)
    {
        if (Interlocked.Exchange(ref _roomLater, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(after > TimeSpan.Zero ? after : TimeSpan.Zero, clock, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            finally
            {
                Interlocked.Exchange(ref _roomLater, 0);
            }

            await MakeRoomAsync();
        }, CancellationToken.None);
    }

    /// <summary>What an idle session suspended to let a session in line start says (the phone shows it).</summary>
    public const string SuspendedForTheLine = "suspended to let a session waiting for an agent slot start; the next message resumes it";

    /// <summary>
    /// A suspended session keeps nothing of its run on the heap (its runner, agent process, pipes and buffers are all
    /// unreachable once it leaves the live set; its events are in the database), but the server GC keeps the memory their
    /// work used committed, for allocations to come: measured, 7.8 MiB of RSS per suspended session, against 0.2 MiB of heap
    /// they still reach. Suspension is for memory, so the heap is compacted and what is free handed back to the system,
    /// at most once a minute and only when sessions were suspended: a blocking pause of some milliseconds at a heap of this
    /// size, which sessions still working wait out too.
    /// </summary>
    private static void ReturnMemory() =>
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    private async Task SuspendIdleLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(SuspendCheckInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    if (options.SuspendIdleAfter > TimeSpan.Zero)
                    {
                        await SuspendIdleAsync(cancellationToken);
                    }

                    // The line's own chance, even with idle suspension off: the limit is the owner's word too.
                    await MakeRoomAsync();
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // The loop must outlive one agent that will not stop; it is logged.
                    logger.LogWarning(exception, "Suspending idle sessions failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _suspender;
        // Worktrees being made stop with the server (theirs is cancelled with _stopping); the next start makes them again.
        await Task.WhenAll(_preparing.Values.Select(p => p.Finished.Task));

        // Questions nobody can answer any more are settled as interrupted, not left pending.
        gatekeeper.InterruptPending();
        var runners = _live.Values.ToList();
        _live.Clear();
        foreach (var runner in runners)
        {
            sessions.Move(runner.SessionId, LifeEvent.ServerStopped, "the server is shutting down");
        }

        await Task.WhenAll(runners.Select(async runner =>
        {
            try
            {
                await runner.StopAsync(CancellationToken.None);
            }
            catch (Exception exception)
            {
                // Shutdown goes on for the others whatever one agent does.
                logger.LogWarning(exception, "Stopping session {Session} failed", runner.SessionId);
            }
        }));
    }

    /// <summary>
    /// The budget is spent and a message waits in the session's queue: "raise the budget?" is asked (once per session at a
    /// time); once a decider raises it the queue goes on, bringing the agent back if it was suspended meanwhile. Refused, what
    /// waits stays held, and sending again (or Send queued now) asks again.
    /// </summary>
    private void HoldOnBudget(string sessionId, string waiting)
    {
        if (!_budgetWaits.TryAdd(sessionId, 0))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            var raised = false;
            try
            {
                var session = sessions.Get(sessionId);
                var held = new Teams.BudgetHold(Teams.BudgetHold.Message, null, waiting.Length > 200 ? waiting[..200] + "…" : waiting);
                var decision = await gatekeeper.HoldOnBudgetAsync(new GateContext(session.Id, projects.Get(session.ProjectId), session.Mode), held, "",
                    () => { }, _stopping.Token);
                raised = decision.Allow;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogWarning(exception, "Session {SessionId}: the budget could not be asked about", sessionId);
            }
            catch (OperationCanceledException)
            {
                // The server is stopping: what waits stays queued, held, for the next start.
            }
            finally
            {
                _budgetWaits.TryRemove(sessionId, out _);
            }

            if (raised)
            {
                await RunQueueAfterRaiseAsync(sessionId);
            }
            else
            {
                AnnounceQueue(sessionId);
            }
        }, CancellationToken.None);
    }

    private async Task RunQueueAfterRaiseAsync(string sessionId)
    {
        try
        {
            await RunQueueAsync(sessionId, _stopping.Token);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // A stopped session, an agent that will not start: the message stays queued, and the owner hears why.
            logger.LogWarning(exception, "Session {SessionId}: the queue could not go on after the budget was raised", sessionId);
            events.Append(sessionId, new ErrorEvent($"The budget was raised, but what waits could not be sent: {exception.Message} Send queued now to try again."));
        }
    }

    private static ApiProblem StoppedConflict() =>
        ApiProblem.Conflict(ErrorCodes.SessionNotActive, "This session was stopped. Start a new session to continue.");

    /// <summary>
    /// The session's live runner, its agent started (or resumed) first if its process is gone; null when it waits for an agent
    /// slot instead (it joined the line here, or was in it already), or for its worktree.
    /// </summary>
    /// <param name="started">Called, under the session's start lock, only when this call started the agent (with its runner) or
    /// put the session in line for a slot (with null).</param>
    private async Task<SessionRunner?> EnsureRunningAsync(string sessionId, CancellationToken cancellationToken, Action<SessionRunner?>? started = null)
    {
        var session = sessions.Get(sessionId);
        // A paused agent is live too: the owner's decision resumes it, on the call it paused on (never a second process).
        if (_live.TryGetValue(session.Id, out var live) && live.HasAgent)
        {
            return live;
        }

        if (session.Status == SessionStatuses.Stopped)
        {
            throw StoppedConflict();
        }

        var gate = _startLocks.GetOrAdd(session.Id, _ => new SemaphoreSlim(1, 1));
        return await gate.RunAsync(async () =>
        {
            if (_live.TryGetValue(session.Id, out live) && live.HasAgent)
            {
                return live;
            }

            // Still listed for a moment after a failure is recorded (the preparation's last step takes it off): a failed one
            // lets a resume meet the failure's cause. Only failed: a start in line or under way keeps every other status
            // (a resumed session's own, say) and must never get a second runner beside it (the authority fuzzer's finding).
            if (_preparing.ContainsKey(session.Id) && sessions.Get(session.Id).Status != SessionStatuses.Failed)
            {
                return null;
            }

            // Stopped while this waited for the lock (a stop holds it until the session says so).
            if (sessions.Get(session.Id).Status == SessionStatuses.Stopped)
            {
                throw StoppedConflict();
            }

            var project = projects.Get(session.ProjectId);
            var adapter = agents.Find(session.Agent) ?? throw ApiProblem.Conflict(ErrorCodes.AgentUnavailable,
                $"The agent '{session.Agent}' is not available in this build.");
            var resume = sessions.HasConversation(session.Id);
            if (resume && TerminalProcesses.Holding(TerminalProcesses.CommandLines(), session.AgentSessionId, null, null) is { } holder)
            {
                // The owner carried it on in a terminal meanwhile: never a second process on one conversation.
                throw ApiProblem.Conflict(ErrorCodes.ConversationInUse,
                    $"A process on this machine holds this conversation (pid {holder.Pid}: {holder.Name}). Quit it in its terminal, then send again.");
            }

            if (runnerServices.Slots.TryTake(session.Id) is not { } slot)
            {
                BeginQueuedStart(session, project, adapter, resume);
                started?.Invoke(null);
                return null;
            }

            var runner = await StartRunnerAsync(session, project, adapter, resume, slot, cancellationToken);
            started?.Invoke(runner);
            return runner;
        }, cancellationToken);
    }

    /// <summary>Starts the session's agent in <paramref name="slot"/>, which is the runner's from here on (let go here if it fails).</summary>
    private async Task<SessionRunner> StartRunnerAsync(Session session, Project project, IAgentAdapter adapter, bool resume, Running.SlotLease slot,
        CancellationToken cancellationToken, bool holdQueued = true)
    {
        try
        {
            return await StartInSlotAsync(session, project, adapter, resume, slot, cancellationToken, holdQueued);
        }
        catch (Exception)
        {
            // No agent left running, whatever failed and however often this is tried: the slot goes to the next in line (a
            // runner that let it go already makes this nothing).
            runnerServices.Slots.Release(slot);
            throw;
        }
    }

    private async Task<SessionRunner> StartInSlotAsync(Session session, Project project, IAgentAdapter adapter, bool resume, Running.SlotLease slot,
        CancellationToken cancellationToken, bool holdQueued)
    {
        // Never quietly without the sandbox the project runs in: the owner installs bubblewrap or chooses "none" for it.
        if (runnerServices.Sandboxing.Refusal(project) is { } refused)
        {
            throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.SandboxUnavailable, refused);
        }

        var logDirectory = Path.Combine(database.DataDirectory, "logs", "sessions", session.Id);
        // A session in a worktree of its own works there: the agent, the gate's project root and its turn reviews (a worktree
        // deleted outside PocketCoder: WORKTREE_UNAVAILABLE, here).
        var workingDirectory = worktrees.WorkingDirectory(session.Id, project);
        var workspace = workingDirectory == project.Path ? project : project with { Path = workingDirectory };
        var runner = new SessionRunner(session, workspace, adapter, logDirectory, runnerServices,
            ended => _live.TryRemove(new KeyValuePair<string, SessionRunner>(ended.SessionId, ended)), held => HoldOnBudget(session.Id, held));
        try
        {
            await runner.StartAsync(resume, slot, cancellationToken, holdQueued);
        }
        catch (AgentUnavailableException exception)
        {
            database.Write(write =>
            {
                events.Append(write, session.Id, new ErrorEvent(exception.Message) { Code = ErrorCodes.AgentUnavailable });
                sessions.Move(write, session.Id, LifeEvent.StartFailed, "the agent could not be started");
                ledger.Append(write, Actor.System.Name, "session.start_failed", session.Id,
                    new JsonObject { ["agent"] = session.Agent, ["code"] = ErrorCodes.AgentUnavailable });
            });
            throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.AgentUnavailable,
                $"{exception.Message} New session shows which agents are installed.");
        }
        catch (Exception)
        {
            // A start that broke after its process came up (a read of the session, its cost) leaves no agent behind, outside
            // the live set where nothing would ever stop it.
            await runner.StopAsync(CancellationToken.None);
            throw;
        }

        _live[session.Id] = runner;
        return runner;
    }
}
