using System.Net;
using System.Net.Http.Json;
using PocketCoder.Agents;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// No request waits for an agent to start (an outside check's create did not answer in 60 s with an agent that never came
/// up): a new session is answered at once, starting, its prompt waiting in its queue; how its start ends is told as events.
/// </summary>
public sealed class SlowStartTests
{
    [Fact]
    public async Task ACreate_AnswersWhileTheAgentIsStillStarting_AndAStartThatFails_SaysWhyAsEvents_LeavingNothingRunning()
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fake = new FakeAgent { StartHold = up.Task };
        await using var world = await AgentWorld.FakeAsync(fake);

        var response = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = world.Agent, prompt = "first" })
            .WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await ApiAssert.OkJsonAsync(response);
        Assert.Equal("starting", created.GetProperty("status").GetString());
        await fake.StartBegun.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var queue = await world.Http.GetOkAsync($"/api/sessions/{created.GetProperty("id").GetString()}/queue");
        Assert.Equal("first", Assert.Single(queue.GetProperty("messages").EnumerateArray()).GetProperty("text").GetString());

        fake.StartFails = new AgentUnavailableException(FakeAgent.AgentId, "The fake agent did not answer its start within 60 s.");
        up.SetResult();
        var failed = await ApiAssert.StartFailsAsync(world.Http, response, "AGENT_UNAVAILABLE");
        Assert.Contains("did not answer its start", failed.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await world.Http.GetOkAsync("/api/resources")).GetProperty("running").GetInt32());
    }

    [Fact]
    public async Task AMessageThatBringsTheAgentBack_AnswersWhileItStarts_AndRunsOnceItIsUp()
    {
        var fake = new FakeAgent();
        await using var world = await AgentWorld.FakeAsync(fake);
        var sessionId = await world.StartSessionAsync("first");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");

        // Its agent ends on its own; the next message brings it back, with a start that takes as long as it takes.
        (await fake.SessionAsync(0)).Exit();
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "failed");
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.StartHold = up.Task;

        var sent = await world.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/messages", new { text = "second" }).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        Assert.Equal("second", (await ApiAssert.OkJsonAsync(sent)).GetProperty("queued").GetProperty("text").GetString());

        up.SetResult();
        var ran = await events.WaitForAsync(e => e.Event == "message.user" && e.Str("text") == "second");
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > ran.Id);
        Assert.Equal(2, fake.Starts);
        Assert.Empty((await world.Http.GetOkAsync($"/api/sessions/{sessionId}/queue")).GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task AResume_AnswersWhileTheAgentStarts_AndWhatWasQueuedBeforeWaitsForTheOwner()
    {
        var longTurn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fake = new FakeAgent
        {
            Script = async (session, prompt) =>
            {
                if (prompt.Text == "long")
                {
                    await longTurn.Task;
                }

                await FakeAgent.Echo(session, prompt);
            },
        };
        await using var world = await AgentWorld.FakeAsync(fake);
        var sessionId = await world.StartSessionAsync("long");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync(e => e.Event == "message.user" && e.Str("text") == "long");
        Assert.Equal("queued before", (await ApiAssert.OkJsonAsync(await world.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/messages",
            new { text = "queued before" }))).GetProperty("queued").GetProperty("text").GetString());

        // Its agent dies mid-turn, the message still queued; the resume's start takes as long as it takes.
        (await fake.SessionAsync(0)).Exit();
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "failed");
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.StartHold = up.Task;

        var resumed = await world.Http.PostAsync($"/api/sessions/{sessionId}/resume", null).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        Assert.Equal("starting", (await ApiAssert.OkJsonAsync(resumed)).GetProperty("status").GetString());
        Assert.True((await world.Http.GetOkAsync($"/api/sessions/{sessionId}/queue")).GetProperty("held").GetBoolean());

        up.SetResult();
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle" && e.Str("reason") == "resumed");
        var queue = await world.Http.GetOkAsync($"/api/sessions/{sessionId}/queue");
        Assert.True(queue.GetProperty("held").GetBoolean(), "what was queued before the agent went away ran without the owner");
        Assert.Equal("queued before", Assert.Single(queue.GetProperty("messages").EnumerateArray()).GetProperty("text").GetString());
        Assert.Empty((await fake.SessionAsync(1)).Sent);

        // A message sent now goes first and lets the held one go on after it.
        await world.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/messages", new { text = "now" });
        var now = await events.WaitForAsync(e => e.Event == "message.user" && e.Str("text") == "now");
        var after = await events.WaitForAsync(e => e.Event == "message.user" && e.Str("text") == "queued before");
        Assert.True(after.Id > now.Id);
        Assert.Equal(2, fake.Starts);
    }
}
