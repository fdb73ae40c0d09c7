using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reliability;

/// <summary>
/// An agent that exits on its own is never silent: the owner hears what it printed, as the session's error and
/// failed status, or (when it exits before it takes the first message) as the answer to starting the session; and
/// resuming the failed session carries its conversation on. The stand-in agents are scripts in the place of the claude
/// executable (the server runs them as it runs Claude); the killed one is the REAL Claude CLI.
/// </summary>
public sealed class AgentExitTests
{
    [Fact]
    public async Task AgentExitsAfterTakingThePrompt_SessionFails_WithWhatItPrinted()
    {
        await using var world = await AgentWorld.StandInClaudeAsync("""
            read -r initialize
            read -r prompt
            echo "claude: out of memory while loading the project" >&2
            exit 3
            """);
        var id = await world.StartSessionAsync("Fix the build");
        await using var events = await world.EventsAsync(id);

        var error = await events.WaitForAsync(e => e.Event == "session.error");
        Assert.Contains("exited unexpectedly (exit code 3)", error.Str("message"), StringComparison.Ordinal);
        Assert.Contains("out of memory while loading the project", error.Str("stderrTail"), StringComparison.Ordinal);
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "failed");
        Assert.Equal("failed", (await world.SessionAsync(id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AgentExitsAsItStarts_TheOwnerHearsWhatItPrinted_NeverA500()
    {
        // It closes its input at once: the first message finds no one to take it (or, if it went first, the exit follows).
        await using var world = await AgentWorld.StandInClaudeAsync("""
            exec 0<&-
            echo "claude: cannot read settings.json: permission denied" >&2
            exit 1
            """);
        // Answered at once (no request waits for an agent to start); the session then fails saying what the agent printed.
        var response = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = "claude-code", prompt = "Fix the build" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await using var events = await world.EventsAsync(id);
        var error = await events.WaitForAsync(e => e.Event == "session.error");
        Assert.Contains("cannot read settings.json", error.Str("stderrTail") + error.Str("message"), StringComparison.Ordinal);
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "failed");
        Assert.Equal(0, (await world.Http.GetOkAsync("/api/resources")).GetProperty("running").GetInt32());
    }

    [Fact]
    public async Task RealClaudeKilledMidTurn_ErrorWithItsStderrAtOnce_ResumeFromFailed_CarriesTheConversationOn()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var never = new TaskCompletionSource();
        world.Model.Enqueue(ScriptedReply.Text("Noted: the bird is HERON."), ScriptedReply.Held(never.Task, "Never said."));
        var id = await world.StartSessionAsync("Remember the bird HERON");
        await using var events = await world.EventsAsync(id);
        await events.WaitForAsync("turn.completed");
        await ClaudeCli.TranscriptHoldsAsync(world.AgentHomePath(".claude"), "Noted: the bird is HERON.");
        await world.SendAsync(id, "Now think about it for a long time");
        using (var timeout = new CancellationTokenSource(SseClient.DefaultWait))
        {
            await world.Model.WaitForRequestAsync(r => r.ConsumedScript && r.Contains("think about it"), timeout.Token);
        }

        // Killed mid-turn as the kernel's OOM killer would: no word from it, no chance to clean up.
        var agent = AgentProcesses.Started(world.Home);
        Process.GetProcessById(agent).Kill();

        var error = await events.WaitForAsync(e => e.Event == "session.error");
        Assert.Contains("The claude-code process exited unexpectedly", error.Str("message"), StringComparison.Ordinal);
        // What it printed before it went (nothing, for a SIGKILLed Claude; AgentExitsAfterTakingThePrompt checks the words).
        Assert.NotNull(error.Str("stderrTail"));
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "failed");
        Assert.Equal("failed", (await world.SessionAsync(id)).GetProperty("status").GetString());

        // The phone's one tap: resume brings the agent back on its own conversation.
        var resumed = await world.Http.PostAsync($"/api/sessions/{id}/resume", null);
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle" && e.Str("reason") == "resumed");
        Assert.NotEqual(agent, AgentProcesses.Started(world.Home));
        world.Model.Enqueue(ScriptedReply.Text("The bird was HERON."));
        await world.SendAsync(id, "Which bird?");
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Str("result") == "The bird was HERON.");
        var conversation = world.Model.Requests[^1].Body.GetProperty("messages").GetRawText();
        Assert.Contains("Remember the bird HERON", conversation, StringComparison.Ordinal);
        Assert.Contains("Noted: the bird is HERON.", conversation, StringComparison.Ordinal);
    }
}
