using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Sessions.Running;

namespace PocketCoder.Sessions.Live;

/// <summary>
/// Agents that give their memory (and their agent slot) back: a session idle longer than the configured time, and the session
/// idle the longest when someone waits in line for a slot, are suspended (their agent stopped cleanly, their conversation
/// kept; the next message resumes them). Runs with the server, after the starts (<see cref="SessionStarts"/>), so that its
/// loop ends before they stop every agent.
/// </summary>
public sealed class Suspensions(LiveSessions live, SessionServices services, Database database, Ledger.LedgerStore ledger,
    ILogger<Suspensions> logger) : IHostedService
{
    /// <summary>How often idle sessions are looked for; suspension is not urgent, memory is the point.</summary>
    private static readonly TimeSpan SuspendCheckInterval = TimeSpan.FromMinutes(1);

    private readonly CancellationTokenSource _stopping = new();
    private Task _suspender = Task.CompletedTask;

    private SessionStore Sessions => services.Sessions;

    private AgentSlots Slots => services.Slots;

    private Server.PocketCoderOptions Options => services.Options;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A session in line for a slot goes before an agent started ahead of a decision only because someone looked, and
        // before one whose turn is over.
        Slots.Watch(() =>
        {
            if (Slots.Need() is { OwnOnly: false })
            {
                foreach (var runner in live.Runners)
                {
                    runner.CoolWarmPaused();
                }

                _ = Task.Run(MakeRoomAsync, CancellationToken.None);
            }
        });
        _suspender = SuspendIdleLoopAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _suspender;
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
        var now = services.Clock.GetUtcNow();
        var suspended = 0;
        foreach (var runner in live.Runners.Where(r => r.IsQuiescent && now - r.LastActivity >= Options.SuspendIdleAfter).ToList())
        {
            if (await SuspendAsync(runner, SuspendedWhileIdle, r => now - r.LastActivity >= Options.SuspendIdleAfter,
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
        await live.ExclusivelyAsync(runner.SessionId, async () =>
        {
            if (live.RunnerOf(runner.SessionId) != runner || !runner.IsQuiescent || !stillDue(runner)
                || !await runner.CloseBetweenTurnsAsync(cancellationToken, leavingHeldMessages: true)
                || !live.Of(runner.SessionId).Forget(runner))
            {
                return;
            }

            await runner.StopAsync(cancellationToken);
            if (ledgerDetail is not null)
            {
                database.Write(write => ledger.Append(write, Actor.System.Name, "session.suspended", runner.SessionId, ledgerDetail));
            }

            Sessions.Announce(runner.SessionId, reason);
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
            if (Slots.Need() is not { } need)
            {
                return;
            }

            var now = services.Clock.GetUtcNow();
            var idle = live.Runners
                .Where(r => r.IsQuiescent && r.IsAlive && !r.RunsAnyTask && Slots.Holds(r.SessionId)
                    && Sessions.Find(r.SessionId)?.Status == SessionStatuses.Idle)
                .ToList();

            // Of those idle long enough, the first waiter's own first (any device of theirs), then anyone's: never waiting on the
            // waiter's own while someone else's is due, or a chatty agent of theirs would hold up the whole line.
            var waiter = Sessions.Find(need.SessionId);
            bool Due(SessionRunner r) => now - r.LastActivity >= IdleBeforeGivingWay;
            bool WaitersOwn(SessionRunner r) => waiter is not null && SameStarter(waiter, Sessions.Find(r.SessionId));
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
        if (waiter is not null && waiter.ProjectId == Sessions.Find(suspended.SessionId)?.ProjectId)
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
                await Task.Delay(after > TimeSpan.Zero ? after : TimeSpan.Zero, services.Clock, _stopping.Token);
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
        using var timer = new PeriodicTimer(SuspendCheckInterval, services.Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    if (Options.SuspendIdleAfter > TimeSpan.Zero)
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
}
