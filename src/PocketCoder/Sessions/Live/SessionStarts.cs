using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Realtime;
using PocketCoder.Sessions.Running;

namespace PocketCoder.Sessions.Live;

/// <summary>
/// Brings sessions' agents up, and keeps the records honest across restarts. No request waits here for an agent: a start
/// without a free agent slot joins the line (<c>queued</c>) and goes on in the background, a session on a branch of its own
/// waits for its worktree (<c>preparing</c>), and each start's outcome is an event. Every start is under the session's start
/// lock (<see cref="LiveSession.StartLock"/>). At start-up, sessions that were busy become <c>interrupted</c> and their
/// pending approvals are settled; at shutdown, every agent process is stopped.
/// </summary>
public sealed partial class SessionStarts(
    Database database,
    SessionServices runnerServices,
    ProjectStore projects,
    AgentRegistry agents,
    Ledger.LedgerStore ledger,
    Workspace.Worktrees.SessionWorktrees worktrees,
    LiveSessions liveSessions,
    ILogger<SessionStarts> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();

    private SessionStore Sessions => runnerServices.Sessions;

    private EventLog Events => runnerServices.Events;

    private Gatekeeper Gatekeeper => runnerServices.Gatekeeper;

    private MessageQueue Queue => runnerServices.Queue;

    /// <summary>The agent <paramref name="agentId"/> names, or 400 <c>UNKNOWN_AGENT</c> listing the known ones.</summary>
    internal IAgentAdapter Agent(string agentId) => agents.Find(agentId) ?? throw ApiProblem.BadRequest(ErrorCodes.UnknownAgent,
        $"Unknown agent '{agentId}'. Known agents: {string.Join(", ", agents.All.Select(a => a.Id))}.");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var interrupted = Sessions.WithStatus(SessionStatuses.Busy);
        foreach (var session in interrupted)
        {
            database.Write(write =>
            {
                Sessions.Move(write, session.Id, LifeEvent.ServerStopped, "the server stopped while the agent was working");
                ledger.Append(write, Actor.System.Name, "session.interrupted", session.Id);
            });
        }

        // Queued messages survive a restart, held: every device is told so (the last word on them may have said otherwise).
        Queue.ReleaseUnsent();
        foreach (var waiting in Queue.SessionsWaiting())
        {
            Queue.Announce(waiting, held: Sessions.Find(waiting)?.Status != SessionStatuses.Preparing);
        }

        // Worktrees a restart cut short are made now, from the start; their sessions go on as if nothing had happened.
        foreach (var unfinished in worktrees.Unfinished())
        {
            ResumePreparation(unfinished);
        }

        var approvals = Gatekeeper.InterruptPending();
        if (interrupted.Count + approvals > 0)
        {
            logger.LogInformation("Marked {Sessions} session(s) and {Approvals} pending approval(s) interrupted after a restart", interrupted.Count, approvals);
        }

        // Whoever waits for an agent slot is told their place whenever the line moves.
        runnerServices.Slots.Watch(SayPlaces);
        // With no agent left running, what the busy time left committed goes back to the system.
        var trim = new Running.QuietTrim(runnerServices.Clock, () => runnerServices.Slots.Running, () =>
        {
            var before = Environment.WorkingSet;
            Running.QuietTrim.Collect();
            logger.LogInformation("No agent runs: memory given back to the system (working set {Before} MiB, now {After} MiB)",
                before >> 20, Environment.WorkingSet >> 20);
        });
        runnerServices.Slots.Watch(trim.Changed);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        // Worktrees being made stop with the server (theirs is cancelled with _stopping); the next start makes them again.
        await Task.WhenAll(liveSessions.Preparations.Select(p => p.Finished.Task));

        // Questions nobody can answer any more are settled as interrupted, not left pending.
        Gatekeeper.InterruptPending();
        var runners = liveSessions.All.Select(l => l.TakeRunner()).OfType<SessionRunner>().ToList();
        foreach (var runner in runners)
        {
            Sessions.Move(runner.SessionId, LifeEvent.ServerStopped, "the server is shutting down");
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

    /// <remarks>A session that must wait for an agent slot runs its queue when it starts: false now.</remarks>
    internal async Task<bool> RunQueueAsync(string sessionId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (await EnsureRunningAsync(sessionId, cancellationToken) is not { } runner)
            {
                await LetHeldQueueGoAsync(sessionId, cancellationToken);
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

    /// <summary>A resume under way holds what was queued before it for the owner: they let it go now, and it runs once the agent is up.</summary>
    private Task LetHeldQueueGoAsync(string sessionId, CancellationToken cancellationToken) =>
        liveSessions.Of(sessionId).StartLock.RunAsync(() =>
        {
            if (liveSessions.PreparationOf(sessionId) is { HoldsQueue: true } waiting)
            {
                waiting.HoldsQueue = false;
                Queue.Announce(sessionId, held: false);
            }

            return Task.CompletedTask;
        }, cancellationToken);

    /// <summary>Whether <paramref name="runner"/> was suspended (not stopped for good) once what holds the start lock is done.</summary>
    internal async Task<bool> SuspendedMeanwhileAsync(string sessionId, SessionRunner runner, CancellationToken cancellationToken)
    {
        await liveSessions.Of(sessionId).StartLock.RunAsync(() => Task.CompletedTask, cancellationToken);
        return liveSessions.RunnerOf(sessionId) != runner && Sessions.Find(sessionId)?.Status == SessionStatuses.Idle;
    }

    /// <summary>
    /// The budget is spent and a message waits in the session's queue: "raise the budget?" is asked (once per session at a
    /// time); once a decider raises it the queue goes on, bringing the agent back if it was suspended meanwhile. Refused, what
    /// waits stays held, and sending again (or Send queued now) asks again.
    /// </summary>
    private void HoldOnBudget(string sessionId, string waiting)
    {
        if (!liveSessions.Of(sessionId).BeginBudgetWait())
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            var raised = false;
            try
            {
                var session = Sessions.Get(sessionId);
                var held = new Teams.BudgetHold(Teams.BudgetHold.Message, null, waiting.Length > 200 ? waiting[..200] + "…" : waiting);
                var decision = await Gatekeeper.HoldOnBudgetAsync(new GateContext(session.Id, projects.Get(session.ProjectId), session.Mode), held, "",
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
                liveSessions.Of(sessionId).EndBudgetWait();
            }

            if (raised)
            {
                await RunQueueAfterRaiseAsync(sessionId);
            }
            else
            {
                Queue.Announce(sessionId, liveSessions.QueueHeld(sessionId));
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
            Events.Append(sessionId, new ErrorEvent($"The budget was raised, but what waits could not be sent: {exception.Message} Send queued now to try again."));
        }
    }

    internal static ApiProblem StoppedConflict() =>
        ApiProblem.Conflict(ErrorCodes.SessionNotActive, "This session was stopped. Start a new session to continue.");

    /// <summary>
    /// The session's live runner, its agent started (or resumed) first if its process is gone; null when it waits for an agent
    /// slot instead (it joined the line here, or was in it already), or for its worktree.
    /// </summary>
    /// <param name="inBackground">Given, no start is waited for: under the start lock, once the agent is known to be down and
    /// its start allowed, its <see cref="BackgroundStart.First"/> is called (a message joins the queue, first) and the start goes
    /// on in the background (in line if every slot is taken), running the queue once the agent is up (or holding it for the owner
    /// on a resume); null is returned. Its outcome is told as events.</param>
    internal async Task<SessionRunner?> EnsureRunningAsync(string sessionId, CancellationToken cancellationToken, BackgroundStart? inBackground = null)
    {
        var session = Sessions.Get(sessionId);
        // A paused agent is live too: the owner's decision resumes it, on the call it paused on (never a second process).
        if (liveSessions.RunnerOf(session.Id) is { HasAgent: true } live)
        {
            return live;
        }

        if (session.Status == SessionStatuses.Stopped)
        {
            throw StoppedConflict();
        }

        var gate = liveSessions.Of(session.Id).StartLock;
        return await gate.RunAsync(async () =>
        {
            if (liveSessions.RunnerOf(session.Id) is { HasAgent: true } upMeanwhile)
            {
                return upMeanwhile;
            }

            // Still listed for a moment after a failure is recorded (the preparation's last step takes it off): a failed one
            // lets a resume meet the failure's cause. Only failed: a start in line or under way keeps every other status
            // (a resumed session's own, say) and must never get a second runner beside it (the authority fuzzer's finding).
            if (liveSessions.IsPreparing(session.Id) && Sessions.Get(session.Id).Status != SessionStatuses.Failed)
            {
                return null;
            }

            // Stopped while this waited for the lock (a stop holds it until the session says so).
            if (Sessions.Get(session.Id).Status == SessionStatuses.Stopped)
            {
                throw StoppedConflict();
            }

            var project = projects.Get(session.ProjectId);
            var adapter = agents.Find(session.Agent) ?? throw ApiProblem.Conflict(ErrorCodes.AgentUnavailable,
                $"The agent '{session.Agent}' is not available in this build.");
            var resume = Sessions.HasConversation(session.Id);
            if (resume && TerminalProcesses.Holding(TerminalProcesses.CommandLines(), session.AgentSessionId, null, null) is { } holder)
            {
                // The owner carried it on in a terminal meanwhile: never a second process on one conversation.
                throw ApiProblem.Conflict(ErrorCodes.ConversationInUse,
                    $"A process on this machine holds this conversation (pid {holder.Pid}: {holder.Name}). Quit it in its terminal, then send again.");
            }

            if (runnerServices.Sandboxing.Refusal(project) is { } refused)
            {
                throw new ApiProblem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.SandboxUnavailable, refused);
            }

            if (inBackground is not null)
            {
                // Its worktree gone, or never made: WORKTREE_UNAVAILABLE now, not a start that fails later.
                _ = worktrees.WorkingDirectory(session.Id, project);
                inBackground.First?.Invoke(session);
                // Said starting before the lock goes: a message or a resume that comes meanwhile joins the queue, or finds the
                // start under way, rather than starting a second agent beside it (a failed session would let it through).
                Sessions.Move(session.Id, LifeEvent.StartBegun, resume ? $"resuming {inBackground.For}" : $"starting {inBackground.For}");
                BeginQueuedStart(session, project, adapter, resume, inBackground.ResumedBy);
                return null;
            }

            if (runnerServices.Slots.TryTake(session.Id) is not { } slot)
            {
                BeginQueuedStart(session, project, adapter, resume);
                return null;
            }

            return await StartRunnerAsync(session, project, adapter, resume, slot, cancellationToken);
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
            ended => liveSessions.Of(ended.SessionId).Forget(ended), held => HoldOnBudget(session.Id, held));
        try
        {
            await runner.StartAsync(resume, slot, cancellationToken, holdQueued);
        }
        catch (AgentUnavailableException exception)
        {
            database.Write(write =>
            {
                Events.Append(write, session.Id, new ErrorEvent(exception.Message) { Code = ErrorCodes.AgentUnavailable });
                Sessions.Move(write, session.Id, LifeEvent.StartFailed, "the agent could not be started");
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

        liveSessions.Of(session.Id).Run(runner);
        return runner;
    }
}
