using FakeLlm;
using PocketCoder.Agents.Processes;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// An owner who keeps an agent's configuration somewhere of their own, with the variable the agent documents for it
/// (<c>QWEN_HOME</c>, <c>GEMINI_CLI_HOME</c>, <c>COPILOT_HOME</c>, <c>CLAUDE_CONFIG_DIR</c>, <c>OPENCODE_CONFIG_DIR</c>, <c>KILO_CONFIG_DIR</c>,
/// <c>PI_CODING_AGENT_DIR</c>; Codex's
/// <c>CODEX_HOME</c> is what every Codex test already sets), gets a session that starts sandboxed, answers, and keeps its state
/// in the agent's home of PocketCoder's own: the owner's folder is read, never written. Before, a sandboxed Qwen Code with
/// <c>QWEN_HOME</c> crashed at start (<c>ENOENT mkdir …/extensions</c>): that folder was neither writable nor its own.
/// </summary>
public sealed class AgentHomeVariablesTests
{
    public static TheoryData<string> Agents => ["qwen", "gemini", "copilot", "claude-code", "opencode", "kilo", "pi"];

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task OwnersFolderNamedByItsVariable_StartsSandboxed_AndKeepsItsStateInItsOwnHome(string agent)
    {
        string? folder = null;
        await using var world = await AgentWorld.StartAsync(agent, (model, home) =>
        {
            folder = Path.Combine(home, "elsewhere", agent);
            return Moved(agent, AgentWorld.CommandsOf(agent, model, home), home, folder);
        });
        var ownersBefore = Entries(folder!);

        world.Model.Enqueue(ScriptedReply.Text("Answered from elsewhere."));
        var sessionId = await world.StartSessionAsync("say something");
        await using var events = await world.EventsAsync(sessionId);
        var ended = await events.WaitForAsync(e => e.Event is "turn.completed" or "session.error");
        Assert.True(ended.Event == "turn.completed", "session.error: " + ended.Data);
        Assert.Contains(events.Received, e => e.Event == "message" && (e.Str("text") ?? "").Contains("Answered from elsewhere.", StringComparison.Ordinal));

        var copy = new AgentHome(Path.Combine(world.Server.DataDirectory, "agents", agent, "home"), world.Home).Map(folder!);
        Assert.True(Directory.Exists(copy) && Directory.EnumerateFileSystemEntries(copy, "*", SearchOption.AllDirectories).Any(),
            $"nothing of {agent}'s state is in its own home's copy of {folder} ({copy})");
        Assert.True(ownersBefore.SequenceEqual(Entries(folder!)), $"{folder} was written: {string.Join(", ", Entries(folder!).Except(ownersBefore))}");
    }

    /// <summary>The agent's usual test set-up with its configuration moved to <paramref name="folder"/>, named by its variable.</summary>
    private static IReadOnlyDictionary<string, AgentCommand> Moved(string agent, IReadOnlyDictionary<string, AgentCommand> agents, string home, string folder)
    {
        Directory.CreateDirectory(folder);
        var (variable, configuration) = agent switch
        {
            // The sign-in settings the test set-up wrote in ~/.qwen and ~/.gemini move with it.
            "qwen" => ("QWEN_HOME", (Source: Path.Combine(home, ".qwen"), Target: folder)),
            "gemini" => ("GEMINI_CLI_HOME", (Source: Path.Combine(home, ".gemini"), Target: Path.Combine(folder, ".gemini"))),
            "copilot" => ("COPILOT_HOME", (Source: (string?)null, Target: folder)),
            "claude-code" => ("CLAUDE_CONFIG_DIR", (Source: null, Target: folder)),
            "opencode" => ("OPENCODE_CONFIG_DIR", (Source: null, Target: folder)),
            "kilo" => ("KILO_CONFIG_DIR", (Source: null, Target: folder)),
            "pi" => ("PI_CODING_AGENT_DIR", (Source: Path.Combine(home, ".pi", "agent"), Target: folder)),
            _ => throw new ArgumentOutOfRangeException(nameof(agent), agent, "no home variable"),
        };
        if (configuration.Source is { } source)
        {
            Directory.CreateDirectory(configuration.Target);
            foreach (var file in Directory.EnumerateFiles(source))
            {
                File.Move(file, Path.Combine(configuration.Target, Path.GetFileName(file)));
            }

            Directory.Delete(source, recursive: true);
        }

        if (agent is "opencode" or "kilo")
        {
            // A config folder of the owner's with settings that change nothing here.
            File.WriteAllText(Path.Combine(folder, $"{agent}.json"), """{"share":"disabled"}""");
        }

        var command = agents[agent];
        var environment = new Dictionary<string, string?>(command.Environment) { [variable] = folder };
        return new Dictionary<string, AgentCommand>(agents) { [agent] = command with { Environment = environment } };
    }

    /// <summary>
    /// What is in the owner's folder, but for what Gemini CLI 0.61 writes there when its version is asked (<c>gemini --version</c>
    /// leaves <c>projects.json.UUID.tmp</c> files, as it does in the owner's own terminal): health asks it so, unsandboxed.
    /// </summary>
    private static List<string> Entries(string folder) =>
        [.. Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories)
            .Where(entry => !Path.GetFileName(entry).StartsWith("projects.json.", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
}
