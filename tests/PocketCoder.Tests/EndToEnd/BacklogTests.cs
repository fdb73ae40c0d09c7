using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// A project's backlog and schedules, with the REAL Claude Code CLI: tasks start one after another, each as a session of
/// its own, and one removed before it starts never does. A schedule due every minute runs once per minute under a manual
/// clock; a restart does not run a time twice; times that went by while the server was down are reported as missed,
/// with at most the latest (if under a minute late) run — never a burst. Each change is told on the dashboard stream
/// (<c>backlog.changed</c>) once it is made.
/// </summary>
public sealed class BacklogTests
{
    [Fact]
    public async Task Tasks_StartOneAfterAnother_TheRemovedOneNever()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var release = new TaskCompletionSource();
        world.Model.Enqueue(ScriptedReply.Held(release.Task, "First task done."), ScriptedReply.Text("Third task done."));
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        var first = await AddTaskAsync(world, "First task");
        var second = await AddTaskAsync(world, "Second task");
        var third = await AddTaskAsync(world, "Third task");
        using (var waiting = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
        {
            await world.Model.WaitForRequestAsync(r => r.Contains("First task"), waiting.Token);
        }

        var listed = await TasksAsync(world);
        Assert.Equal([(first, "running"), (second, "waiting"), (third, "waiting")], listed.Select(t => (t.Id, t.Status)));
        Assert.NotNull(listed[0].SessionId);
        var removed = await world.Http.DeleteAsync($"/api/tasks/{second}");
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        await ApiAssert.ProblemAsync(await world.Http.DeleteAsync($"/api/tasks/{first}"), HttpStatusCode.Conflict, "TASK_NOT_WAITING");
        await ApiAssert.ProblemAsync(await world.Http.DeleteAsync("/api/tasks/nope"), HttpStatusCode.NotFound, "TASK_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/tasks", new { prompt = "x", agent = "nope" }),
            HttpStatusCode.BadRequest, "UNKNOWN_AGENT");

        release.SetResult();
        var thirdSession = await all.WaitForAsync(e => e.Event == "message.user" && e.Str("text") == "Third task");
        await all.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == thirdSession.Str("sessionId"));
        // The phones are told once the task is closed: the session's own status can reach them before that, and the
        // Tasks screen, reading the list then, stayed on "Running".
        await all.WaitForAsync(e => e.Event == "backlog.changed" && e.Id == 0 && e.Str("projectId") == world.ProjectId);
        Assert.Equal("done", (await world.Http.GetOkAsync($"/api/tasks/{third}")).GetProperty("status").GetString());

        // The third began only after the first had finished its turn.
        var firstDone = all.Received.First(e => e.Event == "message" && e.Str("text") == "First task done.");
        Assert.True(firstDone.Id < thirdSession.Id);
        Assert.DoesNotContain(world.Model.Requests, r => r.Contains("Second task"));
        var done = await TasksAsync(world);
        Assert.Equal("done", done.Single(t => t.Id == first).Status);
        Assert.Equal(thirdSession.Str("sessionId"), done.Single(t => t.Id == third).SessionId);
        Assert.DoesNotContain(done, t => t.Id == second);
        Assert.Equal("removed", (await world.Http.GetOkAsync($"/api/tasks/{second}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Schedule_EveryMinute_RunsOncePerMinute_ARestartNeverDoubles_DowntimeIsReportedNotBurst()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 23, 12, 0, 30, TimeSpan.Zero));
        await using var world = await AgentWorld.ClaudeAsync(clock);
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/schedules",
            new { name = "bad", cron = "61 * * * *", prompt = "x", agent = "claude-code" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/schedules",
            new { name = "bad", cron = "* * * * *", timeZone = "Mars/Olympus", prompt = "x", agent = "claude-code" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/schedules",
            new { name = "bad", cron = "* * * * *", timeZone = "../../../etc/passwd", prompt = "x", agent = "claude-code" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        var never = await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/schedules",
            new { name = "30 February", cron = "0 0 30 2 *", prompt = "x", agent = "claude-code" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        Assert.Contains("never", never.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var created = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/schedules",
            new { name = "minutely", cron = "* * * * *", timeZone = "Europe/Berlin", prompt = "Check the build", agent = "claude-code" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var schedule = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal(At(12, 1), await NextRunAsync(world, schedule));

        await RunOnceAsync(world, clock, TimeSpan.FromSeconds(30), "Run one.");
        await RunOnceAsync(world, clock, TimeSpan.FromMinutes(1), "Run two.");
        Assert.Equal(2, (await ScheduledTasksAsync(world, schedule)).Count);
        Assert.Equal(At(12, 3), await NextRunAsync(world, schedule));

        // A restart at the same moment finds the time already moved on: nothing runs twice.
        await world.RestartServerAsync();
        Assert.Equal(At(12, 3), await NextRunAsync(world, schedule));
        Assert.Equal(2, (await ScheduledTasksAsync(world, schedule)).Count);

        // Down from 12:02 to 12:07:30: 12:03 to 12:06 are reported missed; 12:07, 30 s late, runs once.
        world.Model.Enqueue(ScriptedReply.Text("Run three."));
        await world.RestartServerAsync(() => clock.Advance(TimeSpan.FromSeconds(330)));
        await using (var all = await SseClient.ConnectAsync(world.Http, "/api/events", null))
        {
            var reply = await all.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Run three.");
            await all.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == reply.Str("sessionId"));
        }

        var after = await world.Http.GetOkAsync($"/api/schedules/{schedule}");
        Assert.Equal(4, after.GetProperty("missedRuns").GetInt32());
        Assert.Equal(At(12, 6), after.GetProperty("lastMissedAt").GetDateTimeOffset());
        Assert.Equal(At(12, 7), after.GetProperty("lastRunAt").GetDateTimeOffset());
        Assert.Equal(At(12, 8), after.GetProperty("nextRunAt").GetDateTimeOffset());
        Assert.Equal(3, (await ScheduledTasksAsync(world, schedule)).Count);
        Assert.Equal(3, world.Model.Requests.Count(r => r.ConsumedScript && r.Contains("Check the build")));
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=200")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "schedule.missed" && e.GetProperty("subject").GetString() == schedule);

        await ApiAssert.ProblemAsync(await world.Http.PatchAsJsonAsync($"/api/schedules/{schedule}", new { prompt = "   " }), HttpStatusCode.BadRequest,
            "VALIDATION_FAILED");

        // Disabled, it never wakes; enabled again, it counts from now (the time it was off is not "missed").
        var disabled = await world.Http.PatchOkAsync($"/api/schedules/{schedule}", new { enabled = false });
        Assert.Equal(JsonValueKind.Null, disabled.GetProperty("nextRunAt").ValueKind);
        clock.Advance(TimeSpan.FromMinutes(10));
        var enabled = await world.Http.PatchOkAsync($"/api/schedules/{schedule}", new { enabled = true });
        Assert.Equal(At(12, 18), enabled.GetProperty("nextRunAt").GetDateTimeOffset());
        Assert.Equal(4, enabled.GetProperty("missedRuns").GetInt32());
        Assert.Equal(3, (await ScheduledTasksAsync(world, schedule)).Count);
    }

    [Fact]
    public async Task RevokedDevice_ItsScheduleAndWaitingTaskAreHeld_NothingRunsOnItsWord_UntilAnotherDeviceConfirms()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 23, 12, 0, 30, TimeSpan.Zero));
        await using var world = await AgentWorld.ClaudeAsync(clock);
        var laptop = await world.Server.PairAsync("laptop");
        var release = new TaskCompletionSource();
        world.Model.Enqueue(ScriptedReply.Held(release.Task, "Phone task one done."), ScriptedReply.Text("Phone task two done."));
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        await AddTaskAsync(world.Http, world.ProjectId, "Phone task one");
        using (var waiting = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
        {
            await world.Model.WaitForRequestAsync(r => r.Contains("Phone task one"), waiting.Token);
        }

        var laptopTask = await AddTaskAsync(laptop.Http, world.ProjectId, "Laptop task");
        await AddTaskAsync(world.Http, world.ProjectId, "Phone task two");
        // The laptop's schedule: every minute, in trusted mode (commands run unasked).
        var created = await laptop.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/schedules",
            new { name = "laptop minutely", cron = "* * * * *", prompt = "Laptop schedule run", agent = "claude-code", mode = "trusted" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var schedule = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        // Revoked: in the same transaction its schedule is disabled and its waiting task held, each saying why, in the ledger.
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"/api/devices/{laptop.DeviceId}")).StatusCode);
        var heldTask = await world.Http.GetOkAsync($"/api/tasks/{laptopTask}");
        Assert.Equal("held", heldTask.GetProperty("status").GetString());
        Assert.Contains("\"laptop\"", heldTask.GetProperty("problem").GetString(), StringComparison.Ordinal);
        var heldSchedule = await world.Http.GetOkAsync($"/api/schedules/{schedule}");
        Assert.False(heldSchedule.GetProperty("enabled").GetBoolean());
        Assert.Equal(JsonValueKind.Null, heldSchedule.GetProperty("nextRunAt").ValueKind);
        Assert.Contains("\"laptop\"", heldSchedule.GetProperty("heldReason").GetString(), StringComparison.Ordinal);
        var ledger = await LedgerAsync(world);
        Assert.Contains(ledger, e => e.Action == "task.held" && e.Subject == laptopTask);
        Assert.Contains(ledger, e => e.Action == "schedule.held" && e.Subject == schedule);

        // Its time comes and goes, and the backlog moves on past its task: nothing starts on the laptop's word.
        clock.Advance(TimeSpan.FromSeconds(30));
        release.SetResult();
        var two = await all.WaitForAsync(e => e.Event == "message.user" && e.Str("text") == "Phone task two");
        await all.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == two.Str("sessionId"));
        Assert.DoesNotContain(world.Model.Requests, r => r.Contains("Laptop task") || r.Contains("Laptop schedule run"));
        Assert.Empty(await ScheduledTasksAsync(world, schedule));
        Assert.Equal("held", (await world.Http.GetOkAsync($"/api/tasks/{laptopTask}")).GetProperty("status").GetString());

        // The phone confirms the task: back in line, it runs, now in the phone's name.
        world.Model.Enqueue(ScriptedReply.Text("Laptop task done."));
        var confirmed = await world.Http.PostOkAsync($"/api/tasks/{laptopTask}/confirm", new { });
        Assert.Equal("waiting", confirmed.GetProperty("status").GetString());
        var laptopRun = await all.WaitForAsync(e => e.Event == "message.user" && e.Str("text") == "Laptop task");
        await all.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == laptopRun.Str("sessionId"));
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/tasks/{laptopTask}/confirm", new { }), HttpStatusCode.Conflict, "TASK_NOT_HELD");

        // Run now does not skip the confirmation: a held schedule's words are the revoked device's until someone takes them on.
        await ApiAssert.ProblemAsync(await world.Http.PostAsync($"/api/schedules/{schedule}/run", null), HttpStatusCode.Conflict, "SCHEDULE_HELD");

        // And the schedule: enabled again, it counts from now and runs at its next time.
        var resumed = await world.Http.PatchOkAsync($"/api/schedules/{schedule}", new { enabled = true });
        Assert.Equal(JsonValueKind.Null, resumed.GetProperty("heldReason").ValueKind);
        Assert.Equal(At(12, 2), resumed.GetProperty("nextRunAt").GetDateTimeOffset());
        await RunOnceAsync(world, clock, TimeSpan.FromMinutes(1), "Scheduled run done.");
        Assert.Single(await ScheduledTasksAsync(world, schedule));
        ledger = await LedgerAsync(world);
        Assert.Contains(ledger, e => e.Action == "task.confirmed" && e.Subject == laptopTask && e.Actor == "test phone");
        Assert.Contains(ledger, e => e.Action == "schedule.confirmed" && e.Subject == schedule && e.Actor == "test phone");
    }

    [Fact]
    public async Task DeviceRevokedBeforeItsWorkWasHeld_ItsScheduleIsHeldWhenItsTimeComes_NoTaskAdded()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 23, 12, 0, 30, TimeSpan.Zero));
        await using var server = await TestServer.StartAsync(clock: clock);
        var phone = await server.PairAsync();
        var laptop = await server.PairAsync("laptop");
        var repository = TempPaths.NewGitRepository();
        try
        {
            var project = (await phone.Http.PostOkAsync("/api/projects", new { path = repository, name = "demo" })).GetProperty("id").GetString()!;
            var created = await laptop.Http.PostAsJsonAsync($"/api/projects/{project}/schedules",
                new { name = "laptop minutely", cron = "* * * * *", prompt = "Laptop schedule run", agent = "claude-code", mode = "trusted" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var schedule = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

            // Revoked the way a device was before its work was held with it (or by a revocation racing the schedule's
            // creation): the revocation itself held nothing. The scheduler checks when the time comes.
            server.Services.GetRequiredService<PocketCoder.Data.Database>().Write(write => write.Execute(
                "UPDATE devices SET revoked_at = $now WHERE id = $id", ("$now", PocketCoder.Data.SqliteExtensions.ToDb(clock.GetUtcNow())), ("$id", laptop.DeviceId)));
            await using var all = await SseClient.ConnectAsync(phone.Http, "/api/events?tail=true", null);
            clock.Advance(TimeSpan.FromSeconds(30));
            await all.WaitForAsync(e => e.Event == "backlog.changed" && e.Str("projectId") == project);

            Assert.Empty((await phone.Http.GetOkAsync($"/api/projects/{project}/tasks")).EnumerateArray());
            var held = await phone.Http.GetOkAsync($"/api/schedules/{schedule}");
            Assert.False(held.GetProperty("enabled").GetBoolean());
            Assert.Contains("\"laptop\"", held.GetProperty("heldReason").GetString(), StringComparison.Ordinal);
            var ledger = (await phone.Http.GetOkAsync("/api/ledger?limit=100")).GetProperty("entries").EnumerateArray();
            Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "schedule.held" && e.GetProperty("actor").GetString() == "scheduler");
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    private static async Task<List<(string Action, string Subject, string Actor)>> LedgerAsync(AgentWorld world) =>
        [.. (await world.Http.GetOkAsync("/api/ledger?limit=500")).GetProperty("entries").EnumerateArray()
            .Select(e => (e.GetProperty("action").GetString()!, e.GetProperty("subject").GetString()!, e.GetProperty("actor").GetString()!))];

    private static DateTimeOffset At(int hour, int minute) => new(2026, 11, 23, hour, minute, 0, TimeSpan.Zero);

    /// <summary>Moves the clock to the schedule's next time and waits for the session it starts to finish its turn.</summary>
    private static async Task RunOnceAsync(AgentWorld world, ManualClock clock, TimeSpan by, string reply)
    {
        world.Model.Enqueue(ScriptedReply.Text(reply));
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        clock.Advance(by);
        var said = await all.WaitForAsync(e => e.Event == "message" && e.Str("text") == reply);
        await all.WaitForAsync(e => e.Event == "turn.completed" && e.Str("sessionId") == said.Str("sessionId"));
    }

    private static async Task<DateTimeOffset> NextRunAsync(AgentWorld world, string schedule) =>
        (await world.Http.GetOkAsync($"/api/schedules/{schedule}")).GetProperty("nextRunAt").GetDateTimeOffset();

    private static async Task<List<(string Id, string Status, string? SessionId)>> TasksAsync(AgentWorld world) =>
        [.. (await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/tasks")).EnumerateArray()
            .Select(t => (t.GetProperty("id").GetString()!, t.GetProperty("status").GetString()!, t.GetProperty("sessionId").GetString()))];

    private static async Task<List<JsonElement>> ScheduledTasksAsync(AgentWorld world, string schedule) =>
        [.. (await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/tasks")).EnumerateArray()
            .Where(t => t.GetProperty("scheduleId").GetString() == schedule)];

    private static Task<string> AddTaskAsync(AgentWorld world, string prompt) => AddTaskAsync(world.Http, world.ProjectId, prompt);

    private static async Task<string> AddTaskAsync(HttpClient http, string projectId, string prompt)
    {
        var response = await http.PostAsJsonAsync($"/api/projects/{projectId}/tasks", new { prompt, agent = "claude-code", mode = "ask" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task ASchedulesNewPrompt_RunsOnTheEditorsWord_NotOnWhoeverMadeItFirst()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var olu = await world.Server.PairPersonAsync("Olu", PocketCoder.Teams.Role.Operator);
        var made = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/schedules",
            new { name = "nightly", cron = "0 3 * * *", prompt = "run the tests", agent = "claude-code", mode = "ask" });
        var id = made.GetProperty("id").GetString()!;
        var store = world.Server.Services.GetRequiredService<PocketCoder.Backlog.Schedules>();
        var ownersDevice = store.Get(id).CreatedByDevice;

        // Renamed by her, it is still the owner's; given new words by her, it runs on hers (the ledger keeps them).
        await ApiAssert.OkJsonAsync(await olu.Http.PatchAsJsonAsync($"/api/schedules/{id}", new { name = "nightly tests" }));
        Assert.Equal(ownersDevice, store.Get(id).CreatedByDevice);
        await ApiAssert.OkJsonAsync(await olu.Http.PatchAsJsonAsync($"/api/schedules/{id}", new { prompt = "run: touch olu.txt" }));
        Assert.Equal(olu.DeviceId, store.Get(id).CreatedByDevice);
        var changed = (await world.Http.GetOkAsync("/api/ledger")).GetProperty("entries").EnumerateArray()
            .Last(e => e.GetProperty("action").GetString() == "schedule.changed");
        Assert.Equal("run: touch olu.txt", changed.GetProperty("detail").GetProperty("prompt").GetString());

        // "Run now" adds the schedule's task at once, in the name of whoever pressed it; its own times do not move.
        var nextRun = store.Get(id).NextRunAt;
        var task = await ApiAssert.OkJsonAsync(await olu.Http.PostAsync($"/api/schedules/{id}/run", null));
        Assert.Equal("run: touch olu.txt", task.GetProperty("prompt").GetString());
        Assert.Equal(id, task.GetProperty("scheduleId").GetString());
        var tasks = world.Server.Services.GetRequiredService<PocketCoder.Backlog.BacklogTasks>();
        Assert.Equal("Olu's phone", tasks.Get(task.GetProperty("id").GetString()!).CreatedBy);
        Assert.Equal(nextRun, store.Get(id).NextRunAt);
        var ranNow = (await world.Http.GetOkAsync("/api/ledger")).GetProperty("entries").EnumerateArray()
            .Last(e => e.GetProperty("action").GetString() == "schedule.run_now");
        Assert.Equal(olu.DeviceId, ranNow.GetProperty("detail").GetProperty("deviceId").GetString());

        // An owner's schedule in a mode she could not choose herself is not hers to run now.
        var yolo = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/schedules",
            new { name = "unasked", cron = "0 4 * * *", prompt = "clean up", agent = "claude-code", mode = "trusted" });
        await ApiAssert.ProblemAsync(await olu.Http.PostAsync($"/api/schedules/{yolo.GetProperty("id").GetString()}/run", null),
            HttpStatusCode.Forbidden, "MODE_NOT_ALLOWED");
    }
}
