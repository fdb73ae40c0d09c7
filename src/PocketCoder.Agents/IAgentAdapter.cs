using Microsoft.Extensions.Logging;

namespace PocketCoder.Agents;

/// <summary>One coding agent PocketCoder can drive through its documented machine protocol.</summary>
public interface IAgentAdapter
{
    /// <summary>Stable id used in the API (<c>claude-code</c>, <c>codex</c>, ...).</summary>
    string Id { get; }

    /// <summary>
    /// The one-line title a call of <paramref name="tool"/> with <paramref name="input"/> gets (what the transcript's tool
    /// row shows), or null where the agent does not say. Asked of an input the owner edited before allowing, so the row
    /// shows what ran rather than what was asked for: only an agent whose requests <see cref="PermissionRequest.CanEditInput"/> needs it.
    /// </summary>
    string? TitleOf(string tool, System.Text.Json.JsonElement input) => null;

    /// <summary>Does it take this MCP server, one the owner enabled in PocketCoder (<see cref="AgentStartOptions.Mcp"/>)?</summary>
    bool TakesMcpServer(Mcp.McpServer server) => true;

    /// <summary>Is the agent installed, which version, and if not, what the user can do about it.</summary>
    Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Can a new conversation start as a copy of an earlier one cut after a given turn (<see cref="AgentStartOptions.Fork"/>),
    /// leaving that one as it is? Its turns then say where they can be cut (<see cref="TurnCompleted.ResumeAt"/>).
    /// </summary>
    bool CanFork => false;

    /// <summary>Starts the agent's long-lived process for one session.</summary>
    Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken);
}

public sealed record AgentAvailability(bool Available, string? Version, string? Detail);

/// <summary>An image sent with a prompt, as the agent's protocol carries it: its media type and bytes.</summary>
public sealed record PromptImage(string MediaType, byte[] Data)
{
    public string Base64 => Convert.ToBase64String(Data);

    public string DataUrl => $"data:{MediaType};base64,{Base64}";
}

/// <summary>What the owner sends: text, and any images for the model to see (each agent's own image block).</summary>
public sealed record AgentPrompt(string Text, IReadOnlyList<PromptImage> Images)
{
    public static AgentPrompt FromText(string text) => new(text, []);
}


/// <param name="ResumeAgentSessionId">The agent's own session id to continue (native resume), or null for a new conversation.</param>
/// <param name="NewAgentSessionId">The id to give a new conversation, where the agent lets us choose it.</param>
/// <param name="Logger">Where the agent's process start, exit and kill are logged.</param>
/// <param name="Sandbox">The sandbox the agent runs in, or null to run it as is (the project's choice).</param>
/// <param name="Instructions">The owner's instructions for this session (its profile's), added to the agent's system prompt.</param>
/// <param name="PausesAfter">How long a call may wait for the owner before the agent is paused (stopped, to be resumed on the
/// decision); null: never. Adapters that cannot pause ignore it.</param>
/// <param name="Paused">Resuming an agent that paused on a call: the decision to apply to that call.</param>
/// <param name="Mcp">The MCP servers the owner enabled for this session (docs/agents.md, "MCP servers"); null: none.</param>
/// <param name="Fork">Start the new conversation (<paramref name="NewAgentSessionId"/>) as a copy of an earlier one, cut after a turn
/// (only for an agent that <see cref="IAgentAdapter.CanFork"/>); null: a new conversation, or the resumed one.</param>
public sealed record AgentStartOptions(
    string WorkingDirectory,
    string? Model,
    string? ResumeAgentSessionId,
    string NewAgentSessionId,
    string Mode,
    string LogDirectory,
    ILogger Logger,
    Processes.AgentSandbox? Sandbox = null,
    string? Instructions = null,
    TimeSpan? PausesAfter = null,
    PausedCall? Paused = null,
    Mcp.AgentMcp? Mcp = null,
    AgentFork? Fork = null)
{
    /// <summary>The MCP servers to give the agent (none when not set).</summary>
    public Mcp.AgentMcp McpServers => Mcp ?? Agents.Mcp.AgentMcp.None;

    /// <summary>What the enabled MCP servers' commands name by path: in sight of a sandboxed agent, which starts them.</summary>
    public IEnumerable<string> McpFiles => McpServers.Servers.SelectMany(server => server.Files);

    /// <summary>
    /// The agent's process as it runs for this session: its stderr kept in the log folder, inside the sandbox when there is one (its
    /// state in the agent's home of PocketCoder's own, the enabled MCP servers' files and <paramref name="readable"/> in sight).
    /// </summary>
    /// <param name="name">Begins its log file's name.</param>
    /// <param name="workingDirectory">Where it runs; the session's working directory when null.</param>
    public Processes.ProcessSpec Spec(string name, string executable, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?> environment,
        Processes.AgentState state, IEnumerable<string>? readable = null, string? workingDirectory = null)
    {
        var spec = new Processes.ProcessSpec(executable, arguments, workingDirectory ?? WorkingDirectory, environment,
            Path.Combine(LogDirectory, $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}.stderr.log"), Logger: Logger);
        return Sandbox is null ? spec : Sandbox.Wrap(spec, state, [.. readable ?? [], .. McpFiles]);
    }
}

/// <summary>An earlier conversation a new one starts as a copy of: <paramref name="At"/> keeps it up to that point (null: the whole of it).</summary>
public sealed record AgentFork(string ConversationId, string? At);

/// <summary>Where a running agent session delivers what it does. Implemented by the server.</summary>
public interface IAgentSink
{
    ValueTask OnEventAsync(AgentEvent agentEvent, CancellationToken cancellationToken);

    /// <summary>Waits, as long as it takes, for the gatekeeper's decision. Cancelled when the agent withdraws the request.</summary>
    Task<PermissionDecision> RequestPermissionAsync(PermissionRequest request, CancellationToken cancellationToken);
}

internal static class AgentSinks
{
    /// <summary>Hands each event to the sink, in order.</summary>
    public static async Task OnEventsAsync(this IAgentSink sink, IEnumerable<AgentEvent> events, CancellationToken cancellationToken)
    {
        foreach (var agentEvent in events)
        {
            await sink.OnEventAsync(agentEvent, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>A live agent conversation: one process, many turns.</summary>
public interface IAgentSession : IAsyncDisposable
{
    string AgentSessionId { get; }

    /// <summary>Can its prompts carry images? (An ACP agent says so when it starts.) Images are never sent where not.</summary>
    bool TakesImages { get; }

    /// <summary>
    /// The models the agent says it offers, and the one this session uses: completes once the agent has said (with null for an
    /// agent that says nothing of its models, or when its process ends first).
    /// </summary>
    Task<AgentModels?> Models { get; }

    /// <summary>Sends a user message; the agent starts (or queues) a turn.</summary>
    Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken);

    /// <summary>Tells the agent the session's mode changed (see <see cref="SessionModes"/>).</summary>
    Task SetModeAsync(string mode, CancellationToken cancellationToken);

    /// <summary>Stops the current turn; the session stays usable.</summary>
    Task CancelTurnAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stops one task the agent runs beside its conversation (a subagent, a background command: <see cref="AgentTaskUpdate.TaskId"/>),
    /// leaving the turn and the other tasks running; its end comes as an <see cref="AgentTaskUpdate"/>. False where the agent
    /// offers no way to (only Claude Code does, by its <c>stop_task</c> control request).
    /// </summary>
    Task<bool> StopTaskAsync(string taskId, CancellationToken cancellationToken) => Task.FromResult(false);

    /// <summary>Ends the process cleanly (then forcefully after a grace period).</summary>
    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Between turns: closes the agent's input so that it exits by itself, having written all it keeps (a paused Claude
    /// Code its transcript, which a signal could cut short), stopped as <see cref="StopAsync"/> does if it lingers.
    /// </summary>
    Task EndAsync(CancellationToken cancellationToken);

    /// <summary>Completes when the agent process has exited.</summary>
    Task Exited { get; }

    /// <summary>
    /// The process whose tree is this session's memory (its sandbox, the agent, the tools it runs); null before it starts or for
    /// a session with no process of its own. OpenCode's sessions of one project share one server: each names that server.
    /// </summary>
    int? ProcessId => null;

    /// <summary>
    /// The conversation survives the agent's process stopped in the middle of a turn, and a new one continues it (Codex's
    /// <c>thread/resume</c>, OpenCode's session, ACP's <c>session/load</c>): a call that waits for the owner past the threshold
    /// stops the process, and the owner's decision is told in the next prompt (docs/agents.md, "Waits that cost no memory").
    /// False for an agent that pauses by deferring the call itself (Claude Code) or cannot continue a conversation.
    /// </summary>
    bool ResumesOnDecision => false;
}
