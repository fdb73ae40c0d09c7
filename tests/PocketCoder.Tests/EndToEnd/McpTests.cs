using System.Net.Http.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// MCP tools and forms (#19) with the REAL Codex CLI, the fake model and a small MCP server written for the tests
/// (tests/agents/mcp-probe.mjs): every MCP tool call is gated with its server and tool shown and matched by an
/// <c>mcp:SERVER/TOOL</c> rule (also one that calls itself read-only, and one the owner's config says to approve), and a
/// form the server asks for is a question answered from the API.
/// </summary>
public sealed class McpTests
{
    /// <summary>Codex with the probe server in its own config.toml, as an owner would add one.</summary>
    private static Task<AgentWorld> CodexWithProbeAsync() => AgentWorld.StartAsync("codex", (model, home) =>
    {
        var agents = AgentClis.Codex(model, home);
        // Codex starts the server inside the session's sandbox, where /tmp is private: a checkout under /tmp (as a clean
        // clone often is) is out of its sight. The owner's home is in sight (read-only); Codex's own folder there is the
        // agent's home of PocketCoder's own, not the owner's.
        var probe = Path.Combine(home, "mcp-probe.mjs");
        File.Copy(Path.Combine(ClaudeCli.RepositoryRoot(), "tests", "agents", "mcp-probe.mjs"), probe, overwrite: true);
        File.AppendAllText(Path.Combine(AgentClis.CodexHome(home), "config.toml"), $$"""

            [mcp_servers.probe]
            command = "node"
            args = ["{{probe}}"]
            # Codex gives a server 10 s to start by default; a loaded 2-core CI machine can take longer to start node.
            startup_timeout_sec = 60

            # What Codex's own "don't ask again" writes: PocketCoder still makes it ask.
            [mcp_servers.probe.tools.touch_file]
            approval_mode = "approve"
            """);
        return agents;
    });

    [Fact]
    public async Task Codex_McpToolCallGatedWithServerAndTool_DenyWithReason_RuleAllows_FormAnsweredAsAQuestion()
    {
        await using var world = await CodexWithProbeAsync();
        var made = Path.Combine(world.Repository, "mcp-made.txt");
        var refused = Path.Combine(world.Repository, "mcp-refused.txt");
        world.Model.Enqueue(ScriptedReply.ToolUse("mcp__probe__touch_file", new { name = made }), ScriptedReply.Text("Touched."));
        var sessionId = await world.StartSessionAsync("Touch it");
        await using var events = await world.EventsAsync(sessionId);

        // Asked, naming the server and the tool and showing the arguments; nothing ran yet.
        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal("mcp", asked.Str("kind"));
        Assert.Equal("mcp__probe__touch_file", asked.Str("tool"));
        Assert.Equal("probe/touch_file", asked.Str("title"));
        Assert.Contains("mcp-made.txt", asked.Data, StringComparison.Ordinal);
        Assert.False(File.Exists(made));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(asked.Str("approvalId")!, "allow_once"));
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Touched.");
        Assert.True(File.Exists(made));
        await events.WaitForAsync("turn.completed");

        // Allowed once is once: the next call asks again, and a deny with a reason reaches the model.
        world.Model.Enqueue(ScriptedReply.ToolUse("mcp__probe__touch_file", new { name = refused }), ScriptedReply.Text("Not touched."));
        await world.SendAsync(sessionId, "Again");
        var again = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("approvalId") != asked.Str("approvalId"));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(again.Str("approvalId")!, "deny", "not that file"));
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Not touched.");
        Assert.False(File.Exists(refused));
        var denied = world.Model.Requests.Last(r => r.ConsumedScript);
        Assert.Contains("rejected", denied.LastToolResults().Single().Content, StringComparison.Ordinal);
        Assert.Contains("not that file", denied.Body.GetRawText(), StringComparison.Ordinal);
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > again.Id);

        // A tool that claims to be read-only (readOnlyHint) is asked about too, and denied, never runs.
        var peeked = Path.Combine(world.Repository, "mcp-peeked.txt");
        world.Model.Enqueue(ScriptedReply.ToolUse("mcp__probe__peek_file", new { name = peeked }), ScriptedReply.Text("Not peeked."));
        await world.SendAsync(sessionId, "Peek");
        var peek = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("tool") == "mcp__probe__peek_file");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(peek.Str("approvalId")!, "deny"));
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Not peeked.");
        Assert.False(File.Exists(peeked));
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > peek.Id);

        // An mcp:SERVER/TOOL rule lets one tool run unasked; the form it then asks for is a question the owner answers.
        var rule = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/rules", new { tool = "mcp:probe/ask_owner", pattern = "*", action = "allow" });
        Assert.Equal("mcp", rule.GetProperty("tool").GetString());
        Assert.Equal("probe/ask_owner", rule.GetProperty("pattern").GetString());
        world.Model.Enqueue(ScriptedReply.ToolUse("mcp__probe__ask_owner", new { question = "Which color should the button be?" }), ScriptedReply.Text("Blue it is."));
        await world.SendAsync(sessionId, "Ask the owner");
        var form = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("kind") == "question");
        Assert.Equal("Which color should the button be?", form.Str("title"));
        Assert.Equal("mcp__probe__form", form.Str("tool"));
        await ApiAssert.OkJsonAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{form.Str("approvalId")}/answer",
            new { answers = new[] { new { selected = new[] { "blue" } } } }));
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Blue it is.");
        var answered = world.Model.Requests.Last(r => r.ConsumedScript).LastToolResults().Single().Content;
        Assert.Contains("\"action\":\"accept\"", answered, StringComparison.Ordinal);
        Assert.Contains("\"color\":\"blue\"", answered, StringComparison.Ordinal);

        // The ask_owner call itself never asked: the rule allowed it, and the ledger says so.
        var decisions = (await world.Http.GetOkAsync("/api/ledger?limit=200")).GetProperty("entries").EnumerateArray()
            .Where(e => e.GetProperty("detail").ToString().Contains("mcp__probe__ask_owner", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(decisions);
    }
}
