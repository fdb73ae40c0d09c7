using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;
using static PocketCoder.Agents.JsonFields;

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

    /// <summary>
    /// Decisions made while the gate hook held a call, for the <c>can_use_tool</c> question that follows its "ask"; with the
    /// input the hook saw, since the decision is on that input, whatever <c>can_use_tool</c> carries.
    /// </summary>
    private readonly ConcurrentDictionary<string, (PermissionDecision Decision, string Tool, JsonElement Input)> _decidedInHook = new(StringComparer.Ordinal);

    /// <summary>Whether the gate hook holds each call until the gatekeeper decides (so that it can pause the agent instead).</summary>
    private readonly bool _holdsCalls;

    /// <summary>How many tool calls each of the main thread's assistant messages (by id) has shown, and which message each call is in.</summary>
    private readonly ConcurrentDictionary<string, int> _callsInMessage = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _messageOfCall = new(StringComparer.Ordinal);

    /// <summary>Resumed after a pause: the call it paused on, and the owner's decision for it.</summary>
    private PausedCall? _paused;
    private string _agentSessionId;
    private long _requestCounter;

    /// <summary>Without a process: only for feeding <see cref="OnLineAsync"/> directly (benchmarks of the line parser).</summary>
    internal ClaudeCodeSession(string agentSessionId, IAgentSink sink, bool holdsCalls = false, PausedCall? paused = null)
        : base(sink, ClaudeCodeAdapter.AgentId, "Claude Code", appliesEditedInput: true)
    {
        _agentSessionId = agentSessionId;
        _holdsCalls = holdsCalls;
        _paused = paused;
    }

    public override string AgentSessionId => _agentSessionId;

    /// <param name="holdFor">Set when calls may pause the agent: the gate hook then holds each call until it is decided or
    /// paused, which takes at most this long (Claude's own time limit on the hook is set well past it).</param>
    public static ClaudeCodeSession Start(ProcessSpec spec, string agentSessionId, IAgentSink sink, TimeSpan? holdFor, PausedCall? paused)
    {
        var session = new ClaudeCodeSession(agentSessionId, sink, holdFor is not null, paused);
        session.Launch(spec, session.OnLineAsync);
        session.MarkStarted();
        var gate = new JsonObject { ["hookCallbackIds"] = new JsonArray(GateHookId) };
        if (holdFor is { } hold)
        {
            // A hook that runs out of time stops the call (the owner's answer would then be lost): the hold never comes near it.
            gate["timeout"] = (int)Math.Ceiling((hold + HookTimeMargin).TotalSeconds);
        }

        // Before the first message: register the gate hook, so not even the first tool call escapes it.
        _ = session.SendControlRequestAsync(new JsonObject
        {
            ["subtype"] = "initialize",
            ["hooks"] = new JsonObject { ["PreToolUse"] = new JsonArray(gate) },
        }, CancellationToken.None);
        return session;
    }

    /// <summary>How much longer than the pause threshold Claude lets the held hook take (the gate first waits for the turn's snapshot).</summary>
    private static readonly TimeSpan HookTimeMargin = TimeSpan.FromMinutes(30);

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
        switch (Text(message, "type"))
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
                if (Text(message, "request_id") is { } cancelled)
                {
                    await Permissions.WithdrawAsync(cancelled).ConfigureAwait(false);
                }

                break;
        }
    }

    private async Task OnSystemAsync(JsonElement message, CancellationToken ct)
    {
        if (Text(message, "subtype") == "init")
        {
            _agentSessionId = Text(message, "session_id") ?? AgentSessionId;
            await Sink.OnEventAsync(new AgentReady(AgentSessionId, Text(message, "model"), Text(message, "claude_code_version")), ct).ConfigureAwait(false);
        }
    }

    private async Task OnStreamEventAsync(JsonElement message, CancellationToken ct)
    {
        if (message.TryGetProperty("event", out var streamEvent) && Text(streamEvent, "type") == "content_block_delta"
            && streamEvent.TryGetProperty("delta", out var delta) && Text(delta, "type") == "text_delta" && Text(delta, "text") is { Length: > 0 } text)
        {
            await Sink.OnEventAsync(new MessageDelta(text), ct).ConfigureAwait(false);
        }
    }

    private async Task OnAssistantAsync(JsonElement message, CancellationToken ct)
    {
        if (!message.TryGetProperty("message", out var body) || !body.TryGetProperty("content", out var content)
            || content.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        // A subagent's calls are never paused on: Claude would end the subagent, not the turn.
        var messageId = message.TryGetProperty("parent_tool_use_id", out var parent) && parent.ValueKind == JsonValueKind.String
            ? null
            : Text(body, "id");
        foreach (var block in content.EnumerateArray())
        {
            switch (Text(block, "type"))
            {
                case "text" when Text(block, "text") is { Length: > 0 } text:
                    await Sink.OnEventAsync(new AssistantMessage(text), ct).ConfigureAwait(false);
                    break;
                case "thinking" when Text(block, "thinking") is { Length: > 0 } thinking:
                    await Sink.OnEventAsync(new Thinking(thinking), ct).ConfigureAwait(false);
                    break;
                case "tool_use":
                    var callId = Text(block, "id");
                    if (messageId is not null && callId is not null)
                    {
                        _messageOfCall[callId] = messageId;
                        _callsInMessage.AddOrUpdate(messageId, 1, (_, n) => n + 1);
                    }

                    var tool = Text(block, "name") ?? "unknown";
                    var input = block.TryGetProperty("input", out var i) ? i.Clone() : EmptyObject();
                    var described = ClaudeTools.Describe(tool, input);
                    await Sink.OnEventAsync(new ToolCall(callId ?? "", tool, described.Kind, described.Title, input), ct).ConfigureAwait(false);
                    if (_tasks.OnToolUse(callId ?? "", tool, input) is { } todos)
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
            if (Text(block, "type") != "tool_result")
            {
                continue;
            }

            var isError = IsTrue(block, "is_error");
            var toolUseId = Text(block, "tool_use_id") ?? "";
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

        var isError = IsTrue(message, "is_error");
        // What this turn's calls left behind: decisions no can_use_tool came for (denied by Claude's own rules, interrupted),
        // and the count of calls per message, which only the turn's own calls need.
        _decidedInHook.Clear();
        _callsInMessage.Clear();
        _messageOfCall.Clear();

        // A turn that ends because the gate hook deferred a call: the agent is to be paused, not left idle.
        var paused = Text(message, "stop_reason") == TurnCompleted.Paused && message.TryGetProperty("deferred_tool_use", out var deferred)
            ? Text(deferred, "id")
            : null;
        await Sink.OnEventAsync(new TurnCompleted(paused is null ? Text(message, "subtype") ?? "success" : TurnCompleted.Paused, isError,
            Text(message, "result"), paused), ct).ConfigureAwait(false);
    }

    private void OnControlRequest(JsonElement message)
    {
        var requestId = Text(message, "request_id");
        if (requestId is null || !message.TryGetProperty("request", out var request))
        {
            return;
        }

        if (Text(request, "subtype") == "hook_callback")
        {
            OnGateHook(requestId, request);
            return;
        }

        if (Text(request, "subtype") != "can_use_tool")
        {
            // We offer no MCP servers over this pipe; say so rather than leave the agent waiting.
            _ = RespondErrorAsync(requestId, $"Unsupported control request '{Text(request, "subtype")}'.");
            return;
        }

        var tool = Text(request, "tool_name") ?? "unknown";
        var input = request.TryGetProperty("input", out var i) ? i.Clone() : EmptyObject();
        var toolUseId = Text(request, "tool_use_id") ?? requestId;
        if (_decidedInHook.TryRemove(toolUseId, out var decided))
        {
            _ = RespondQuietlyAsync(requestId, ToolAnswer(decided.Tool == tool ? decided.Decision : PermissionDecision.NotTheCallDecided, decided.Input));
            return;
        }

        if (_paused is { } paused && paused.ToolCallId == toolUseId && Interlocked.CompareExchange(ref _paused, null, paused) == paused)
        {
            // The call this agent paused on, run as it resumes: the owner's decision on the call as they saw it, whatever
            // the transcript on disk says now (anything allowed to write there could have changed it).
            var decision = !paused.Decision.Allow || (paused.Tool == tool && paused.Input is not null) ? paused.Decision : PermissionDecision.NotTheCallDecided;
            _ = RespondQuietlyAsync(requestId, ToolAnswer(PermissionBroker.Normalise(decision, Describe(toolUseId, tool, input), true, AgentName),
                paused.Input ?? input));
            return;
        }

        var permission = Describe(toolUseId, tool, input) with { Path = ClaudeTools.Describe(tool, input).Path ?? Text(request, "blocked_path") };
        Permissions.Ask(requestId, permission, decision => RespondAsync(requestId, ToolAnswer(decision, input)));
    }

    private static PermissionRequest Describe(string toolUseId, string tool, JsonElement input, bool canPause = false)
    {
        var described = ClaudeTools.Describe(tool, input);
        return new PermissionRequest(toolUseId, tool, described.Kind, described.Title, input, described.Command, described.Path,
            tool == "ExitPlanMode" ? Text(input, "plan") : null, canPause, CanEditInput: true);
    }

    /// <summary>A decision as the answer to <c>can_use_tool</c>.</summary>
    private static JsonObject ToolAnswer(PermissionDecision decision, JsonElement input) => decision.Allow
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
        };

    /// <summary>
    /// The gate hook. It answers "ask", which Claude ranks above its own allow rules and any other hook's "allow": the
    /// call then goes to the permission prompt tool (<c>can_use_tool</c> above), so the gatekeeper sees it whatever
    /// Claude's settings say. Where calls may pause the agent, the hook first holds the call until the gatekeeper decides
    /// (the <c>can_use_tool</c> that follows is answered with that decision) or says to pause: then it answers "defer",
    /// and Claude ends the turn with the call kept in its transcript, to be decided when it resumes (see
    /// <see cref="ClaudeCodeAdapter"/>). Without pausing the hook answers at once and the decision waits in
    /// <c>can_use_tool</c>, so a human taking an hour meets no hook time limit.
    /// </summary>
    private void OnGateHook(string requestId, JsonElement request)
    {
        if (Text(request, "callback_id") is var callbackId && callbackId != GateHookId)
        {
            _ = RespondErrorAsync(requestId, $"Unknown hook callback '{callbackId}'.");
            return;
        }

        var hookInput = request.TryGetProperty("input", out var h) ? h : EmptyObject();
        var toolUseId = Text(request, "tool_use_id") ?? Text(hookInput, "tool_use_id");
        if (!_holdsCalls || toolUseId is null || toolUseId == _paused?.ToolCallId)
        {
            _ = RespondQuietlyAsync(requestId, HookAnswer("ask"));
            return;
        }

        var tool = Text(hookInput, "tool_name") ?? "unknown";
        var input = hookInput.TryGetProperty("tool_input", out var i) ? i.Clone() : EmptyObject();
        var permission = Describe(toolUseId, tool, input, canPause: true);
        Permissions.Ask(requestId, permission, decision =>
        {
            if (decision.PausesAgent)
            {
                // Claude defers only a call made on its own in the main thread (a sibling would be lost on resume, a
                // subagent would end instead), and otherwise goes on to its own rules. Anything else is "ask": the call
                // comes back through can_use_tool, still undecided, and joins the wait already open for it.
                return RespondAsync(requestId, HookAnswer(MadeAlone(toolUseId) ? "defer" : "ask"));
            }

            _decidedInHook[toolUseId] = (decision, tool, input);
            return RespondAsync(requestId, HookAnswer("ask"));
        });
    }

    /// <summary>Whether the call is the only one its assistant message has shown (as Claude counts when it honours "defer").</summary>
    private bool MadeAlone(string toolUseId) =>
        _messageOfCall.TryGetValue(toolUseId, out var messageId) && _callsInMessage.TryGetValue(messageId, out var calls) && calls == 1;

    private static JsonObject HookAnswer(string permissionDecision) => new()
    {
        ["hookSpecificOutput"] = new JsonObject
        {
            ["hookEventName"] = "PreToolUse",
            ["permissionDecision"] = permissionDecision,
            ["permissionDecisionReason"] = "PocketCoder puts every tool call to the owner's gatekeeper.",
        },
    };

    private Task RespondAsync(string requestId, JsonObject response) =>
        WriteControlResponseAsync(new JsonObject { ["subtype"] = "success", ["request_id"] = requestId, ["response"] = response });

    private Task RespondQuietlyAsync(string requestId, JsonObject response) => QuietlyAsync(() => RespondAsync(requestId, response));

    private Task RespondErrorAsync(string requestId, string error) => QuietlyAsync(() =>
        WriteControlResponseAsync(new JsonObject { ["subtype"] = "error", ["request_id"] = requestId, ["error"] = error }));

    private Task WriteControlResponseAsync(JsonObject response) =>
        Process.WriteLineAsync(new JsonObject { ["type"] = "control_response", ["response"] = response }.ToJsonString(), CancellationToken.None);

    private static async Task QuietlyAsync(Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
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

        return content.ValueKind == JsonValueKind.Array
            ? string.Concat(content.EnumerateArray().Select(part => Text(part, "text")))
            : content.GetRawText();
    }

    private static JsonElement EmptyObject() => JsonElement.Parse("{}");
}
