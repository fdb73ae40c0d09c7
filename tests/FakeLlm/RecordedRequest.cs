using System.Text;
using System.Text.Json;

namespace FakeLlm;

/// <summary>Which API a request came in on.</summary>
public enum ModelWire
{
    /// <summary>Anthropic Messages: <c>/v1/messages</c> (Claude Code).</summary>
    Anthropic,

    /// <summary>OpenAI Responses: <c>/v1/responses</c> (Codex).</summary>
    OpenAiResponses,

    /// <summary>OpenAI Chat Completions: <c>/v1/chat/completions</c> (OpenCode's OpenAI-compatible provider).</summary>
    OpenAiChat,
}

/// <summary>
/// One model request as the fake model received it, on any of its wires (Anthropic, OpenAI Responses and
/// Chat Completions, Gemini — see RecordedRequest.Gemini.cs).
/// </summary>
/// <param name="Path">Request path and query string, e.g. <c>/v1/messages?beta=true</c>.</param>
/// <param name="Body">The parsed JSON body (detached from the request, safe to keep).</param>
/// <param name="ConsumedScript">True when the request was answered with the next scripted reply.</param>
public sealed partial record RecordedRequest(string Path, JsonElement Body, bool ConsumedScript)
{
    /// <summary>The API the request used.</summary>
    public ModelWire Wire { get; init; } = ModelWire.Anthropic;

    /// <summary>The credential the request carried: its <c>x-api-key</c> (Anthropic) or <c>x-goog-api-key</c> (Gemini) header, else its <c>Authorization</c>.</summary>
    public string? Credential { get; init; }

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
                .Select(t => t.TryGetProperty("name", out var n) ? n.GetString()
                    : t.TryGetProperty("function", out var f) && f.TryGetProperty("name", out var fn) ? fn.GetString() : null)
                .OfType<string>()]
            : [];

    /// <summary>
    /// The tools the model is offered: those in <c>tools</c>, and those Claude Code (2.1.332 on) offers by name only, to be loaded
    /// with its ToolSearch tool, listed in a message of the conversation ("The following deferred tools are now available via
    /// ToolSearch...:" then one name a line). The latest list counts: it replaces any earlier one.
    /// </summary>
    public IReadOnlyList<string> OfferedToolNames => [.. ToolNames.Union(DeferredToolNames)];

    /// <summary>The names of the tools offered by name only (see <see cref="OfferedToolNames"/>); empty when none are.</summary>
    public IReadOnlyList<string> DeferredToolNames
    {
        get
        {
            const string Announcement = "deferred tools are now available via ToolSearch";
            var latest = Strings(Body).LastOrDefault(s => s.Contains(Announcement, StringComparison.Ordinal));
            if (latest is null)
            {
                return [];
            }

            var list = latest[latest.IndexOf(Announcement, StringComparison.Ordinal)..];
            return [.. list[(list.IndexOf(":\n", StringComparison.Ordinal) + 2)..].Split('\n').TakeWhile(line => line.Trim().Length > 0).Select(line => line.Trim())];
        }
    }

    /// <summary>The system prompt flattened to text (it may be a string or an array of text blocks).</summary>
    public string SystemText => Body.TryGetProperty("system", out var system) ? FlattenText(system) : "";

    /// <summary>The <c>messages</c> array (empty when absent).</summary>
    public IReadOnlyList<JsonElement> Messages =>
        Body.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array
            ? [.. messages.EnumerateArray()]
            : [];

    /// <summary>
    /// The conversation items: Anthropic and Chat Completions <c>messages</c>, or the Responses API <c>input</c> array.
    /// </summary>
    public IReadOnlyList<JsonElement> Items =>
        Body.TryGetProperty(Wire == ModelWire.OpenAiResponses ? "input" : "messages", out var items) && items.ValueKind == JsonValueKind.Array
            ? [.. items.EnumerateArray()]
            : [];

    /// <summary>True when any string anywhere in the body contains <paramref name="text"/> (whatever the wire or escaping).</summary>
    public bool Contains(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Strings(Body).Any(s => s.Contains(text, StringComparison.Ordinal));
    }

    /// <summary>The text blocks of the last user message, joined with newlines.</summary>
    public string LastUserText()
    {
        if (IsGemini)
        {
            return GeminiLastUserText();
        }

        if (Wire != ModelWire.Anthropic)
        {
            return LastOpenAiUserText();
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

    /// <summary>
    /// The tool results of the latest tool round, in order: Anthropic <c>tool_result</c> blocks,
    /// Responses <c>function_call_output</c> items, Gemini <c>functionResponse</c> parts, or Chat Completions <c>role:"tool"</c> messages. The OpenAI
    /// wires carry no error flag, so <see cref="ToolResult.IsError"/> is false for them.
    /// </summary>
    public IReadOnlyList<ToolResult> LastToolResults()
    {
        if (IsGemini)
        {
            return GeminiLastToolResults();
        }

        if (Wire == ModelWire.OpenAiResponses)
        {
            return [.. AfterLastUser()
                .Where(i => BlockType(i) == "function_call_output")
                .Select(i => new ToolResult(Str(i, "call_id"), i.TryGetProperty("output", out var o) ? FlattenText(o) : "", false))];
        }

        if (Wire == ModelWire.OpenAiChat)
        {
            return [.. AfterLastUser()
                .Where(i => Str(i, "role") == "tool")
                .Select(i => new ToolResult(Str(i, "tool_call_id"), i.TryGetProperty("content", out var c) ? FlattenText(c) : "", false))];
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

    private string LastOpenAiUserText()
    {
        var last = Items.LastOrDefault(i => Str(i, "role") == "user");
        return last.ValueKind == JsonValueKind.Object && last.TryGetProperty("content", out var content) ? FlattenText(content) : "";
    }

    /// <summary>
    /// The items of the latest tool round: from the user message before the last tool call on. A client may add
    /// a user message after the results (Codex steers the owner's reason in), so "after the last user message" is not enough.
    /// </summary>
    private IEnumerable<JsonElement> AfterLastUser()
    {
        var items = Items;
        var lastCall = -1;
        for (var i = 0; i < items.Count; i++)
        {
            if (BlockType(items[i]) == "function_call" || (Str(items[i], "role") == "assistant" && items[i].TryGetProperty("tool_calls", out _)))
            {
                lastCall = i;
            }
        }

        if (lastCall < 0)
        {
            return [];
        }

        var start = lastCall;
        while (start > 0 && Str(items[start - 1], "role") != "user")
        {
            start--;
        }

        return items.Skip(start);
    }

    private static string Str(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString() ?? ""
            : "";

    private static IEnumerable<string> Strings(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                yield return value.GetString() ?? "";
                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    foreach (var s in Strings(item))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    foreach (var s in Strings(property.Value))
                    {
                        yield return s;
                    }
                }

                break;
        }
    }

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
                    if (BlockType(block) is "text" or "input_text" or "output_text" && block.TryGetProperty("text", out var t))
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

/// <summary>A tool result sent back to the model.</summary>
/// <param name="ToolUseId">The call it answers: <c>tool_use_id</c> (e.g. <c>toolu_fake_1</c>), <c>call_id</c> or <c>tool_call_id</c> (e.g. <c>call_fake_1</c>).</param>
/// <param name="Content">Its text (text blocks joined with newlines).</param>
/// <param name="IsError">True when the client flagged it as an error, e.g. a denied tool call.</param>
public sealed record ToolResult(string ToolUseId, string Content, bool IsError);
