using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// MCP servers on the phone in Debian's Chromium at 390x844 (web/e2e/mcp.mjs), with the REAL Claude Code CLI: a server
/// added in settings (its secret typed there) and the repository's, once enabled, reach the agent; its tool call is a card.
/// </summary>
public sealed class McpBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_AddsAServer_EnablesTheRepositorys_TheAgentsCallIsACard_TheSecretReachesTheServer()
    {
        var probe = Path.Combine(ClaudeCli.RepositoryRoot(), "tests", "agents", "mcp-probe.mjs");
        await BrowserScript.RunAsync(output, "mcp.mjs",
            (model, repository, _) =>
            {
                File.WriteAllText(Path.Combine(repository, ".mcp.json"), JsonSerializer.Serialize(new
                {
                    mcpServers = new Dictionary<string, object> { ["repo-probe"] = new { command = "node", args = new[] { probe } } },
                }));
                model.Enqueue(ScriptedReply.ToolUse("mcp__probe__touch_file", new { name = Path.Combine(repository, "probed.txt") }), ScriptedReply.Text("Probed."));
                return Task.CompletedTask;
            },
            repository =>
            {
                Assert.True(File.Exists(Path.Combine(repository, "probed.txt")));
                Assert.Contains("secret: typed-on-the-phone", File.ReadAllText(Path.Combine(repository, "probe.log")), StringComparison.Ordinal);
                return Task.CompletedTask;
            });
    }
}
