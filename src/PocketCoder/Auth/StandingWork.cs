using System.Text.Json.Nodes;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Auth;

/// <summary>What a revocation held: the projects whose schedules or backlogs changed, the sessions whose queues did.</summary>
public sealed record HeldWork(IReadOnlyList<string> Projects, IReadOnlyList<string> Sessions)
{
    public static readonly HeldWork None = new([], []);
}

/// <summary>
/// Work a device sets going that starts later without it: its schedules, its waiting backlog tasks (and those its
/// schedules add), its queued messages. They run on that device's authority, so once the device is revoked none of them
/// starts: <see cref="HoldAll"/> holds them in the revocation's own transaction, and each start checks again
/// (<see cref="RevokedReason"/>), which also catches work a device revoked before this check existed had left. Held work
/// is shown to the owner and waits for another device to confirm it (it then runs on that device's authority) or
/// remove it. A session already running keeps its current turn; nothing further starts in it on the revoked device's word.
/// </summary>
public static class StandingWork
{
    /// <summary>Says why the work of the (revoked) device <paramref name="deviceName"/> is held, and what lets it go.</summary>
    public static string Reason(string deviceName) =>
        $"Held: set going by \"{deviceName}\", a device since revoked. Confirm it from another device to let it run, or remove it.";

    /// <summary>Why work set going by <paramref name="deviceId"/> may not start now (the device is revoked), or null.</summary>
    public static string? RevokedReason(DbWrite write, string? deviceId) => deviceId is null ? null
        : write.Scalar<string>("SELECT name FROM devices WHERE id = $id AND revoked_at IS NOT NULL", ("$id", deviceId)) is { } name ? Reason(name) : null;

    /// <summary>
    /// Checked in the transaction that records new standing work: a request that authenticated a moment before its
    /// device was revoked must not leave work behind that the revocation never saw.
    /// </summary>
    /// <exception cref="ApiProblem"><c>UNAUTHORIZED</c> (401) for a revoked device.</exception>
    public static void EnsureNotRevoked(DbWrite write, Actor actor)
    {
        if (write.Scalar<string>("SELECT id FROM devices WHERE id = $id AND revoked_at IS NOT NULL", ("$id", actor.Id)) is not null)
        {
            throw new ApiProblem(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "This device has been revoked.");
        }
    }

    /// <summary>Holds everything the device set going that has not started, each with a ledger entry (the revocation's transaction).</summary>
    public static HeldWork HoldAll(DbWrite write, Ledger.LedgerStore ledger, string deviceId, string actor)
    {
        var reason = Reason(write.Scalar<string>("SELECT name FROM devices WHERE id = $id", ("$id", deviceId)) ?? deviceId);
        var projects = new SortedSet<string>(StringComparer.Ordinal);
        var sessions = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (id, project) in write.Query("SELECT id, project_id FROM schedules WHERE created_by_device = $id AND held_reason IS NULL",
                     r => (r.GetString(0), r.GetString(1)), ("$id", deviceId)))
        {
            HoldSchedule(write, ledger, actor, id, project, deviceId, reason);
            projects.Add(project);
        }

        foreach (var (id, project) in write.Query("SELECT id, project_id FROM backlog_tasks WHERE created_by_device = $id AND status = 'waiting'",
                     r => (r.GetString(0), r.GetString(1)), ("$id", deviceId)))
        {
            HoldTask(write, ledger, actor, id, project, deviceId, reason);
            projects.Add(project);
        }

        foreach (var (id, session) in write.Query(
                     "SELECT id, session_id FROM queued_messages WHERE sent_by_device = $id AND started_at IS NULL AND held_reason IS NULL",
                     r => (r.GetString(0), r.GetString(1)), ("$id", deviceId)))
        {
            HoldMessage(write, ledger, actor, id, session, deviceId, reason);
            sessions.Add(session);
        }

        return projects.Count + sessions.Count == 0 ? HeldWork.None : new HeldWork([.. projects], [.. sessions]);
    }

    /// <summary>A person linked again through a chat bridge stays one device: their standing work moves with their chats.</summary>
    public static void Transfer(DbWrite write, string from, string to)
    {
        write.Execute("UPDATE schedules SET created_by_device = $to WHERE created_by_device = $from", ("$to", to), ("$from", from));
        write.Execute("UPDATE backlog_tasks SET created_by_device = $to WHERE created_by_device = $from", ("$to", to), ("$from", from));
        write.Execute("UPDATE queued_messages SET sent_by_device = $to WHERE sent_by_device = $from", ("$to", to), ("$from", from));
    }

    /// <summary>Disabled, with the reason: enabling it again from another device confirms it.</summary>
    public static void HoldSchedule(DbWrite write, Ledger.LedgerStore ledger, string actor, string id, string projectId, string? deviceId, string reason)
    {
        write.Execute("UPDATE schedules SET enabled = 0, next_run_at = NULL, held_reason = $reason WHERE id = $id", ("$id", id), ("$reason", reason));
        ledger.Append(write, actor, "schedule.held", id, new JsonObject { ["projectId"] = projectId, ["deviceId"] = deviceId, ["reason"] = reason });
    }

    /// <summary>Out of the line of waiting tasks until confirmed (<c>held</c>, the reason as its problem).</summary>
    public static void HoldTask(DbWrite write, Ledger.LedgerStore ledger, string actor, string id, string projectId, string? deviceId, string reason)
    {
        write.Execute("UPDATE backlog_tasks SET status = 'held', problem = $reason WHERE id = $id AND status = 'waiting'", ("$id", id), ("$reason", reason));
        ledger.Append(write, actor, "task.held", id, new JsonObject { ["projectId"] = projectId, ["deviceId"] = deviceId, ["reason"] = reason });
    }

    /// <summary>Stays in its place, and nothing behind it starts, until it is confirmed or removed.</summary>
    public static void HoldMessage(DbWrite write, Ledger.LedgerStore ledger, string actor, string id, string sessionId, string? deviceId, string reason)
    {
        write.Execute("UPDATE queued_messages SET held_reason = $reason WHERE id = $id", ("$id", id), ("$reason", reason));
        ledger.Append(write, actor, "queue.held", id, new JsonObject { ["sessionId"] = sessionId, ["deviceId"] = deviceId, ["reason"] = reason });
    }
}
