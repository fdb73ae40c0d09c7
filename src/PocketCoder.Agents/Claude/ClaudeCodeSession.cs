using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Claude;

/// <summary>
/// One running <c>claude</c> process. Reads its stream-json lines in order and turns them into
/// <see cref="AgentEvent"/>s; answers its <c>can_use_tool</c> control requests with the gatekeeper's decision.
/// </summary>
internal sealed class ClaudeCodeSession : ProcessAgentSession
{
    /// <summary>The id of the one hook callback we register: PreToolUse on every tool.</summary>
    internal const string GateHookId = "pocketcoder_gate";

    private readonly ClaudeTaskList _tasks = new();
    private string _agentSessionId;
    private long _requestCounter;

    /// <summary>Without a process: only for feeding <see cref="OnLineAsync"/> directly (benchmarks of the line parser).</summary>
    internal ClaudeCodeSession(string agentSessionId, IAgentSink sink)
        : base(sink, ClaudeCodeAdapter.AgentId, "Claude Code", appliesEditedInput: true)
    {
        _agentSessionId = agentSessionId;
    }

    public override string AgentSessionId => _agentSessionId;

    public static ClaudeCodeSession Start(ProcessSpec spec, string agentSessionId, IAgentSink sink)
    {
        var session = new ClaudeCodeSession(agentSessionId, sink);
        session.Launch(spec, session.OnLineAsync);
        session.MarkStarted();
        // Before the first message: register the gate hook, so not even the first tool call escapes it.
        _ = session.SendControlRequestAsync(new JsonObject
        {
            ["subtype"] = "initialize",
            ["hooks"] = new JsonObject
            {
                ["PreToolUse"] = new JsonArray(new JsonObject { ["hookCallbackIds"] = new JsonArray(GateHookId) }),
            },
        }, CancellationToken.None);
        return session;
    }

    public override Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken)
    {
        // Images go first, as Anthropic advises, each a base64 image block; then the text.
        JsonNode content = prompt.Images.Count == 0 ? prompt.Text : new JsonArray([
            .. prompt.Images.Select(i => (JsonNode)new JsonObject
            {
                ["type"] = "image",
                ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = i.MediaType, ["data"] = i.Base64 },
            }),
            .. string.IsNullOrEmpty(prompt.Text) ? Array.Empty<JsonNode>() : [new JsonObject { ["type"] = "text", ["text"] = prompt.Text }],
        ]);
        var line = new JsonObject
        {
            ["type"] = "user",
            ["message"] = new JsonObject { ["role"] = "user", ["content"] = content },
            ["parent_tool_use_id"] = null,
            ["session_id"] = AgentSessionId,
        };
        Process.MarkTurnStart();
        return Process.WriteLineAsync(line.ToJsonString(), cancellationToken);
    }

    public override Task SetModeAsync(string mode, CancellationToken cancellationToken) =>
        SendControlRequestAsync(new JsonObject { ["subtype"] = "set_permission_mode", ["mode"] = ClaudeCodeAdapter.PermissionMode(mode) }, cancellationToken);

    protected override Task InterruptTurnAsync(CancellationToken cancellationToken) =>
        SendControlRequestAsync(new JsonObject { ["subtype"] = "interrupt" }, cancellationToken);

    private Task SendControlRequestAsync(JsonObject request, CancellationToken cancellationToken)
    {
        var line = new JsonObject
        {
            ["type"] = "control_request",
            ["request_id"] = $"pocketcoder-{Interlocked.Increment(ref _requestCounter)}",
            ["request"] = request,
        };
        return Process.WriteLineAsync(line.ToJsonString(), cancellationToken);
    }

    internal async Task OnLineAsync(string line)
    {
        JsonElement message;
        try
        {
            message = JsonElement.Parse(line);
        }
        catch (JsonException)
        {
            // Not protocol output (a stray print); keep it where a user debugging the agent will look.
            return;
        }

        var ct = Lifetime;
        switch (JsonFields.Text(message, "type"))
        {
            case "system":
                await OnSystemAsync(message, ct).ConfigureAwait(false);
                break;
            case "stream_event":
                await OnStreamEventAsync(message, ct).ConfigureAwait(false);
                break;
            case "assistant":
                await OnAssistantAsync(message, ct).ConfigureAwait(false);
                break;
            case "user":
                await OnToolResultsAsync(message, ct).ConfigureAwait(false);
                break;
            case "result":
                await OnResultAsync(message, ct).ConfigureAwait(false);
                break;
            case "control_request":
                OnControlRequest(message);
                break;
            case "control_cancel_request":
                if (JsonFields.Text(message, "request_id") is { } cancelled)
                {
                    await Permissions.WithdrawAsync(cancelled).ConfigureAwait(false);
                }

                break;
        }
    }

    private async Task OnSystemAsync(JsonElement message, CancellationToken ct)
    {
        if (JsonFields.Text(message, "subtype") == "init")
        {
            _agentSessionId = JsonFields.Text(message, "session_id") ?? AgentSessionId;
            await Sink.OnEventAsync(
                new AgentReady(AgentSessionId, JsonFields.Text(message, "model"), JsonFields.Text(message, "claude_code_version")),
                ct).ConfigureAwait(false);
        }
    }

    private async Task OnStreamEventAsync(JsonElement message, CancellationToken ct)
    {
        if (!message.TryGetProperty("event", out var streamEvent)
            || JsonFields.Text(streamEvent, "type") != "content_block_delta"
            || !streamEvent.TryGetProperty("delta", out var delta))
        {
            return;
        }

        switch (JsonFields.Text(delta, "type"))
        {
            case "text_delta" when JsonFields.Text(delta, "text") is { Length: > 0 } text:
                await Sink.OnEventAsync(new MessageDelta(text), ct).ConfigureAwait(false);
                break;
        }
    }

    private async Task OnAssistantAsync(JsonElement message, CancellationToken ct)
    {
        if (!message.TryGetProperty("message", out var body) || !body.TryGetProperty("content", out var content)
            || content.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var block in content.EnumerateArray())
        {
            switch (JsonFields.Text(block, "type"))
            {
                case "text" when JsonFields.Text(block, "text") is { Length: > 0 } text:
                    await Sink.OnEventAsync(new AssistantMessage(text), ct).ConfigureAwait(false);
                    break;
                case "thinking" when JsonFields.Text(block, "thinking") is { Length: > 0 } thinking:
                    await Sink.OnEventAsync(new Thinking(thinking), ct).ConfigureAwait(false);
                    break;
                case "tool_use":
                    var tool = JsonFields.Text(block, "name") ?? "unknown";
                    var input = block.TryGetProperty("input", out var i) ? i.Clone() : EmptyObject();
                    var described = ClaudeTools.Describe(tool, input);
                    await Sink.OnEventAsync(
                        new ToolCall(JsonFields.Text(block, "id") ?? "", tool, described.Kind, described.Title, input), ct)
                        .ConfigureAwait(false);
                    if (_tasks.OnToolUse(JsonFields.Text(block, "id") ?? "", tool, input) is { } todos)
                    {
                        await Sink.OnEventAsync(new PlanUpdate(todos), ct).ConfigureAwait(false);
                    }

                    break;
            }
        }
    }

    private async Task OnToolResultsAsync(JsonElement message, CancellationToken ct)
    {
        if (!message.TryGetProperty("message", out var body) || !body.TryGetProperty("content", out var content)
            || content.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var block in content.EnumerateArray())
        {
            if (JsonFields.Text(block, "type") != "tool_result")
            {
                continue;
            }

            var isError = block.TryGetProperty("is_error", out var e) && e.ValueKind == JsonValueKind.True;
            var toolUseId = JsonFields.Text(block, "tool_use_id") ?? "";
            var text = ToolResultText(block);
            await Sink.OnEventAsync(new ToolResult(toolUseId, text, isError), ct).ConfigureAwait(false);
            if (_tasks.OnToolResult(toolUseId, text, isError) is { } todos)
            {
                await Sink.OnEventAsync(new PlanUpdate(todos), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task OnResultAsync(JsonElement message, CancellationToken ct)
    {
        if (message.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            // Tokens are this turn's; total_cost_usd is this process's running total.
            decimal? cost = message.TryGetProperty("total_cost_usd", out var c) && c.ValueKind == JsonValueKind.Number
                ? c.GetDecimal()
                : null;
            await Sink.OnEventAsync(
                new UsageReport(Number(usage, "input_tokens"), Number(usage, "output_tokens"),
                    Number(usage, "cache_read_input_tokens"), Number(usage, "cache_creation_input_tokens"), cost, CostIsRunningTotal: true),
                ct).ConfigureAwait(false);
        }

        var isError = message.TryGetProperty("is_error", out var e) && e.ValueKind == JsonValueKind.True;
        await Sink.OnEventAsync(
            new TurnCompleted(JsonFields.Text(message, "subtype") ?? "success", isError, JsonFields.Text(message, "result")), ct)
            .ConfigureAwait(false);
    }

    private void OnControlRequest(JsonElement message)
    {
        var requestId = JsonFields.Text(message, "request_id");
        if (requestId is null || !message.TryGetProperty("request", out var request))
        {
            return;
        }

        if (JsonFields.Text(request, "subtype") == "hook_callback")
        {
            _ = RespondToHookAsync(requestId, JsonFields.Text(request, "callback_id"));
            return;
        }

        if (JsonFields.Text(request, "subtype") != "can_use_tool")
        {
            // We offer no MCP servers over this pipe; say so rather than leave the agent waiting.
            _ = RespondErrorAsync(requestId, $"Unsupported control request '{JsonFields.Text(request, "subtype")}'.");
            return;
        }

        var tool = JsonFields.Text(request, "tool_name") ?? "unknown";
        var input = request.TryGetProperty("input", out var i) ? i.Clone() : EmptyObject();
        var described = ClaudeTools.Describe(tool, input);
        var permission = new PermissionRequest(
            JsonFields.Text(request, "tool_use_id") ?? requestId,
            tool,
            described.Kind,
            described.Title,
            input,
            described.Command,
            described.Path ?? JsonFields.Text(request, "blocked_path"),
            tool == "ExitPlanMode" ? JsonFields.Text(input, "plan") : null);

        Permissions.Ask(requestId, permission, decision => RespondAsync(requestId, decision.Allow
            ? new JsonObject
            {
                // The edited input when the owner edited the call: Claude runs what it is handed here.
                ["behavior"] = "allow",
                ["updatedInput"] = JsonNode.Parse((decision.UpdatedInput ?? input).GetRawText()),
            }
            : new JsonObject
            {
                ["behavior"] = "deny",
                ["message"] = decision.Message ?? "Denied by the owner.",
            }));
    }

    /// <summary>
    /// The gate hook answers "ask" for every tool, at once: Claude then puts the call to the permission prompt tool
    /// (the <c>can_use_tool</c> request above, i.e. the gatekeeper) whatever its own rules or other hooks say. The
    /// decision itself is never made here, so a human taking an hour meets no hook timeout.
    /// </summary>
    private Task RespondToHookAsync(string requestId, string? callbackId)
    {
        if (callbackId != GateHookId)
        {
            return RespondErrorAsync(requestId, $"Unknown hook callback '{callbackId}'.");
        }

        return RespondQuietlyAsync(requestId, new JsonObject
        {
            ["hookSpecificOutput"] = new JsonObject
            {
                ["hookEventName"] = "PreToolUse",
                ["permissionDecision"] = "ask",
                ["permissionDecisionReason"] = "PocketCoder puts every tool call to the owner's gatekeeper.",
            },
        });
    }

    private async Task RespondQuietlyAsync(string requestId, JsonObject response)
    {
        try
        {
            await RespondAsync(requestId, response).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }

    private Task RespondAsync(string requestId, JsonObject response)
    {
        var line = new JsonObject
        {
            ["type"] = "control_response",
            ["response"] = new JsonObject
            {
                ["subtype"] = "success",
                ["request_id"] = requestId,
                ["response"] = response,
            },
        };
        return Process.WriteLineAsync(line.ToJsonString(), CancellationToken.None);
    }

    private async Task RespondErrorAsync(string requestId, string error)
    {
        var line = new JsonObject
        {
            ["type"] = "control_response",
            ["response"] = new JsonObject { ["subtype"] = "error", ["request_id"] = requestId, ["error"] = error },
        };
        try
        {
            await Process.WriteLineAsync(line.ToJsonString(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }

    private static string ToolResultText(JsonElement block)
    {
        if (!block.TryGetProperty("content", out var content))
        {
            return "";
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString() ?? "";
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return content.GetRawText();
        }

        var text = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (JsonFields.Text(part, "text") is { } piece)
            {
                text.Append(piece);
            }
        }

        return text.ToString();
    }

    private static long Number(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : 0;

    private static JsonElement EmptyObject() => JsonElement.Parse("{}");
}
