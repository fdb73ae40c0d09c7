namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// Kilo Code (<c>@kilocode/cli</c>), a fork of OpenCode that keeps its server: driven exactly as OpenCode is (<c>kilo serve</c>,
/// sessions created with PocketCoder's own permission rules, every call a <c>permission.asked</c>), under its own names
/// (<see cref="OpenCodeFlavor.Kilo"/>) and with what it adds turned off (reading Claude Code's set-up, sending sessions to its
/// cloud, downloading language servers). Its conversations are not carried between terminal and phone: that was not checked.
/// </summary>
public sealed class KiloAdapter(Processes.AgentCommand command) : IAgentAdapter
{
    private readonly OpenCodeAdapter _server = new(command, OpenCodeFlavor.Kilo);

    public string Id => OpenCodeFlavor.KiloId;

    public bool TakesMcpServer(Mcp.McpServer server) => _server.TakesMcpServer(server);

    public Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken) => _server.ProbeAsync(cancellationToken);

    public Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken) =>
        _server.StartAsync(options, sink, cancellationToken);
}
