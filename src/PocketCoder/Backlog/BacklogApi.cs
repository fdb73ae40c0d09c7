using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Server;

using PocketCoder.Teams;

namespace PocketCoder.Backlog;

/// <summary>A project's backlog (tasks that start one after another) and its schedules (that add tasks at set times).</summary>
public static class BacklogApi
{
    public static IServiceCollection AddBacklog(this IServiceCollection services) =>
        services.AddSingleton<BacklogTasks>().AddSingleton<Schedules>().AddRunningSingleton<BacklogRunner>().AddRunningSingleton<Scheduler>();

    public static void MapBacklog(this IEndpointRouteBuilder api)
    {
        api.MapGet("/projects/{id}/tasks", (string id, ProjectStore projects, BacklogTasks tasks) => tasks.List(projects.Get(id).Id)).WithName("ListTasks");
        api.MapPost("/projects/{id}/tasks", AddTask).WithName("AddTask");
        api.MapGet("/tasks/{taskId}", (string taskId, BacklogTasks tasks) => tasks.Get(taskId)).WithName("GetTask");
        api.MapDelete("/tasks/{taskId}", RemoveTask).WithName("RemoveTask");
        api.MapPost("/tasks/{taskId}/confirm", ConfirmTask).WithName("ConfirmTask");

        api.MapGet("/projects/{id}/schedules", (string id, ProjectStore projects, Schedules schedules) => schedules.List(projects.Get(id).Id))
            .WithName("ListSchedules");
        api.MapPost("/projects/{id}/schedules", AddSchedule).WithName("AddSchedule");
        api.MapGet("/schedules/{scheduleId}", (string scheduleId, Schedules schedules) => schedules.Get(scheduleId)).WithName("GetSchedule");
        api.MapPatch("/schedules/{scheduleId}", UpdateSchedule).WithName("UpdateSchedule");
        api.MapDelete("/schedules/{scheduleId}", DeleteSchedule).WithName("DeleteSchedule");
        api.MapPost("/schedules/{scheduleId}/run", RunScheduleNow).WithName("RunScheduleNow");
    }

    private static Created<BacklogTask> AddTask(string id, CreateTaskRequest request, ProjectStore projects, AgentRegistry agents, BacklogTasks tasks,
        [FromServices] BacklogRunner runner, Database database, Ledger.LedgerStore ledger, Authority authority, ClaimsPrincipal user)
    {
        var project = projects.Get(id);
        var spec = Spec(request.Prompt!, request.Agent!, request.Mode, request.Model, request.Worktree ?? project.WorktreeDefault, agents);
        authority.Ensure(user.Actor(), project.Id, new ChooseMode(spec.Mode));
        var actor = user.Actor();
        var task = database.Write(write =>
        {
            var added = tasks.Add(write, project.Id, spec, actor, scheduleId: null);
            ledger.Append(write, actor.Name, "task.added", added.Id, new JsonObject
            {
                ["projectId"] = project.Id, ["agent"] = spec.Agent, ["mode"] = spec.Mode, ["worktree"] = spec.Worktree, ["deviceId"] = actor.Id,
            });
            return added;
        });
        runner.Kick(project.Id, changed: true);
        return TypedResults.Created($"/api/tasks/{task.Id}", task);
    }

    private static BacklogTask RemoveTask(string taskId, BacklogTasks tasks, [FromServices] BacklogRunner runner, Database database, Ledger.LedgerStore ledger,
        ClaimsPrincipal user)
    {
        var removed = tasks.Remove(taskId);
        database.Write(write => ledger.Append(write, user.Actor().Name, "task.removed", removed.Id, new JsonObject { ["projectId"] = removed.ProjectId }));
        runner.Kick(removed.ProjectId, changed: true);
        return removed;
    }

    /// <summary>A task held because the device that added it was revoked: back in line, on the confirming device's authority.</summary>
    private static BacklogTask ConfirmTask(string taskId, BacklogTasks tasks, [FromServices] BacklogRunner runner, Authority authority, ClaimsPrincipal user)
    {
        var held = tasks.Get(taskId);
        authority.Ensure(user.Actor(), held.ProjectId, new ChooseMode(held.Mode));
        var confirmed = tasks.Confirm(taskId, user.Actor());
        runner.Kick(confirmed.ProjectId, changed: true);
        return confirmed;
    }

    private static Created<Schedule> AddSchedule(string id, CreateScheduleRequest request, ProjectStore projects, AgentRegistry agents, Schedules schedules,
        [FromServices] Scheduler scheduler, Database database, Ledger.LedgerStore ledger, TimeProvider clock, Authority authority, ClaimsPrincipal user)
    {
        var project = projects.Get(id);
        var spec = Spec(request.Prompt!, request.Agent!, request.Mode, request.Model, request.Worktree ?? project.WorktreeDefault, agents);
        authority.Ensure(user.Actor(), project.Id, new ChooseMode(spec.Mode));
        var cron = request.Cron!.Trim();
        var timeZone = string.IsNullOrWhiteSpace(request.TimeZone) ? "UTC" : request.TimeZone.Trim();
        Schedules.Validate(cron, timeZone, clock.GetUtcNow());
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            throw ApiProblem.Validation("'name' must not be blank.");
        }

        var actor = user.Actor();
        var schedule = database.Write(write =>
        {
            var added = schedules.Add(write, project.Id, request.Name!.Trim(), cron, timeZone, spec, request.Enabled ?? true, actor);
            ledger.Append(write, actor.Name, "schedule.added", added.Id, new JsonObject
            {
                ["projectId"] = project.Id, ["cron"] = cron, ["timeZone"] = timeZone, ["agent"] = spec.Agent, ["mode"] = spec.Mode, ["deviceId"] = actor.Id,
            });
            return added;
        });
        scheduler.Changed();
        return TypedResults.Created($"/api/schedules/{schedule.Id}", schedule);
    }

    private static Schedule UpdateSchedule(string scheduleId, UpdateScheduleRequest request, Schedules schedules, [FromServices] Scheduler scheduler, Database database,
        Ledger.LedgerStore ledger, TimeProvider clock, Authority authority, ClaimsPrincipal user)
    {
        var schedule = schedules.Get(scheduleId);
        // Enabling it (or confirming a held one) makes it run on this device's authority, mode included.
        authority.Ensure(user.Actor(), schedule.ProjectId, new ChooseMode(schedule.Mode));
        if (request.Cron is not null || request.TimeZone is not null)
        {
            Schedules.Validate(request.Cron?.Trim() ?? schedule.Cron, request.TimeZone?.Trim() ?? schedule.TimeZone, clock.GetUtcNow());
        }

        var actor = user.Actor();
        var updated = database.Write(write =>
        {
            var (changed, confirmed) = schedules.Update(write, schedule, request, actor);
            ledger.Append(write, actor.Name, confirmed ? "schedule.confirmed" : "schedule.changed", schedule.Id,
                new JsonObject
                {
                    ["projectId"] = schedule.ProjectId, ["cron"] = changed.Cron, ["timeZone"] = changed.TimeZone, ["enabled"] = changed.Enabled,
                    ["deviceId"] = actor.Id, ["prompt"] = changed.Prompt == schedule.Prompt ? null : changed.Prompt,
                });
            return changed;
        });
        scheduler.Changed();
        return updated;
    }

    /// <summary>
    /// "Run now": the schedule's task joins the backlog at once, on the authority of whoever pressed it (not the schedule's
    /// author: an operator's press must not borrow an owner's word), and the schedule's own times are untouched.
    /// </summary>
    private static Created<BacklogTask> RunScheduleNow(string scheduleId, Schedules schedules, BacklogTasks tasks, [FromServices] BacklogRunner runner,
        Database database, Ledger.LedgerStore ledger, Authority authority, ClaimsPrincipal user)
    {
        var schedule = schedules.Get(scheduleId);
        var actor = user.Actor();
        authority.Ensure(actor, schedule.ProjectId, new ChooseMode(schedule.Mode));
        // A held schedule's words are a revoked device's: Confirm is where someone reads and takes them on, not a press here.
        if (schedule.HeldReason is not null)
        {
            throw ApiProblem.Conflict(ErrorCodes.ScheduleHeld, $"This schedule is held ({schedule.HeldReason}): confirm it first, then run it.");
        }

        var task = database.Write(write =>
        {
            var added = tasks.Add(write, schedule.ProjectId,
                new TaskSpec(schedule.Prompt, schedule.Agent, schedule.Mode, schedule.Model, schedule.Worktree), actor, schedule.Id);
            ledger.Append(write, actor.Name, "schedule.run_now", schedule.Id, new JsonObject
            {
                ["projectId"] = schedule.ProjectId, ["taskId"] = added.Id, ["deviceId"] = actor.Id,
            });
            return added;
        });
        runner.Kick(schedule.ProjectId, changed: true);
        return TypedResults.Created($"/api/tasks/{task.Id}", task);
    }

    private static NoContent DeleteSchedule(string scheduleId, Schedules schedules, Database database, Ledger.LedgerStore ledger, ClaimsPrincipal user)
    {
        var schedule = schedules.Get(scheduleId);
        database.Write(write =>
        {
            schedules.Delete(write, schedule.Id);
            ledger.Append(write, user.Actor().Name, "schedule.deleted", schedule.Id, new JsonObject { ["projectId"] = schedule.ProjectId });
        });
        return TypedResults.NoContent();
    }

    private static TaskSpec Spec(string prompt, string agent, string? mode, string? model, bool worktree, AgentRegistry agents)
    {
        if (string.IsNullOrWhiteSpace(prompt))
        {
            throw ApiProblem.Validation("'prompt' is required: what the agent should do.");
        }

        // Checked now, not when it starts hours later: a typo is the owner's to fix while they are here.
        var adapter = agents.Find(agent) ?? throw ApiProblem.BadRequest(ErrorCodes.UnknownAgent,
            $"Unknown agent '{agent}'. Known agents: {string.Join(", ", agents.All.Select(a => a.Id))}.");
        return new TaskSpec(prompt, adapter.Id, mode ?? SessionModes.Ask, model, worktree);
    }
}
