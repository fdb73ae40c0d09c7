using System.Text.Json;
using System.Text.Json.Nodes;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// Reads ACP <c>ToolCall</c> / <c>ToolCallUpdate</c> objects in the terms the gatekeeper and the phone use.
/// ACP names no tool, only a <c>kind</c> and a <c>title</c>; rules need a stable name, so it is taken from
/// what the agent offers (see <see cref="ToolName"/>).
/// </summary>
internal static class AcpTools
{
    /// <param name="name">The tool's name: an MCP tool (<c>mcp__SERVER__TOOL</c>, as claude-agent-acp names one, kind "other") is of
    /// kind <see cref="ToolKind.Mcp"/>, so that <c>mcp:SERVER/TOOL</c> rules match it as they do for Claude Code and Codex.</param>
    /// <param name="known">What the agent's own tools are by name (<see cref="AcpAgentDefinition.ToolKinds"/>), before its kind.</param>
    public static ToolKind Kind(string? kind, string? name = null, IReadOnlyDictionary<string, ToolKind>? known = null) =>
        name is not null && known?.TryGetValue(name, out var named) == true ? named : kind switch
    {
        "read" or "search" => ToolKind.Read,
        "edit" or "delete" or "move" => ToolKind.Edit,
        "execute" => ToolKind.Execute,
        "fetch" => ToolKind.Fetch,
        _ when name?.StartsWith("mcp__", StringComparison.Ordinal) == true => ToolKind.Mcp,
        _ => ToolKind.Other,
    };

    /// <summary>
    /// The tool's name: a <c>toolName</c> in <c>_meta</c> (claude-agent-acp puts it in <c>_meta.claudeCode</c>),
    /// else the part of the id before <c>__</c> (Gemini CLI's ids are <c>run_shell_command__run_shell_command_…</c>),
    /// else the kind.
    /// </summary>
    public static string ToolName(JsonElement toolCall, string toolCallId, string? kind)
    {
        if (toolCall.TryGetProperty("_meta", out var meta) && FindToolName(meta, depth: 0) is { Length: > 0 } named)
        {
            return named;
        }

        var separator = toolCallId.IndexOf("__", StringComparison.Ordinal);
        return separator > 0 ? toolCallId[..separator] : kind ?? "other";
    }

    /// <summary>The tool's input as the agent gave it (<c>rawInput</c>), else what the call shows: title, locations, content.</summary>
    public static JsonElement Input(JsonElement toolCall)
    {
        if (toolCall.TryGetProperty("rawInput", out var raw) && raw.ValueKind == JsonValueKind.Object)
        {
            return raw.Clone();
        }

        var shown = new JsonObject();
        foreach (var name in (string[])["title", "kind", "locations", "content"])
        {
            if (toolCall.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                shown[name] = JsonNode.Parse(value.GetRawText());
            }
        }

        return JsonElement.Parse(shown.ToJsonString());
    }

    /// <summary>The command of an execute call: <c>rawInput.command</c>, else the title (Gemini titles a shell call with its command).</summary>
    public static string? Command(JsonElement toolCall, ToolKind kind)
    {
        if (kind != ToolKind.Execute)
        {
            return null;
        }

        if (toolCall.TryGetProperty("rawInput", out var raw) && raw.ValueKind == JsonValueKind.Object && raw.TryGetProperty("command", out var command))
        {
            if (command.ValueKind == JsonValueKind.String)
            {
                return command.GetString();
            }

            if (command.ValueKind == JsonValueKind.Array)
            {
                return string.Join(' ', command.EnumerateArray().Select(a => a.ValueKind == JsonValueKind.String ? a.GetString() : a.GetRawText()));
            }
        }

        return Text(toolCall, "title");
    }

    /// <summary>The file the call is about: its first location, else a path in its input.</summary>
    public static string? Path(JsonElement toolCall)
    {
        if (toolCall.TryGetProperty("locations", out var locations) && locations.ValueKind == JsonValueKind.Array
            && locations.EnumerateArray().Select(location => Text(location, "path")).FirstOrDefault(path => path is { Length: > 0 }) is { } first)
        {
            return first;
        }

        return toolCall.TryGetProperty("rawInput", out var raw)
            ? Text(raw, "file_path") ?? Text(raw, "path") ?? Text(raw, "abs_path")
            : null;
    }

    /// <summary>What a finished call produced, as text: its content blocks, diffs named by path, else its raw output.</summary>
    public static string Output(JsonElement update)
    {
        var pieces = update.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array
            ? content.EnumerateArray().Select(item => Text(item, "type") switch
            {
                "content" when item.TryGetProperty("content", out var block) => Text(block, "text"),
                "diff" => $"(edited {Text(item, "path")})",
                _ => null,
            })
            : [];
        var text = string.Join('\n', pieces.Where(piece => piece is { Length: > 0 }));
        if (text.Length == 0 && update.TryGetProperty("rawOutput", out var rawOutput) && rawOutput.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
        {
            return rawOutput.ValueKind == JsonValueKind.String ? rawOutput.GetString() ?? "" : rawOutput.GetRawText();
        }

        return text;
    }

    private static string? FindToolName(JsonElement meta, int depth)
    {
        if (meta.ValueKind != JsonValueKind.Object || depth > 2)
        {
            return null;
        }

        if (Text(meta, "toolName") is { } name)
        {
            return name;
        }

        return meta.EnumerateObject().Select(property => FindToolName(property.Value, depth + 1)).FirstOrDefault(nested => nested is not null);
    }
}
