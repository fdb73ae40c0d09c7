using System.Collections.Concurrent;
using PocketCoder.Agents;
using PocketCoder.Projects;
using PocketCoder.Sessions.Running;

namespace PocketCoder.Sessions;

/// <summary>
/// Sessions beyond the limit on running agents (<see cref="AgentSlots"/>): one whose agent would start while every slot is taken
/// is answered <c>queued</c> at once, its message waiting in its queue, and starts by itself when one of the running sessions
/// finishes, pauses or is suspended; its place in line is its status's reason, said again whenever the line moves. It is handled
/// like a session whose worktree is being made (<see cref="Preparation"/>): messages sent meanwhile join its queue, a stop takes
/// it out of line.
/// </summary>
public sealed partial class SessionManager
{
    // The place last said to each session in line, so that a line that did not move for it says nothing again.
    private readonly ConcurrentDictionary<string, string> _placesSaid = new(StringComparer.Ordinal);
    private readonly Lock _placesLock = new();

    /// <summary>The running sessions' agent processes, for their memory.</summary>
    internal IReadOnlyList<(string SessionId, string Agent, int ProcessId)> RunningProcesses() =>
        [.. _live.Values.Where(r => r.IsAlive).Select(r => (r.SessionId, r.Agent, r.ProcessId)).Where(r => r.ProcessId is not null)
            .Select(r => (r.SessionId, r.Agent, r.ProcessId!.Value))];

    /// <summary>Every session in line is told its place as the line now stands (the ones whose place changed).</summary>
    private void SayPlaces()
    {
        var slots = runnerServices.Slots;
        lock (_placesLock)
        {
            var waiting = slots.Waiting;
            foreach (var gone in _placesSaid.Keys.Except(waiting, StringComparer.Ordinal).ToList())
            {
                _placesSaid.TryRemove(gone, out _);
            }

            for (var index = 0; index < waiting.Count; index++)
            {
                var reason = AgentSlots.QueuedReason(index + 1, slots.Running);
                // Checked again as it is written: a session given its slot meanwhile says what it does now, not its old place.
                if (_placesSaid.GetValueOrDefault(waiting[index]) != reason && slots.Place(waiting[index]) is not null)
                {
                    _placesSaid[waiting[index]] = reason;
                    sessions.Move(waiting[index], LifeEvent.JoinedLine, reason);
                }
            }
        }
    }

    /// <summary>
    /// The session's agent is to start but every slot is taken: it joins the line now (its status says so before this returns),
    /// and starts with its queue going on once a slot is free. Under the session's start lock.
    /// </summary>
    private void BeginQueuedStart(Session session, Project project, IAgentAdapter adapter, bool resume)
    {
        var waiting = new Preparation(_stopping.Token, resume);
        _preparing[session.Id] = waiting;
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
            _preparing.TryRemove(new KeyValuePair<string, Preparation>(session.Id, waiting));
            waiting.Finished.TrySetResult();
        }
    }

    /// <summary>
    /// A session that had a conversation leaves the line on a cancel (a new one is stopped, as one being prepared is): it is idle
    /// again with what it would have run held in its queue. False when it is not in line.
    /// </summary>
    private async Task<bool> LeaveLineAsync(string sessionId)
    {
        if (!_preparing.TryGetValue(sessionId, out var waiting) || !waiting.Resume || runnerServices.Slots.Place(sessionId) is null)
        {
            return false;
        }

        await waiting.Cancel.CancelAsync();
        await waiting.Finished.Task;
        if (_live.ContainsKey(sessionId))
        {
            // Its slot came first: it runs, and the cancel is the running turn's.
            return false;
        }

        sessions.Move(sessionId, LifeEvent.LeftLine, "taken out of the line for an agent slot");
        AnnounceQueue(sessionId);
        return true;
    }
}
