using System.Net;
using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// The agent matrix for the named ACP agents PocketCoder knows by id, each the REAL CLI pinned in tests/agents driven over
/// ACP against the fake model: text, a tool call allowed, one denied, an edited input refused up front, cancel, resume after
/// a restart, usage, and the version in health. (Gemini CLI and claude-agent-acp have their own files; the matrix as a whole
/// is in docs/agents.md.)
/// </summary>
public sealed class NamedAcpAgentTests
{
    public static TheoryData<string> Agents => ["copilot", "qwen"];

    /// <summary>The agent's own tool that writes a new file, with its input.</summary>
    private static ScriptedReply CreateFile(string agent, string path, string content) => agent switch
    {
        "copilot" => ScriptedReply.ToolUse("create", new { path, file_text = content }),
        _ => ScriptedReply.ToolUse("write_file", new { file_path = path, content }),
    };

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task ShellCall_Allowed_RunsOnlyAfterApproval_WithTextAndUsage(string agent)
    {
        await using var world = await AgentWorld.NamedAsync(agent);
        world.Model.Enqueue(ScriptedReply.Text("Let me look first."));
        var made = Path.Combine(world.Repository, "made.txt");

        var sessionId = await world.StartSessionAsync("Say something first.");
        await using var events = await world.EventsAsync(sessionId);
        var first = await events.WaitForAsync("turn.completed");
        Assert.Equal("end_turn", first.Str("stopReason"));
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "Let me look first.");
        // The turn's tokens come last (Copilot CLI reports its context window as it goes, too).
        var usage = events.Received.Last(e => e.Event == "usage" && e.Id < first.Id);
        Assert.True(usage.Json.GetProperty("inputTokens").GetInt64() > 0, usage.Data);
        Assert.True(usage.Json.GetProperty("outputTokens").GetInt64() > 0, usage.Data);

        world.Model.Enqueue(world.ShellCall("echo hi > made.txt"), ScriptedReply.Text("The file is written."));
        await world.SendAsync(sessionId, "Please write hi into made.txt");
        var requested = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Id > first.Id);
        Assert.Equal("execute", requested.Str("kind"));
        Assert.Equal("echo hi > made.txt", requested.Json.GetProperty("input").GetProperty("command").GetString());
        Assert.False(File.Exists(made), "The command ran before anyone allowed it.");
        Assert.Equal("waiting_approval", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());

        await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "allow_once"));
        var result = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == requested.Str("toolCallId"));
        Assert.False(result.Json.GetProperty("isError").GetBoolean(), result.Data);
        var completed = await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > first.Id);
        Assert.Equal("end_turn", completed.Str("stopReason"));
        Assert.Equal("hi\n", await File.ReadAllTextAsync(made));
        var toolResult = Assert.Single(world.Model.Requests.Where(r => r.ConsumedScript).Last().LastToolResults());
        Assert.False(toolResult.IsError, toolResult.Content);

        // In order: the call, the question, the answer, the result, the words after it, the turn's usage, the end.
        var kinds = events.Received.Where(e => e.Id > first.Id).Select(e => e.Event).ToList();
        var call = kinds.IndexOf("tool.call");
        Assert.True(call >= 0 && call < kinds.IndexOf("approval.requested"), string.Join(",", kinds));
        Assert.True(kinds.IndexOf("approval.resolved") < kinds.IndexOf("tool.result"), string.Join(",", kinds));
        Assert.True(kinds.IndexOf("tool.result") < kinds.LastIndexOf("usage") && kinds.LastIndexOf("usage") < kinds.IndexOf("turn.completed"),
            string.Join(",", kinds));
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "The file is written.");
    }

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task ShellCall_Denied_DoesNotRunAndTheModelIsTold(string agent)
    {
        await using var world = await AgentWorld.NamedAsync(agent);
        world.Model.Enqueue(world.ShellCall("touch never.txt"), ScriptedReply.Text("Understood, I did not touch it."));

        var sessionId = await world.StartSessionAsync("Touch never.txt");
        await using var events = await world.EventsAsync(sessionId);
        var requested = await events.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "deny", "Not here, please."));

        var denied = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == requested.Str("toolCallId"));
        Assert.True(denied.Json.GetProperty("isError").GetBoolean());
        await events.WaitForAsync("turn.completed");
        Assert.False(File.Exists(Path.Combine(world.Repository, "never.txt")), "A denied command ran.");

        // Told, or (Qwen Code ends the turn on a refusal, as the protocol lets it) not asked to go on with the call as if it had run.
        var after = world.Model.Requests.Where(r => r.ConsumedScript).Skip(1).ToList();
        foreach (var request in after)
        {
            Assert.All(request.LastToolResults(), r => Assert.True(r.IsError || r.Content.Contains("denied", StringComparison.OrdinalIgnoreCase)
                || r.Content.Contains("reject", StringComparison.OrdinalIgnoreCase), r.Content));
        }
    }

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task EditedInput_RefusedUpFront_AndExactlyTheShownCallRuns(string agent)
    {
        await using var world = await AgentWorld.NamedAsync(agent);
        var target = Path.Combine(world.Repository, "notes.md");
        world.Model.Enqueue(CreateFile(agent, target, "# shown\n"), ScriptedReply.Text("Created."));

        var sessionId = await world.StartSessionAsync("Create notes.md");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal("edit", asked.Str("kind"));
        Assert.False(asked.Json.GetProperty("canEditInput").GetBoolean());
        Assert.False(File.Exists(target), "The file was written before anyone allowed it.");

        // ACP has no way to run a call with other input: the phone offers no edit, and the server refuses one.
        await ApiAssert.ProblemAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once", updatedInput: new { path = target, file_text = "# other\n" }),
            HttpStatusCode.UnprocessableEntity, "EDITED_INPUT_UNSUPPORTED");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once"));
        var result = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == asked.Str("toolCallId"));
        Assert.False(result.Json.GetProperty("isError").GetBoolean(), result.Data);
        await events.WaitForAsync("turn.completed");
        Assert.Equal("# shown\n", await File.ReadAllTextAsync(target));
    }

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task Cancel_WhileTheModelThinks_EndsTheTurnAndTheSessionStaysUsable(string agent)
    {
        await using var world = await AgentWorld.NamedAsync(agent);
        var never = new TaskCompletionSource();
        world.Model.Enqueue(ScriptedReply.Held(never.Task, "This never arrives."), ScriptedReply.Text("Back again."));

        var sessionId = await world.StartSessionAsync("Think for a long time");
        await using var events = await world.EventsAsync(sessionId);
        using var wait = new CancellationTokenSource(SseClient.DefaultWait);
        await world.Model.WaitForRequestAsync(r => r.ConsumedScript, wait.Token);

        Assert.Equal(HttpStatusCode.Accepted, (await world.Http.PostAsync($"/api/sessions/{sessionId}/cancel", null)).StatusCode);
        var cancelled = await events.WaitForAsync("turn.completed");
        Assert.Equal("cancelled", cancelled.Str("stopReason"));
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");

        await world.SendAsync(sessionId, "Are you there?");
        var next = await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > cancelled.Id);
        Assert.Equal("end_turn", next.Str("stopReason"));
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("text") == "Back again.");
        Assert.DoesNotContain(events.Received, e => e.Event == "message" && e.Str("text") == "This never arrives.");
    }

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task Resume_AfterServerRestart_ContinuesTheConversationWithoutReplayingIt(string agent)
    {
        await using var world = await AgentWorld.NamedAsync(agent);
        world.Model.Enqueue(ScriptedReply.Text("Noted: pineapple."), ScriptedReply.Text("Your word was pineapple."));

        var sessionId = await world.StartSessionAsync("My word is pineapple.");
        string agentSessionId;
        await using (var events = await world.EventsAsync(sessionId))
        {
            await events.WaitForAsync("turn.completed");
            agentSessionId = AgentSessionId(world, sessionId);
        }

        await world.RestartServerAsync();
        var lastSeq = (await world.SessionAsync(sessionId)).GetProperty("lastSeq").GetInt64();
        await using var after = await world.EventsAsync(sessionId);
        await world.SendAsync(sessionId, "What was my word?");
        await after.WaitForAsync(e => e.Event == "turn.completed" && e.Id > lastSeq);

        var asked = world.Model.Requests.Last(r => r.ConsumedScript);
        // Copilot CLI puts the date and time before the owner's words.
        Assert.EndsWith("What was my word?", asked.LastUserText(), StringComparison.Ordinal);
        Assert.Contains("My word is pineapple.", asked.Body.GetRawText(), StringComparison.Ordinal);
        Assert.Contains("Noted: pineapple.", asked.Body.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(agentSessionId, AgentSessionId(world, sessionId));
        Assert.Single(after.Received, e => e.Event == "message" && e.Str("text") == "Noted: pineapple.");
        Assert.DoesNotContain(after.Received, e => e.Id > lastSeq && e.Event == "session.error");
    }

    [Theory]
    [InlineData("copilot", "1.0.102")]
    [InlineData("qwen", "0.24.4")]
    public async Task Health_ReportsThePinnedVersion(string agent, string version)
    {
        await using var world = await AgentWorld.NamedAsync(agent);
        var health = await world.Server.Anonymous.GetOkAsync("/api/health");
        var reported = Assert.Single(health.GetProperty("agents").EnumerateArray(), a => a.GetProperty("id").GetString() == agent);
        Assert.True(reported.GetProperty("available").GetBoolean(), reported.ToString());
        Assert.Equal(version, reported.GetProperty("version").GetString());
    }

    private static string AgentSessionId(AgentWorld world, string sessionId) =>
        world.Server.ReadDatabase("SELECT agent_session_id FROM sessions WHERE id = $id", ("$id", sessionId))!;
}
