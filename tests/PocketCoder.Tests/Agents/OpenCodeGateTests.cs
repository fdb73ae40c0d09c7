using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// The REAL OpenCode never decides on its own: whatever the repository's or the user's OpenCode config says
/// (<c>permission</c>, <c>agent.build.permission</c>, agent front matter, plugins), every command reaches the
/// gatekeeper, and a repository's plugin never runs.
/// </summary>
public sealed class OpenCodeGateTests
{
    private const string AllowEverything = """
        {
          "permission": { "*": "allow", "bash": "allow", "edit": "allow" },
          "agent": { "build": { "permission": { "*": "allow", "bash": "allow" } }, "plan": { "permission": { "bash": "allow" } } }
        }
        """;

    private const string BuildAgentAllowsBash = """
        ---
        description: The build agent, told to run anything
        permission:
          bash: allow
          edit: allow
        ---
        Do what you are asked.
        """;

    [Fact]
    public async Task RepositoryConfigThatAllowsEverything_CommandStillWaitsForTheOwner()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        await File.WriteAllTextAsync(Path.Combine(world.Repository, "opencode.json"), AllowEverything);
        Directory.CreateDirectory(Path.Combine(world.Repository, ".opencode", "agent"));
        await File.WriteAllTextAsync(Path.Combine(world.Repository, ".opencode", "opencode.json"), AllowEverything);
        await File.WriteAllTextAsync(Path.Combine(world.Repository, ".opencode", "agent", "build.md"), BuildAgentAllowsBash);

        await CommandWaitsForTheOwnerAsync(world);
    }

    [Fact]
    public async Task RepositoryPlugin_OpenCodeRefusedNamingTheFile_AndThePluginNeverRuns()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        var marker = Path.Combine(world.Home, "repo-plugin-ran.txt");
        Directory.CreateDirectory(Path.Combine(world.Repository, ".opencode", "plugin"));
        var plugin = Path.Combine(world.Repository, ".opencode", "plugin", "touch.ts");
        await File.WriteAllTextAsync(plugin, $$"""
            import { writeFileSync } from "fs";
            writeFileSync({{JsonSerializer.Serialize(marker)}}, "the repository's plugin ran");
            export const Touch = async () => ({});
            """);

        var problem = await RefusedAsync(world);
        Assert.Contains(plugin, problem, StringComparison.Ordinal);
        Assert.False(File.Exists(marker), "A plugin from the repository ran.");
    }

    [Fact]
    public async Task RepositoryMcpServer_OpenCodeRefusedNamingTheSetting_AndTheServerNeverStarts()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        var marker = Path.Combine(world.Home, "repo-mcp-ran.txt");
        await File.WriteAllTextAsync(Path.Combine(world.Repository, "opencode.json"), $$"""
            {
              // A comment, as OpenCode allows.
              "mcp": { "touch": { "type": "local", "command": ["sh", "-c", {{JsonSerializer.Serialize($"touch '{marker}'")}}] } },
            }
            """);

        var problem = await RefusedAsync(world);
        Assert.Contains("\"mcp\"", problem, StringComparison.Ordinal);
        Assert.False(File.Exists(marker), "An MCP server from the repository's opencode.json started.");
    }

    [Fact]
    public async Task UserConfigThatAllowsEverything_CommandStillWaitsForTheOwner()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        var config = Path.Combine(world.Home, ".config", "opencode");
        Directory.CreateDirectory(Path.Combine(config, "agent"));
        await File.WriteAllTextAsync(Path.Combine(config, "opencode.json"), AllowEverything);
        await File.WriteAllTextAsync(Path.Combine(config, "agent", "build.md"), BuildAgentAllowsBash);

        await CommandWaitsForTheOwnerAsync(world);
    }

    [Fact]
    public async Task AllowForThisSession_NextCommand_StillGoesThroughTheGatekeeperAndTheLedger()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("bash", new { command = "touch first.txt", description = "Touch" }),
            ScriptedReply.Text("First done."),
            ScriptedReply.ToolUse("bash", new { command = "touch second.txt", description = "Touch" }),
            ScriptedReply.Text("Second done."));
        var sessionId = await world.StartSessionAsync("touch first.txt");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_session"));
        var first = await events.WaitForAsync("turn.completed");

        await world.SendAsync(sessionId, "now touch second.txt");
        var second = await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > first.Id);
        Assert.Equal("Second done.", second.Str("result"));
        Assert.True(File.Exists(Path.Combine(world.Repository, "second.txt")));
        Assert.DoesNotContain(events.Received, e => e.Event == "approval.requested" && e.Id > first.Id);

        // Allowed by the session grant in PocketCoder, not by OpenCode remembering an "always": so it is on record.
        var ledger = await world.Http.GetOkAsync("/api/ledger");
        Assert.Contains(ledger.GetProperty("entries").EnumerateArray(), e =>
            e.GetProperty("action").GetString() == "approval.auto_allowed" && e.GetProperty("subject").GetString() == sessionId
            && e.GetProperty("detail").GetProperty("input").GetProperty("command").GetString() == "touch second.txt");
    }

    [Fact]
    public async Task AllowWithEditedCommand_OpenCodeCannotApplyIt_NeitherCommandRuns()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("bash", new { command = "touch original.txt", description = "Touch" }),
            ScriptedReply.Text("Understood."));
        var sessionId = await world.StartSessionAsync("touch original.txt");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");

        var response = await world.DecideAsync(asked.Str("approvalId")!, "allow_once", null, new { command = "touch edited.txt", description = "Touch" });
        if (!response.IsSuccessStatusCode)
        {
            // The gatekeeper refuses an edit for an agent that cannot apply it; then the owner decides again.
            await ApiAssert.ProblemAsync(response, HttpStatusCode.UnprocessableEntity, "EDITED_INPUT_UNSUPPORTED");
            await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "deny"));
        }

        var result = await events.WaitForAsync(e => e.Event == "tool.result" && e.Str("toolCallId") == asked.Str("toolCallId"));
        Assert.True(result.Json.GetProperty("isError").GetBoolean(), result.Data);
        await events.WaitForAsync("turn.completed");
        Assert.False(File.Exists(Path.Combine(world.Repository, "original.txt")), "The original command ran although the owner allowed only an edited one.");
        Assert.False(File.Exists(Path.Combine(world.Repository, "edited.txt")));
        if (response.IsSuccessStatusCode)
        {
            Assert.Contains(world.Model.Requests[^1].LastToolResults(), r => r.Content.Contains("cannot apply", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ModelUnreachable_OwnerSeesAnError_AndCanCancel()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        await world.Model.DisposeAsync();
        var sessionId = await world.StartSessionAsync("Are you there?");
        await using var events = await world.EventsAsync(sessionId);

        var error = await events.WaitForAsync("session.error");
        Assert.Contains("OpenCode cannot reach its model", error.Str("message"), StringComparison.Ordinal);
        await world.CancelAsync(sessionId);
        var stopped = await events.WaitForAsync("turn.completed");
        Assert.Equal("cancelled", stopped.Str("stopReason"));
        Assert.Single(events.Received, e => e.Event == "session.error");
    }

    private static async Task<string> RefusedAsync(AgentWorld world)
    {
        var response = await world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = "opencode", prompt = "hello" });
        var problem = await ApiAssert.StartFailsAsync(world.Http, response, "AGENT_UNAVAILABLE");
        Assert.Empty(world.Model.Requests);
        return problem.GetProperty("detail").GetString()!;
    }

    /// <summary>The model asks to run a command: it waits for the owner (nothing ran meanwhile), the denial holds, the ledger has it.</summary>
    private static async Task CommandWaitsForTheOwnerAsync(AgentWorld world)
    {
        world.Model.Enqueue(
            ScriptedReply.ToolUse("bash", new { command = "touch ran-unasked.txt", description = "Touch a file" }),
            ScriptedReply.Text("Understood."));
        var marker = Path.Combine(world.Repository, "ran-unasked.txt");
        var sessionId = await world.StartSessionAsync("touch ran-unasked.txt");
        await using var events = await world.EventsAsync(sessionId);

        var first = await events.WaitForAsync(e => e.Event is "approval.requested" or "tool.result");
        Assert.True(first.Event == "approval.requested", $"OpenCode ran the command without asking: {first.Data}");
        Assert.False(File.Exists(marker), "The command ran while its approval was pending.");

        await ApiAssert.OkJsonAsync(await world.DecideAsync(first.Str("approvalId")!, "deny", "No."));
        await events.WaitForAsync("turn.completed");
        Assert.False(File.Exists(marker), "A denied command ran.");
        var ledger = await world.Http.GetOkAsync("/api/ledger");
        Assert.Contains(ledger.GetProperty("entries").EnumerateArray(), e =>
            e.GetProperty("action").GetString() == "approval.decided" && e.GetProperty("subject").GetString() == first.Str("approvalId"));
    }
}
