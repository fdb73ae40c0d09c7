using System.Text;
using System.Text.Json;

namespace FakeLlm;

/// <summary>
/// One model request as the fake model received it: Anthropic <c>/v1/messages</c>, or Gemini
/// <c>/v1beta/models/MODEL:METHOD</c> (see RecordedRequest.Gemini.cs).
/// </summary>
/// <param name="Path">Request path and query string, e.g. <c>/v1/messages?beta=true</c>.</param>
/// <param name="Body">The parsed JSON body (detached from the request, safe to keep).</param>
/// <param name="ConsumedScript">True when the request was answered with the next scripted reply.</param>
public sealed partial record RecordedRequest(string Path, JsonElement Body, bool ConsumedScript)
{
    /// <summary>The <c>model</c> field, if any.</summary>
    public string? Model => IsGemini ? GeminiModel : Body.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String
        ? model.GetString()
        : null;

    /// <summary>True when the request offers the model a non-empty <c>tools</c> array.</summary>
    public bool HasTools => IsGemini ? GeminiToolNames(Body).Count > 0 : Body.TryGetProperty("tools", out var tools)
        && tools.ValueKind == JsonValueKind.Array
        && tools.GetArrayLength() > 0;

    /// <summary>True when the client asked for an SSE answer.</summary>
    public bool IsStreaming => IsGemini ? Path.Contains(":streamGenerateContent", StringComparison.Ordinal) : Body.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;

    /// <summary>The names of the offered tools, in request order.</summary>
    public IReadOnlyList<string> ToolNames => IsGemini ? GeminiToolNames(Body) :
        Body.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array
            ? [.. tools.EnumerateArray()
                .Select(t => t.TryGetProperty("name", out var n) ? n.GetString() : null)
                .OfType<string>()]
            : [];

    /// <summary>The system prompt flattened to text (it may be a string or an array of text blocks).</summary>
    public string SystemText => Body.TryGetProperty("system", out var system) ? FlattenText(system) : "";

    /// <summary>The <c>messages</c> array (empty when absent).</summary>
    public IReadOnlyList<JsonElement> Messages =>
        Body.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array
            ? [.. messages.EnumerateArray()]
            : [];

    /// <summary>The text blocks of the last user message, joined with newlines.</summary>
    public string LastUserText()
    {
        if (IsGemini)
        {
            return GeminiLastUserText();
        }

        var last = LastUserMessage();
        if (last is not { } message || !message.TryGetProperty("content", out var content))
        {
            return "";
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString() ?? "";
        }

        // tool_result blocks sit in the same message; only the user's own words are wanted here.
        return string.Join('\n', content.ValueKind == JsonValueKind.Array
            ? content.EnumerateArray()
                .Where(b => BlockType(b) == "text")
                .Select(b => b.TryGetProperty("text", out var t) ? t.GetString() ?? "" : "")
            : []);
    }

    /// <summary>Every <c>tool_result</c> block (Gemini: <c>functionResponse</c> part) in the last user message, in order.</summary>
    public IReadOnlyList<ToolResult> LastToolResults()
    {
        if (IsGemini)
        {
            return GeminiLastToolResults();
        }

        var last = LastUserMessage();
        if (last is not { } message
            || !message.TryGetProperty("content", out var content)
            || content.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        return [.. content.EnumerateArray()
            .Where(b => BlockType(b) == "tool_result")
            .Select(b => new ToolResult(
                b.TryGetProperty("tool_use_id", out var id) ? id.GetString() ?? "" : "",
                b.TryGetProperty("content", out var c) ? FlattenText(c) : "",
                b.TryGetProperty("is_error", out var e) && e.ValueKind == JsonValueKind.True))];
    }

    private JsonElement? LastUserMessage() =>
        Messages.LastOrDefault(m => m.TryGetProperty("role", out var r) && r.GetString() == "user") is { ValueKind: JsonValueKind.Object } found
            ? found
            : null;

    private static string? BlockType(JsonElement block) =>
        block.ValueKind == JsonValueKind.Object && block.TryGetProperty("type", out var type) ? type.GetString() : null;

    private static string FlattenText(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString() ?? "";
            case JsonValueKind.Array:
                var text = new StringBuilder();
                foreach (var block in value.EnumerateArray())
                {
                    if (BlockType(block) == "text" && block.TryGetProperty("text", out var t))
                    {
                        if (text.Length > 0)
                        {
                            text.Append('\n');
                        }

                        text.Append(t.GetString());
                    }
                }

                return text.ToString();
            default:
                return "";
        }
    }
}

/// <summary>A <c>tool_result</c> block sent back to the model.</summary>
/// <param name="ToolUseId">The <c>tool_use_id</c> it answers, e.g. <c>toolu_fake_1</c>.</param>
/// <param name="Content">Its text (text blocks joined with newlines).</param>
/// <param name="IsError">True when the client flagged it as an error, e.g. a denied tool call.</param>
public sealed record ToolResult(string ToolUseId, string Content, bool IsError);
