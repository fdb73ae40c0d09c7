using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>Codex's own approval memory and its inability to run an edited command never get around the gatekeeper.</summary>
public sealed class CodexGateTests
{
    [Fact]
    public async Task AllowForThisSession_NextCommand_StillGoesThroughTheGatekeeperAndTheLedger()
    {
        await using var world = await AgentWorld.CodexAsync();
        // The same command twice: Codex's own "for this session" memory would run the second without asking anyone.
        world.Model.Enqueue(
            ScriptedReply.ToolUse("exec_command", new { cmd = "echo again >> log.txt" }),
            ScriptedReply.ToolUse("exec_command", new { cmd = "echo again >> log.txt" }),
            ScriptedReply.Text("Both written."));

        var sessionId = await world.StartSessionAsync("write two files");
        await using var events = await world.EventsAsync(sessionId);
        var first = await events.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(first.Str("approvalId")!, "allow_session"));
        await events.WaitForAsync("turn.completed");

        Assert.Equal("again\nagain\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "log.txt")));
        // The second call was put to the gatekeeper (which allowed it by the session grant) — not waved through by Codex.
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Single(ledger, e => e.GetProperty("action").GetString() == "approval.auto_allowed");
    }

    [Fact]
    public async Task AllowWithEditedCommand_CodexCannotApplyIt_NeitherCommandRuns()
    {
        await using var world = await AgentWorld.CodexAsync();
        world.Model.Enqueue(ScriptedReply.ToolUse("exec_command", new { cmd = "echo original > original.txt" }), ScriptedReply.Text("Done."));

        var sessionId = await world.StartSessionAsync("write a file");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        var decided = await world.DecideAsync(asked.Str("approvalId")!, "allow_once", updatedInput: new { command = "echo edited > edited.txt" });
        if (decided.IsSuccessStatusCode)
        {
            await events.WaitForAsync("turn.completed");
        }
        else
        {
            // Refused up front by the gatekeeper: deny it so the turn can end.
            await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "deny"));
            await events.WaitForAsync("turn.completed");
        }

        Assert.False(File.Exists(Path.Combine(world.Repository, "original.txt")), "The original command ran after the owner approved only an edit.");
        Assert.False(File.Exists(Path.Combine(world.Repository, "edited.txt")));
    }
}
