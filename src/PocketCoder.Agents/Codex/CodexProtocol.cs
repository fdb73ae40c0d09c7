using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Codex;

// The part of Codex's app-server protocol (codex-rs/app-server-protocol, v2; `codex app-server generate-json-schema`
// prints it) that PocketCoder speaks, named as Codex names it. Every member read is nullable and unknown members are
// ignored: a newer Codex that adds or drops a field still reads. Values PocketCoder passes on untouched (a tool's
// arguments, a patch's changes) stay JsonElement, so they reach the owner exactly as Codex sent them.

internal sealed record ClientInfo(string Name, string Title, string Version);
internal sealed record InitializeParams(ClientInfo ClientInfo);
internal sealed record InitializeResponse(string? UserAgent);

/// <summary>thread/start, or thread/resume when <see cref="ThreadId"/> is set.</summary>
internal sealed record ThreadParams(string? ThreadId, string Cwd, string ApprovalPolicy, string Sandbox, string? Model, string? DeveloperInstructions);
internal sealed record ThreadResponse(CodexThread? Thread, string? Model);
internal sealed record ThreadListParams(IReadOnlyList<string>? Cwd, IReadOnlyList<string> SourceKinds, string SortKey, int Limit, string? Cursor);
internal sealed record ThreadListResponse(IReadOnlyList<CodexThread>? Data, string? NextCursor);
internal sealed record ThreadReadParams(string ThreadId, bool IncludeTurns);
internal sealed record ModelListParams(string? Cursor);
internal sealed record ModelListResponse(IReadOnlyList<CodexModel?>? Data, string? NextCursor);
/// <param name="Model">What selects it (thread/start's and turn/start's <c>model</c>).</param>
internal sealed record CodexModel(string? Id, string? Model, string? DisplayName, string? Description, bool? Hidden);
internal sealed record CodexThread(string? Id, string? Cwd, string? Name, string? Preview, long? UpdatedAt, string? Path, IReadOnlyList<Turn>? Turns);

/// <summary>One piece of a prompt: text, or an image as a data URL.</summary>
internal sealed record UserInput(string Type, string? Text = null, string? Url = null);
internal sealed record SandboxPolicy(string Type);
internal sealed record TurnStartParams(string ThreadId, IReadOnlyList<UserInput> Input, string ApprovalPolicy, SandboxPolicy SandboxPolicy, string? Model);
internal sealed record TurnStartResponse(Turn? Turn);
internal sealed record TurnSteerParams(string ThreadId, string ExpectedTurnId, IReadOnlyList<UserInput> Input);
internal sealed record TurnInterruptParams(string ThreadId, string TurnId);
internal sealed record Turn(string? Id, string? Status, TurnError? Error, IReadOnlyList<ThreadItem>? Items);
internal sealed record TurnError(string? Message);
internal sealed record TurnPlanStep(string? Step, string? Status);

/// <summary>Tokens, as Codex counts them for a thread (running totals); the difference of two is a turn's share.</summary>
internal sealed record TokenUsageBreakdown(long InputTokens, long CachedInputTokens, long OutputTokens, long CacheWriteInputTokens)
{
    public static readonly TokenUsageBreakdown None = new(0, 0, 0, 0);

    public static TokenUsageBreakdown operator -(TokenUsageBreakdown a, TokenUsageBreakdown b) => new(a.InputTokens - b.InputTokens,
        a.CachedInputTokens - b.CachedInputTokens, a.OutputTokens - b.OutputTokens, a.CacheWriteInputTokens - b.CacheWriteInputTokens);
}

internal sealed record ThreadTokenUsage(TokenUsageBreakdown? Total);

/// <summary>What a turn holds, told apart by <c>type</c>; a type PocketCoder does not show reads as this base.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", IgnoreUnrecognizedTypeDiscriminators = true)]
[JsonDerivedType(typeof(UserMessageItem), "userMessage")]
[JsonDerivedType(typeof(AgentMessageItem), "agentMessage")]
[JsonDerivedType(typeof(ReasoningItem), "reasoning")]
[JsonDerivedType(typeof(CommandExecutionItem), "commandExecution")]
[JsonDerivedType(typeof(FileChangeItem), "fileChange")]
[JsonDerivedType(typeof(McpToolCallItem), "mcpToolCall")]
[JsonDerivedType(typeof(DynamicToolCallItem), "dynamicToolCall")]
[JsonDerivedType(typeof(WebSearchItem), "webSearch")]
internal record ThreadItem(string? Id);
internal sealed record UserMessageItem(string? Id, IReadOnlyList<UserInput>? Content) : ThreadItem(Id);
internal sealed record AgentMessageItem(string? Id, string? Text) : ThreadItem(Id);
internal sealed record ReasoningItem(string? Id, IReadOnlyList<string>? Summary, IReadOnlyList<string>? Content) : ThreadItem(Id);
internal sealed record CommandExecutionItem(string? Id, string? Command, string? Cwd, string? Status, int? ExitCode, string? AggregatedOutput) : ThreadItem(Id);
internal sealed record FileChangeItem(string? Id, JsonElement Changes, string? Status) : ThreadItem(Id);
internal sealed record FileUpdateChange(string? Path);
internal sealed record McpToolCallItem(string? Id, string? Server, string? Tool, JsonElement Arguments, string? Status, JsonElement Result, JsonElement Error)
    : ThreadItem(Id);
internal sealed record DynamicToolCallItem(string? Id, string? Tool, JsonElement Arguments, string? Status, bool? Success) : ThreadItem(Id);
internal sealed record WebSearchItem(string? Id, string? Query) : ThreadItem(Id);

/// <summary>A notification of Codex's that PocketCoder acts on; <see cref="CodexWire.Notification"/> reads one.</summary>
internal abstract record CodexNotification;
internal sealed record McpServerStatusUpdatedNotification(string? Name, string? Status, string? Error) : CodexNotification;
internal sealed record TurnStartedNotification(Turn? Turn) : CodexNotification;
internal sealed record AgentMessageDeltaNotification(string? Delta) : CodexNotification;
internal sealed record ItemStartedNotification(ThreadItem? Item) : CodexNotification;
internal sealed record ItemCompletedNotification(ThreadItem? Item) : CodexNotification;
internal sealed record TurnPlanUpdatedNotification(IReadOnlyList<TurnPlanStep>? Plan) : CodexNotification;
internal sealed record ThreadTokenUsageUpdatedNotification(ThreadTokenUsage? TokenUsage) : CodexNotification;

/// <summary>Codex withdrew a request of its own (answered elsewhere, or its turn ended); the id is a number or a string.</summary>
internal sealed record ServerRequestResolvedNotification(JsonElement RequestId) : CodexNotification;

internal sealed record ErrorNotification(TurnError? Error, bool? WillRetry) : CodexNotification;
internal sealed record TurnCompletedNotification(Turn? Turn) : CodexNotification;

// Codex's requests of the client, and PocketCoder's answers.

internal sealed record NetworkApprovalContext(string? Host, string? Protocol);
internal sealed record CommandExecutionRequestApprovalParams(string? ItemId, string? TurnId, string? Command, string? Cwd, string? Reason, string? Kind,
    NetworkApprovalContext? NetworkApprovalContext);
internal sealed record FileChangeRequestApprovalParams(string? ItemId, string? TurnId, string? Reason, string? GrantRoot);

/// <summary>An MCP elicitation. Its form (message, requestedSchema) is read by <see cref="McpForm"/> from the raw params.</summary>
internal sealed record McpServerElicitationRequestParams(string? ServerName, string? TurnId, [property: JsonPropertyName("_meta")] ElicitationMeta? Meta);

/// <summary>What Codex puts in <c>_meta</c> when the elicitation is its own approval of an MCP tool call.</summary>
internal sealed record ElicitationMeta([property: JsonPropertyName("codex_approval_kind")] string? ApprovalKind,
    [property: JsonPropertyName("tool_name")] string? ToolName, [property: JsonPropertyName("tool_params")] JsonElement ToolParams);

internal sealed record ToolRequestUserInputParams(string? ItemId, string? TurnId, IReadOnlyList<ToolRequestUserInputQuestion>? Questions);
internal sealed record ToolRequestUserInputQuestion(string? Id, string? Header, string? Question, bool IsSecret, IReadOnlyList<QuestionOption>? Options);
internal sealed record ToolRequestUserInputResponse(IReadOnlyDictionary<string, ToolRequestUserInputAnswer> Answers);
internal sealed record ToolRequestUserInputAnswer(IReadOnlyList<string> Answers);

/// <summary>The answer to a command or file-change approval.</summary>
internal sealed record ApprovalResponse(string Decision);

/// <summary>The answer to an elicitation: an MCP tool call's approval, or a form's content.</summary>
internal sealed record McpServerElicitationRequestResponse(string Action, JsonObject? Content = null);

// The inputs of PocketCoder's own tool calls and questions (what the gate judges, the ledger keeps, the phone shows).

internal sealed record CommandInput(string Command, string? Cwd);
internal sealed record CommandApprovalInput(string Command, string? Cwd, string? Reason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] NetworkApprovalContext? NetworkApprovalContext);
internal sealed record ChangesInput(JsonElement Changes);
internal sealed record FileChangeApprovalInput(JsonElement Changes, string? Reason, string? GrantRoot);
internal sealed record QueryInput(string Query);

/// <summary>
/// The source-generated serializers for all of the above: camelCase as Codex writes it, nulls left out of what is sent
/// (Codex reads a missing optional field as unset).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowOutOfOrderMetadataProperties = true)]
[JsonSerializable(typeof(InitializeParams)), JsonSerializable(typeof(InitializeResponse)), JsonSerializable(typeof(ThreadParams))]
[JsonSerializable(typeof(ThreadResponse)), JsonSerializable(typeof(ThreadReadParams)), JsonSerializable(typeof(ThreadListParams))]
[JsonSerializable(typeof(ModelListParams)), JsonSerializable(typeof(ModelListResponse))]
[JsonSerializable(typeof(ThreadListResponse)), JsonSerializable(typeof(TurnStartParams)), JsonSerializable(typeof(TurnStartResponse))]
[JsonSerializable(typeof(TurnSteerParams)), JsonSerializable(typeof(TurnInterruptParams)), JsonSerializable(typeof(FileUpdateChange))]
[JsonSerializable(typeof(McpServerStatusUpdatedNotification)), JsonSerializable(typeof(TurnStartedNotification))]
[JsonSerializable(typeof(AgentMessageDeltaNotification)), JsonSerializable(typeof(ItemStartedNotification))]
[JsonSerializable(typeof(ItemCompletedNotification)), JsonSerializable(typeof(TurnPlanUpdatedNotification))]
[JsonSerializable(typeof(ThreadTokenUsageUpdatedNotification)), JsonSerializable(typeof(ServerRequestResolvedNotification))]
[JsonSerializable(typeof(ErrorNotification)), JsonSerializable(typeof(TurnCompletedNotification))]
[JsonSerializable(typeof(CommandExecutionRequestApprovalParams)), JsonSerializable(typeof(FileChangeRequestApprovalParams))]
[JsonSerializable(typeof(McpServerElicitationRequestParams)), JsonSerializable(typeof(ToolRequestUserInputParams))]
[JsonSerializable(typeof(ToolRequestUserInputResponse)), JsonSerializable(typeof(ApprovalResponse))]
[JsonSerializable(typeof(McpServerElicitationRequestResponse)), JsonSerializable(typeof(CommandInput)), JsonSerializable(typeof(CommandApprovalInput))]
[JsonSerializable(typeof(ChangesInput)), JsonSerializable(typeof(FileChangeApprovalInput)), JsonSerializable(typeof(QueryInput))]
internal sealed partial class CodexJson : JsonSerializerContext;

/// <summary>Codex's messages to and from records, through <see cref="CodexJson"/>.</summary>
internal static class CodexWire
{
    /// <summary>
    /// For the inputs PocketCoder keeps and shows: every member written (a missing cwd reads as null), and relaxed
    /// escaping, so a patch's "+" and "&lt;" stay themselves for the person reading them, not \u002B and \u003C.
    /// </summary>
    private static readonly CodexJson Readable = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        AllowOutOfOrderMetadataProperties = true,
    });

    /// <summary>A message's params (or a result) as <typeparamref name="T"/>; null when it is absent or not of that shape.</summary>
    public static T? Read<T>(JsonElement element) where T : class => CodexJson.Default.Read<T>(element);

    /// <summary>Params or a result to send.</summary>
    public static JsonObject Node<T>(T value) => CodexJson.Default.Object(value);

    /// <summary>A tool call's or a question's input, as it is stored and shown.</summary>
    public static JsonElement Input<T>(T value) => JsonSerializer.SerializeToElement(value, Readable.Info<T>());

    /// <summary>The handshake that opens every app-server connection: initialize, answered, then initialized.</summary>
    public static async Task<InitializeResponse?> InitializeAsync(JsonRpcConnection rpc, string version, CancellationToken cancellationToken)
    {
        var answer = await rpc.RequestAsync("initialize", Node(new InitializeParams(new ClientInfo("pocketcoder", "PocketCoder", version))), cancellationToken)
            .ConfigureAwait(false);
        await rpc.NotifyAsync("initialized", null, cancellationToken).ConfigureAwait(false);
        return Read<InitializeResponse>(answer);
    }

    /// <summary>The notifications PocketCoder acts on, each read as its record; null for any other (or a malformed one).</summary>
    public static CodexNotification? Notification(string method, JsonElement parameters) => method switch
    {
        "mcpServer/startupStatus/updated" => Read<McpServerStatusUpdatedNotification>(parameters),
        "turn/started" => Read<TurnStartedNotification>(parameters),
        "item/agentMessage/delta" => Read<AgentMessageDeltaNotification>(parameters),
        "item/started" => Read<ItemStartedNotification>(parameters),
        "item/completed" => Read<ItemCompletedNotification>(parameters),
        "turn/plan/updated" => Read<TurnPlanUpdatedNotification>(parameters),
        "thread/tokenUsage/updated" => Read<ThreadTokenUsageUpdatedNotification>(parameters),
        "serverRequest/resolved" => Read<ServerRequestResolvedNotification>(parameters),
        "error" => Read<ErrorNotification>(parameters),
        "turn/completed" => Read<TurnCompletedNotification>(parameters),
        _ => null,
    };
}
