using System.Net;
using System.Net.Http.Json;
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

    /// <summary>Codex runs what it considers read-only; under PocketCoder it must still ask (verified for 0.169).</summary>
    [Theory]
    [InlineData("ls -la")]
    [InlineData("cat README.md")]
    [InlineData("git status")]
    public async Task ReadOnlyCommand_StillAsked(string command)
    {
        await using var world = await AgentWorld.CodexAsync();
        world.Model.Enqueue(ScriptedReply.ToolUse("exec_command", new { cmd = command }), ScriptedReply.Text("Done."));
        var sessionId = await world.StartSessionAsync("look around");
        await using var events = await world.EventsAsync(sessionId);
        var first = await events.WaitForAsync(e => e.Event is "approval.requested" or "tool.result" or "turn.completed");
        Assert.Equal("approval.requested", first.Event);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(first.Str("approvalId")!, "deny"));
        await events.WaitForAsync("turn.completed");
    }

    /// <summary>A command rule that allows (the owner's, or a repository's) would run commands unasked: Codex is refused.</summary>
    [Theory]
    [InlineData(true, "prefix_rule(pattern=[\"touch\"], decision=\"allow\")")]
    [InlineData(false, "prefix_rule(pattern=[\"touch\"], decision=\"allow\")")]
    [InlineData(false, "prefix_rule(\n    pattern = [\"touch\", [\"a\", \"b\"]],\n)")]
    public async Task AllowingCommandRule_UserOrRepository_SessionRefusedNamingTheFileAndNothingRuns(bool userLevel, string rule)
    {
        await using var world = await AgentWorld.CodexAsync();
        var directory = userLevel ? Path.Combine(AgentClis.CodexHome(world.Home), "rules") : Path.Combine(world.Repository, ".codex", "rules");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "mine.rules");
        await File.WriteAllTextAsync(file, rule + "\n");
        world.Model.Enqueue(ScriptedReply.ToolUse("exec_command", new { cmd = "touch ruled.txt" }), ScriptedReply.Text("Done."));

        var refused = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = "codex", prompt = "touch it" });
        var problem = await ApiAssert.StartFailsAsync(world.Http, refused, "AGENT_UNAVAILABLE");
        Assert.Contains(file, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(world.Repository, "ruled.txt")));

        // A rule that only prompts is harmless.
        await File.WriteAllTextAsync(file, "prefix_rule(pattern=[\"touch\"], decision=\"prompt\")\n");
        var sessionId = await world.StartSessionAsync("touch it");
        await using var events = await world.EventsAsync(sessionId);
        Assert.Equal("approval.requested", (await events.WaitForAsync(e => e.Event is "approval.requested" or "tool.result")).Event);
    }
}
