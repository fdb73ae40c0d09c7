using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace PocketCoder.Agents.OpenCode;

// What PocketCoder reads and writes of `opencode serve`'s HTTP API and its /event stream, and nothing more: a field a
// newer OpenCode adds is ignored, one it leaves out reads as null.

/// <summary>One event of the <c>/event</c> stream: <c>{type, properties}</c>.</summary>
internal sealed record OpenCodeEvent(string? Type, EventProperties? Properties);

/// <summary>
/// The properties of every event PocketCoder reads, in one record: each event fills its own (<c>message.updated</c>:
/// info; <c>message.part.updated</c>: part; <c>message.part.delta</c>: messageID, partID, field, delta;
/// <c>permission.asked</c>: id, permission, patterns, metadata, tool; <c>question.asked</c>: id, questions, tool;
/// <c>*.replied</c>: requestID; <c>session.error</c>: error; <c>session.status</c>: status).
/// </summary>
internal sealed record EventProperties(
    string? SessionID = null, MessageInfo? Info = null, Part? Part = null,
    string? MessageID = null, string? PartID = null, string? Field = null, string? Delta = null,
    string? Id = null, string? Permission = null, IReadOnlyList<string>? Patterns = null, JsonObject? Metadata = null, CallRef? Tool = null,
    IReadOnlyList<AskedQuestion>? Questions = null, string? RequestID = null, JsonElement? Error = null, SessionStatus? Status = null);

/// <summary>A message's info (<c>message.updated</c>), or a session's (<c>session.created</c>: a subagent's names its parent session).</summary>
internal sealed record MessageInfo(string? Id, string? Role, string? ParentID = null);

/// <summary>
/// A part of a message: text (<c>synthetic</c> when OpenCode added it to a prompt itself), reasoning, a tool call
/// (<c>callID</c>, <c>tool</c>, <c>state</c>) or a step's end (<c>tokens</c>, <c>cost</c>).
/// </summary>
internal sealed record Part(string? Id = null, string? Type = null, string? MessageID = null, string? Text = null, bool? Synthetic = null,
    Times? Time = null, string? CallID = null, string? Tool = null, ToolState? State = null, Tokens? Tokens = null, decimal? Cost = null);

/// <summary>OpenCode's times (milliseconds since 1970), each where it applies: a part's end, a session's last change.</summary>
internal sealed record Times(double? End, long? Updated);

/// <summary>
/// A call's state: <c>pending</c> (no input yet), <c>running</c>, <c>completed</c> (output) or <c>error</c>; its tool's own
/// metadata (the <c>task</c> tool's: <c>sessionId</c>, the subagent's child session).
/// </summary>
internal sealed record ToolState(string? Status, JsonElement? Input = null, string? Output = null, string? Error = null, string? Title = null,
    JsonElement? Metadata = null);

internal sealed record Tokens(long Input, long Output, TokenCache? Cache);

internal sealed record TokenCache(long Read, long Write);

/// <summary>The call a permission or question was asked for.</summary>
internal sealed record CallRef(string? MessageID, string? CallID);

internal sealed record AskedQuestion(string? Question, string? Header, IReadOnlyList<QuestionOption>? Options, bool? Multiple);

internal sealed record SessionError(string? Name, ErrorData? Data);

internal sealed record ErrorData(string? Message);

/// <summary><c>busy</c>, <c>idle</c>, or <c>retry</c> with the reason in <c>message</c>.</summary>
internal sealed record SessionStatus(string? Type, string? Message);

/// <summary>
/// A session (<c>GET /session/ID</c>, an export's <c>info</c>; with its rules alone, the body that creates or patches one): its id,
/// its own permission rules, its folder and when it last changed.
/// </summary>
internal sealed record SessionInfo(string? Id, IReadOnlyList<PermissionRule>? Permission, string? Directory = null, Times? Time = null);

internal sealed record PermissionRule(string Permission, string Pattern, string Action);

/// <summary>A message with its parts (<c>GET /session/ID/message/ID</c>, and each of an export's).</summary>
internal sealed record MessageWithParts(MessageInfo? Info, IReadOnlyList<Part>? Parts);

/// <summary>A session in <c>opencode session list --format json</c>.</summary>
internal sealed record ListedSession(string? Id, string? Directory, string? Title, long? Updated);

/// <summary>What <c>opencode export ID</c> writes: the session, and its messages with their parts.</summary>
internal sealed record SessionExport(SessionInfo? Info, IReadOnlyList<MessageWithParts>? Messages);

/// <summary><c>POST /session/ID/prompt_async</c>.</summary>
internal sealed record Prompt(IReadOnlyList<PromptPart> Parts, string Agent, ModelRef? Model, string? System);

/// <summary>A text part, or a file part (an image as a data URL, as OpenCode's own clients attach one).</summary>
internal sealed record PromptPart(string Type, string? Text = null, string? Mime = null, string? Url = null, string? Filename = null);

internal sealed record ModelRef(string ProviderID, string ModelID);

/// <summary><c>once</c> or <c>reject</c>, with the owner's words for the model on a rejection.</summary>
internal sealed record PermissionReply(string Reply, string? Message);

/// <summary>One list of strings per question: the chosen labels, then the owner's own words.</summary>
internal sealed record QuestionReply(IReadOnlyList<IReadOnlyList<string>> Answers);

/// <summary>The input shown for an MCP resource tool's permission.</summary>
internal sealed record ResourceInput(IReadOnlyList<string> Servers, [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Uri,
    IReadOnlyList<string> Patterns);

/// <summary><c>GET /config/providers</c>: each provider the owner set up, with its models keyed by id.</summary>
internal sealed record ProvidersAnswer(IReadOnlyList<ProviderInfo?>? Providers);
internal sealed record ProviderInfo(string? Id, string? Name, IReadOnlyDictionary<string, ProviderModel?>? Models);
internal sealed record ProviderModel(string? Name);

/// <summary>An agent of <c>GET /agent</c>: its name and its rules as OpenCode merged them (its defaults, the config's, its own), in order.</summary>
internal sealed record AgentInfo(string? Name, IReadOnlyList<PermissionRule>? Permission);

/// <summary><c>GET /config</c>, as far as the model in use: <c>provider/model</c>.</summary>
internal sealed record ConfigAnswer(string? Model);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OpenCodeEvent)), JsonSerializable(typeof(SessionError))] // the event stream
[JsonSerializable(typeof(SessionInfo)), JsonSerializable(typeof(MessageWithParts)), JsonSerializable(typeof(Prompt))] // the HTTP API
[JsonSerializable(typeof(PermissionReply)), JsonSerializable(typeof(QuestionReply))]
[JsonSerializable(typeof(ProvidersAnswer)), JsonSerializable(typeof(ConfigAnswer)), JsonSerializable(typeof(IReadOnlyList<AgentInfo>))]
[JsonSerializable(typeof(IReadOnlyList<ListedSession>)), JsonSerializable(typeof(SessionExport))] // the CLI's answers
[JsonSerializable(typeof(ResourceInput))] // what the owner is shown
internal sealed partial class OpenCodeJson : JsonSerializerContext;
