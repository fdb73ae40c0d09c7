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
}
