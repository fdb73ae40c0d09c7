using System.Text.Json;
using System.Text.Json.Serialization;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Pi;

// pi's RPC mode (`pi --mode rpc`): one JSON object a line each way, split on \n only. Commands go to its stdin (an `id` comes back
// on their `response`); events come on its stdout; an extension's dialogs (`extension_ui_request`) wait for an
// `extension_ui_response` with their id. Only what PocketCoder reads or writes is named; every field read is optional.

/// <summary>A command to pi: <c>get_state</c>, <c>get_available_models</c>, <c>prompt</c> (a message, its images), <c>abort</c>.</summary>
internal sealed record PiCommand(string Type, string? Id = null, string? Message = null, IReadOnlyList<PiImage>? Images = null);

internal sealed record PiImage(string Data, string MimeType, string Type = "image");

/// <summary>The answer to one of an extension's dialogs: its value (an editor's text), or that it was dismissed.</summary>
internal sealed record PiUiResponse(string Id, string? Value = null, bool? Cancelled = null, string Type = "extension_ui_response");

/// <summary>One line pi prints, told apart by <c>type</c>; a type PocketCoder does not handle reads as this base.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", IgnoreUnrecognizedTypeDiscriminators = true)]
[JsonDerivedType(typeof(PiResponse), "response")]
[JsonDerivedType(typeof(PiMessageUpdate), "message_update")]
[JsonDerivedType(typeof(PiMessageEnd), "message_end")]
[JsonDerivedType(typeof(PiToolStart), "tool_execution_start")]
[JsonDerivedType(typeof(PiToolEnd), "tool_execution_end")]
[JsonDerivedType(typeof(PiAgentStart), "agent_start")]
[JsonDerivedType(typeof(PiAgentEnd), "agent_end")]
[JsonDerivedType(typeof(PiUiRequest), "extension_ui_request")]
[JsonDerivedType(typeof(PiRetry), "auto_retry_start")]
[JsonDerivedType(typeof(PiExtensionError), "extension_error")]
internal record PiLine;

/// <summary>A command's answer: <c>data</c> is the command's own (get_state's <see cref="PiState"/>, the model list).</summary>
internal sealed record PiResponse(string? Id, string? Command, bool Success, string? Error, JsonElement? Data) : PiLine;

/// <summary>A piece of the assistant's message as it streams: <c>text_delta</c>, <c>thinking_end</c> (with its whole <c>content</c>) …</summary>
internal sealed record PiMessageUpdate(PiStreamEvent? AssistantMessageEvent) : PiLine;
internal sealed record PiStreamEvent(string? Type, string? Delta, string? Content);

/// <summary>A whole message: the user's, the assistant's (its text, usage and why it stopped) or a tool result.</summary>
internal sealed record PiMessageEnd(PiMessage? Message) : PiLine;

/// <param name="StopReason"><c>stop</c>, <c>toolUse</c>, <c>length</c>, <c>aborted</c> or <c>error</c> (then <see cref="ErrorMessage"/>).</param>
internal sealed record PiMessage(string? Role, JsonElement? Content, PiUsage? Usage, string? StopReason, string? ErrorMessage);
internal sealed record PiUsage(long? Input, long? Output, long? CacheRead, long? CacheWrite, PiCost? Cost);
internal sealed record PiCost(decimal? Total);

/// <summary>A block of a message's content: text, thinking, a tool call, an image.</summary>
internal sealed record PiContent(string? Type, string? Text, string? Thinking);

/// <summary>A tool is about to run (before PocketCoder's gate asks about it): its name and arguments.</summary>
internal sealed record PiToolStart(string? ToolCallId, string? ToolName, JsonElement? Args) : PiLine;

internal sealed record PiToolEnd(string? ToolCallId, string? ToolName, PiToolResult? Result, bool? IsError) : PiLine;
internal sealed record PiToolResult(JsonElement? Content);

internal sealed record PiAgentStart : PiLine;

/// <summary>The end of a prompt's run: every message it made is in it (PocketCoder has them from their own events).</summary>
internal sealed record PiAgentEnd : PiLine;

/// <summary>A dialog of an extension (<c>select</c>, <c>confirm</c>, <c>input</c>, <c>editor</c>) or a notice that needs no answer.</summary>
internal sealed record PiUiRequest(string? Id, string? Method, string? Title, string? Prefill, string? Message) : PiLine;

/// <summary>pi retries a model request that failed (overloaded, rate limited, unreachable).</summary>
internal sealed record PiRetry(int? Attempt, string? ErrorMessage) : PiLine;

internal sealed record PiExtensionError(string? ExtensionPath, string? Event, string? Error) : PiLine;

/// <summary>get_state's data: the conversation's file and id, and the model in use.</summary>
internal sealed record PiState(string? SessionFile, string? SessionId, PiModel? Model);
internal sealed record PiModel(string? Id, string? Provider, string? Name);
internal sealed record PiModelList(IReadOnlyList<PiModel?>? Models);

/// <summary>What PocketCoder's gate extension asks (<see cref="PiGate.Extension"/>), as the prefill of its editor dialog.</summary>
internal sealed record PiGateQuestion(string? ToolCallId, string? ToolName, JsonElement? Input);

/// <summary>The gate's answer, as the editor's text: allow (with the input to run, the owner's edit), or block with the reason.</summary>
internal sealed record PiGateAnswer(bool Allow, JsonElement? Input = null, string? Reason = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowOutOfOrderMetadataProperties = true)]
[JsonSerializable(typeof(PiLine)), JsonSerializable(typeof(PiCommand)), JsonSerializable(typeof(PiUiResponse))]
[JsonSerializable(typeof(PiState)), JsonSerializable(typeof(PiModelList)), JsonSerializable(typeof(IReadOnlyList<PiContent>))]
[JsonSerializable(typeof(PiGateQuestion)), JsonSerializable(typeof(PiGateAnswer))]
internal sealed partial class PiJson : JsonSerializerContext
{
    public static T? Read<T>(string json) where T : class => Default.Read<T>(json);

    public static T? Read<T>(JsonElement? element) where T : class => Default.Read<T>(element);

    public static string Write<T>(T value) => JsonSerializer.Serialize(value, Default.Info<T>());

    /// <summary>A message's or a tool result's text: its text blocks, one after another.</summary>
    public static string TextOf(JsonElement? content) => content is { ValueKind: JsonValueKind.String } text ? text.GetString() ?? ""
        : string.Concat((Read<IReadOnlyList<PiContent>>(content) ?? []).Where(block => block.Type == "text").Select(block => block.Text));
}
