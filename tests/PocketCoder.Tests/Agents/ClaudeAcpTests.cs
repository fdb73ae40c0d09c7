using System.Net;
using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>claude-agent-acp (Claude Code over ACP), registered in agents.json: the owner approves exactly what runs.</summary>
public sealed class ClaudeAcpTests
{
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
