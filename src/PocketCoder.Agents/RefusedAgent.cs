using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents;

/// <summary>
/// A coding agent PocketCoder knows by name and does not start, saying why: one that decides its own permissions with no way
/// for a program to be asked, or one that cannot be checked here (its model requests go to its vendor's own service, or it
/// cannot even be installed offline). Health and New session show it with the reason (and its version, where installed); a
/// session asked of it is refused with the same words (503 <c>AGENT_UNAVAILABLE</c>). Never a silent "always allow".
/// </summary>
/// <param name="Reason">Why it is not started, in words the owner can act on (docs/agents.md, "Agents refused by name").</param>
/// <param name="VersionArguments">How to ask its version without starting it; null where a probe could hang.</param>
public sealed class RefusedAgent(string id, string name, AgentCommand command, string reason, IReadOnlyList<string>? versionArguments) : IAgentAdapter
{
    public string Id => id;

    public string Name => name;

    public string Reason => reason;

    public bool TakesMcpServer(Mcp.McpServer server) => false;

    /// <summary>Never available: installed, its version and the reason; not installed, that and the reason.</summary>
    public async Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken)
    {
        var found = await command.ProbeAsync(name, "", versionArguments, VersionIn, cancellationToken).ConfigureAwait(false);
        return found.Available
            ? new AgentAvailability(false, found.Version, $"PocketCoder does not start {name}: {reason}")
            : new AgentAvailability(false, null, $"{name} is not installed, and PocketCoder would not start it: {reason}");
    }

    /// <summary>The first version number in what it printed ("crush version v0.96.1", "0.36.0 (commit 7c61e5bb)"), else all of it.</summary>
    private static string VersionIn(string line) =>
        System.Text.RegularExpressions.Regex.Match(line, @"\d+\.\d+\.\d+[\w.-]*", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1))
            is { Success: true } version ? version.Value : line.Trim();

    public Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken) =>
        throw new AgentUnavailableException(id, $"PocketCoder does not start {name}: {reason}");
}
