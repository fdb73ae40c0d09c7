using System.Text.Json;

namespace PocketCoder.Agents;

/// <summary>
/// The one normalized stream every adapter produces, whatever the agent's own protocol.
/// The server turns these into session events; adapters never see the database.
/// </summary>
public abstract record AgentEvent;

/// <summary>The agent process is up and told us its own session id (used for native resume).</summary>
public sealed record AgentReady(string AgentSessionId, string? Model, string? AgentVersion) : AgentEvent;

/// <summary>A piece of assistant text as it streams.</summary>
public sealed record MessageDelta(string Text) : AgentEvent;

/// <summary>A whole assistant text block.</summary>
/// <param name="ParentToolCallId">Said by a subagent: the call of the main thread that started it (Claude's Task/Agent call).</param>
public sealed record AssistantMessage(string Text, string? ParentToolCallId = null) : AgentEvent;

/// <summary>Reasoning the agent chose to show.</summary>
/// <param name="ParentToolCallId">A subagent's: the call that started it.</param>
public sealed record Thinking(string Text, string? ParentToolCallId = null) : AgentEvent;

/// <param name="ParentToolCallId">Made by a subagent: the call of the main thread that started it, under which the phone shows this one.</param>
public sealed record ToolCall(string ToolCallId, string Tool, ToolKind Kind, string Title, JsonElement Input, string? ParentToolCallId = null) : AgentEvent;

/// <summary>
/// A task the agent runs beside its conversation changed state: a subagent (Claude's Task/Agent call) or a command left running
/// in the background. Keyed by the call that started it; its own tool calls carry that call as their parent.
/// </summary>
/// <param name="TaskId">The agent's own id of the task (what it takes to stop it).</param>
/// <param name="TaskType">The agent's word for what runs (Claude: <c>local_agent</c>, <c>local_bash</c>…), null where it says none.</param>
/// <param name="Status">One of <see cref="AgentTaskStatuses"/>.</param>
public sealed record AgentTaskUpdate(string ToolCallId, string TaskId, string? TaskType, string Status, string? Description, string? Summary) : AgentEvent;

/// <summary>The states of an <see cref="AgentTaskUpdate"/>.</summary>
public static class AgentTaskStatuses
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Stopped = "stopped";
}

/// <summary>
/// A call announced before its input was known (ACP agents announce one as the model starts it), now known better from a later
/// update or its permission request: the transcript shows this title and input in the place of what was announced.
/// </summary>
/// <param name="InputMissing">The call ended (or its turn did) and the agent never said its input: the phone says so.</param>
public sealed record ToolCallUpdated(string ToolCallId, string Title, JsonElement Input, bool InputMissing = false) : AgentEvent;

public sealed record ToolResult(string ToolCallId, string Content, bool IsError) : AgentEvent;

public sealed record PlanUpdate(IReadOnlyList<PlanEntry> Entries) : AgentEvent;

public sealed record PlanEntry(string Content, string Status);

/// <param name="CostIsRunningTotal">
/// <paramref name="CostUsd"/> is what this agent process has cost so far (Claude Code's <c>total_cost_usd</c>, ACP's
/// <c>usage_update</c>), not this turn's: the session turns it into the turn's own cost.
/// </param>
public sealed record UsageReport(long InputTokens, long OutputTokens, long CacheReadTokens, long CacheWriteTokens, decimal? CostUsd,
    bool CostIsRunningTotal = false) : AgentEvent;

/// <summary>The agent finished a turn and waits for the next message.</summary>
/// <param name="PausedOn">With <see cref="Paused"/>: the call the agent paused on.</param>
/// <param name="ResumeAt">Where the agent's conversation can be cut to keep exactly the turns up to this one (Claude: the chain
/// entry that ended it, for <c>--resume-session-at</c>); null where the agent cannot fork its conversation (see <see cref="AgentFork"/>).</param>
public sealed record TurnCompleted(string StopReason, bool IsError, string? Result, string? PausedOn = null, string? ResumeAt = null) : AgentEvent
{
    /// <summary>The stop reason of a turn the agent ended to pause on a call (<see cref="PermissionDecision.PauseAgent"/>).</summary>
    public const string Paused = "tool_deferred";
}

/// <summary>Something went wrong that the user should see; the session may still be usable.</summary>
public sealed record AgentError(string Message) : AgentEvent;

/// <summary>The agent process ended. <see cref="Expected"/> is true when we asked it to stop.</summary>
public sealed record AgentExited(int ExitCode, bool Expected, string StderrTail) : AgentEvent;

public enum ToolKind
{
    Read,
    Edit,
    Execute,
    Fetch,

    /// <summary>A tool served by an MCP server (Claude's <c>mcp__server__tool</c>, Codex and ACP MCP calls).</summary>
    Mcp,

    /// <summary>
    /// The agent's own notes to itself (Claude's to-do list: TodoWrite, TaskCreate…): no effect outside the agent. Still
    /// put to the gatekeeper and ledgered, which allows it unless a rule says otherwise. Shown as "other" on the wire.
    /// </summary>
    Bookkeeping,

    /// <summary>
    /// A question the agent puts to the owner (Claude's <c>AskUserQuestion</c>: questions with options): answered, never
    /// allowed or denied by a rule or a mode.
    /// </summary>
    Question,
    Other,

    /// <summary>
    /// A connection out of a sandbox to a host nobody allowed yet (PocketCoder's proxy asks: docs/security.md, "The network"):
    /// the tool is <c>network:HOST:PORT</c>, the command <c>HOST:PORT</c>. No agent asks it: the sandbox's proxy does.
    /// </summary>
    Network,
}

public static class ToolKinds
{
    public static string ToWire(this ToolKind kind) => kind switch
    {
        ToolKind.Read => "read",
        ToolKind.Edit => "edit",
        ToolKind.Execute => "execute",
        ToolKind.Fetch => "fetch",
        ToolKind.Mcp => "mcp",
        ToolKind.Question => "question",
        ToolKind.Network => "network",
        _ => "other",
    };

    public static ToolKind FromWire(string kind) => kind switch
    {
        "read" => ToolKind.Read,
        "edit" => ToolKind.Edit,
        "question" => ToolKind.Question,
        "execute" => ToolKind.Execute,
        "fetch" => ToolKind.Fetch,
        "mcp" => ToolKind.Mcp,
        "network" => ToolKind.Network,
        _ => ToolKind.Other,
    };
}
