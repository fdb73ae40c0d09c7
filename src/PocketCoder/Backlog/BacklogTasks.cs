using System.ComponentModel.DataAnnotations;
using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Sessions;

namespace PocketCoder.Backlog;

/// <summary>What a task (or each run of a schedule) starts: a session with this agent, mode and first message.</summary>
/// <param name="Worktree">The session works on a branch of its own (a worktree from the project's current branch).</param>
public sealed record TaskSpec(string Prompt, string Agent, string Mode, string? Model, bool Worktree);

/// <param name="Status"><c>waiting</c>, <c>running</c> (its session works), <c>done</c> (its session finished its work, or was
/// stopped), <c>failed</c> (it could not start, or its session failed: <c>problem</c> says why), <c>removed</c>, <c>held</c>
/// (the device that added it, or its schedule's, was revoked: <c>problem</c> says so; another device confirms or removes it).</param>
/// <param name="ScheduleId">The schedule that added it; null when added by hand.</param>
public sealed record BacklogTask(string Id, string ProjectId, string Prompt, string Agent, string Mode, string? Model, bool Worktree, string Status,
    string? SessionId, string? ScheduleId, string? Problem, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

public static class BacklogStatuses
{
    public const string Waiting = "waiting";
    public const string Running = "running";
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Removed = "removed";
    public const string Held = "held";
}

public sealed record CreateTaskRequest(
    [property: Required(ErrorMessage = "'prompt' is required: what the agent should do.")]
    [property: StringLength(SessionsApi.MaxMessageLength, ErrorMessage = "'prompt' is at most {1} characters.")]
    string? Prompt,
    [property: Required(ErrorMessage = "'agent' is required: one of the agent ids the server's health lists (e.g. \"claude-code\").")]
    string? Agent,
    [property: AllowedValues(SessionModes.Ask, SessionModes.Plan, SessionModes.AcceptEdits, SessionModes.Trusted, null, ErrorMessage = SessionsApi.ModeMessage)]
    string? Mode = null,
    [property: RegularExpression(SessionsApi.ModelPattern, ErrorMessage = SessionsApi.ModelMessage)]
    string? Model = null,
    bool? Worktree = null);

/// <summary>
/// A project's backlog: tasks waiting to start, one after another (<see cref="BacklogRunner"/>), the one running, and
/// the most recent finished ones. A waiting task can be removed; once started it is a session like any other.
/// </summary>
public sealed class BacklogTasks(Database database, Ledger.LedgerStore ledger, Teams.Authority authority, TimeProvider clock)
{
    /// <summary>More than this waiting in one project is a runaway schedule or a script, not a plan.</summary>
    public const int MaxWaiting = 100;

    /// <summary>How many finished tasks the list shows (the sessions keep everything).</summary>
    public const int FinishedShown = 20;

    private const string Columns = "id, project_id, prompt, agent, mode, model, worktree, status, session_id, schedule_id, problem, created_by, " +
                                   "created_at, started_at, finished_at";

    /// <summary>The running task and the waiting (or held) ones in the order they will start, then the newest finished.</summary>
    public IReadOnlyList<BacklogTask> List(string projectId) => database.Read(c =>
    {
        var open = c.Query($"SELECT {Columns} FROM backlog_tasks WHERE project_id = $p AND status IN ('running', 'waiting', 'held') " +
                           "ORDER BY status <> 'running', position", Map, ("$p", projectId));
        var finished = c.Query($"SELECT {Columns} FROM backlog_tasks WHERE project_id = $p AND status IN ('done', 'failed') " +
                               "ORDER BY finished_at DESC LIMIT $n", Map, ("$p", projectId), ("$n", FinishedShown));
        return (IReadOnlyList<BacklogTask>)[.. open, .. finished];
    });

    public BacklogTask Get(string id) => database.Read(c => c.Query($"SELECT {Columns} FROM backlog_tasks WHERE id = $id", Map, ("$id", id)))
        .FirstOrDefault() ?? throw ApiProblem.NotFound(ErrorCodes.TaskNotFound, $"No task with id '{id}'.");

    /// <summary>Added by hand, by the device <paramref name="by"/> (on whose authority it will start).</summary>
    /// <exception cref="ApiProblem"><c>BACKLOG_FULL</c> (409) with <see cref="MaxWaiting"/> already waiting; <c>UNAUTHORIZED</c> for a revoked device.</exception>
    public BacklogTask Add(DbWrite write, string projectId, TaskSpec spec, Auth.Actor by, string? scheduleId)
    {
        Auth.StandingWork.EnsureNotRevoked(write, by);
        return Add(write, projectId, spec, by.Name, by.Id, scheduleId);
    }

    /// <param name="createdByDevice">The device on whose authority it starts (a schedule's: the schedule's device).</param>
    /// <exception cref="ApiProblem"><c>BACKLOG_FULL</c> (409) with <see cref="MaxWaiting"/> already waiting.</exception>
    public BacklogTask Add(DbWrite write, string projectId, TaskSpec spec, string createdBy, string? createdByDevice, string? scheduleId)
    {
        FullCheck(write, projectId);

        var task = new BacklogTask(Guid.NewGuid().ToString(), projectId, spec.Prompt, spec.Agent, spec.Mode, spec.Model, spec.Worktree,
            BacklogStatuses.Waiting, null, scheduleId, null, createdBy, clock.GetUtcNow(), null, null);
        write.Execute($"""
            INSERT INTO backlog_tasks ({Columns}, position, created_by_device)
            VALUES ($id, $p, $prompt, $agent, $mode, $model, $worktree, 'waiting', NULL, $schedule, NULL, $by, $at, NULL, NULL,
                    (SELECT COALESCE(MAX(position), 0) + 1 FROM backlog_tasks WHERE project_id = $p), $device)
            """,
            ("$id", task.Id), ("$p", projectId), ("$prompt", spec.Prompt), ("$agent", spec.Agent), ("$mode", spec.Mode), ("$model", spec.Model),
            ("$worktree", spec.Worktree ? 1 : 0), ("$schedule", scheduleId), ("$by", createdBy), ("$at", task.CreatedAt.ToDb()), ("$device", createdByDevice));
        return task;
    }

    private static void FullCheck(DbWrite write, string projectId)
    {
        if (write.Scalar<long>("SELECT COUNT(*) FROM backlog_tasks WHERE project_id = $p AND status = 'waiting'", ("$p", projectId)) >= MaxWaiting)
        {
            throw ApiProblem.Conflict(ErrorCodes.BacklogFull, $"{MaxWaiting} tasks already wait in this project's backlog. Remove some first.");
        }
    }

    /// <summary>
    /// Puts a held task back in line, at its place, to start on <paramref name="by"/>'s authority (ledgered as
    /// <c>task.confirmed</c>).
    /// </summary>
    /// <exception cref="ApiProblem"><c>TASK_NOT_HELD</c> (409) for a task that is not held; <c>BACKLOG_FULL</c>.</exception>
    public BacklogTask Confirm(string id, Auth.Actor by) => database.Write(write =>
    {
        Auth.StandingWork.EnsureNotRevoked(write, by);
        var task = write.Query($"SELECT {Columns} FROM backlog_tasks WHERE id = $id", Map, ("$id", id)).FirstOrDefault()
            ?? throw ApiProblem.NotFound(ErrorCodes.TaskNotFound, $"No task with id '{id}'.");
        if (task.Status != BacklogStatuses.Held)
        {
            throw ApiProblem.Conflict(ErrorCodes.TaskNotHeld, $"Task {id} is {task.Status}: only a held task is confirmed.");
        }

        FullCheck(write, task.ProjectId);
        write.Execute("UPDATE backlog_tasks SET status = 'waiting', problem = NULL, created_by_device = $device WHERE id = $id", ("$id", id), ("$device", by.Id));
        ledger.Append(write, by.Name, "task.confirmed", id, new System.Text.Json.Nodes.JsonObject { ["projectId"] = task.ProjectId, ["deviceId"] = by.Id });
        return task with { Status = BacklogStatuses.Waiting, Problem = null };
    });

    /// <summary>Takes a task off the backlog before it starts (waiting, or held).</summary>
    /// <exception cref="ApiProblem"><c>TASK_NOT_WAITING</c> (409) once it has started (stop its session instead).</exception>
    public BacklogTask Remove(string id) => database.Write(write =>
    {
        if (write.Execute("UPDATE backlog_tasks SET status = 'removed', finished_at = $at WHERE id = $id AND status IN ('waiting', 'held')",
                ("$id", id), ("$at", clock.GetUtcNow().ToDb())) == 0)
        {
            var task = Get(id);
            throw ApiProblem.Conflict(ErrorCodes.TaskNotWaiting,
                $"Task {id} is {task.Status}: only a waiting task can be removed{(task.SessionId is { } s ? $" (its session is {s})" : "")}.");
        }

        return write.Query($"SELECT {Columns} FROM backlog_tasks WHERE id = $id", Map, ("$id", id))[0];
    });

    public BacklogTask? Running(string projectId) => database.Read(c =>
        c.Query($"SELECT {Columns} FROM backlog_tasks WHERE project_id = $p AND status = 'running' LIMIT 1", Map, ("$p", projectId))).FirstOrDefault();

    public BacklogTask? NextWaiting(string projectId) => database.Read(c =>
        c.Query($"SELECT {Columns} FROM backlog_tasks WHERE project_id = $p AND status = 'waiting' ORDER BY position LIMIT 1", Map, ("$p", projectId)))
        .FirstOrDefault();

    /// <summary>The project of the running task whose session this is (null: none).</summary>
    public string? ProjectRunning(string sessionId) => database.Read(c =>
        c.Scalar<string>("SELECT project_id FROM backlog_tasks WHERE session_id = $s AND status = 'running'", ("$s", sessionId)));

    /// <summary>Projects with anything running or waiting: where the runner looks after a restart.</summary>
    public IReadOnlyList<string> ActiveProjects() => database.Read(c =>
        c.Query("SELECT DISTINCT project_id FROM backlog_tasks WHERE status IN ('running', 'waiting')", r => r.GetString(0)));

    /// <summary>
    /// Takes a waiting task to start it, before its session exists: a task removed a moment ago is not started, and one
    /// whose start a crash cut short is found running without a session (and reported failed) rather than run twice. A
    /// task whose device was revoked is held instead (<see cref="Auth.StandingWork"/>), and so is one whose author may no
    /// longer start a session in its mode (demoted, narrowed, or the policy changed since): it starts on their word, as of now.
    /// </summary>
    /// <returns>Who it starts as (its author's device), or null when it was not claimed.</returns>
    public Auth.Actor? Claim(string id) => database.Write(write =>
    {
        if (write.Query("SELECT project_id, created_by_device, created_by, mode FROM backlog_tasks WHERE id = $id AND status = 'waiting'",
                r => (Project: r.GetString(0), Device: r.NullableString(1), By: r.GetString(2), Mode: r.GetString(3)), ("$id", id)) is not [var task])
        {
            return null;
        }

        // A task from before authors' devices were kept starts on no one's word, and is refused as it starts.
        var author = new Auth.Actor(task.Device ?? "backlog", task.By);
        var reason = Auth.StandingWork.RevokedReason(write, task.Device)
            ?? (task.Device is not null && authority.Check(write, author, task.Project, new Teams.ChooseMode(task.Mode)) is { Allowed: false } refused
                ? $"Held: {refused.Reason} Confirm it from a device that may start it, or remove it." : null);
        if (reason is not null)
        {
            Auth.StandingWork.HoldTask(write, ledger, "backlog", id, task.Project, task.Device, reason);
            return null;
        }

        return write.Execute("UPDATE backlog_tasks SET status = 'running', started_at = $at WHERE id = $id AND status = 'waiting'",
            ("$id", id), ("$at", clock.GetUtcNow().ToDb())) == 1 ? author : null;
    });

    public void Started(string id, string sessionId) => database.Write(write => write.Execute(
        "UPDATE backlog_tasks SET session_id = $s WHERE id = $id", ("$id", id), ("$s", sessionId)));

    /// <summary>How many finished tasks a project keeps (the newest); their sessions keep everything else.</summary>
    public const int FinishedKept = 200;

    public void Finished(string id, string status, string? problem) => database.Write(write =>
    {
        write.Execute("UPDATE backlog_tasks SET status = $status, problem = $problem, finished_at = $at WHERE id = $id",
            ("$id", id), ("$status", status), ("$problem", problem), ("$at", clock.GetUtcNow().ToDb()));
        write.Execute("""
            DELETE FROM backlog_tasks WHERE project_id = (SELECT project_id FROM backlog_tasks WHERE id = $id)
              AND status IN ('done', 'failed', 'removed')
              AND id NOT IN (SELECT id FROM backlog_tasks WHERE project_id = (SELECT project_id FROM backlog_tasks WHERE id = $id)
                               AND status IN ('done', 'failed', 'removed') ORDER BY finished_at DESC LIMIT $kept)
            """, ("$id", id), ("$kept", FinishedKept));
    });

    private static BacklogTask Map(Microsoft.Data.Sqlite.SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.NullableString(5), r.GetInt64(6) == 1, r.GetString(7),
        r.NullableString(8), r.NullableString(9), r.NullableString(10), r.GetString(11), r.Time(12), r.NullableTime(13), r.NullableTime(14));
}
