using System.Text.Json;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents.Claude;

/// <summary>What each of Claude Code's tools is, in the terms the gatekeeper and the phone use.</summary>
internal static class ClaudeTools
{
    public sealed record Description(ToolKind Kind, string Title, string? Command, string? Path);

    /// <param name="plans">Where Claude writes its plans, when known: a write there is bookkeeping (<see cref="ClaudePlanFiles"/>).</param>
    public static Description Describe(string tool, JsonElement input, ClaudePlanFiles? plans = null)
    {
        var command = Text(input, "command");
        var filePath = Text(input, "file_path") ?? Text(input, "notebook_path");
        return tool switch
        {
            "Write" or "Edit" or "MultiEdit" when plans is not null && plans.Holds(filePath) =>
                new(ToolKind.Bookkeeping, $"Write the plan {Path.GetFileName(filePath)}", null, filePath),
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
            // 2.1.332 offers most tools (MCP servers' too) by name only, their schemas loaded by this search: it runs nothing, and
            // each tool it loads is asked about when called. Other new tools (ListAgents, SendMessage, Workflow, Monitor, CronCreate,
            // ScheduleWakeup...) reach other sessions or start work: they stay Other, which the owner is asked about.
            // Starts a subagent, whose own calls each come to the gate (carrying this call as their parent): Other, asked about.
            "Agent" or "Task" => new(ToolKind.Other, $"Subagent: {Text(input, "description") ?? Text(input, "subagent_type") ?? tool}", null, null),
            "ToolSearch" => new(ToolKind.Bookkeeping, $"Look up tools: {Text(input, "query")}".Trim(), null, null),
            _ when tool.StartsWith("mcp__", StringComparison.Ordinal) => new(ToolKind.Mcp, tool, null, null),
            _ => new(ToolKind.Other, tool, null, null),
        };
    }
}
