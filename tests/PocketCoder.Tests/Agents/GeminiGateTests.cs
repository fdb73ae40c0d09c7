using System.Text.Json.Nodes;
using FakeLlm;
using PocketCoder.Tests.EndToEnd;

namespace PocketCoder.Tests.Agents;

/// <summary>Gemini CLI's own allow-list does not decide for PocketCoder's sessions (checked with 0.61 over ACP).</summary>
public sealed class GeminiGateTests
{
    [Fact]
    public async Task UserSettingsAllowingTheShell_CommandStillAskedAndNotRunWhilePending()
    {
        await using var world = await AgentWorld.GeminiAsync();
        var path = Path.Combine(world.Home, ".gemini", "settings.json");
        var settings = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        settings["tools"] = new JsonObject { ["allowed"] = new JsonArray("run_shell_command") };
        File.WriteAllText(path, settings.ToJsonString());
        world.Model.Enqueue(ScriptedReply.ToolUse("run_shell_command", new { command = "echo hi > gem.txt", description = "x" }), ScriptedReply.Text("Done."));
        var sessionId = await world.StartSessionAsync("write");
        await using var events = await world.EventsAsync(sessionId);
        var first = await events.WaitForAsync(e => e.Event is "approval.requested" or "tool.result" or "turn.completed");
        Assert.Equal("approval.requested", first.Event);
        Assert.False(File.Exists(Path.Combine(world.Repository, "gem.txt")), "The command ran while its approval was pending.");
    }
}
