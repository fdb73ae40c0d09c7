using System.Text.Json.Nodes;
using System.Threading.Channels;
using PocketCoder.Realtime;
using PocketCoder.Sessions;

namespace PocketCoder.Backlog;

/// <summary>
/// Starts each project's backlog tasks one after another: the next waits until the running task's session has finished
/// its work (a turn completed and nothing queued behind it, or the session failed or was stopped). A session waiting
/// for a decision, or interrupted by a restart, holds the backlog: the owner decides or resumes, and it goes on. It
/// watches the event hub for the running sessions' turn ends and status changes, and looks again at everything after a
/// restart or when it fell behind. Each change it makes, and each task a schedule adds, is told to the phones as an
/// ephemeral <c>backlog.changed</c> notice on the dashboard stream, so the Tasks screen never waits on a session's own
/// status (which can reach the phone before the task is closed).
/// </summary>
public sealed class BacklogRunner(BacklogTasks tasks, SessionManager manager, SessionStore sessions, EventLog events, EventHub hub,
    MessageQueue queue, ILogger<BacklogRunner> logger) : BackgroundService
{
    private readonly Channel<(string Project, bool Changed)> _kicks =
        Channel.CreateUnbounded<(string, bool)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Asks the runner to look at the project's backlog (a session finished), or tells it one was changed (a task added).</summary>
    public void Kick(string projectId, bool changed = false) => _kicks.Writer.TryWrite((projectId, changed));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var advancing = Task.Run(() => AdvanceLoopAsync(stoppingToken), CancellationToken.None);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using var subscription = hub.Subscribe(null, 4096);
                // After a restart, or having fallen behind: look at every project with work in its backlog.
                Safely(() =>
                {
                    foreach (var project in tasks.ActiveProjects())
                    {
                        Kick(project);
                    }
                });

                while (await subscription.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
                {
                    while (subscription.Reader.TryRead(out var item))
                    {
                        if (item.Stored is { Kind: "turn.completed" or "session.status" } stored)
                        {
                            Safely(() =>
                            {
                                if (tasks.ProjectRunning(stored.SessionId) is { } project)
                                {
                                    Kick(project);
                                }
                            });
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _kicks.Writer.TryComplete();
            await advancing.ConfigureAwait(false);
        }
    }

    private async Task AdvanceLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (project, changed) in _kicks.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    if (await AdvanceAsync(project, stoppingToken).ConfigureAwait(false) || changed)
                    {
                        hub.PublishEphemeral(new EphemeralEvent("backlog.changed", new JsonObject { ["projectId"] = project }.ToJsonString()));
                    }
                }
                catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                {
                    // One project's trouble never stops the others' backlogs (nor the server).
                    logger.LogWarning(exception, "The backlog of project {ProjectId} could not go on", project);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Closes the running task if its session has finished, then starts the next waiting one (skipping any that cannot
    /// start). True when a task changed.
    /// </summary>
    private async Task<bool> AdvanceAsync(string projectId, CancellationToken cancellationToken)
    {
        var changed = false;
        while (true)
        {
            if (tasks.Running(projectId) is { } running)
            {
                if (Outcome(running) is not { } outcome)
                {
                    return changed;
                }

                tasks.Finished(running.Id, outcome.Status, outcome.Problem);
                changed = true;
            }

            if (tasks.NextWaiting(projectId) is not { } next)
            {
                return changed;
            }

            if (tasks.Claim(next.Id) is not { } author)
            {
                // Removed a moment ago, or held: its device was revoked (the phones are told).
                changed = true;
                continue;
            }

            try
            {
                await manager.CreateAsync(projectId, next.Agent, OwnerMessage.FromText(next.Prompt), next.Model, next.Mode,
                    // Started in the name of whoever added it ("schedule NAME" for a schedule's), on its author's device's word.
                    author, cancellationToken,
                    next.Worktree ? new WorktreeChoice(null) : null, onCreated: created => tasks.Started(next.Id, created.Id)).ConfigureAwait(false);
                // Its turn may already have ended before the task knew its session: look once more.
                Kick(projectId);
                return true;
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Whatever stopped it (a worktree that could not be made, an agent gone), the next task is not held up by it.
                tasks.Finished(next.Id, BacklogStatuses.Failed, exception.Message);
                changed = true;
            }
        }
    }

    private void Safely(Action look)
    {
        try
        {
            look();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // A database hiccup: the next event (or restart) looks again; a background service must never stop the server.
            logger.LogWarning(exception, "The backlog could not look at an event");
        }
    }

    /// <summary>How the running task ended, or null while its session still works (or waits for the owner).</summary>
    private (string Status, string? Problem)? Outcome(BacklogTask running)
    {
        if (running.SessionId is not { } id)
        {
            return (BacklogStatuses.Failed, "the server stopped while it was starting");
        }

        if (sessions.Find(id) is not { } session)
        {
            return (BacklogStatuses.Failed, "its session is gone");
        }

        return session.Status switch
        {
            SessionStatuses.Failed => (BacklogStatuses.Failed, events.LastError(id) is { } why ? $"its session failed: {why}" : "its session failed"),
            SessionStatuses.Stopped => (BacklogStatuses.Done, null),
            // Messages still queued (held, after a cancel) are the owner's unfinished business with it: the backlog waits.
            SessionStatuses.Idle when !manager.IsWorking(id) && queue.IsEmpty(id) && events.Has(id, TurnCompletedEvent.Kind) => (BacklogStatuses.Done, null),
            _ => null,
        };
    }
}
