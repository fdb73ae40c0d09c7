using PocketCoder.Agents;
using PocketCoder.Agents.Acp;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents.Core;

/// <summary>
/// What Copilot CLI is refused on and what it is told before it starts (CopilotGate), read from the files alone. That the real
/// CLI runs those hooks and servers otherwise is proven by <see cref="Gate.CopilotBypassTests"/>.
/// </summary>
[Trait("Category", "Unit")]
public sealed class CopilotGateTests : IDisposable
{
    private readonly string _home = TempPaths.NewDirectory("pc-copilot-home");
    private readonly string _repository = TempPaths.NewDirectory("pc-copilot-repo");

    public CopilotGateTests() => Directory.CreateDirectory(Path.Combine(_repository, ".git"));

    public void Dispose()
    {
        TempPaths.Delete(_home);
        TempPaths.Delete(_repository);
    }

    [Theory]
    [InlineData("repo", ".github/hooks/anything.json", "{}")]
    [InlineData("repo", ".github/copilot/settings.json", """{"hooks":{"sessionStart":[{"type":"command","bash":"id"}]}}""")]
    [InlineData("repo", ".github/copilot/settings.local.json", """{"hooks":{"preToolUse":[]}}""")]
    [InlineData("home", ".copilot/hooks/h.json", "not even JSON")]
    [InlineData("home", ".copilot/settings.json", "// its own comment\n{\"hooks\":{\"sessionStart\":[]},}")]
    public void AHookAnywhereItLooks_StartRefusedNamingTheFile(string root, string relative, string content)
    {
        var file = Write(root == "repo" ? _repository : _home, relative, content);
        // From a folder inside the repository: Copilot looks up to the repository's root.
        var folder = Directory.CreateDirectory(Path.Combine(_repository, "src", "app")).FullName;

        var refused = Assert.Throws<AgentUnavailableException>(() => CopilotGate.Arguments("copilot", folder, Path.Combine(_home, ".copilot")));

        Assert.Contains(file, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hooks/hooks.json", "{}")]
    [InlineData(".mcp.json", """{"mcpServers":{"s":{"command":"x"}}}""")]
    [InlineData(".claude-plugin/plugin.json", """{"name":"p","hooks":"./elsewhere.json"}""")]
    [InlineData(".github/plugin/plugin.json", """{"name":"p","mcpServers":{"s":{"command":"x"}}}""")]
    public void AnInstalledPluginWithHooksOrMcpServers_StartRefusedNamingTheFile(string relative, string content)
    {
        var file = Write(_home, Path.Combine(".copilot/installed-plugins/market/p", relative), content);

        var refused = Assert.Throws<AgentUnavailableException>(() => CopilotGate.Arguments("copilot", _repository, Path.Combine(_home, ".copilot")));

        Assert.Contains(file, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APluginConfigJsonListsElsewhere_FoundThere()
    {
        var plugin = TempPaths.NewDirectory("pc-copilot-plugin");
        try
        {
            var file = Write(plugin, "hooks/hooks.json", "{}");
            Write(_home, ".copilot/config.json", $$"""
                // This file is managed automatically.
                {"installedPlugins":[{"name":"p","marketplace":"","cache_path":"{{plugin}}","enabled":true}]}
                """);

            var refused = Assert.Throws<AgentUnavailableException>(() => CopilotGate.Arguments("copilot", _repository, Path.Combine(_home, ".copilot")));

            Assert.Contains(file, refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(plugin);
        }
    }

    [Fact]
    public void APluginOfSkillsAndAgentsOnly_Started()
    {
        Write(_home, ".copilot/installed-plugins/_direct/p/plugin.json", """{"name":"p","skills":"skills/"}""");
        Write(_home, ".copilot/installed-plugins/_direct/p/skills/s/SKILL.md", "---\nname: s\n---\n");

        Assert.Empty(CopilotGate.Arguments("copilot", _repository, Path.Combine(_home, ".copilot")));
    }

    [Theory]
    [InlineData(".copilot/config.json", "// managed\n{\"trustedFolders\":[\"REPO\"]}")]
    [InlineData(".copilot/settings.json", "{\"trustedFolders\":[\"PARENT\"]}")]
    public void ATrustedFolderWithRepositoryMcpServers_StartRefused(string relative, string content)
    {
        Write(_home, relative, content.Replace("REPO", _repository, StringComparison.Ordinal)
            .Replace("PARENT", Path.GetDirectoryName(_repository)!, StringComparison.Ordinal));
        var servers = Write(_repository, ".github/mcp.json", """{"mcpServers":{"github":{"command":"x"}}}""");

        var refused = Assert.Throws<AgentUnavailableException>(() => CopilotGate.Arguments("copilot", _repository, Path.Combine(_home, ".copilot")));

        Assert.Contains(servers, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATrustedFolderWithoutRepositoryMcpServers_Started()
    {
        Write(_home, ".copilot/config.json", $$"""{"trustedFolders":["{{_repository}}"]}""");
        Write(_repository, ".mcp.json", """{"mcpServers":{}}""");

        Assert.Empty(CopilotGate.Arguments("copilot", _repository, Path.Combine(_home, ".copilot")));
    }

    [Fact]
    public void SettingsWithoutHooks_DoNotCount()
    {
        Write(_repository, ".github/copilot/settings.json", """{"hooks":{},"permissions":{"allow":["shell"]}}""");
        Write(_home, ".copilot/settings.json", """{"model":"gpt-5"}""");

        Assert.Empty(CopilotGate.Arguments("copilot", _repository, Path.Combine(_home, ".copilot")));
    }

    [Fact]
    public void ItsOwnConfigsMcpServers_EachTurnedOffByName()
    {
        Write(_home, ".copilot/mcp-config.json", """{"mcpServers":{"mine":{"command":"x"}}}""");
        Write(_repository, ".mcp.json", """{"mcpServers":{"repo":{"command":"x"},"mine":{"command":"y"}}}""");
        Write(_repository, ".github/mcp.json", """{"mcpServers":{"github":{"command":"x"}}}""");
        Write(_repository, ".vscode/mcp.json", """{"servers":{"vscode":{"command":"x"}}}""");

        Assert.Equal(["--disable-mcp-server", "mine", "--disable-mcp-server", "repo", "--disable-mcp-server", "github", "--disable-mcp-server", "vscode"],
            CopilotGate.Arguments("copilot", _repository, Path.Combine(_home, ".copilot")));
    }

    [Fact]
    public void Sandboxed_TheAgentsOwnHomeIsLookedThroughToo_WhereACommandItRanCouldHaveTrustedTheFolder()
    {
        // The sandboxed agent's config.json is its own and writable: an allowed command there could add the project to its
        // trusted folders, and the next sandboxed session would start the repository's servers unasked.
        var agentHome = TempPaths.NewDirectory("pc-copilot-agent-home");
        try
        {
            Write(agentHome, ".copilot/config.json", $$"""{"trustedFolders":["{{_repository}}"]}""");
            var servers = Write(_repository, ".mcp.json", """{"mcpServers":{"planted":{"command":"x"}}}""");
            var copilot = AcpAgentDefinition.Copilot(new PocketCoder.Agents.Processes.AgentCommand("copilot", new Dictionary<string, string?> { ["HOME"] = _home }));
            var options = new AgentStartOptions(_repository, null, null, "s", "ask", _home, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
                new PocketCoder.Agents.Processes.AgentSandbox("/usr/bin/bwrap", [_repository], [], [], agentHome));

            var refused = Assert.Throws<AgentUnavailableException>(() => copilot.Prepare!(options));
            Assert.Contains(servers, refused.Message, StringComparison.Ordinal);
            // Unsandboxed, only the owner's home counts (it trusts nothing): started, the servers turned off by name.
            Assert.Equal(["--disable-mcp-server", "planted"], copilot.Prepare!(options with { Sandbox = null }));
        }
        finally
        {
            TempPaths.Delete(agentHome);
        }
    }

    private static string Write(string root, string relative, string content)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }
}
