using System.Text.Json;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// Codex's notifications as <see cref="AgentEvent"/>s: pure functions of what Codex said. What the session remembers
/// between notifications (whether an item's start was seen, the turn's tokens) comes in as arguments.
/// </summary>
internal static class CodexUpdates
{
    // The names users see and write rules for: Codex's own tool names for running a command and patching files.
    internal const string ExecTool = "exec_command";
    internal const string PatchTool = "apply_patch";

    private static readonly JsonElement EmptyObject = JsonElement.Parse("{}");
    private static readonly JsonElement EmptyArray = JsonElement.Parse("[]");

    /// <param name="itemWasStarted">For item/completed: its item/started came (so its tool call is already out).</param>
    /// <param name="turnUsage">For turn/completed: the tokens the turn used.</param>
    public static IReadOnlyList<AgentEvent> Map(CodexNotification notification, bool itemWasStarted = false, TokenUsageBreakdown? turnUsage = null) =>
        notification switch
        {
            // Its tools are missing from this session: say so, rather than let the model call them in vain.
            McpServerStatusUpdatedNotification { Name: { } server, Status: "failed" } failed =>
                [new AgentError($"The MCP server '{server}' did not start: {failed.Error ?? "no reason given"}.")],
            AgentMessageDeltaNotification { Delta: { Length: > 0 } delta } => [new MessageDelta(delta)],
            ItemStartedNotification { Item: { Id: not null } item } => Describe(item) is { } call ? [call] : [],
            ItemCompletedNotification { Item: { } item } => Completed(item, itemWasStarted),
            TurnPlanUpdatedNotification { Plan: { } plan } => [new PlanUpdate([.. plan.Select(step => new PlanEntry(step.Step ?? "", step.Status switch
            {
                "inProgress" => "in_progress",
                { } status => status,
                null => "pending",
            }))])],
            ErrorNotification { Error: { } error, WillRetry: not true } => [new AgentError(error.Message ?? "Codex reported an error without a message.")],
            TurnCompletedNotification { Turn: { } turn } => TurnEnded(turn, turnUsage),
            _ => [],
        };

    /// <summary>A tool call's item as the call; null for an item that is no tool call.</summary>
    internal static ToolCall? Describe(ThreadItem item)
    {
        (string Tool, ToolKind Kind, string Title, JsonElement Input)? call = item switch
        {
            CommandExecutionItem command when CodexCommand.Script(command.Command ?? "") is var script =>
                (ExecTool, ToolKind.Execute, script, CodexWire.Input(new CommandInput(script, command.Cwd))),
            FileChangeItem change when Paths(change.Changes) is var paths => (PatchTool, ToolKind.Edit,
                paths.Count == 0 ? "Change files" : $"Edit {string.Join(", ", paths)}", CodexWire.Input(new ChangesInput(Changes(change.Changes)))),
            McpToolCallItem mcp when McpTool(mcp.Server ?? "", mcp.Tool ?? "") is var name => (name, ToolKind.Other, name, Arguments(mcp.Arguments)),
            DynamicToolCallItem dynamic when (dynamic.Tool ?? "tool") is var name => (name, ToolKind.Other, name, Arguments(dynamic.Arguments)),
            WebSearchItem search when (search.Query ?? "") is var query =>
                ("web_search", ToolKind.Fetch, $"Search the web: {query}", CodexWire.Input(new QueryInput(query))),
            _ => null,
        };
        return call is { } c ? new ToolCall(item.Id ?? "", c.Tool, c.Kind, c.Title, c.Input) : null;
    }

    /// <summary>A finished tool call's outcome: failed when Codex says so (or the command exited non-zero), with its output.</summary>
    internal static ToolResult ResultOf(string id, ThreadItem item)
    {
        var (status, failed, content) = item switch
        {
            CommandExecutionItem command => (command.Status, command.ExitCode is not (null or 0), command.AggregatedOutput),
            FileChangeItem change => (change.Status, false, null),
            McpToolCallItem mcp => (mcp.Status, false, Raw(mcp.Result) ?? Raw(mcp.Error)),
            DynamicToolCallItem dynamic => (dynamic.Status, dynamic.Success == false, null),
            _ => (null, false, (string?)null),
        };
        return new ToolResult(id, content ?? (status == "declined" ? "Declined." : ""), failed || status is "failed" or "declined");
    }

    /// <summary>The name rules and the phone use for an MCP tool: <c>mcp__SERVER__TOOL</c>.</summary>
    internal static string McpTool(string server, string tool) => $"mcp__{server}__{tool}";

    /// <summary>A file change's changes as Codex sent them (an empty list when it sent none).</summary>
    internal static JsonElement Changes(JsonElement changes) => changes.ValueKind == JsonValueKind.Array ? changes : EmptyArray;

    /// <summary>The paths a file change touches, in its order.</summary>
    internal static IReadOnlyList<string> Paths(JsonElement changes) =>
        [.. Changes(changes).EnumerateArray().Select(change => CodexWire.Read<FileUpdateChange>(change)?.Path).OfType<string>()];

    /// <summary>A tool call's arguments as Codex sent them; an empty object when it sent none.</summary>
    internal static JsonElement Arguments(JsonElement arguments) => arguments.ValueKind == JsonValueKind.Undefined ? EmptyObject : arguments;

    private static IReadOnlyList<AgentEvent> Completed(ThreadItem item, bool itemWasStarted) => item switch
    {
        AgentMessageItem { Text: { Length: > 0 } text } => [new AssistantMessage(text)],
        ReasoningItem reasoning when string.Join('\n', [.. reasoning.Summary ?? [], .. reasoning.Content ?? []]) is { Length: > 0 } thinking =>
            [new Thinking(thinking)],
        _ when Describe(item) is { } call => [.. itemWasStarted ? [] : new AgentEvent[] { call }, ResultOf(call.ToolCallId, item)],
        _ => [],
    };

    private static IReadOnlyList<AgentEvent> TurnEnded(Turn turn, TokenUsageBreakdown? used)
    {
        var status = turn.Status ?? "completed";
        var lastMessage = turn.Items?.OfType<AgentMessageItem>().Select(message => message.Text).LastOrDefault();
        var completed = new TurnCompleted(status, status == "failed", turn.Error?.Message ?? lastMessage);
        return used is { } u && u.InputTokens + u.OutputTokens + u.CacheWriteInputTokens > 0
            ? [new UsageReport(u.InputTokens - u.CachedInputTokens, u.OutputTokens, u.CachedInputTokens, u.CacheWriteInputTokens, null), completed]
            : [completed];
    }

    private static string? Raw(JsonElement value) => value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? null : value.GetRawText();
}
