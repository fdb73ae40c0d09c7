using System.Text.Json;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents.Claude;

/// <summary>What each of Claude Code's tools is, in the terms the gatekeeper and the phone use.</summary>
internal static class ClaudeTools
{
    public sealed record Description(ToolKind Kind, string Title, string? Command, string? Path);

    public static Description Describe(string tool, JsonElement input)
    {
        var command = Text(input, "command");
        var filePath = Text(input, "file_path") ?? Text(input, "notebook_path");
        return tool switch
        {
            "Bash" or "BashOutput" or "KillShell" or "KillBash" =>
                new(ToolKind.Execute, command ?? Text(input, "description") ?? tool, command, null),
            "Edit" or "MultiEdit" or "Write" or "NotebookEdit" =>
                new(ToolKind.Edit, $"{tool} {filePath}".Trim(), null, filePath),
            "Read" or "NotebookRead" =>
                new(ToolKind.Read, $"Read {filePath}".Trim(), null, filePath),
            "Glob" or "Grep" or "LS" =>
                new(ToolKind.Read, $"{tool} {Text(input, "pattern") ?? Text(input, "path")}".Trim(), null, Text(input, "path")),
            "WebFetch" => new(ToolKind.Fetch, $"Fetch {Text(input, "url")}".Trim(), null, null),
            "WebSearch" => new(ToolKind.Fetch, $"Search {Text(input, "query")}".Trim(), null, null),
            "ExitPlanMode" => new(ToolKind.Other, "Proposed plan", null, null),
            "AskUserQuestion" => new(ToolKind.Question, AgentQuestions.Title(input), null, null),
            "TodoWrite" or "TaskCreate" or "TaskUpdate" or "TaskList" or "TaskGet" => new(ToolKind.Bookkeeping, "Update the to-do list", null, null),
            _ when tool.StartsWith("mcp__", StringComparison.Ordinal) => new(ToolKind.Mcp, tool, null, null),
            _ => new(ToolKind.Other, tool, null, null),
        };
    }
}
