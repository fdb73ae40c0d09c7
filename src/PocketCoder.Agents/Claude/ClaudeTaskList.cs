using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents.Claude;

/// <summary>
/// Claude's to-do list, kept so each change can go out as a whole <see cref="PlanUpdate"/>. Older
/// versions send the full list with <c>TodoWrite</c>; newer ones create and update tasks one by one
/// (<c>TaskCreate</c>, whose id arrives only in its tool result, and <c>TaskUpdate</c>).
/// </summary>
internal sealed partial class ClaudeTaskList
{
    private readonly List<(string Id, string Subject, string Status)> _tasks = [];
    private readonly Dictionary<string, string> _creating = new(StringComparer.Ordinal);

    /// <summary>The new list when this tool call changed it, else null.</summary>
    public IReadOnlyList<PlanEntry>? OnToolUse(string toolUseId, string tool, JsonElement input)
    {
        switch (tool)
        {
            case "TodoWrite" when input.TryGetProperty("todos", out var todos) && todos.ValueKind == JsonValueKind.Array:
                _tasks.Clear();
                _tasks.AddRange(todos.EnumerateArray().Select((todo, i) =>
                    ((i + 1).ToString(CultureInfo.InvariantCulture), Text(todo, "content") ?? "", Text(todo, "status") ?? "pending")));

                return Entries();
            case "TaskCreate":
                _creating[toolUseId] = Text(input, "subject") ?? Text(input, "description") ?? "";
                return null;
            case "TaskUpdate" when Text(input, "taskId") is { } taskId:
                var index = _tasks.FindIndex(t => t.Id == taskId);
                if (index < 0)
                {
                    return null;
                }

                var status = Text(input, "status");
                if (status == "deleted")
                {
                    _tasks.RemoveAt(index);
                }
                else
                {
                    var task = _tasks[index];
                    _tasks[index] = (task.Id, Text(input, "subject") ?? task.Subject, status ?? task.Status);
                }

                return Entries();
            default:
                return null;
        }
    }

    public IReadOnlyList<PlanEntry>? OnToolResult(string toolUseId, string content, bool isError)
    {
        if (!_creating.Remove(toolUseId, out var subject) || isError)
        {
            return null;
        }

        // "Task #3 created successfully: ..." — take the id Claude gave it; ids count up from 1 otherwise.
        var id = FirstNumber().Match(content) is { Success: true } match
            ? match.Groups[1].Value
            : (_tasks.Count + 1).ToString(CultureInfo.InvariantCulture);
        _tasks.Add((id, subject, "pending"));
        return Entries();
    }

    private List<PlanEntry> Entries() => [.. _tasks.Select(t => new PlanEntry(t.Subject, t.Status))];

    [GeneratedRegex(@"#?(\d+)")]
    private static partial Regex FirstNumber();
}
