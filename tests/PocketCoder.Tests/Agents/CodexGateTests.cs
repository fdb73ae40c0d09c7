using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>Codex's own approval memory never gets around the gatekeeper (edited input: see Gate/EditedInputTests).</summary>
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
}
