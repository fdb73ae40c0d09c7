using System.Net;
using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// The REAL Gemini CLI (pinned in tests/agents) driven over the Agent Client Protocol against the fake model:
/// every tool call it asks about waits for the owner, and the phone sees the same stream as with Claude.
/// </summary>
public sealed class GeminiAcpTests
{
    [Fact]
    public async Task ShellCall_Allowed_RunsOnlyAfterApproval()
    {
        await using var world = await AgentWorld.GeminiAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("run_shell_command", new { command = "echo hi > made-by-gemini.txt", description = "Write a file" }, "I'll write the file."),
            ScriptedReply.Text("The file is written."));
        var made = Path.Combine(world.Repository, "made-by-gemini.txt");

        var sessionId = await world.StartSessionAsync("Please write hi into made-by-gemini.txt");
        await using var events = await world.EventsAsync(sessionId);

        var requested = await events.WaitForAsync("approval.requested");
        Assert.Equal("run_shell_command", requested.Str("tool"));
        Assert.Equal("execute", requested.Str("kind"));
        Assert.Equal("echo hi > made-by-gemini.txt", requested.Str("title"));
        Assert.False(File.Exists(made), "The command ran before anyone allowed it.");
        Assert.Equal("waiting_approval", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());

        await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "allow_once"));
        var result = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == requested.Str("toolCallId"));
        Assert.False(result.Json.GetProperty("isError").GetBoolean(), result.Data);
        var completed = await events.WaitForAsync("turn.completed");
        Assert.Equal("end_turn", completed.Str("stopReason"));
        Assert.Equal("hi\n", await File.ReadAllTextAsync(made));

        // The model got the command's output back, not an error.
        var toolResult = Assert.Single(world.Model.Requests.Where(r => r.ConsumedScript).Last().LastToolResults());
        Assert.False(toolResult.IsError, toolResult.Content);

        // The stream tells the whole story, in order: text, the call, the question, the answer, the result, the end.
        var kinds = events.Received.Select(e => e.Event).ToList();
        Assert.Contains("message.delta", kinds);
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "I'll write the file.");
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "The file is written.");
        Assert.Contains("usage", kinds);
        var call = kinds.IndexOf("tool.call");
        Assert.True(call >= 0 && call < kinds.IndexOf("approval.requested"), string.Join(",", kinds));
        Assert.True(kinds.IndexOf("approval.resolved") < kinds.IndexOf("tool.result"), string.Join(",", kinds));
        Assert.Equal("execute", events.Received[call].Str("kind"));
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");
    }

    [Fact]
    public async Task ShellCall_Denied_DoesNotRunAndTheModelIsTold()
    {
        await using var world = await AgentWorld.GeminiAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("run_shell_command", new { command = "touch never.txt", description = "Touch a file" }),
            ScriptedReply.Text("Understood, I did not touch it."));
        var never = Path.Combine(world.Repository, "never.txt");

        var sessionId = await world.StartSessionAsync("Touch never.txt");
        await using var events = await world.EventsAsync(sessionId);
        var requested = await events.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "deny", "Not here, please."));

        var denied = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == requested.Str("toolCallId"));
        Assert.True(denied.Json.GetProperty("isError").GetBoolean());
        await events.WaitForAsync("turn.completed");
        Assert.False(File.Exists(never), "A denied command ran.");
        var modelSaw = Assert.Single(world.Model.Requests.Where(r => r.ConsumedScript).Last().LastToolResults());
        Assert.True(modelSaw.IsError, modelSaw.Content);
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "Understood, I did not touch it.");
    }

    [Fact]
    public async Task ShellCall_AllowedForTheSession_IsStillGatedCallByCall()
    {
        await using var world = await AgentWorld.GeminiAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("run_shell_command", new { command = "touch first.txt" }),
            ScriptedReply.Text("First done."),
            ScriptedReply.ToolUse("run_shell_command", new { command = "touch second.txt" }),
            ScriptedReply.Text("Second refused."));

        var sessionId = await world.StartSessionAsync("Touch first.txt");
        await using var events = await world.EventsAsync(sessionId);
        var requested = await events.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "allow_session"));
        var first = await events.WaitForAsync("turn.completed");
        Assert.True(File.Exists(Path.Combine(world.Repository, "first.txt")));

        // Had Gemini been told "allow always", it would stop asking and this rule could not stop the next call.
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/rules", new { tool = "run_shell_command", pattern = "*", action = "deny" });
        await world.SendAsync(sessionId, "Touch second.txt");
        var second = await events.WaitForAsync(e => e.Event == "tool.result" && e.Id > first.Id);
        Assert.True(second.Json.GetProperty("isError").GetBoolean(), second.Data);
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > first.Id);
        Assert.False(File.Exists(Path.Combine(world.Repository, "second.txt")), "A call denied by a project rule ran.");
        Assert.DoesNotContain(events.Received, e => e.Event == "approval.requested" && e.Id > first.Id);
    }

    [Fact]
    public async Task WriteFile_NewFileAllowed_IsCreatedThroughTheConfinedClientFileSystem()
    {
        await using var world = await AgentWorld.GeminiAsync();
        var target = Path.Combine(world.Repository, "notes", "new.md");
        world.Model.Enqueue(
            ScriptedReply.ToolUse("write_file", new { file_path = target, content = "# new\n" }),
            ScriptedReply.Text("Created."));

        var sessionId = await world.StartSessionAsync("Create notes/new.md");
        await using var events = await world.EventsAsync(sessionId);
        var requested = await events.WaitForAsync("approval.requested");
        Assert.Equal("edit", requested.Str("kind"));
        Assert.False(File.Exists(target), "The file was written before anyone allowed it.");

        await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "allow_once"));
        var result = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == requested.Str("toolCallId"));
        Assert.False(result.Json.GetProperty("isError").GetBoolean(), result.Data);
        await events.WaitForAsync("turn.completed");
        Assert.Equal("# new\n", await File.ReadAllTextAsync(target));
    }

    [Fact]
    public async Task Cancel_WhileTheModelThinks_EndsTheTurnAndTheSessionStaysUsable()
    {
        await using var world = await AgentWorld.GeminiAsync();
        var never = new TaskCompletionSource();
        world.Model.Enqueue(ScriptedReply.Held(never.Task, "This never arrives."), ScriptedReply.Text("Back again."));

        var sessionId = await world.StartSessionAsync("Think for a long time");
        await using var events = await world.EventsAsync(sessionId);
        using var wait = new CancellationTokenSource(SseClient.DefaultWait);
        await world.Model.WaitForRequestAsync(r => r.ConsumedScript, wait.Token);

        var cancel = await world.Http.PostAsync($"/api/sessions/{sessionId}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var cancelled = await events.WaitForAsync("turn.completed");
        Assert.Equal("cancelled", cancelled.Str("stopReason"));
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");

        await world.SendAsync(sessionId, "Are you there?");
        var next = await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > cancelled.Id);
        Assert.Equal("end_turn", next.Str("stopReason"));
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "Back again.");
        Assert.DoesNotContain(events.Received, e => e.Event == "message" && e.Str("text") == "This never arrives.");
    }

    [Fact]
    public async Task Resume_AfterServerRestart_ContinuesTheConversation()
    {
        await using var world = await AgentWorld.GeminiAsync();
        world.Model.Enqueue(ScriptedReply.Text("Noted: pineapple."), ScriptedReply.Text("Your word was pineapple."));

        var sessionId = await world.StartSessionAsync("My word is pineapple.");
        string agentSessionId;
        await using (var events = await world.EventsAsync(sessionId))
        {
            await events.WaitForAsync("turn.completed");
            agentSessionId = AgentSessionId(world, sessionId);
        }

        // In the minute the chat began: Gemini CLI 0.61.0 alone would write its start-up header into the conversation's own
        // file and lose it (docs/agents-acp.md, Resume).
        await world.RestartServerAsync();
        var lastSeq = (await world.SessionAsync(sessionId)).GetProperty("lastSeq").GetInt64();
        await using var after = await world.EventsAsync(sessionId);
        await world.SendAsync(sessionId, "What was my word?");
        await after.WaitForAsync(e => e.Event == "turn.completed" && e.Id > lastSeq);

        var asked = world.Model.Requests.Last(r => r.ConsumedScript);
        Assert.Equal("What was my word?", asked.LastUserText());
        Assert.Contains("My word is pineapple.", asked.Body.GetRawText(), StringComparison.Ordinal);
        Assert.Contains("Noted: pineapple.", asked.Body.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(agentSessionId, AgentSessionId(world, sessionId));

        // The agent replays the old conversation when it loads it; none of that may show up again as new output.
        Assert.Single(after.Received, e => e.Event == "message" && e.Str("text") == "Noted: pineapple.");
        Assert.Contains(after.Received, e => e.Id > lastSeq && e.Event == "message" && e.Str("text") == "Your word was pineapple.");
        Assert.DoesNotContain(after.Received, e => e.Id > lastSeq && e.Event == "session.error");
    }

    [Fact]
    public async Task Health_WithGeminiInstalled_ReportsItsVersion()
    {
        await using var world = await AgentWorld.GeminiAsync();
        var health = await world.Server.Anonymous.GetOkAsync("/api/health");
        var gemini = Assert.Single(health.GetProperty("agents").EnumerateArray(), a => a.GetProperty("id").GetString() == "gemini");
        Assert.True(gemini.GetProperty("available").GetBoolean(), gemini.ToString());
        Assert.Equal("0.61.0", gemini.GetProperty("version").GetString());
    }

    /// <summary>The id the server will resume with: Gemini's own session id, recorded when the agent reported it.</summary>
    private static string AgentSessionId(AgentWorld world, string sessionId) =>
        world.Server.ReadDatabase("SELECT agent_session_id FROM sessions WHERE id = $id", ("$id", sessionId))!;
}
