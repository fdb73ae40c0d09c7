using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// Any agent that speaks the Agent Client Protocol on stdio, one long-lived process per session: Gemini CLI
/// (<c>gemini --acp</c>) and whatever command line the owner registers (see <see cref="AcpAgentsFile"/>).
/// </summary>
public sealed class AcpAdapter(AcpAgentDefinition agent) : IAgentAdapter
{
    public string Id => agent.Id;

    public AcpAgentDefinition Definition => agent;

    public bool TakesMcpServer(Mcp.McpServer server) => agent.StartsMcpServers;

    // The last word of its first line: "0.61.0", or Copilot CLI's "GitHub Copilot CLI 1.0.102." without its full stop.
    public Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken) =>
        agent.Command.ProbeAsync(agent.Name, agent.InstallHint, agent.VersionArguments, line => line.Split(' ')[^1].TrimEnd('.'), cancellationToken);

    public async Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken)
    {
        var launcher = agent.Command.ResolveToStart(agent.Id, agent.Name, agent.InstallHint);
        // Its program itself rather than the npm launcher that would wait on it (Copilot CLI, Qwen Code).
        var direct = Processes.NpmLaunchers.Of(launcher, agent.Command);
        var executable = direct?.Executable ?? launcher;

        List<string> arguments = [.. direct?.Arguments ?? [], .. agent.Arguments];
        var model = options.Model is { Length: > 0 } chosen ? chosen : agent.DefaultModel;
        if (agent.ModelArgument is not null && model is not null)
        {
            arguments.AddRange([agent.ModelArgument, model]);
        }

        if (agent.Prepare is { } prepare)
        {
            arguments.AddRange(prepare(options));
        }

        if (agent.AdminPolicy is { } policy)
        {
            arguments.AddRange(GeminiGate.Arguments(agent.Id, policy, GeminiGate.SystemPolicies));
        }

        // The owner's secrets go as references to variables of the agent's environment, never as values it could put on a
        // command line (claude-agent-acp does: --mcp-config). A repository's values are public and go as they are.
        var (servers, secrets) = Mcp.McpFormats.ByReference(options.McpServers.Servers, server => !server.ValuesArePublic);
        options = options with { Mcp = options.McpServers with { Servers = servers } };
        var environment = agent.Command.EnvironmentWith(secrets.Concat(options.Sandbox is null ? [] : agent.SandboxedEnvironment)
            .Concat(direct?.Environment ?? new Dictionary<string, string>()));
        var state = agent.State;
        if (options.Sandbox is not null && agent.HoldSecrets is { } hold)
        {
            state = hold(agent.Command, environment, state);
        }

        var spec = options.Spec(agent.Id, executable, arguments, environment, state, agent.ReadPaths);

        // Where its chat files really are: in the agent's home of PocketCoder's own when it runs sandboxed.
        var chats = agent.GuardsGeminiChats
            ? GeminiChats.For(spec.Environment, options.Sandbox is { } sandbox ? new AgentHome(sandbox.Home, agent.Command.Home) : null, options.Logger)
            : null;
        if (chats is not null && options.ResumeAgentSessionId is { } resumeId)
        {
            // Before the process starts: its first act is a clean-up that would delete what a leftover start-up file names.
            chats.BeforeLoad(resumeId);
        }

        return await AcpSession.StartAsync(agent, spec, options, agent.ModelArgument is null ? null : model, sink, chats, cancellationToken)
            .ConfigureAwait(false);
    }
}
