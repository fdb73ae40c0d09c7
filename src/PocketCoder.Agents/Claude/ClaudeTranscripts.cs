using System.Text.Json;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents.Claude;

/// <summary>
/// Claude Code's own transcripts: one JSON line per event in <c>&lt;config&gt;/projects/&lt;folder&gt;/&lt;id&gt;.jsonl</c>,
/// the folder being the project's path with every character but ASCII letters and digits turned into '-'. The config
/// folder is CLAUDE_CONFIG_DIR, else ~/.claude, of the environment the agent runs in.
/// </summary>
internal sealed class ClaudeTranscripts(AgentCommand command)
{
    // A history is for reading back on a phone: the newest entries are what matters, and a huge transcript costs no more.
    internal const int MaxEntries = 1000;
    private const int TitleLength = 120;
    private const int TitleScanLines = 400;

    public IReadOnlyList<AgentConversation> List(string projectPath)
    {
        var folder = Folder(projectPath);
        if (!Directory.Exists(folder))
        {
            return [];
        }

        return [.. new DirectoryInfo(folder).EnumerateFiles("*.jsonl")
            .Where(f => Guid.TryParse(Path.GetFileNameWithoutExtension(f.Name), out _) && f.LinkTarget is null)
            .Select(f => new AgentConversation(Path.GetFileNameWithoutExtension(f.Name), Title(f.FullName), f.LastWriteTimeUtc, f.Length))
            .OrderByDescending(c => c.LastActivity)];
    }

    public ConversationHistory? Read(string projectPath, string id)
    {
        if (!Guid.TryParse(id, out _))
        {
            return null;
        }

        var file = new FileInfo(Path.Combine(Folder(projectPath), id + ".jsonl"));
        if (!file.Exists || file.LinkTarget is not null)
        {
            return null;
        }

        var entries = new List<HistoryEntry>();
        foreach (var line in File.ReadLines(file.FullName))
        {
            entries.AddRange(Entries(line));
        }

        var skipped = Math.Max(0, entries.Count - MaxEntries);
        return new ConversationHistory(skipped > 0 ? entries[skipped..] : entries, skipped);
    }

    private string Folder(string projectPath)
    {
        var config = Setting("CLAUDE_CONFIG_DIR") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Setting("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".claude");
        var name = new string([.. projectPath.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);
        return Path.Combine(config, "projects", name);
    }

    // The agent's environment as PocketCoder starts it: an override (even one that removes the variable) wins.
    private string? Setting(string name) =>
        command.Environment.TryGetValue(name, out var value) ? value : Environment.GetEnvironmentVariable(name);

    private static string? Title(string path)
    {
        foreach (var line in File.ReadLines(path).Take(TitleScanLines))
        {
            if (Entries(line).OfType<HistoryUserText>().FirstOrDefault() is { } first)
            {
                var text = first.Text.ReplaceLineEndings(" ").Trim();
                return text.Length > TitleLength ? text[..TitleLength] + "…" : text;
            }
        }

        return null;
    }

    /// <summary>What one transcript line holds for a reader; bookkeeping lines, side chains and meta messages hold nothing.</summary>
    internal static IEnumerable<HistoryEntry> Entries(string line)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(line);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            yield break;
        }

        if (root.ValueKind != JsonValueKind.Object || root.TryGetProperty("isSidechain", out var side) && side.ValueKind == JsonValueKind.True
            || root.TryGetProperty("isMeta", out var meta) && meta.ValueKind == JsonValueKind.True
            || !root.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object
            || !message.TryGetProperty("content", out var content))
        {
            yield break;
        }

        var type = JsonFields.Text(root, "type");
        if (content.ValueKind == JsonValueKind.String)
        {
            if (content.GetString() is { Length: > 0 } text)
            {
                yield return type == "user" ? new HistoryUserText(text) : new HistoryAssistantText(text);
            }

            yield break;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        foreach (var block in content.EnumerateArray())
        {
            switch (JsonFields.Text(block, "type"))
            {
                case "text" when JsonFields.Text(block, "text") is { Length: > 0 } text:
                    yield return type == "user" ? new HistoryUserText(text) : new HistoryAssistantText(text);
                    break;
                case "tool_use" when JsonFields.Text(block, "id") is { } id:
                    var tool = JsonFields.Text(block, "name") ?? "tool";
                    var input = block.TryGetProperty("input", out var given) && given.ValueKind == JsonValueKind.Object ? given : JsonDocument.Parse("{}").RootElement;
                    var described = ClaudeTools.Describe(tool, input);
                    yield return new HistoryToolCall(id, tool, described.Kind, described.Title, input);
                    break;
                case "tool_result" when JsonFields.Text(block, "tool_use_id") is { } id:
                    yield return new HistoryToolResult(id, block.TryGetProperty("content", out var result) ? Flatten(result) : "",
                        block.TryGetProperty("is_error", out var error) && error.ValueKind == JsonValueKind.True);
                    break;
            }
        }
    }

    private static string Flatten(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Array => string.Join('\n', value.EnumerateArray().Select(b => JsonFields.Text(b, "text")).OfType<string>()),
        _ => "",
    };
}
