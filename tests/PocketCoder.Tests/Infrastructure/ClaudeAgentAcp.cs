using FakeLlm;
using PocketCoder.Agents.Acp;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// The REAL claude-agent-acp (Claude Code over ACP, pinned in tests/agents), registered the way an owner would: an entry
/// in the data folder's agents.json. The registration has no environment of its own, so a small launcher script sets
/// what the offline set-up needs (the fake model, a private HOME) and starts it.
/// </summary>
public static class ClaudeAgentAcp
{
    public const string AgentId = "claude-acp";

    public static string Script { get; } = Locate();

    /// <summary>Writes the launcher into <paramref name="home"/> and registers it in <paramref name="dataDirectory"/>.</summary>
    public static void Register(string dataDirectory, FakeModelServer model, string home) => Register(dataDirectory, model, home, launcherSetsModel: true);

    /// <summary>
    /// Registered as <see cref="Register(string, FakeModelServer, string)"/>, but the launcher leaves the model's base URL and key to the
    /// environment the server gives it (where a real owner keeps them: the server's own), so that the server can hold the key.
    /// </summary>
    public static void RegisterKeyedByServer(string dataDirectory, FakeModelServer model, string home) =>
        Register(dataDirectory, model, home, launcherSetsModel: false);

    private static void Register(string dataDirectory, FakeModelServer model, string home, bool launcherSetsModel)
    {
        var modelLines = launcherSetsModel
            ? $"export ANTHROPIC_BASE_URL='{model.BaseUrl.ToString().TrimEnd('/')}'\nexport ANTHROPIC_API_KEY=fake-key\n"
            : "";
        // Named after claude-agent-acp, so PocketCoder knows it runs Claude Code; the launcher moves HOME and sets the model's
        // base URL, so the registration says where the agent's state and its model are, as an owner with such a launcher would.
        var launcher = Path.Combine(home, "claude-agent-acp.sh");
        File.WriteAllText(launcher, $"""
            #!/bin/sh
            export HOME='{home}'
            {modelLines}export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
            export DISABLE_AUTOUPDATER=1
            # As root, Claude Code exits unless it is told it runs in a sandbox.
            export IS_SANDBOX=1
            unset CLAUDE_CONFIG_DIR ANTHROPIC_AUTH_TOKEN
            exec node '{Script}' "$@"

            """);
        File.SetUnixFileMode(launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(dataDirectory, AcpAgentsFile.FileName),
            $$"""[{"id":"{{AgentId}}","name":"Claude (ACP)","command":"{{launcher}}","args":[],"state":["{{home}}/.claude"],"read":["{{PackagesFolder}}"],"hosts":["{{model.BaseUrl.ToString().TrimEnd('/')}}"]}]""");
    }

    // The pinned agents' node_modules: a clone under /tmp is hidden by the sandbox's private /tmp unless named.
    private static string PackagesFolder => AgentPackages.NodeModules;

    private static string Locate()
    {
        var script = AgentPackages.File("@agentclientprotocol", "claude-agent-acp", "dist", "index.js");
        return File.Exists(script)
            ? script
            : throw new InvalidOperationException(
                "claude-agent-acp is not installed for the tests. Run the README's test command (scripts/test.sh), which installs tests/agents.");
    }
}
