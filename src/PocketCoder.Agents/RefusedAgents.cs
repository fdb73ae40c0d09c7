using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents;

/// <summary>
/// The coding agents PocketCoder knows by name and refuses to start, each with the reason found by running the real CLI here
/// (offline, against the fake model) and reading its source (docs/agents.md, "Agents refused by name";
/// <c>Agents/RefusedAgentTests</c> shows each reason on the CLI itself).
/// </summary>
public static class RefusedAgents
{
    public const string GrokId = "grok";
    public const string AmpId = "amp";
    public const string AuggieId = "auggie";
    public const string CrushId = "crush";
    public const string DroidId = "droid";

    /// <summary>Each one's id, the name the owner knows it by, its usual executable, and why it is not started.</summary>
    public static IReadOnlyList<(string Id, string Name, string Executable, string Reason)> All { get; } =
    [
        (GrokId, "Grok CLI", "grok",
            "it asks before a command or an edit only on its own terminal screen, and run by a program (its --prompt mode, the one without " +
            "a screen) it approves every tool call itself; it has no protocol through which PocketCoder could be asked, and PocketCoder " +
            "never drives an agent by reading its screen."),
        (AmpId, "Amp", "amp",
            "it runs every turn through Sourcegraph's Amp service (its own server API, with an Amp login), never through a model provider of " +
            "your own, so it cannot be checked offline against PocketCoder's gate; its permission handling was never seen put to the gate."),
        (AuggieId, "Auggie", "auggie",
            "it sends every turn to Augment's own service (its chat-stream API, with an Augment login), never to a model provider of your " +
            "own, so it cannot be checked offline against PocketCoder's gate. (It speaks ACP with --acp and takes ask-user permission " +
            "rules; none of that could be checked.)"),
        (DroidId, "Factory Droid", "droid",
            "in its ACP mode (droid exec --output-format acp), at its most careful autonomy level, it runs the commands it deems read-only " +
            "without asking (ls -la ran unasked; touch was asked), a repository's .factory/settings.json can add commands to that list, " +
            "and nothing tried (an empty commandAllowlist, a commandDenylist of \"*\" in a --settings file) made it ask about every command. " +
            "(It also needs a Factory login, even with a model of your own.)"),
        (CrushId, "Crush", "crush",
            "its npm package downloads the crush program from GitHub when it is installed, so the real CLI could not be installed and " +
            "checked against PocketCoder's gate where PocketCoder is tested (offline). Newer versions speak ACP (crush acp) and send " +
            "their permission requests to the client; until one is checked, it is not started."),
    ];

    /// <summary>The refused agents at these executables (by id; an id without one is left out).</summary>
    public static IEnumerable<RefusedAgent> At(IReadOnlyDictionary<string, AgentCommand> commands) =>
        All.Where(agent => commands.ContainsKey(agent.Id))
            .Select(agent => new RefusedAgent(agent.Id, agent.Name, commands[agent.Id], agent.Reason));
}
