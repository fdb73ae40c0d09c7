using System.Text.Json.Nodes;
using System.Threading.Channels;
using PocketCoder.Data;

namespace PocketCoder.Backlog;

/// <summary>
/// Wakes at the earliest next time of any schedule (on the server's <see cref="TimeProvider"/>, so tests drive it with a
/// manual clock) and adds each due schedule's task to its project's backlog. Of the times that came while it could not
/// run them (the server was down), at most one runs — the latest, and only if it is at most <see cref="Grace"/> late —
/// and the rest are reported as missed (on the schedule, and in the ledger): never a burst of catch-up runs.
/// </summary>
public sealed class Scheduler(Schedules schedules, BacklogTasks tasks, BacklogRunner runner, Database database, Ledger.LedgerStore ledger,
    TimeProvider clock, ILogger<Scheduler> logger) : BackgroundService
{
    /// <summary>How late a time may be and still run: a busy machine, not a server that was down.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);

    /// <summary>Missed times counted at most (a schedule every minute, down for a month).</summary>
    private const int MaxCounted = 100_000;

    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>A schedule was added or changed: the time to wake may be sooner.</summary>
    public void Changed() => _changed.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            DateTimeOffset? next;
            try
            {
                RunDue();
                next = schedules.EarliestNextRun();
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // The database failing for a moment: look again in a minute rather than spin, or stop the server.
                logger.LogWarning(exception, "Schedules could not be run");
                next = clock.GetUtcNow() + TimeSpan.FromMinutes(1);
            }

            using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var changed = _changed.Reader.WaitToReadAsync(wake.Token).AsTask();
            // At most a day at a time (Task.Delay's limit is 49 days; a clock changed under us is seen again within a day).
            var wait = next is { } at ? TimeSpan.FromTicks(Math.Clamp((at - clock.GetUtcNow()).Ticks, 0, MaxWait.Ticks)) : MaxWait;
            var due = Task.Delay(wait, clock, wake.Token);
            try
            {
                await Task.WhenAny(changed, due).ConfigureAwait(false);
            }
            finally
            {
                await wake.CancelAsync().ConfigureAwait(false);
            }

            _changed.Reader.TryRead(out _);
            stoppingToken.ThrowIfCancellationRequested();
        }
    }

    private void RunDue()
    {
        var now = clock.GetUtcNow();
        foreach (var schedule in schedules.Due(now))
        {
            try
            {
                Run(schedule, now);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // One schedule that cannot be worked out (its time zone gone from the machine) must not stop the others,
                // nor make this loop spin on it: it is paused, and the ledger says why.
                logger.LogWarning(exception, "Schedule {Schedule} ({Name}) could not run; it is paused", schedule.Id, schedule.Name);
                database.Write(write =>
                {
                    schedules.Pause(write, schedule.Id);
                    ledger.Append(write, "scheduler", "schedule.paused", schedule.Id, new JsonObject
                    {
                        ["projectId"] = schedule.ProjectId, ["reason"] = exception.Message,
                    });
                });
            }
        }
    }

    private void Run(Schedule due, DateTimeOffset now)
    {
        var times = Schedules.TimesUpTo(due, now, MaxCounted);
        DateTimeOffset? ran = times.Count > 0 && now - times[^1] <= Grace ? times[^1] : null;
        var missed = times.Count - (ran is null ? 0 : 1);
        DateTimeOffset? lastMissed = missed > 0 ? times[missed - 1] : null;
        var held = false;
        var current = database.Write(write =>
        {
            // Changed, paused or deleted since it was read: that change wins, and this time is not run.
            if (schedules.Find(write, due.Id) is not { Enabled: true } schedule || schedule.NextRunAt != due.NextRunAt)
            {
                return null;
            }

            // Its device was revoked (before its revocation held it, or in a race with it): it runs on no one's word now.
            if (Auth.StandingWork.RevokedReason(write, schedule.CreatedByDevice) is { } reason)
            {
                Auth.StandingWork.HoldSchedule(write, ledger, "scheduler", schedule.Id, schedule.ProjectId, schedule.CreatedByDevice, reason);
                held = true;
                return schedule;
            }

            if (ran is { } at)
            {
                try
                {
                    var task = tasks.Add(write, schedule.ProjectId,
                        new TaskSpec(schedule.Prompt, schedule.Agent, schedule.Mode, schedule.Model, schedule.Worktree), $"schedule {schedule.Name}",
                        schedule.CreatedByDevice, schedule.Id);
                    ledger.Append(write, "scheduler", "schedule.ran", schedule.Id, new JsonObject
                    {
                        ["projectId"] = schedule.ProjectId, ["at"] = at.ToDb(), ["taskId"] = task.Id,
                    });
                }
                catch (Errors.ApiProblem problem)
                {
                    // A full backlog: this time is skipped (and says why), the schedule still moves on.
                    ledger.Append(write, "scheduler", "schedule.skipped", schedule.Id, new JsonObject
                    {
                        ["projectId"] = schedule.ProjectId, ["at"] = at.ToDb(), ["reason"] = problem.Message,
                    });
                }
            }

            if (missed > 0)
            {
                ledger.Append(write, "scheduler", "schedule.missed", schedule.Id, new JsonObject
                {
                    ["projectId"] = schedule.ProjectId, ["count"] = missed, ["first"] = times[0].ToDb(), ["last"] = lastMissed!.Value.ToDb(),
                });
            }

            // In the same transaction as the task: a restart finds the time already moved on, and never adds it twice.
            schedules.Advanced(write, schedule, ran, missed, lastMissed, now);
            return schedule;
        });
        if (current is null)
        {
            return;
        }

        if (missed > 0 && !held)
        {
            logger.LogWarning("Schedule {Schedule} ({Name}) missed {Count} run(s), the last at {Last}: the server was not running", current.Id,
                current.Name, missed, lastMissed);
        }

        // A task added, or at least the schedule's next time moved on: the runner looks, and the phones are told.
        runner.Kick(current.ProjectId, changed: true);
    }

    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);
}
