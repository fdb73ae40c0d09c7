using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents;

/// <summary>
/// A coding agent PocketCoder knows by name and does not start, saying why: one that decides its own permissions with no way
/// for a program to be asked, or one that cannot be checked here (its model requests go to its vendor's own service, or it
/// cannot even be installed offline). Health and New session show it with the reason (and its version, where installed); a
/// session asked of it is refused with the same words (503 <c>AGENT_UNAVAILABLE</c>). Never a silent "always allow".
/// </summary>
/// <param name="Reason">Why it is not started, in words the owner can act on (docs/agents.md, "Agents refused by name").</param>
public sealed class RefusedAgent(string id, string name, AgentCommand command, string reason) : IAgentAdapter
{
    public string Id => id;

    public string Name => name;

    public string Reason => reason;

    public bool TakesMcpServer(Mcp.McpServer server) => false;

    /// <summary>
    /// Never available: installed, its version and the reason; not installed, that and the reason. It is never executed, not even
    /// with <c>--version</c>: a program PocketCoder refuses is one it cannot vouch for, and health, New session and doctor would
    /// otherwise run it on every look (with the server's environment). Its version is read from its npm package instead.
    /// </summary>
    /// <summary>Whether its program is on this machine (found, never run).</summary>
    public bool Installed => command.Resolve() is not null;

    public Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(command.Resolve() is { } executable
        ? new AgentAvailability(false, NpmLaunchers.PackageVersion(executable), $"PocketCoder does not start {name}: {reason}")
        : new AgentAvailability(false, null, $"{name} is not installed, and PocketCoder would not start it: {reason}"));

    public Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken) =>
        throw new AgentUnavailableException(id, $"PocketCoder does not start {name}: {reason}");
}
