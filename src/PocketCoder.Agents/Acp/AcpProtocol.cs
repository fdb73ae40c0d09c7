using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Acp;

// The Agent Client Protocol's messages as far as PocketCoder sends or reads them, named as in its schema. Agents differ
// in what they fill in: every field we read is optional, fields we do not know are ignored, and a message that does not
// fit at all is dropped (AcpJson.Read) as one we do not understand.

// initialize
internal sealed record InitializeRequest(int ProtocolVersion, ClientCapabilities ClientCapabilities, Implementation ClientInfo);
/// <param name="Meta">
/// <c>{"subagent-transcript": true}</c>: claude-agent-acp then says which subagent each update is from
/// (<c>_meta.claudeCode.parentToolUseId</c>, the Agent call that started it) and forwards a subagent's words; others ignore it.
/// </param>
internal sealed record ClientCapabilities(FileSystemCapability Fs, bool Terminal,
    [property: JsonPropertyName("_meta"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, bool>? Meta = null);
internal sealed record FileSystemCapability(bool ReadTextFile, bool WriteTextFile);
internal sealed record Implementation(string? Name, string? Title, string? Version);
internal sealed record InitializeResponse(AgentCapabilities? AgentCapabilities, Implementation? AgentInfo);

/// <param name="SessionCapabilities">Its <c>resume</c> is an object when the agent offers session/resume.</param>
internal sealed record AgentCapabilities(bool LoadSession, PromptCapabilities? PromptCapabilities, SessionCapabilities? SessionCapabilities, McpCapabilities? McpCapabilities);
internal sealed record PromptCapabilities(bool Image);
internal sealed record SessionCapabilities(JsonElement? Resume);
internal sealed record McpCapabilities(bool Http);

// session/new, session/load, session/resume, session/set_mode, session/cancel, session/prompt
/// <summary>session/new, and with <see cref="SessionId"/> session/load or session/resume.</summary>
internal sealed record NewSessionRequest(string? SessionId, string Cwd, JsonArray McpServers, [property: JsonPropertyName("_meta")] ClaudeAgentMeta Meta);
/// <param name="Models">The models the agent offers (the protocol's session models, still unstable): Gemini CLI, Qwen Code.</param>
/// <param name="ConfigOptions">The session's settings, among them one of category <c>model</c> where the agent offers models
/// that way: claude-agent-acp, Qwen Code.</param>
internal sealed record NewSessionResponse(string? SessionId, SessionModeState? Modes, SessionModelState? Models = null,
    IReadOnlyList<SessionConfigOption?>? ConfigOptions = null);
internal sealed record SessionModeState(string? CurrentModeId, IReadOnlyList<SessionMode?>? AvailableModes);
internal sealed record SessionMode(string? Id);
internal sealed record SetSessionModeRequest(string SessionId, string ModeId);
internal sealed record SessionModelState(string? CurrentModelId, IReadOnlyList<ModelInfo?>? AvailableModels);
internal sealed record ModelInfo(string? ModelId, string? Name, string? Description);

/// <summary>A session setting; a <c>select</c> lists its values, or groups of them (each with its own <see cref="ConfigValue.Options"/>).</summary>
/// <param name="CurrentValue">A string for a select, a boolean for a boolean option.</param>
internal sealed record SessionConfigOption(string? Id, string? Category, string? Type, JsonElement? CurrentValue, IReadOnlyList<ConfigValue?>? Options);
internal sealed record ConfigValue(string? Value, string? Name, string? Description, IReadOnlyList<ConfigValue?>? Options);
internal sealed record SetConfigOptionRequest(string SessionId, string ConfigId, string Value);
internal sealed record SetSessionModelRequest(string SessionId, string ModelId);
internal sealed record CancelNotification(string SessionId);
internal sealed record PromptRequest(string SessionId, IReadOnlyList<ContentBlock> Prompt);

/// <param name="Meta">Gemini CLI's token counts, where the answer has no <see cref="Usage"/>.</param>
internal sealed record PromptResponse(string? StopReason, TurnUsage? Usage, [property: JsonPropertyName("_meta")] GeminiPromptMeta? Meta);
internal sealed record TurnUsage(long InputTokens, long OutputTokens, long CachedReadTokens, long CachedWriteTokens);
internal sealed record GeminiPromptMeta(GeminiQuota? Quota);
internal sealed record GeminiQuota([property: JsonPropertyName("token_count")] GeminiTokenCount? TokenCount);
internal sealed record GeminiTokenCount([property: JsonPropertyName("input_tokens")] long InputTokens, [property: JsonPropertyName("output_tokens")] long OutputTokens);

/// <summary>Text or an image (in a prompt), or whatever else an agent shows; what we do not read is kept as it came.</summary>
internal sealed record ContentBlock(string? Type, string? Text = null, string? MimeType = null, string? Data = null)
{
    // Settable, not init-only: the source generator binds init-only members like constructor parameters, which extension data cannot be.
    [JsonExtensionData] public Dictionary<string, JsonElement>? Rest { get; set; }
}

// session/update
internal sealed record SessionNotification(string? SessionId, SessionUpdate? Update);

/// <summary>One <c>session/update</c>; kinds we do not handle (available_commands_update…) come as this base type.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "sessionUpdate", IgnoreUnrecognizedTypeDiscriminators = true)]
[JsonDerivedType(typeof(AgentMessageChunk), "agent_message_chunk")]
[JsonDerivedType(typeof(AgentThoughtChunk), "agent_thought_chunk")]
[JsonDerivedType(typeof(ToolCallStart), "tool_call")]
[JsonDerivedType(typeof(ToolCallUpdate), "tool_call_update")]
[JsonDerivedType(typeof(Plan), "plan")]
[JsonDerivedType(typeof(UsageUpdate), "usage_update")]
[JsonDerivedType(typeof(CurrentModeUpdate), "current_mode_update")]
internal record SessionUpdate;

/// <param name="Meta">Qwen Code's token counts of one model answer (on the answer's last chunk, often with empty text); claude-agent-acp's
/// subagent that said it.</param>
internal sealed record AgentMessageChunk(ContentBlock? Content, [property: JsonPropertyName("_meta")] ChunkMeta? Meta = null) : SessionUpdate;
internal sealed record ChunkMeta(TurnUsage? Usage, ClaudeCodeUpdateMeta? ClaudeCode = null);

/// <summary>claude-agent-acp's <c>_meta.claudeCode</c> on an update: the Agent call whose subagent it is from, if any.</summary>
internal sealed record ClaudeCodeUpdateMeta(string? ParentToolUseId);
internal sealed record AgentThoughtChunk(ContentBlock? Content, [property: JsonPropertyName("_meta")] ChunkMeta? Meta = null) : SessionUpdate;

/// <summary>A tool call's fields as <c>tool_call_update</c> and a permission request's <c>toolCall</c> carry them: all optional.</summary>
/// <param name="RawInput">The tool's own input, in the agent's terms (no schema).</param>
internal record ToolCallUpdate(string? ToolCallId = null, string? Title = null, string? Kind = null, string? Status = null,
    IReadOnlyList<ToolCallLocation?>? Locations = null, IReadOnlyList<ToolCallContent?>? Content = null, JsonElement? RawInput = null,
    JsonElement? RawOutput = null, [property: JsonPropertyName("_meta")] JsonElement? Meta = null) : SessionUpdate;

/// <summary>The <c>tool_call</c> that announces a call.</summary>
internal sealed record ToolCallStart : ToolCallUpdate;

/// <summary>A block of a tool call's content: <c>content</c> (a <see cref="ContentBlock"/>), <c>diff</c> or <c>terminal</c>.</summary>
internal sealed record ToolCallContent(string? Type, ContentBlock? Content = null, string? Path = null)
{
    [JsonExtensionData] public Dictionary<string, JsonElement>? Rest { get; set; }
}

internal sealed record ToolCallLocation(string? Path)
{
    [JsonExtensionData] public Dictionary<string, JsonElement>? Rest { get; set; }
}

internal sealed record Plan(IReadOnlyList<PlanItem?>? Entries) : SessionUpdate;
internal sealed record PlanItem(string? Content, string? Status);

/// <param name="Used">Tokens in the context window.</param>
internal sealed record UsageUpdate(long Used, Cost? Cost) : SessionUpdate;
internal sealed record Cost(decimal? Amount, string? Currency);
internal sealed record CurrentModeUpdate(string? CurrentModeId) : SessionUpdate;

// session/request_permission
internal sealed record RequestPermissionRequest(string? SessionId, ToolCallUpdate? ToolCall, IReadOnlyList<PermissionOption?>? Options);

/// <param name="Kind">allow_once, allow_always, reject_once or reject_always: option ids differ per agent, kinds do not.</param>
internal sealed record PermissionOption(string? OptionId, string? Kind);

internal sealed record RequestPermissionResponse(PermissionOutcome Outcome);

/// <param name="Outcome">"selected" (with <see cref="OptionId"/>), or "cancelled".</param>
internal sealed record PermissionOutcome(string Outcome, string? OptionId);

// fs/read_text_file, fs/write_text_file
/// <summary>fs/read_text_file (1-based <see cref="Line"/>, <see cref="Limit"/> lines) and fs/write_text_file (<see cref="Content"/>).</summary>
internal sealed record FileRequest(string? Path, string? Content, long? Line, long? Limit);
internal sealed record ReadTextFileResponse(string Content);

/// <summary>The <c>data</c> of an fs error: a stable code (none where the message says it all) and the path.</summary>
internal sealed record FileErrorData(string? Code, string Path);

/// <summary>The <c>_meta</c> of session/new for claude-agent-acp (see <see cref="AcpSession.ClaudeAgentGate"/>).</summary>
internal sealed record ClaudeAgentMeta(ClaudeCodeMeta ClaudeCode, SystemPromptAppend? SystemPrompt);
internal sealed record ClaudeCodeMeta(ClaudeCodeOptions Options);
internal sealed record ClaudeCodeOptions(IReadOnlyList<string> SettingSources, bool AllowDangerouslySkipPermissions, IReadOnlyList<string> DisallowedTools,
    IReadOnlyDictionary<string, string?> ExtraArgs, Claude.ClaudeSettings Settings);
internal sealed record SystemPromptAppend(string Append);

/// <summary>The one serializer context of the protocol: camelCase names, absent rather than null fields on the way out.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowOutOfOrderMetadataProperties = true)]
[JsonSerializable(typeof(InitializeRequest)), JsonSerializable(typeof(InitializeResponse))] // initialize
[JsonSerializable(typeof(NewSessionRequest)), JsonSerializable(typeof(NewSessionResponse)), JsonSerializable(typeof(SetSessionModeRequest))] // session/*
[JsonSerializable(typeof(SetConfigOptionRequest)), JsonSerializable(typeof(SetSessionModelRequest))]
[JsonSerializable(typeof(CancelNotification)), JsonSerializable(typeof(PromptRequest)), JsonSerializable(typeof(PromptResponse))]
[JsonSerializable(typeof(SessionNotification)), JsonSerializable(typeof(ToolCallUpdate))] // session/update
[JsonSerializable(typeof(RequestPermissionRequest)), JsonSerializable(typeof(RequestPermissionResponse))] // session/request_permission
[JsonSerializable(typeof(FileRequest)), JsonSerializable(typeof(ReadTextFileResponse)), JsonSerializable(typeof(FileErrorData))] // fs/*
internal sealed partial class AcpJson : JsonSerializerContext
{
    /// <summary>A message as the JSON object <see cref="Sessions.JsonRpcConnection"/> sends.</summary>
    public static JsonObject Object<T>(T value) => Default.Object(value);

    /// <summary>A message read as <typeparamref name="T"/>; null when it is no object or does not fit (a field of another type).</summary>
    public static T? Read<T>(JsonElement? element) where T : class => Default.Read<T>(element);
}
