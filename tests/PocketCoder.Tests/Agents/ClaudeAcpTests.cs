using System.Net;
using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>claude-agent-acp (Claude Code over ACP), registered in agents.json: the owner approves exactly what runs.</summary>
public sealed class ClaudeAcpTests
{
    /// <summary>
    /// Issue #55: declared the <c>subagent-transcript</c> capability, the adapter says which subagent each update is from, so a
    /// subagent's call waits on the owner under the Agent call that started it, like Claude Code's own, and is never paused on.
    /// </summary>
    [Fact]
    public async Task Subagent_ShellCallWaitsOnTheOwner_UnderItsAgentCall()
    {
        await using var world = await AgentWorld.ClaudeAcpAsync();
        var made = Path.Combine(world.Repository, "made-by-subagent.txt");
        world.Model.Enqueue(
            ScriptedReply.Answering(request => ScriptedReply.ToolUse(request.ToolNames.FirstOrDefault(name => name is "Agent" or "Task") ?? "Agent", new
            {
                description = "Write the file",
                prompt = "Write sub into made-by-subagent.txt",
                subagent_type = "general-purpose",
                run_in_background = false,
            })),
            ScriptedReply.ToolUse("Bash", new { command = "echo sub > made-by-subagent.txt", description = "Write a file" }),
            ScriptedReply.Text("The subagent wrote the file."),
            ScriptedReply.Text("My subagent wrote the file."));
        var sessionId = await world.StartSessionAsync("Delegate writing made-by-subagent.txt");
        await using var events = await world.EventsAsync(sessionId);

        var delegating = await events.WaitForAsync("approval.requested");
        Assert.Null(delegating.Str("parentToolCallId"));
        var parent = delegating.Str("toolCallId");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(delegating.Str("approvalId")!, "allow_once"));

        var requested = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Id > delegating.Id);
        Assert.Equal("echo sub > made-by-subagent.txt", requested.Json.GetProperty("input").GetProperty("command").GetString());
        Assert.Equal(parent, requested.Str("parentToolCallId"));
        Assert.Contains(events.Received, e => e.Event == "tool.call" && e.Str("toolCallId") == requested.Str("toolCallId") && e.Str("parentToolCallId") == parent);
        Assert.False(File.Exists(made), "The subagent's command ran before anyone allowed it.");

        await ApiAssert.OkJsonAsync(await world.DecideAsync(requested.Str("approvalId")!, "allow_once"));
        await events.WaitForAsync("turn.completed");
        Assert.Equal("sub\n", await File.ReadAllTextAsync(made));
        // The subagent's words are never streamed as the reply to the owner.
        Assert.DoesNotContain(events.Received, e => e.Event == "message.delta" && (e.Str("text") ?? "").Contains("The subagent wrote", StringComparison.Ordinal));
        Assert.Contains(events.Received, e => e.Event == "message" && e.Str("parentToolCallId") is null && e.Str("text") == "My subagent wrote the file.");
    }

    [Fact]
    public async Task Allowed_TheApprovalShowsTheCommand_AndExactlyThatRuns()
    {
        await using var world = await AgentWorld.ClaudeAcpAsync();
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo approved > shown.txt", description = "Write a file" }),
            ScriptedReply.Text("Done."));

        var sessionId = await world.StartSessionAsync("write a file");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");

        // The adapter announces the call while its input still streams (title "Terminal", input {}): the owner must see the command.
        Assert.Equal("echo approved > shown.txt", asked.Json.GetProperty("input").GetProperty("command").GetString());
        Assert.False(asked.Json.GetProperty("canEditInput").GetBoolean());
        await ApiAssert.ProblemAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once", updatedInput: new { command = "echo other > other.txt" }),
            HttpStatusCode.UnprocessableEntity, "EDITED_INPUT_UNSUPPORTED");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once"));
        await events.WaitForAsync("turn.completed");

        Assert.Equal("approved\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "shown.txt")));
        Assert.False(File.Exists(Path.Combine(world.Repository, "other.txt")));
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "approval.decided"
            && e.GetProperty("detail").GetRawText().Contains("echo approved > shown.txt", StringComparison.Ordinal));
    }
}
