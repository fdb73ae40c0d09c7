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
}
