using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Realtime;

namespace PocketCoder.Sessions;

/// <summary>
/// Sessions on a branch of their own: answered <c>preparing</c> at once, their worktree made after with <c>session.preparing</c>
/// progress, then their agent started there with the queue (the first prompt and what was sent meanwhile) going on. Apart from
/// the rest of the manager so that what happens before an agent exists reads in one place.
/// </summary>
public sealed partial class SessionManager
{
    /// <summary>A worktree being made, and what stops it: a stop or cancel of its session, or the server stopping.</summary>
    /// <param name="resume">Its agent carries on a conversation (a session in line for a slot that had one): a cancel takes it
    /// out of line rather than stopping it.</param>
    private sealed class Preparation(CancellationToken stopping, bool resume = false)
    {
        public bool Resume { get; } = resume;

        public CancellationTokenSource Cancel { get; } = CancellationTokenSource.CreateLinkedTokenSource(stopping);

        /// <summary>Set once the preparation has ended, however: its half-made worktree is gone by then, or its agent runs.</summary>
        public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private void BeginPreparation(Session session, Project project, IAgentAdapter adapter, Actor actor)
    {
        var preparation = new Preparation(_stopping.Token);
        _preparing[session.Id] = preparation;
        _ = Task.Run(() => PrepareAsync(session, project, adapter, actor, preparation), CancellationToken.None);
    }

    /// <summary>At start-up: a session whose worktree was being made goes on being made, or fails clearly when it cannot.</summary>
    private void ResumePreparation(Workspace.Worktrees.WorktreePreparation unfinished)
    {
        var session = sessions.Find(unfinished.SessionId);
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
                events.Append(write, session.Id, new ErrorEvent($"The server stopped while this session's worktree was being made, and its agent " +
                    $"'{session.Agent}' is not available now. Start a new session.") { Code = WorktreeFailedCode });
                sessions.Move(write, session.Id, LifeEvent.PreparationFailed, "its worktree could not be made");
            }
        });
    }

    /// <summary>
    /// Makes the session's worktree (with <c>session.preparing</c> progress), then starts its agent there and lets its queue
    /// (the first prompt, and whatever was sent meanwhile) go on. A failure ends the session <c>failed</c> with a
    /// <c>session.error</c> (<see cref="WorktreeFailedCode"/>); a stop takes the half-made worktree away; a server that stops
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
                    step => events.Append(session.Id, new SessionPreparingEvent(step.Phase, step.Percent, step.Done, step.Total)), token);
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

            sessions.Move(session.Id, LifeEvent.Prepared, "its worktree is ready");
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
            _preparing.TryRemove(new KeyValuePair<string, Preparation>(session.Id, preparation));
            preparation.Finished.TrySetResult();
        }
    }

    private void FailStart(string sessionId, string message, string? code) => database.Write(write =>
    {
        events.Append(write, sessionId, new ErrorEvent(message) { Code = code });
        sessions.Move(write, sessionId, LifeEvent.StartFailed, "the agent could not be started");
    });

    /// <summary>
    /// The agent of a session that waited (for its worktree, for a slot, holding one now) starts, and its queue goes on: under
    /// the start lock, which a message sent meanwhile waits for, so that none lands between "still waiting" and "running".
    /// </summary>
    /// <param name="slot">The agent slot it waited for: the runner's once it starts, let go here if the start is called off first.</param>
    private async Task StartPreparedAsync(Session session, Project project, IAgentAdapter adapter, bool resume, Running.SlotLease slot, Preparation preparation)
    {
        var token = preparation.Cancel.Token;
        var gate = _startLocks.GetOrAdd(session.Id, _ => new SemaphoreSlim(1, 1));
        // Let go here only if no runner took it: a runner that fails to start lets it go itself, one that runs, when its process ends.
        var handed = false;
        try
        {
            await gate.RunAsync(async () =>
            {
                try
                {
                    if (sessions.Find(session.Id)?.Status is null or SessionStatuses.Stopped)
                    {
                        // Stopped (or removed) as it waited: nothing starts, and its slot goes to the next in line.
                        return;
                    }

                    SessionRunner runner;
                    try
                    {
                        runner = await StartRunnerAsync(sessions.Get(session.Id), project, adapter, resume, slot, token, holdQueued: false);
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

                    await runner.RunQueueAsync(token);
                }
                finally
                {
                    // Messages sent from here on (waiting for this lock) find the agent running, or failed; a stop until now
                    // cancelled the start and stops whatever got going.
                    _preparing.TryRemove(new KeyValuePair<string, Preparation>(session.Id, preparation));
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
        if (sessions.Find(session.Id) is null)
        {
            // Its project was removed meanwhile, and the session with it: nobody is left to tell.
            return;
        }

        database.Write(write =>
        {
            worktrees.PreparationFailed(write, session.Id, why);
            events.Append(write, session.Id, new ErrorEvent($"The session's worktree could not be made: {why}") { Code = WorktreeFailedCode });
            sessions.Move(write, session.Id, LifeEvent.PreparationFailed, "its worktree could not be made");
            ledger.Append(write, Actor.System.Name, "session.start_failed", session.Id,
                new JsonObject { ["agent"] = session.Agent, ["code"] = WorktreeFailedCode });
        });
    }

    /// <summary>
    /// A message to a session whose worktree is still being made joins its queue (returned), and starts once the agent is up;
    /// null once it is not preparing. Under the start lock, which the preparation holds as it hands over to the agent.
    /// </summary>
    private async Task<QueuedMessage?> QueueWhilePreparingAsync(string sessionId, OwnerMessage message, Actor actor, CancellationToken cancellationToken)
    {
        if (!_preparing.ContainsKey(sessionId))
        {
            return null;
        }

        var gate = _startLocks.GetOrAdd(sessionId, _ => new SemaphoreSlim(1, 1));
        // Still listed for a moment after a failure is recorded (the preparation's last step takes it off): the status, written
        // with the failure's event, says whether it is really still being prepared.
        return await gate.RunAsync(() => Task.FromResult(_preparing.ContainsKey(sessionId)
                && sessions.Find(sessionId)?.Status is SessionStatuses.Preparing or SessionStatuses.Queued or SessionStatuses.Starting
                ? queue.Add(sessionId, message, actor, held: false)
                : null),
            cancellationToken);
    }
}
