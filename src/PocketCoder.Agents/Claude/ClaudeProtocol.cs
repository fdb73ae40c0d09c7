using System.Text.Json;
using System.Text.Json.Serialization;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Claude;

// Claude Code's stream-json (the lines `claude -p --input-format stream-json --output-format stream-json` reads and prints,
// with the control requests of `--permission-prompt-tool stdio`) and the lines of its transcripts, as far as PocketCoder
// reads or writes them. Names are Claude's own: snake_case, but for the few camelCase ones named below. Every field read is
// optional and unknown ones are ignored; a line that does not fit at all is one PocketCoder does not understand.

/// <summary>One line of stream-json, told apart by <c>type</c>; a type PocketCoder does not handle reads as this base.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", IgnoreUnrecognizedTypeDiscriminators = true)]
[JsonDerivedType(typeof(SystemLine), "system")]
[JsonDerivedType(typeof(StreamEventLine), "stream_event")]
[JsonDerivedType(typeof(AssistantLine), "assistant")]
[JsonDerivedType(typeof(UserLine), "user")]
[JsonDerivedType(typeof(ResultLine), "result")]
[JsonDerivedType(typeof(ControlRequestLine), "control_request")]
[JsonDerivedType(typeof(ControlCancelRequestLine), "control_cancel_request")]
[JsonDerivedType(typeof(ControlResponseLine), "control_response")]
internal record ClaudeLine;

/// <summary>
/// <c>init</c> (the first line) names the conversation, the model and Claude's version. <c>task_started</c>,
/// <c>task_progress</c> and <c>task_notification</c> follow a task run beside the conversation (a subagent, a background
/// command): its id, the call that started it (<c>tool_use_id</c>), and at the end its status (completed, failed, stopped).
/// </summary>
internal sealed record SystemLine(string? Subtype, string? SessionId, string? Model, string? ClaudeCodeVersion, string? TaskId = null,
    string? ToolUseId = null, string? TaskType = null, string? Description = null, string? Status = null, string? Summary = null) : ClaudeLine;

/// <param name="ParentToolUseId">Set on a subagent's partial messages (its whole ones follow as <see cref="AssistantLine"/>s).</param>
internal sealed record StreamEventLine(StreamEvent? Event, string? ParentToolUseId = null) : ClaudeLine;
internal sealed record StreamEvent(string? Type, StreamDelta? Delta);
internal sealed record StreamDelta(string? Type, string? Text);

/// <param name="ParentToolUseId">Set on a subagent's messages: the call of the main thread it works for.</param>
/// <param name="Uuid">Its entry in the conversation's chain: what <c>--resume-session-at</c> keeps the conversation up to.</param>
internal sealed record AssistantLine(ClaudeMessage? Message, string? ParentToolUseId, string? Uuid = null) : ClaudeLine;

/// <summary>A prompt PocketCoder sends, and the tool results Claude prints as the user's turn.</summary>
internal sealed record UserLine(ClaudeMessage? Message, string? SessionId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? ParentToolUseId = null, string? Uuid = null) : ClaudeLine;

/// <param name="TotalCostUsd">What the conversation has cost so far, as this process counts it (a resumed or forked one starts
/// from the total its transcript saved); the usage is this turn's.</param>
/// <param name="DeferredToolUse">With stop reason <see cref="TurnCompleted.Paused"/>: the call the gate hook deferred.</param>
/// <param name="ModelUsageSinceLastResult">Per model, what the calls this process counted since its previous result cost (since
/// it started, for its first): each call stated on one result only. Set by stream-json runs of recent versions.</param>
internal sealed record ResultLine(string? Subtype, bool? IsError, string? Result, decimal? TotalCostUsd, Usage? Usage, string? StopReason,
    ContentBlock? DeferredToolUse, IReadOnlyDictionary<string, ModelSpend>? ModelUsageSinceLastResult = null) : ClaudeLine;
internal sealed record ModelSpend([property: JsonPropertyName("costUSD")] decimal? CostUsd);
// Nullable: a null count must not make the whole result line unreadable (the turn would never end).
internal sealed record Usage(long? InputTokens, long? OutputTokens, long? CacheReadInputTokens, long? CacheCreationInputTokens);

/// <summary>A message: its content is a string or a list of blocks (<see cref="ClaudeJson.Blocks"/> reads either).</summary>
internal sealed record ClaudeMessage(string? Id, string? Role, JsonElement? Content);

/// <summary>A block of a message: text, thinking, an image, a tool call (tool_use) or its result (tool_result, whose content is again a string or blocks).</summary>
internal sealed record ContentBlock(string? Type, string? Text = null, string? Thinking = null, string? Id = null, string? Name = null,
    JsonElement? Input = null, string? ToolUseId = null, JsonElement? Content = null, bool? IsError = null, ImageSource? Source = null);
internal sealed record ImageSource(string Type, string MediaType, string Data);

/// <summary>A control request, either way: Claude asks (can_use_tool, hook_callback), PocketCoder tells (initialize, set_permission_mode, interrupt, stop_task).</summary>
internal sealed record ControlRequestLine(string? RequestId, ControlRequest? Request) : ClaudeLine;

/// <param name="Input">can_use_tool: the tool's input; hook_callback: the hook's (<see cref="HookInput"/>).</param>
/// <param name="Hooks">initialize: the hooks whose callbacks come over the pipe.</param>
/// <param name="TaskId">stop_task: the task to stop (a subagent, a background command), as its <c>task_started</c> named it.</param>
internal sealed record ControlRequest(string? Subtype, string? Mode = null, HookSettings? Hooks = null, string? ToolName = null, JsonElement? Input = null,
    string? ToolUseId = null, string? BlockedPath = null, string? CallbackId = null, string? TaskId = null);
internal sealed record HookInput(string? ToolName, JsonElement? ToolInput, string? ToolUseId);

/// <summary>Claude withdrew a control request of its own.</summary>
internal sealed record ControlCancelRequestLine(string? RequestId) : ClaudeLine;

internal sealed record ControlResponseLine(ControlResponse Response) : ClaudeLine;

/// <summary><c>success</c> with a response, or <c>error</c> with the reason.</summary>
internal sealed record ControlResponse(string Subtype, string RequestId, ControlAnswer? Response = null, string? Error = null);

/// <summary>can_use_tool's answer (allow with the input to run, or deny with a message), or a hook's output.</summary>
/// <param name="Models">initialize's answer: the models Claude Code offers (<c>--model</c> takes each value).</param>
internal sealed record ControlAnswer(string? Behavior = null, [property: JsonPropertyName("updatedInput")] JsonElement? UpdatedInput = null,
    string? Message = null, [property: JsonPropertyName("hookSpecificOutput")] HookOutput? HookSpecificOutput = null,
    IReadOnlyList<ClaudeModelInfo?>? Models = null);
internal sealed record ClaudeModelInfo(string? Value, [property: JsonPropertyName("displayName")] string? DisplayName, string? Description);

/// <summary>A PreToolUse hook's decision: allow, deny, ask (the permission prompt decides) or defer (end the turn, keep the call).</summary>
internal sealed record HookOutput([property: JsonPropertyName("permissionDecision")] string PermissionDecision,
    [property: JsonPropertyName("permissionDecisionReason")] string PermissionDecisionReason,
    [property: JsonPropertyName("hookEventName")] string HookEventName = "PreToolUse");

/// <summary>Settings' <c>hooks</c>, and initialize's: each matcher's hooks are commands (settings) or callbacks over the pipe.</summary>
internal sealed record HookSettings([property: JsonPropertyName("PreToolUse")] IReadOnlyList<HookMatcher> PreToolUse);
internal sealed record HookMatcher(string? Matcher = null, IReadOnlyList<HookCommand>? Hooks = null,
    [property: JsonPropertyName("hookCallbackIds")] IReadOnlyList<string>? HookCallbackIds = null, int? Timeout = null);
internal sealed record HookCommand(string Type, string Command);
internal sealed record ClaudeSettings(HookSettings Hooks);

/// <summary>A line of a transcript (<c>projects/FOLDER/ID.jsonl</c>): its kind, its place in the chain, and its message.</summary>
internal sealed record TranscriptLine(string? Type, string? Uuid, [property: JsonPropertyName("parentUuid")] string? ParentUuid,
    [property: JsonPropertyName("isSidechain")] bool? IsSidechain, [property: JsonPropertyName("isMeta")] bool? IsMeta, string? Cwd, ClaudeMessage? Message);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowOutOfOrderMetadataProperties = true)]
[JsonSerializable(typeof(ClaudeLine)), JsonSerializable(typeof(TranscriptLine)), JsonSerializable(typeof(IReadOnlyList<ContentBlock>))]
[JsonSerializable(typeof(HookInput)), JsonSerializable(typeof(ClaudeSettings)), JsonSerializable(typeof(HookOutput)), JsonSerializable(typeof(string))]
internal sealed partial class ClaudeJson : JsonSerializerContext
{
    private static readonly JsonElement EmptyObject = System.Text.Json.JsonElement.Parse("{}");

    /// <summary>A line, or part of one, as <typeparamref name="T"/>; null when it is not JSON or does not fit.</summary>
    public static T? Read<T>(string json) where T : class => Default.Read<T>(json);

    /// <inheritdoc cref="Read{T}(string)"/>
    public static T? Read<T>(JsonElement? element) where T : class => Default.Read<T>(element);

    /// <summary>A line to write to Claude's stdin, its <c>type</c> first.</summary>
    public static string Line(ClaudeLine line) => JsonSerializer.Serialize(line, Default.ClaudeLine);

    public static string Write<T>(T value) => JsonSerializer.Serialize(value, Default.Info<T>());

    public static JsonElement Element<T>(T value) => JsonSerializer.SerializeToElement(value, Default.Info<T>());

    /// <summary>A message's (or a tool result's) content as blocks: a string is one text block.</summary>
    public static IReadOnlyList<ContentBlock> Blocks(JsonElement? content) => content is { ValueKind: JsonValueKind.String } text
        ? [new ContentBlock("text", text.GetString())]
        : Read<IReadOnlyList<ContentBlock>>(content) ?? [];

    /// <summary>A tool result's content as text: a string as it is, blocks' texts one per line, anything else as JSON.</summary>
    public static string TextOf(JsonElement? content) => content?.ValueKind is JsonValueKind.Object or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False
        ? content.Value.GetRawText()
        : string.Join('\n', Blocks(content).Select(block => block.Text).OfType<string>());

    /// <summary>A tool's input: an object, as Claude sent it; an empty one where it sent none.</summary>
    public static JsonElement InputOf(JsonElement? input) => input is { ValueKind: JsonValueKind.Object } given ? given.Clone() : EmptyObject;
}
