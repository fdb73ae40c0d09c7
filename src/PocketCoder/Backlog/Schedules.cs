using System.ComponentModel.DataAnnotations;
using Cronos;
using PocketCoder.Agents;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Sessions;

namespace PocketCoder.Backlog;

/// <param name="Cron">Five fields (minute hour day-of-month month day-of-week), read in <c>TimeZone</c> (an IANA name).</param>
/// <param name="NextRunAt">When it next adds a task (null while disabled).</param>
/// <param name="MissedRuns">Times that went by while the server was down (or more than a minute late): reported here and in the
/// ledger, never run in a burst.</param>
/// <param name="HeldReason">Set while the schedule is held because the device that set it going was revoked (it is then
/// disabled): enabling it from another device confirms it, on that device's authority (<see cref="Auth.StandingWork"/>).</param>
public sealed record Schedule(string Id, string ProjectId, string Name, string Cron, string TimeZone, string Prompt, string Agent, string Mode,
    string? Model, bool Worktree, bool Enabled, DateTimeOffset? NextRunAt, DateTimeOffset? LastRunAt, int MissedRuns, DateTimeOffset? LastMissedAt,
    DateTimeOffset CreatedAt, string? HeldReason)
{
    /// <summary>The device on whose authority it runs (null: added before devices were recorded with it).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? CreatedByDevice { get; init; }
}

public sealed record CreateScheduleRequest(
    [property: Required(ErrorMessage = "'name' is required.")]
    [property: StringLength(100, ErrorMessage = "'name' is at most {1} characters.")]
    string? Name,
    [property: Required(ErrorMessage = "'cron' is required: five fields, minute hour day-of-month month day-of-week (e.g. \"0 9 * * 1-5\").")]
    [property: StringLength(120, ErrorMessage = "'cron' is at most {1} characters.")]
    string? Cron,
    [property: Required(ErrorMessage = "'prompt' is required: what the agent should do at each run.")]
    [property: StringLength(SessionsApi.MaxMessageLength, ErrorMessage = "'prompt' is at most {1} characters.")]
    string? Prompt,
    [property: Required(ErrorMessage = "'agent' is required: one of the agent ids the server's health lists (e.g. \"claude-code\").")]
    string? Agent,
    [property: StringLength(100, ErrorMessage = "'timeZone' is an IANA time zone name such as \"Europe/Berlin\".")]
    string? TimeZone = null,
    [property: AllowedValues(SessionModes.Ask, SessionModes.Plan, SessionModes.AcceptEdits, SessionModes.Trusted, null, ErrorMessage = SessionsApi.ModeMessage)]
    string? Mode = null,
    [property: RegularExpression(SessionsApi.ModelPattern, ErrorMessage = SessionsApi.ModelMessage)]
    string? Model = null,
    bool? Worktree = null,
    bool? Enabled = null);

public sealed record UpdateScheduleRequest(
    [property: StringLength(100, MinimumLength = 1, ErrorMessage = "'name' is 1 to {1} characters.")]
    string? Name = null,
    [property: StringLength(120, MinimumLength = 1, ErrorMessage = "'cron' is five fields, minute hour day-of-month month day-of-week.")]
    string? Cron = null,
    [property: StringLength(100, MinimumLength = 1, ErrorMessage = "'timeZone' is an IANA time zone name such as \"Europe/Berlin\".")]
    string? TimeZone = null,
    [property: StringLength(SessionsApi.MaxMessageLength, MinimumLength = 1, ErrorMessage = "'prompt' is 1 to {1} characters.")]
    string? Prompt = null,
    bool? Enabled = null);

/// <summary>
/// Schedules: at each time its cron expression gives (in its time zone, daylight-saving changes included, through the
/// Cronos library), a schedule adds a task to its project's backlog. The next time is stored, and moved on in the same
/// transaction that adds the task, so a restart never runs one time twice (<see cref="Scheduler"/>).
/// </summary>
public sealed class Schedules(Database database, TimeProvider clock)
{
    public const int MaxPerProject = 50;

    private const string Columns = "id, project_id, name, cron, time_zone, prompt, agent, mode, model, worktree, enabled, next_run_at, last_run_at, " +
                                   "missed_runs, last_missed_at, created_at, held_reason, created_by_device";

    public IReadOnlyList<Schedule> List(string projectId) => database.Read(c =>
        c.Query($"SELECT {Columns} FROM schedules WHERE project_id = $p ORDER BY created_at", Map, ("$p", projectId)));

    public Schedule? Find(DbWrite write, string id) => write.Query($"SELECT {Columns} FROM schedules WHERE id = $id", Map, ("$id", id)).FirstOrDefault();

    public void Pause(DbWrite write, string id) => write.Execute("UPDATE schedules SET enabled = 0, next_run_at = NULL WHERE id = $id", ("$id", id));

    public Schedule Get(string id) => database.Read(c => c.Query($"SELECT {Columns} FROM schedules WHERE id = $id", Map, ("$id", id))).FirstOrDefault()
        ?? throw ApiProblem.NotFound(ErrorCodes.ScheduleNotFound, $"No schedule with id '{id}'.");

    /// <summary>Enabled schedules whose next time has come.</summary>
    public IReadOnlyList<Schedule> Due(DateTimeOffset now) => database.Read(c => c.Query(
        $"SELECT {Columns} FROM schedules WHERE enabled = 1 AND next_run_at IS NOT NULL AND next_run_at <= $now ORDER BY next_run_at", Map, ("$now", now.ToDb())));

    /// <summary>The earliest next time of any enabled schedule: when the scheduler next needs to wake.</summary>
    public DateTimeOffset? EarliestNextRun() => database.Read(c => c.Query(
        "SELECT next_run_at FROM schedules WHERE enabled = 1 AND next_run_at IS NOT NULL ORDER BY next_run_at LIMIT 1", r => (DateTimeOffset?)r.Time(0)))
        .FirstOrDefault();

    /// <param name="by">The device that sets it going: each run is on its authority.</param>
    public Schedule Add(DbWrite write, string projectId, string name, string cron, string timeZone, TaskSpec spec, bool enabled, Auth.Actor by)
    {
        Auth.StandingWork.EnsureNotRevoked(write, by);
        if (write.Scalar<long>("SELECT COUNT(*) FROM schedules WHERE project_id = $p", ("$p", projectId)) >= MaxPerProject)
        {
            throw ApiProblem.Conflict(ErrorCodes.ScheduleLimit, $"A project holds at most {MaxPerProject} schedules.");
        }

        var now = clock.GetUtcNow();
        var schedule = new Schedule(Guid.NewGuid().ToString(), projectId, name, cron, timeZone, spec.Prompt, spec.Agent, spec.Mode, spec.Model,
            spec.Worktree, enabled, enabled ? NextAfter(cron, timeZone, now) : null, null, 0, null, now, null) { CreatedByDevice = by.Id };
        write.Execute($"""
            INSERT INTO schedules ({Columns})
            VALUES ($id, $p, $name, $cron, $tz, $prompt, $agent, $mode, $model, $worktree, $enabled, $next, NULL, 0, NULL, $at, NULL, $device)
            """,
            ("$id", schedule.Id), ("$p", projectId), ("$name", name), ("$cron", cron), ("$tz", timeZone), ("$prompt", spec.Prompt),
            ("$agent", spec.Agent), ("$mode", spec.Mode), ("$model", spec.Model), ("$worktree", spec.Worktree ? 1 : 0), ("$enabled", enabled ? 1 : 0),
            ("$next", schedule.NextRunAt?.ToDb()), ("$at", now.ToDb()), ("$device", by.Id));
        return schedule;
    }

    /// <summary>
    /// Changes what was asked; a new expression, zone or enabling counts the next time from now (times while it was off are
    /// not missed). Enabling a held schedule confirms it (said by <c>Confirmed</c>): from then on it runs on <paramref name="by"/>'s authority.
    /// So does a new prompt: the words it runs are theirs, never under the authority of whoever made it first.
    /// </summary>
    public (Schedule Updated, bool Confirmed) Update(DbWrite write, Schedule read, UpdateScheduleRequest change, Auth.Actor by)
    {
        Auth.StandingWork.EnsureNotRevoked(write, by);
        // Read again in the transaction: a time the scheduler just ran is never set back and run twice.
        var schedule = Find(write, read.Id) ?? throw ApiProblem.NotFound(ErrorCodes.ScheduleNotFound, $"No schedule with id '{read.Id}'.");
        var cron = change.Cron?.Trim() ?? schedule.Cron;
        var timeZone = change.TimeZone?.Trim() ?? schedule.TimeZone;
        var enabled = change.Enabled ?? schedule.Enabled;
        var retimed = cron != schedule.Cron || timeZone != schedule.TimeZone || enabled != schedule.Enabled;
        var next = !enabled ? null : retimed ? NextAfter(cron, timeZone, clock.GetUtcNow()) : schedule.NextRunAt;
        var confirmed = enabled && schedule.HeldReason is not null;
        var prompt = Words(change.Prompt, "prompt") ?? schedule.Prompt;
        var updated = schedule with
        {
            Name = Words(change.Name, "name") ?? schedule.Name, Cron = cron, TimeZone = timeZone, Prompt = prompt,
            Enabled = enabled,
            NextRunAt = next,
            HeldReason = confirmed ? null : schedule.HeldReason,
            CreatedByDevice = confirmed || prompt != schedule.Prompt ? by.Id : schedule.CreatedByDevice,
        };
        write.Execute("""
            UPDATE schedules SET name = $name, cron = $cron, time_zone = $tz, prompt = $prompt, enabled = $enabled, next_run_at = $next,
                                 held_reason = $held, created_by_device = $device
            WHERE id = $id
            """,
            ("$id", schedule.Id), ("$name", updated.Name), ("$cron", cron), ("$tz", timeZone), ("$prompt", updated.Prompt), ("$enabled", enabled ? 1 : 0),
            ("$next", next?.ToDb()), ("$held", updated.HeldReason), ("$device", updated.CreatedByDevice));
        return (updated, confirmed);
    }

    public void Delete(DbWrite write, string id) => write.Execute("DELETE FROM schedules WHERE id = $id", ("$id", id));

    /// <summary>Records a run (or none) and the missed times, and moves the next time past <paramref name="now"/>.</summary>
    public void Advanced(DbWrite write, Schedule schedule, DateTimeOffset? ran, int missed, DateTimeOffset? lastMissed, DateTimeOffset now) =>
        write.Execute("""
            UPDATE schedules SET next_run_at = $next, last_run_at = COALESCE($ran, last_run_at), missed_runs = missed_runs + $missed,
                                 last_missed_at = COALESCE($lastMissed, last_missed_at)
            WHERE id = $id
            """,
            ("$id", schedule.Id), ("$next", NextAfter(schedule.Cron, schedule.TimeZone, now)?.ToDb()), ("$ran", ran?.ToDb()), ("$missed", missed),
            ("$lastMissed", lastMissed?.ToDb()));

    /// <summary>The times the schedule gave from its stored next time up to <paramref name="now"/>, oldest first (at most <paramref name="limit"/>).</summary>
    public static IReadOnlyList<DateTimeOffset> TimesUpTo(Schedule schedule, DateTimeOffset now, int limit) =>
        schedule.NextRunAt is not { } from ? []
            : [.. Expression(schedule.Cron).GetOccurrences(from, now, Zone(schedule.TimeZone), fromInclusive: true, toInclusive: true).Take(limit)];

    /// <summary>
    /// The first time after <paramref name="after"/> (null: the expression never fires again, e.g. 30 February), in UTC as
    /// every stored time is read back: given in the zone's offset, a new schedule's answer differed from its next read.
    /// </summary>
    public static DateTimeOffset? NextAfter(string cron, string timeZone, DateTimeOffset after) =>
        Expression(cron).GetNextOccurrence(after, Zone(timeZone))?.ToUniversalTime();

    /// <summary>Checks an expression and zone as a schedule would use them, from now.</summary>
    /// <exception cref="ApiProblem"><c>VALIDATION_FAILED</c>: not an expression, an unknown zone, or a time that never comes.</exception>
    public static void Validate(string cron, string timeZone, DateTimeOffset now)
    {
        if (NextAfter(cron, timeZone, now) is null)
        {
            throw ApiProblem.Validation($"'cron' \"{cron}\" never gives a time from now on (a day that does not exist, such as 30 February).");
        }
    }

    private static string? Words(string? value, string field) => value is null ? null
        : value.Trim() is { Length: > 0 } trimmed ? trimmed : throw ApiProblem.Validation($"'{field}' must not be blank.");

    /// <exception cref="ApiProblem"><c>VALIDATION_FAILED</c> naming what is wrong with the expression.</exception>
    public static CronExpression Expression(string cron)
    {
        try
        {
            return CronExpression.Parse(cron.Trim(), CronFormat.Standard);
        }
        catch (CronFormatException exception)
        {
            throw ApiProblem.Validation($"'cron' is not a cron expression of five fields (minute hour day-of-month month day-of-week): {exception.Message}");
        }
    }

    /// <exception cref="ApiProblem"><c>VALIDATION_FAILED</c> for a name this machine does not know.</exception>
    public static TimeZoneInfo Zone(string timeZone)
    {
        // The name becomes a path under the system's zone folder: only the characters of real names, never a way out.
        if (timeZone.Length is 0 or > 64 || timeZone.Contains("..", StringComparison.Ordinal) || timeZone.StartsWith('/')
            || !timeZone.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '_' or '-' or '+'))
        {
            throw ApiProblem.Validation($"'timeZone' must be an IANA time zone name such as \"Europe/Berlin\", or \"UTC\".");
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (Exception exception) when (exception is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw ApiProblem.Validation($"'timeZone' \"{timeZone}\" is not a time zone this machine knows (an IANA name such as \"Europe/Berlin\", or \"UTC\").");
        }
    }

    private static Schedule Map(Microsoft.Data.Sqlite.SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7),
        r.NullableString(8), r.GetInt64(9) == 1, r.GetInt64(10) == 1, r.NullableTime(11), r.NullableTime(12), (int)r.GetInt64(13), r.NullableTime(14),
        r.Time(15), r.NullableString(16))
    {
        CreatedByDevice = r.NullableString(17),
    };
}
