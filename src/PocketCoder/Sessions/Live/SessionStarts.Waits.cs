using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Realtime;
using PocketCoder.Sessions.Running;

namespace PocketCoder.Sessions.Live;

/// <summary>
/// The waits before an agent can start. A session beyond the limit on running agents (<see cref="AgentSlots"/>) is answered
/// <c>queued</c> at once, its message waiting in its queue, and starts by itself when one of the running sessions finishes,
/// pauses or is suspended; its place in line is its status's reason, said again whenever the line moves. A session on a branch
/// of its own is answered <c>preparing</c>, its worktree made after with <c>session.preparing</c> progress, then its agent
/// started there. Messages sent meanwhile join its queue; a stop takes it out of line or stops git.
/// </summary>
public sealed partial class SessionStarts
{
    // One telling of the places at a time: two would each compare with what the other is writing.
    private readonly Lock _placesLock = new();

    /// <summary>Every session in line is told its place as the line now stands (the ones whose place changed).</summary>
    private void SayPlaces()
    {
        var slots = runnerServices.Slots;
        lock (_placesLock)
        {
            var waiting = slots.Waiting;
            var inLine = waiting.ToHashSet(StringComparer.Ordinal);
            foreach (var gone in liveSessions.All.Where(l => l.PlaceSaid is not null && !inLine.Contains(l.Id)))
            {
                gone.PlaceSaid = null;
            }

            for (var index = 0; index < waiting.Count; index++)
            {
                var reason = AgentSlots.QueuedReason(index + 1, slots.Running);
                var session = liveSessions.Of(waiting[index]);
                // Checked again as it is written: a session given its slot meanwhile says what it does now, not its old place.
                if (session.PlaceSaid != reason && slots.Place(session.Id) is not null)
                {
                    session.PlaceSaid = reason;
                    Sessions.Move(session.Id, LifeEvent.JoinedLine, reason);
                }
            }
        }
    }

    /// <summary>
    /// The session's agent is to start but every slot is taken: it joins the line now (its status says so before this returns),
    /// and starts with its queue going on once a slot is free. Under the session's start lock.
    /// </summary>
    /// <param name="resumedBy">Whose resume it is: what was queued before it is held for the owner once the agent is back.</param>
    internal void BeginQueuedStart(Session session, Project project, IAgentAdapter adapter, bool resume, Actor? resumedBy = null)
    {
        var waiting = new Preparation(_stopping.Token, resume, resumedBy) { HoldsQueue = resumedBy is not null && !Queue.IsEmpty(session.Id) };
        liveSessions.Of(session.Id).Prepare(waiting);
        // Joins the line at once (its status is written as it does), then waits for its turn.
        var slot = runnerServices.Slots.TakeAsync(session.Id, waiting.Cancel.Token);
        _ = Task.Run(() => StartWhenFreeAsync(session, project, adapter, resume, slot, waiting), CancellationToken.None);
    }

    private async Task StartWhenFreeAsync(Session session, Project project, IAgentAdapter adapter, bool resume, Task<Running.SlotLease> slot, Preparation waiting)
    {
        try
        {
            await StartPreparedAsync(session, project, adapter, resume, await slot, waiting);
        }
        catch (OperationCanceledException) when (waiting.Cancel.IsCancellationRequested)
        {
            // Stopped, or taken out of line by a cancel, or the server is stopping: whoever did it says what the session is now.
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Starting queued session {Session} failed", session.Id);
        }
        finally
        {
            liveSessions.Of(session.Id).EndPreparation(waiting);
            waiting.Finished.TrySetResult();
        }
    }

    /// <summary>
    /// A session that had a conversation leaves the line on a cancel (a new one is stopped, as one being prepared is): it is idle
    /// again with what it would have run held in its Queue. False when it is not in line.
    /// </summary>
    internal async Task<bool> LeaveLineAsync(string sessionId)
    {
        if (liveSessions.PreparationOf(sessionId) is not { } waiting || !waiting.Resume || runnerServices.Slots.Place(sessionId) is null)
        {
            return false;
        }

        await waiting.Cancel.CancelAsync();
        await waiting.Finished.Task;
        if (liveSessions.RunnerOf(sessionId) is not null)
        {
            // Its slot came first: it runs, and the cancel is the running turn's.
            return false;
        }

        Sessions.Move(sessionId, LifeEvent.LeftLine, "taken out of the line for an agent slot");
        Queue.Announce(sessionId, liveSessions.QueueHeld(sessionId));
        return true;
    }

    internal void BeginPreparation(Session session, Project project, IAgentAdapter adapter, Actor actor)
    {
        var preparation = new Preparation(_stopping.Token);
        liveSessions.Of(session.Id).Prepare(preparation);
        _ = Task.Run(() => PrepareAsync(session, project, adapter, actor, preparation), CancellationToken.None);
    }

    /// <summary>At start-up: a session whose worktree was being made goes on being made, or fails clearly when it cannot.</summary>
    private void ResumePreparation(Workspace.Worktrees.WorktreePreparation unfinished)
    {
        var session = Sessions.Find(unfinished.SessionId);
        var project = projects.Find(unfinished.ProjectId);
        var adapter = session is null ? null : agents.Find(session.Agent);
        if (session is { Status: SessionStatuses.Preparing } && project is not null && adapter is not null)
        {
            logger.LogInformation("Making the worktree of session {Session} again: a restart cut it short", session.Id);
            BeginPreparation(session, project, adapter, Actor.System);
            return;
        }

        database.Write(write =>
        {
            worktrees.PreparationFailed(write, unfinished.SessionId, "the server stopped while it was being made");
            if (session is not null && session.Status == SessionStatuses.Preparing)
            {
                Events.Append(write, session.Id, new ErrorEvent($"The server stopped while this session's worktree was being made, and its agent " +
                    $"'{session.Agent}' is not available now. Start a new session.") { Code = SessionManager.WorktreeFailedCode });
                Sessions.Move(write, session.Id, LifeEvent.PreparationFailed, "its worktree could not be made");
            }
        });
    }

    /// <summary>
    /// Makes the session's worktree (with <c>session.preparing</c> progress), then starts its agent there and lets its queue
    /// (the first prompt, and whatever was sent meanwhile) go on. A failure ends the session <c>failed</c> with a
    /// <c>session.error</c> (<see cref="SessionManager.WorktreeFailedCode"/>); a stop takes the half-made worktree away; a server that stops
    /// leaves it to be made again at the next start.
    /// </summary>
    private async Task PrepareAsync(Session session, Project project, IAgentAdapter adapter, Actor actor, Preparation preparation)
    {
        var token = preparation.Cancel.Token;
        try
        {
            try
            {
                await worktrees.PrepareAsync(session.Id, actor,
                    step => Events.Append(session.Id, new SessionPreparingEvent(step.Phase, step.Percent, step.Done, step.Total)), token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                if (!_stopping.IsCancellationRequested)
                {
                    // Stopped by the owner (StopAsync records that): the session will never get a worktree.
                    database.Write(write => worktrees.PreparationFailed(write, session.Id, "the session was stopped before it was ready"));
                }

                return;
            }
            catch (Exception exception)
            {
                FailPreparation(session, exception);
                return;
            }

            Sessions.Move(session.Id, LifeEvent.Prepared, "its worktree is ready");
            // Like any other start, within the limit on running agents: in line (queued) until a slot is free.
            var slot = await runnerServices.Slots.TakeAsync(session.Id, token);
            await StartPreparedAsync(session, project, adapter, resume: false, slot, preparation);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped as its agent was starting: StopAsync stops whatever runs.
        }
        catch (Exception exception)
        {
            // Never a session left saying "preparing" for ever with nobody working on it.
            logger.LogWarning(exception, "Starting session {Session} in its new worktree failed", session.Id);
            FailPreparation(session, exception);
        }
        finally
        {
            liveSessions.Of(session.Id).EndPreparation(preparation);
            preparation.Finished.TrySetResult();
        }
    }

    private void FailStart(string sessionId, string message, string? code) => database.Write(write =>
    {
        Events.Append(write, sessionId, new ErrorEvent(message) { Code = code });
        Sessions.Move(write, sessionId, LifeEvent.StartFailed, "the agent could not be started");
    });

    /// <summary>
    /// The agent of a session that waited (for its worktree, for a slot, holding one now) starts, and its queue goes on: under
    /// the start lock, which a message sent meanwhile waits for, so that none lands between "still waiting" and "running".
    /// </summary>
    /// <param name="slot">The agent slot it waited for: the runner's once it starts, let go here if the start is called off first.</param>
    private async Task StartPreparedAsync(Session session, Project project, IAgentAdapter adapter, bool resume, Running.SlotLease slot, Preparation preparation)
    {
        var token = preparation.Cancel.Token;
        var gate = liveSessions.Of(session.Id).StartLock;
        // Let go here only if no runner took it: a runner that fails to start lets it go itself, one that runs, when its process ends.
        var handed = false;
        try
        {
            await gate.RunAsync(async () =>
            {
                try
                {
                    if (Sessions.Find(session.Id)?.Status is null or SessionStatuses.Stopped)
                    {
                        // Stopped (or removed) as it waited: nothing starts, and its slot goes to the next in line.
                        return;
                    }

                    if (liveSessions.RunnerOf(session.Id) is { HasAgent: true } up)
                    {
                        // Its agent came up another way meanwhile: never a second process on one conversation; it takes the queue.
                        if (!preparation.HoldsQueue)
                        {
                            await up.RunQueueAsync(token);
                        }

                        return;
                    }

                    SessionRunner runner;
                    try
                    {
                        runner = await StartRunnerAsync(Sessions.Get(session.Id), project, adapter, resume, slot, token, holdQueued: preparation.HoldsQueue);
                        handed = true;
                    }
                    catch (ApiProblem problem)
                    {
                        // StartRunnerAsync reported an agent that would not start; anything else is reported here.
                        if (problem.Code != ErrorCodes.AgentUnavailable)
                        {
                            FailStart(session.Id, problem.Message, problem.Code);
                        }

                        return;
                    }
                    catch (Exception exception) when (exception is not OperationCanceledException || !token.IsCancellationRequested)
                    {
                        // Never a session left saying "queued" or "starting" with nobody to start it (the sandbox's set-up failed, a disk).
                        logger.LogWarning(exception, "Starting session {Session} failed", session.Id);
                        FailStart(session.Id, $"The agent could not be started: {exception.Message}", null);
                        return;
                    }

                    if (preparation.ResumedBy is { } resumer)
                    {
                        runner.ResumedBy(resumer);
                    }

                    if (!preparation.HoldsQueue)
                    {
                        await runner.RunQueueAsync(token);
                    }
                }
                finally
                {
                    // Messages sent from here on (waiting for this lock) find the agent running, or failed; a stop until now
                    // cancelled the start and stops whatever got going.
                    liveSessions.Of(session.Id).EndPreparation(preparation);
                }
            }, token);
        }
        finally
        {
            if (!handed)
            {
                runnerServices.Slots.Release(slot);
            }
        }
    }

    private void FailPreparation(Session session, Exception exception)
    {
        var why = exception is ApiProblem problem ? problem.Message : exception.Message;
        if (Sessions.Find(session.Id) is null)
        {
            // Its project was removed meanwhile, and the session with it: nobody is left to tell.
            return;
        }

        database.Write(write =>
        {
            worktrees.PreparationFailed(write, session.Id, why);
            Events.Append(write, session.Id, new ErrorEvent($"The session's worktree could not be made: {why}") { Code = SessionManager.WorktreeFailedCode });
            Sessions.Move(write, session.Id, LifeEvent.PreparationFailed, "its worktree could not be made");
            ledger.Append(write, Actor.System.Name, "session.start_failed", session.Id,
                new JsonObject { ["agent"] = session.Agent, ["code"] = SessionManager.WorktreeFailedCode });
        });
    }

    /// <summary>
    /// A message to a session whose worktree is still being made joins its queue (returned), and starts once the agent is up;
    /// null once it is not preparing. Under the start lock, which the preparation holds as it hands over to the agent.
    /// </summary>
    internal async Task<QueuedMessage?> QueueWhilePreparingAsync(string sessionId, OwnerMessage message, Actor actor, CancellationToken cancellationToken)
    {
        if (!liveSessions.IsPreparing(sessionId))
        {
            return null;
        }

        var gate = liveSessions.Of(sessionId).StartLock;
        // Still listed for a moment after a failure is recorded (the preparation's last step takes it off): the status, written
        // with the failure's event, says whether it is really still being prepared.
        return await gate.RunAsync(() =>
        {
            if (liveSessions.PreparationOf(sessionId) is not { } waiting
                || Sessions.Find(sessionId)?.Status is not (SessionStatuses.Preparing or SessionStatuses.Queued or SessionStatuses.Starting))
            {
                return Task.FromResult<QueuedMessage?>(null);
            }

            // What a resume holds for the owner: a message sent now goes first and lets the rest go on, as it does with the agent up.
            var first = waiting.HoldsQueue;
            waiting.HoldsQueue = false;
            return Task.FromResult<QueuedMessage?>(Queue.Add(sessionId, message, actor, held: false, first: first));
        }, cancellationToken);
    }
}
