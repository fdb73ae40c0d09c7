using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using PocketCoder.Agents;

namespace PocketCoder.Realtime;

/// <summary>
/// One kind of event a session stream carries: its wire name (the SSE <c>event:</c> field) and, as the record's own
/// properties, its payload. Every session event is numbered (<c>seq</c>, gapless per session) and stored before it is
/// sent. Adding a kind is one record below plus its <see cref="JsonSerializableAttribute"/> line on
/// <see cref="SessionEventJson"/>; <c>EventCatalogueTests</c> fails if that line is forgotten.
/// </summary>
public interface ISessionEvent
{
    static abstract string Kind { get; }
}

/// <summary>What the owner (or a chat bridge) sent; <c>sentBy</c> names the device; <c>attachments</c> lists what came with it (never the bytes).</summary>
public sealed record UserMessageEvent(string Text, string? SentBy,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<Sessions.AttachmentInfo>? Attachments = null) : ISessionEvent
{
    public static string Kind => "message.user";
}

/// <summary>A piece of the assistant's reply as it streams.</summary>
public sealed record MessageDeltaEvent(string Text) : ISessionEvent
{
    public static string Kind => "message.delta";
}

/// <summary>
/// A finished stretch of the assistant's reply (before a tool call, and at the end of a turn). <c>parentToolCallId</c>: said
/// by a subagent, under the call that started it (absent for the main thread).
/// </summary>
public sealed record MessageEvent(string Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ParentToolCallId = null) : ISessionEvent
{
    public static string Kind => "message";
}

/// <summary><c>parentToolCallId</c>: a subagent's reasoning, under the call that started it.</summary>
public sealed record ThinkingEvent(string Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ParentToolCallId = null) : ISessionEvent
{
    public static string Kind => "thinking";
}

/// <param name="ToolKind">The normalised kind (<c>read</c>, <c>edit</c>, <c>execute</c>, <c>fetch</c>, <c>mcp</c>, <c>other</c>).</param>
/// <param name="ParentToolCallId">Made by a subagent: the id of the call that started it (Claude's Task/Agent call); the
/// phone shows this call under that one. Absent for the main thread's calls.</param>
public sealed record ToolCallEvent(
    string ToolCallId,
    string Tool,
    [property: JsonPropertyName("kind")] string ToolKind,
    string Title,
    JsonElement Input,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ParentToolCallId = null) : ISessionEvent
{
    public static string Kind => "tool.call";
}

/// <summary>
/// A task the agent runs beside the conversation changed state: a subagent or a command left running in the background,
/// keyed by the call that started it (<c>toolCallId</c>, the parent of the subagent's own calls). <c>status</c>: running,
/// completed, failed or stopped; <c>taskType</c>: the agent's word for it (Claude: <c>local_agent</c>, <c>local_bash</c>).
/// </summary>
public sealed record TaskStatusEvent(
    string ToolCallId,
    string TaskId,
    string? TaskType,
    string Status,
    string? Description,
    string? Summary) : ISessionEvent
{
    public static string Kind => "task.status";
}

/// <summary>
/// A call shown before its input was known (an ACP agent announces one as the model starts it), now known better from a later
/// update or its permission request: its row shows this title and input in place of the <c>tool.call</c>'s, never as a second row.
/// <c>inputMissing</c>: the call (or its turn) ended and the agent never said its input.
/// </summary>
public sealed record ToolCallUpdatedEvent(string ToolCallId, string Title, JsonElement Input, bool InputMissing) : ISessionEvent
{
    public static string Kind => "tool.call.updated";
}

/// <param name="Truncated">The content was cut at the server's limit (64 KB).</param>
public sealed record ToolResultEvent(string ToolCallId, string Content, bool IsError, bool Truncated) : ISessionEvent
{
    public static string Kind => "tool.result";
}

/// <summary>The agent's to-do list, whole each time.</summary>
public sealed record PlanEvent(IReadOnlyList<PlanEntry> Entries) : ISessionEvent
{
    public static string Kind => "plan";
}

/// <summary>
/// A turn's tokens and cost. <c>costUsd</c> is this turn's (null when the agent reports none); <c>sessionCostUsd</c> is
/// the session's total so far, across restarts and resumes (null until some cost is known). The same for every agent.
/// </summary>
public sealed record UsageEvent(long InputTokens, long OutputTokens, long CacheReadTokens, long CacheWriteTokens, decimal? CostUsd, decimal? SessionCostUsd) : ISessionEvent
{
    public static string Kind => "usage";
}

/// <param name="StopReason"><see cref="Cancelled"/> for a turn the owner stopped (never an error), else the agent's own.</param>
public sealed record TurnCompletedEvent(string StopReason, bool IsError, string? Result) : ISessionEvent
{
    public const string Cancelled = "cancelled";

    public static string Kind => "turn.completed";
}

/// <summary>
/// The events before this one were carried over from elsewhere: <c>entries</c> of them, <c>skipped</c> older ones left out.
/// <c>source</c> says from where: <c>terminal</c> (the agent's own transcript of a conversation begun there), <c>rewind</c>
/// (the session rewound to before <c>turn</c>), <c>fork</c> (forked from before <c>turn</c>) or <c>undo</c> (a rewind undone;
/// <c>turn</c> is then the first turn the conversation goes on with). What follows happened here.
/// </summary>
public sealed record HistoryImportedEvent(string Source, int Entries, int Skipped, int? Turn = null) : ISessionEvent
{
    public static string Kind => "history.imported";
}

/// <summary>
/// What a finished turn changed in the project, once its closing snapshot is taken (after <c>turn.completed</c>):
/// <c>turn</c> names its review (<c>GET /api/sessions/{id}/turns/{turn}</c>). Only in a git project.
/// </summary>
public sealed record TurnChangesEvent(int Turn, int FilesChanged) : ISessionEvent
{
    public static string Kind => "turn.changes";
}

/// <summary>
/// Something the owner must see: an agent error, an exit, a stall (<c>code</c> <c>AGENT_STALLED</c>). Never named plain
/// <c>error</c>: a browser's EventSource takes an event of that name for its own connection failure.
/// </summary>
public sealed record ErrorEvent(string Message) : ISessionEvent
{
    public static string Kind => "session.error";

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Code { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? SilentSeconds { get; init; }

    /// <summary>The last of the agent's stderr when it exited unexpectedly.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? StderrTail { get; init; }
}

public sealed record SessionStatusEvent(string Status, string Mode, string? Reason) : ISessionEvent
{
    public static string Kind => "session.status";
}

/// <summary>
/// The session's worktree is being made (status <c>preparing</c>): <c>phase</c> is <c>branch</c>, <c>checkout</c> (with
/// <c>percent</c>, <c>done</c> and <c>total</c> files once git reports them, every 5 %), <c>submodules</c>, then <c>ready</c>,
/// after which its agent starts there. A failure is a <c>session.error</c> with code <c>WORKTREE_FAILED</c>.
/// </summary>
public sealed record SessionPreparingEvent(
    string Phase,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Percent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Done = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Total = null) : ISessionEvent
{
    public static string Kind => "session.preparing";
}

/// <summary>
/// Everything a phone needs to show what will run, whether it may offer "edit, then allow", and the rule "always allow"
/// would add (<c>tool</c> + <c>rulePattern</c>: the exact command or project-relative path, escaped as a glob, or <c>*</c>)
/// and the wider rule it proposes (<c>alwaysPattern</c>, <see cref="Approvals.AlwaysPatterns"/>).
/// <c>editContext</c>: for an edit of a file inside the session's folder, its lines around the replaced text (null otherwise).
/// </summary>
public sealed record ApprovalRequestedEvent(
    string ApprovalId,
    string ToolCallId,
    string Tool,
    [property: JsonPropertyName("kind")] string ToolKind,
    string Title,
    JsonElement Input,
    string? Plan,
    bool CanEditInput,
    string CreatedAt,
    string RulePattern,
    Approvals.EditContext? EditContext = null,
    string Risk = Approvals.RiskClasses.Other,
    string DeciderRole = Teams.Roles.Approver,
    int Needed = 1,
    IReadOnlyList<string>? RiskSigns = null,
    string? AlwaysPattern = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ParentToolCallId = null) : ISessionEvent
{
    public static string Kind => "approval.requested";
}

/// <summary>
/// A call that needs two people was allowed by one (<c>allowedBy</c>: the people so far, <c>needed</c>: how many it takes):
/// it still waits, and a card shows "1 of 2". A deny, or the allow that completes it, is an <c>approval.resolved</c>.
/// </summary>
public sealed record ApprovalVoteEvent(string ApprovalId, string ToolCallId, IReadOnlyList<string> AllowedBy, int Needed) : ISessionEvent
{
    public static string Kind => "approval.vote";
}

/// <summary>Nobody who first could decide answered in time: the call now goes to the owners as well (<c>to</c>).</summary>
public sealed record ApprovalEscalatedEvent(string ApprovalId, string ToolCallId, string To) : ISessionEvent
{
    public static string Kind => "approval.escalated";
}

public sealed record ApprovalResolvedEvent(
    string ApprovalId,
    string ToolCallId,
    string Status,
    string? Decision,
    string? DecidedBy,
    string? Message,
    JsonElement? UpdatedInput) : ISessionEvent
{
    public static string Kind => "approval.resolved";

    /// <summary>
    /// The title of <see cref="UpdatedInput"/> when the owner edited the call before allowing it (as the agent titles it):
    /// the tool row then shows what ran, not what was asked for. Absent otherwise (no edit, an answer, a denial).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UpdatedTitle { get; init; }
}

/// <summary>
/// The session's queue changed: the messages waiting for the running turn to end, in the order they will start
/// (<c>messages</c> empty: none waits). <c>held</c>: nothing queued starts by itself (after a cancelled turn).
/// </summary>
public sealed record QueueUpdatedEvent(IReadOnlyList<Sessions.QueuedMessage> Messages, bool Held) : ISessionEvent
{
    public static string Kind => "queue.updated";
}

/// <summary>
/// A connection out of the session's sandbox through PocketCoder's proxy (docs/security.md, "The network"), once it has ended
/// (or at once, when it was refused): the host and port it asked for, <c>outcome</c> <c>allowed</c>, <c>denied</c>, or <c>failed</c>
/// (allowed, but the host could not be reached), and why (<c>reason</c>: the agent's model, a rule, the owner's decision, the
/// refusal's own words, or what reaching the host met), the bytes each way
/// (<c>sent</c>: from the sandbox), how long it lasted, and the process that opened it where the server could tell
/// (<c>by</c>; <c>under</c>: the agent's command it ran under). An approval that decided it is in the stream before it.
/// </summary>
public sealed record NetworkConnectionEvent(
    string Host,
    int Port,
    string Outcome,
    string Reason,
    long Sent,
    long Received,
    long Milliseconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? By = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Under = null) : ISessionEvent
{
    public static string Kind => "network.connection";

    public const string Allowed = "allowed";
    public const string Denied = "denied";
    public const string Failed = "failed";
}

/// <summary>
/// Every kind in the catalogue with its record (the OpenAPI document and `pocketcoder watch` list them all). Named here, not
/// found by reflection, so the native binary keeps them; a test holds this list equal to every <see cref="ISessionEvent"/>.
/// </summary>
public static class SessionEventCatalogue
{
    public static IReadOnlyList<(string Kind, Type Type)> All { get; } = [.. new[]
    {
        Entry<UserMessageEvent>(),
        Entry<TurnChangesEvent>(),
        Entry<HistoryImportedEvent>(),
        Entry<MessageDeltaEvent>(),
        Entry<MessageEvent>(),
        Entry<ThinkingEvent>(),
        Entry<ToolCallEvent>(),
        Entry<ToolCallUpdatedEvent>(),
        Entry<TaskStatusEvent>(),
        Entry<ToolResultEvent>(),
        Entry<PlanEvent>(),
        Entry<UsageEvent>(),
        Entry<TurnCompletedEvent>(),
        Entry<ErrorEvent>(),
        Entry<SessionStatusEvent>(),
        Entry<SessionPreparingEvent>(),
        Entry<ApprovalRequestedEvent>(),
        Entry<ApprovalResolvedEvent>(),
        Entry<ApprovalVoteEvent>(),
        Entry<ApprovalEscalatedEvent>(),
        Entry<QueueUpdatedEvent>(),
        Entry<NetworkConnectionEvent>(),
    }.OrderBy(e => e.Kind, StringComparer.Ordinal)];

    private static (string Kind, Type Type) Entry<T>() where T : ISessionEvent => (T.Kind, typeof(T));
}

/// <summary>Source-generated serialization of every session event (the catalogue above, one line each).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(UserMessageEvent))]
[JsonSerializable(typeof(TurnChangesEvent))]
[JsonSerializable(typeof(HistoryImportedEvent))]
[JsonSerializable(typeof(MessageDeltaEvent))]
[JsonSerializable(typeof(MessageEvent))]
[JsonSerializable(typeof(ThinkingEvent))]
[JsonSerializable(typeof(ToolCallEvent))]
[JsonSerializable(typeof(ToolCallUpdatedEvent))]
[JsonSerializable(typeof(TaskStatusEvent))]
[JsonSerializable(typeof(ToolResultEvent))]
[JsonSerializable(typeof(PlanEvent))]
[JsonSerializable(typeof(UsageEvent))]
[JsonSerializable(typeof(TurnCompletedEvent))]
[JsonSerializable(typeof(ErrorEvent))]
[JsonSerializable(typeof(SessionStatusEvent))]
[JsonSerializable(typeof(SessionPreparingEvent))]
[JsonSerializable(typeof(ApprovalRequestedEvent))]
[JsonSerializable(typeof(ApprovalResolvedEvent))]
[JsonSerializable(typeof(ApprovalVoteEvent))]
[JsonSerializable(typeof(ApprovalEscalatedEvent))]
[JsonSerializable(typeof(QueueUpdatedEvent))]
[JsonSerializable(typeof(NetworkConnectionEvent))]
public sealed partial class SessionEventJson : JsonSerializerContext
{
    /// <summary>The generated reader and writer of one kind of event.</summary>
    internal static JsonTypeInfo<T> Info<T>() where T : ISessionEvent => Default.GetTypeInfo(typeof(T)) as JsonTypeInfo<T>
        ?? throw new InvalidOperationException($"{typeof(T).Name} is not listed on {nameof(SessionEventJson)}.");
}
