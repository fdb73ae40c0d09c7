using System.Collections.Concurrent;
using PocketCoder.Realtime;
using PocketCoder.Sessions;

namespace PocketCoder.Goals;

/// <summary>
/// Watches the event hub for what drives goals: a turn's end (judged by <see cref="GoalDriver"/>), a session stopped or
/// failed, and a session's agent back between turns after a start with nothing to run (a resume): its active goal goes on.
/// At the server's start it catches up: a turn that ended while no one judged it is judged now, and an active goal of a
/// session at rest between turns goes on; one whose session was cut off by the restart (<c>interrupted</c>) waits for
/// the owner's resume, and goes on then. Each session's goal work runs apart, so a long check holds up no other session.
/// </summary>
public sealed class GoalLoop(GoalDriver driver, GoalStore goals, SessionStore sessions, EventLog events, EventHub hub, ILogger<GoalLoop> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<string, string> _lastStatus = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using var subscription = hub.Subscribe(null, 4096);
                CatchUp(stoppingToken);
                while (await subscription.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
                {
                    while (subscription.Reader.TryRead(out var item))
                    {
                        if (item.Stored is { } stored)
                        {
                            On(stored, stoppingToken);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void On(StoredEvent stored, CancellationToken stoppingToken)
    {
        if (stored.Kind == TurnCompletedEvent.Kind)
        {
            Run(stored.SessionId, () => driver.TurnEndedAsync(stored, stoppingToken), stoppingToken);
        }
        else if (stored.As<SessionStatusEvent>() is { } status)
        {
            var before = _lastStatus.GetValueOrDefault(stored.SessionId);
            _lastStatus[stored.SessionId] = status.Status;
            if (status.Status is SessionStatuses.Stopped or SessionStatuses.Failed)
            {
                _lastStatus.TryRemove(stored.SessionId, out _);
                Run(stored.SessionId, () => driver.SessionEndedAsync(stored.SessionId, status.Status == SessionStatuses.Failed, stoppingToken), stoppingToken);
            }
            else if (status.Status == SessionStatuses.Idle && before is not (SessionStatuses.Running or SessionStatuses.WaitingApproval))
            {
                // Its agent came back with nothing to run (a resume), not a turn's end (which its turn.completed drives): the goal goes on.
                Run(stored.SessionId, () => driver.KickAsync(stored.SessionId, first: false, stoppingToken), stoppingToken);
            }
        }
    }

    /// <summary>After a restart, or having fallen behind: every open goal looked at once.</summary>
    private void CatchUp(CancellationToken stoppingToken)
    {
        IReadOnlyList<Goal> open;
        try
        {
            open = goals.Open();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning(exception, "The open goals could not be read");
            return;
        }

        foreach (var goal in open.Where(g => g.State == GoalState.Active))
        {
            Run(goal.SessionId, async () =>
            {
                var missed = events.ReadSession(goal.SessionId, goal.JudgedSeq, 10_000).LastOrDefault(e => e.Kind == TurnCompletedEvent.Kind);
                if (missed is not null)
                {
                    await driver.TurnEndedAsync(missed, stoppingToken).ConfigureAwait(false);
                }
                else if (sessions.Find(goal.SessionId) is { Status: SessionStatuses.Idle })
                {
                    await driver.KickAsync(goal.SessionId, first: false, stoppingToken).ConfigureAwait(false);
                }
            }, stoppingToken);
        }
    }

    private void Run(string sessionId, Func<Task> work, CancellationToken stoppingToken) => _ = Task.Run(async () =>
    {
        try
        {
            await work().ConfigureAwait(false);
        }
        catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
        {
            // One session's trouble never stops the others' goals (nor the server); the next turn's end looks again.
            logger.LogWarning(exception, "The goal of session {SessionId} could not go on", sessionId);
        }
        catch (OperationCanceledException)
        {
        }
    }, CancellationToken.None);
}
