using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Backlog;

/// <summary>
/// When the backlog moves on, driven by a fake agent (no process, no model), so that the moments the real-agent suite
/// (<see cref="EndToEnd.BacklogTests"/>) meets only by chance happen where the test puts them: a task whose agent waits
/// for the owner holds the next one until the owner decides; a task whose agent dies fails, and the next one still runs;
/// a message queued behind a task's turn is part of the task, which ends only after it ran.
/// </summary>
public sealed class BacklogRunnerTests
{
    [Fact]
    public async Task TaskWaitingForTheOwner_HoldsTheNextTask_UntilTheOwnerDecides()
    {
        var fake = new FakeAgent();
        PermissionDecision? decided = null;
        fake.Script = async (session, prompt) =>
        {
            if (prompt.Text == "Deploy")
            {
                decided = await session.AskToRunAsync("make deploy");
            }

            await FakeAgent.Echo(session, prompt);
        };
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        var deploy = await AddTaskAsync(world, "Deploy");
        var tidy = await AddTaskAsync(world, "Tidy up");
        var asked = await all.WaitForAsync("approval.requested");
        // Told as waiting for the owner before the backlog looks again: the next task must still be waiting.
        await all.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "waiting_approval");
        Assert.Equal(["running", "waiting"], (await TasksAsync(world)).Select(t => t.Status));

        var decision = await world.DecideAsync(asked.Str("approvalId")!, "allow_once");
        Assert.Equal(HttpStatusCode.OK, decision.StatusCode);
        await all.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: Tidy up");
        await StatusAsync(world, all, tidy, "done");

        Assert.True(decided!.Allow);
        var deployed = all.Received.First(e => e.Event == "message" && e.Str("text") == "Done: Deploy");
        var tidyStarted = all.Received.First(e => e.Event == "message.user" && e.Str("text") == "Tidy up");
        Assert.True(deployed.Id < tidyStarted.Id, "the second task started before the first had finished");
        Assert.Equal([(deploy, "done"), (tidy, "done")], (await TasksAsync(world)).Select(t => (t.Id, t.Status)).OrderBy(t => t.Id == tidy));
    }

    [Fact]
    public async Task AgentDiesDuringATask_TheTaskFails_AndTheNextOneStillRuns()
    {
        var fake = new FakeAgent();
        fake.Script = (session, prompt) =>
        {
            if (prompt.Text == "Crash")
            {
                session.Exit();
                return Task.CompletedTask;
            }

            return FakeAgent.Echo(session, prompt);
        };
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        var crash = await AddTaskAsync(world, "Crash");
        var next = await AddTaskAsync(world, "Carry on");
        await all.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: Carry on");
        await StatusAsync(world, all, next, "done");

        var crashed = await world.Http.GetOkAsync($"/api/tasks/{crash}");
        Assert.Equal("failed", crashed.GetProperty("status").GetString());
        Assert.Equal("failed", (await world.SessionAsync(crashed.GetProperty("sessionId").GetString()!)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AgentThatCannotStart_TheTaskFailsSayingWhy_AndNamesItsFailedSession()
    {
        var fake = new FakeAgent();
        await using var world = await AgentWorld.FakeAsync(fake);
        fake.StartFails = new AgentUnavailableException(FakeAgent.AgentId, "The fake agent could not be started: no such file.");
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        var task = await AddTaskAsync(world, "Build");
        await StatusAsync(world, all, task, "failed");

        // The task says why, and names its session, which says the same (its start went on after the session was answered).
        var failed = await world.Http.GetOkAsync($"/api/tasks/{task}");
        Assert.Contains("no such file", failed.GetProperty("problem").GetString(), StringComparison.Ordinal);
        var session = failed.GetProperty("sessionId").GetString()!;
        Assert.Equal("failed", (await world.Http.GetOkAsync($"/api/sessions/{session}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task MessageQueuedBehindATasksTurn_IsPartOfTheTask_TheNextStartsOnlyAfterItRan()
    {
        var fake = new FakeAgent();
        var release = new TaskCompletionSource();
        fake.Script = async (session, prompt) =>
        {
            if (prompt.Text == "Long job")
            {
                await release.Task;
            }

            await FakeAgent.Echo(session, prompt);
        };
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        var job = await AddTaskAsync(world, "Long job");
        await AddTaskAsync(world, "After");
        var session = await fake.SessionAsync(0);
        await session.SentAsync(1);
        var sessionId = (await world.Http.GetOkAsync($"/api/tasks/{job}")).GetProperty("sessionId").GetString()!;
        await world.SendAsync(sessionId, "And the docs");
        await all.WaitForAsync("queue.updated");
        release.SetResult();

        await all.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: After");
        var followUp = all.Received.First(e => e.Event == "message" && e.Str("text") == "Done: And the docs");
        var afterStarted = all.Received.First(e => e.Event == "message.user" && e.Str("text") == "After");
        Assert.True(followUp.Id < afterStarted.Id, "the next task started while a message queued behind the first was still to run");
        Assert.Equal(["Long job", "And the docs"], session.Sent);
    }

    /// <summary>Waits until the task has <paramref name="status"/>, looking again at each change the backlog tells.</summary>
    private static async Task StatusAsync(AgentWorld world, SseClient all, string task, string status)
    {
        while ((await world.Http.GetOkAsync($"/api/tasks/{task}")).GetProperty("status").GetString() != status)
        {
            await all.WaitForAsync("backlog.changed");
        }
    }

    private static async Task<List<(string Id, string Status)>> TasksAsync(AgentWorld world) =>
        [.. (await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/tasks")).EnumerateArray()
            .Select(t => (t.GetProperty("id").GetString()!, t.GetProperty("status").GetString()!))];

    private static async Task<string> AddTaskAsync(AgentWorld world, string prompt)
    {
        var response = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/tasks", new { prompt, agent = FakeAgent.AgentId, mode = "ask" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }
}
