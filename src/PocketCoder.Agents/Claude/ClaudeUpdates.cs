namespace PocketCoder.Agents.Claude;

/// <summary>
/// Claude Code's stream-json lines as <see cref="AgentEvent"/>s: functions of a line and Claude's to-do list (which they
/// update), with no I/O. Control requests (questions for the gatekeeper) stay with <see cref="ClaudeCodeSession"/>; a
/// transcript's tool calls and results are read as the live ones (<see cref="ClaudeTranscripts"/>).
/// </summary>
internal static class ClaudeUpdates
{
    /// <param name="sessionId">The conversation as the session knows it, for an init line that names none.</param>
    public static IReadOnlyList<AgentEvent> Map(ClaudeLine line, ClaudeTaskList tasks, string sessionId) => line switch
    {
        SystemLine { Subtype: "init" } init => [new AgentReady(init.SessionId ?? sessionId, init.Model, init.ClaudeCodeVersion)],
        SystemLine { Subtype: "task_started" or "task_notification", TaskId: { Length: > 0 } taskId, ToolUseId: { Length: > 0 } startedBy } task =>
            [new AgentTaskUpdate(startedBy, taskId, task.TaskType, TaskStatus(task), task.Description, task.Summary is { Length: > 0 } summary ? summary : null)],
        // A subagent's partial text is not the main reply the phone streams: its whole message follows, under its parent.
        StreamEventLine { ParentToolUseId: null, Event: { Type: "content_block_delta", Delta: { Type: "text_delta", Text: { Length: > 0 } text } } } =>
            [new MessageDelta(text)],
        AssistantLine { Message: { } message } said => [.. ClaudeJson.Blocks(message.Content).SelectMany(block => Said(block, tasks, said.ParentToolUseId))],
        // Claude prints the tool results as the user's turn.
        UserLine { Message: { } message } results =>
            [.. ClaudeJson.Blocks(message.Content).Where(block => block.Type == "tool_result").SelectMany(block => Said(block, tasks, results.ParentToolUseId))],
        ResultLine result => Ended(result),
        _ => [],
    };

    /// <summary>A task line's state: started is running; an end Claude names otherwise than completed or stopped is a failure.</summary>
    private static string TaskStatus(SystemLine task) => task.Subtype == "task_started" ? AgentTaskStatuses.Running : task.Status switch
    {
        AgentTaskStatuses.Completed => AgentTaskStatuses.Completed,
        AgentTaskStatuses.Stopped => AgentTaskStatuses.Stopped,
        _ => AgentTaskStatuses.Failed,
    };

    /// <summary>A tool_use block as the call, described in the gatekeeper's terms.</summary>
    /// <param name="parent">Made by a subagent: the main thread's call that started it.</param>
    internal static ToolCall Call(ContentBlock block, string? parent = null)
    {
        var tool = block.Name ?? "unknown";
        var input = ClaudeJson.InputOf(block.Input);
        var described = ClaudeTools.Describe(tool, input);
        return new ToolCall(block.Id ?? "", tool, described.Kind, described.Title, input, parent);
    }

    /// <summary>A tool_result block as the call's outcome.</summary>
    internal static ToolResult Result(ContentBlock block) => new(block.ToolUseId ?? "", ClaudeJson.TextOf(block.Content), block.IsError == true);

    private static IEnumerable<AgentEvent> Said(ContentBlock block, ClaudeTaskList tasks, string? parent)
    {
        switch (block)
        {
            case { Type: "text", Text: { Length: > 0 } text }:
                yield return new AssistantMessage(text, parent);
                break;
            case { Type: "thinking", Thinking: { Length: > 0 } thinking }:
                yield return new Thinking(thinking, parent);
                break;
            case { Type: "tool_use" }:
                var call = Call(block, parent);
                yield return call;
                if (tasks.OnToolUse(call.ToolCallId, call.Tool, call.Input) is { } todos)
                {
                    yield return new PlanUpdate(todos);
                }

                break;
            case { Type: "tool_result" }:
                var result = Result(block);
                yield return result;
                if (tasks.OnToolResult(result.ToolCallId, result.Content, result.IsError) is { } changed)
                {
                    yield return new PlanUpdate(changed);
                }

                break;
        }
    }

    private static IReadOnlyList<AgentEvent> Ended(ResultLine result)
    {
        // A turn that ends because the gate hook deferred a call: the agent is to be paused, not left idle.
        var paused = result.StopReason == TurnCompleted.Paused ? result.DeferredToolUse?.Id : null;
        var ended = new TurnCompleted(paused is null ? result.Subtype ?? "success" : TurnCompleted.Paused, result.IsError == true, result.Result, paused);
        // Tokens are this turn's. The cost is the calls stated since the last result where Claude says it: total_cost_usd is a
        // running total that a resumed or forked process starts from the total its transcript saved, so the first turn after a
        // restart, a pause or a rewind counted every earlier turn again (ten times its own cost, issue #67).
        // Rounded past a cent's millionth: the figures are a JavaScript double's (0.056162999999999996 for 0.056163), and the
        // session's total, added up from them, must equal the turns it adds up.
        var own = result.ModelUsageSinceLastResult?.Values.Sum(model => model.CostUsd ?? 0) is { } sum ? decimal.Round(sum, 10) : (decimal?)null;
        return result.Usage is { } usage
            ? [new UsageReport(usage.InputTokens ?? 0, usage.OutputTokens ?? 0, usage.CacheReadInputTokens ?? 0, usage.CacheCreationInputTokens ?? 0,
                own ?? result.TotalCostUsd,
                CostIsRunningTotal: own is null), ended]
            : [ended];
    }
}
