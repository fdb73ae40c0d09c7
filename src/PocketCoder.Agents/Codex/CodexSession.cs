using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// One running <c>codex app-server</c> holding one thread. Turns its notifications into <see cref="AgentEvent"/>s
/// and answers its command / file-change approval requests with the gatekeeper's decision.
/// </summary>
internal sealed class CodexSession : ProcessAgentSession
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private readonly AgentStartOptions _options;
    private readonly JsonRpcConnection _rpc;
    private readonly ConcurrentDictionary<string, JsonElement> _startedItems = new(StringComparer.Ordinal);
    private readonly Lock _turnLock = new();
    private string _agentSessionId;
    private string? _turnId;
    private string _mode;
    private Usage _reported;
    private Usage _latest;

    private CodexSession(AgentStartOptions options, IAgentSink sink)
        : base(sink, CodexAdapter.AgentId, "Codex", appliesEditedInput: false)
    {
        _options = options;
        _mode = options.Mode;
        _rpc = new JsonRpcConnection((line, ct) => Process.WriteLineAsync(line, ct), stampVersion: false)
        {
            OnNotification = OnNotificationAsync,
            OnRequest = OnRequestAsync,
        };
        _agentSessionId = options.ResumeAgentSessionId ?? "";
    }

    public override string AgentSessionId => _agentSessionId;

    public static async Task<CodexSession> StartAsync(ProcessSpec spec, AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken)
    {
        var session = new CodexSession(options, sink);
        session.Launch(spec, session._rpc.OnLineAsync);
        try
        {
            await session.HandshakeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is InvalidOperationException or JsonRpcException or TimeoutException or OperationCanceledException)
        {
            // Stopped first: its exit waits for stderr to be drained, so the tail is complete when read.
            var tail = await session.AbandonStartAsync().ConfigureAwait(false);
            if (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new AgentUnavailableException(CodexAdapter.AgentId,
                $"Codex did not start ({exception.Message}).{(tail.Length > 0 ? $" Its last output: {tail}" : "")}", exception);
        }

        session.MarkStarted();
        return session;
    }

    public override async Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken)
    {
        // app-server's UserInput: text, and each image as a data URL (no file left behind to clean up).
        var input = new JsonArray([
            new JsonObject { ["type"] = "text", ["text"] = prompt.Text },
            .. prompt.Images.Select(i => (JsonNode)new JsonObject { ["type"] = "image", ["url"] = i.DataUrl }),
        ]);
        string? active;
        lock (_turnLock)
        {
            active = _turnId;
        }

        if (active is not null)
        {
            // A turn is running: add the message to it, as a user typing into the Codex TUI would.
            try
            {
                await _rpc.RequestAsync("turn/steer",
                    new JsonObject { ["threadId"] = AgentSessionId, ["expectedTurnId"] = active, ["input"] = input },
                    cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (JsonRpcException)
            {
                // The turn ended meanwhile: start a new one below.
            }
        }

        var parameters = new JsonObject
        {
            ["threadId"] = AgentSessionId,
            ["input"] = input,
            ["approvalPolicy"] = CodexAdapter.ApprovalPolicy,
            ["sandboxPolicy"] = new JsonObject { ["type"] = CodexAdapter.SandboxPolicyType(_mode) },
        };
        if (_options.Model is { Length: > 0 } model)
        {
            parameters["model"] = model;
        }

        Process.MarkTurnStart();
        var started = await _rpc.RequestAsync("turn/start", parameters, cancellationToken).ConfigureAwait(false);
        if (started.TryGetProperty("turn", out var turn) && Text(turn, "id") is { } turnId)
        {
            lock (_turnLock)
            {
                _turnId ??= turnId;
            }
        }
    }

    /// <summary>Takes effect from the next turn (turn/start carries the sandbox), see <see cref="CodexAdapter.SandboxMode"/>.</summary>
    public override Task SetModeAsync(string mode, CancellationToken cancellationToken)
    {
        _mode = mode;
        return Task.CompletedTask;
    }

    protected override async Task InterruptTurnAsync(CancellationToken cancellationToken)
    {
        string? turnId;
        lock (_turnLock)
        {
            turnId = _turnId;
        }

        if (turnId is null)
        {
            return;
        }

        try
        {
            await _rpc.RequestAsync("turn/interrupt", new JsonObject { ["threadId"] = AgentSessionId, ["turnId"] = turnId }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (JsonRpcException)
        {
            // The turn finished on its own before the interrupt arrived.
        }
    }

    protected override void OnProcessExited(int exitCode) => _rpc.Close($"the codex process exited with code {exitCode}");

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartupTimeout);
        var ct = timeout.Token;

        var initialized = await _rpc.RequestAsync("initialize", new JsonObject
        {
            ["clientInfo"] = new JsonObject { ["name"] = "pocketcoder", ["title"] = "PocketCoder", ["version"] = typeof(CodexSession).Assembly.GetName().Version?.ToString(3) ?? "0.0.0" },
        }, ct).ConfigureAwait(false);
        await _rpc.NotifyAsync("initialized", null, ct).ConfigureAwait(false);

        JsonElement thread;
        string? problem = null;
        if (_options.ResumeAgentSessionId is { } resume)
        {
            try
            {
                thread = await _rpc.RequestAsync("thread/resume", ThreadParameters(new JsonObject { ["threadId"] = resume }), ct).ConfigureAwait(false);
            }
            catch (JsonRpcException exception)
            {
                // The rollout is gone (deleted CODEX_HOME, another machine): keep the session usable with a new thread.
                problem = $"Codex could not resume its earlier conversation ({exception.Message}); this message starts a new one.";
                thread = await _rpc.RequestAsync("thread/start", ThreadParameters(new JsonObject()), ct).ConfigureAwait(false);
            }
        }
        else
        {
            thread = await _rpc.RequestAsync("thread/start", ThreadParameters(new JsonObject()), ct).ConfigureAwait(false);
        }

        _agentSessionId = thread.TryGetProperty("thread", out var t) ? Text(t, "id") ?? "" : "";
        if (AgentSessionId.Length == 0)
        {
            throw new InvalidOperationException("thread/start returned no thread id");
        }

        var version = Text(initialized, "userAgent") is { } agent && agent.Split(' ')[0].Split('/') is [_, var v] ? v : null;
        await Sink.OnEventAsync(new AgentReady(AgentSessionId, Text(thread, "model"), version), ct).ConfigureAwait(false);
        if (problem is not null)
        {
            await Sink.OnEventAsync(new AgentError(problem), ct).ConfigureAwait(false);
        }
    }

    private JsonObject ThreadParameters(JsonObject parameters)
    {
        parameters["cwd"] = _options.WorkingDirectory;
        parameters["approvalPolicy"] = CodexAdapter.ApprovalPolicy;
        parameters["sandbox"] = CodexAdapter.SandboxMode(_mode);
        if (_options.Model is { Length: > 0 } model)
        {
            parameters["model"] = model;
        }

        return parameters;
    }

    private async Task OnNotificationAsync(string method, JsonElement parameters)
    {
        var ct = Lifetime;
        switch (method)
        {
            case "turn/started" when parameters.TryGetProperty("turn", out var turn):
                lock (_turnLock)
                {
                    _turnId = Text(turn, "id");
                }

                break;
            case "item/agentMessage/delta" when Text(parameters, "delta") is { Length: > 0 } delta:
                await Sink.OnEventAsync(new MessageDelta(delta), ct).ConfigureAwait(false);
                break;
            case "item/started" when parameters.TryGetProperty("item", out var item):
                await OnItemStartedAsync(item, ct).ConfigureAwait(false);
                break;
            case "item/completed" when parameters.TryGetProperty("item", out var item):
                await OnItemCompletedAsync(item, ct).ConfigureAwait(false);
                break;
            case "turn/plan/updated" when parameters.TryGetProperty("plan", out var plan) && plan.ValueKind == JsonValueKind.Array:
                await Sink.OnEventAsync(new PlanUpdate([.. plan.EnumerateArray().Select(step =>
                    new PlanEntry(Text(step, "step") ?? "", Text(step, "status") switch
                    {
                        "inProgress" => "in_progress",
                        { } status => status,
                        null => "pending",
                    }))]), ct).ConfigureAwait(false);
                break;
            case "thread/tokenUsage/updated" when parameters.TryGetProperty("tokenUsage", out var usage)
                                                  && usage.TryGetProperty("total", out var total):
                _latest = Usage.From(total);
                lock (_turnLock)
                {
                    // Sent right after thread/resume with the thread's whole history: that is not this turn's cost.
                    if (_turnId is null)
                    {
                        _reported = _latest;
                    }
                }

                break;
            case "serverRequest/resolved" when parameters.TryGetProperty("requestId", out var requestId):
                await Permissions.WithdrawAsync(requestId.GetRawText()).ConfigureAwait(false);

                break;
            case "error" when parameters.TryGetProperty("error", out var error)
                              && !(parameters.TryGetProperty("willRetry", out var retry) && retry.ValueKind == JsonValueKind.True):
                await Sink.OnEventAsync(new AgentError(Text(error, "message") ?? error.GetRawText()), ct).ConfigureAwait(false);
                break;
            case "turn/completed" when parameters.TryGetProperty("turn", out var turn):
                await OnTurnCompletedAsync(turn, ct).ConfigureAwait(false);
                break;
        }
    }

    private async Task OnItemStartedAsync(JsonElement item, CancellationToken ct)
    {
        if (Text(item, "id") is not { } id)
        {
            return;
        }

        _startedItems[id] = item.Clone();
        if (Describe(item) is { } call)
        {
            await Sink.OnEventAsync(call, ct).ConfigureAwait(false);
        }
    }

    private async Task OnItemCompletedAsync(JsonElement item, CancellationToken ct)
    {
        var id = Text(item, "id") ?? "";
        var startedSeen = _startedItems.TryRemove(id, out _);
        switch (Text(item, "type"))
        {
            case "agentMessage" when Text(item, "text") is { Length: > 0 } text:
                await Sink.OnEventAsync(new AssistantMessage(text), ct).ConfigureAwait(false);
                break;
            case "reasoning":
                var thinking = string.Join('\n', Strings(item, "summary").Concat(Strings(item, "content")));
                if (thinking.Length > 0)
                {
                    await Sink.OnEventAsync(new Thinking(thinking), ct).ConfigureAwait(false);
                }

                break;
            case "commandExecution" or "fileChange" or "mcpToolCall" or "dynamicToolCall" or "webSearch":
                if (!startedSeen && Describe(item) is { } call)
                {
                    await Sink.OnEventAsync(call, ct).ConfigureAwait(false);
                }

                await Sink.OnEventAsync(ResultOf(id, item), ct).ConfigureAwait(false);
                break;
        }
    }

    private async Task OnTurnCompletedAsync(JsonElement turn, CancellationToken ct)
    {
        lock (_turnLock)
        {
            _turnId = null;
        }

        var used = _latest - _reported;
        _reported = _latest;
        if (used.Any)
        {
            await Sink.OnEventAsync(new UsageReport(used.Input, used.Output, used.CacheRead, used.CacheWrite, null), ct).ConfigureAwait(false);
        }

        var status = Text(turn, "status") ?? "completed";
        var error = turn.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? Text(e, "message") : null;
        string? lastMessage = null;
        if (turn.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array)
        {
            lastMessage = items.EnumerateArray().Where(i => Text(i, "type") == "agentMessage").Select(i => Text(i, "text")).LastOrDefault();
        }

        await Sink.OnEventAsync(new TurnCompleted(status, status == "failed", error ?? lastMessage), ct).ConfigureAwait(false);
    }

    private Task OnRequestAsync(JsonElement id, string method, JsonElement parameters)
    {
        switch (method)
        {
            case "item/commandExecution/requestApproval":
            case "item/fileChange/requestApproval":
                var requestId = id.Clone();
                var turnId = Text(parameters, "turnId");
                Permissions.Ask(requestId.GetRawText(), PermissionFor(method, parameters), decision => AnswerAsync(requestId, turnId, decision));
                return Task.CompletedTask;
            default:
                // Questions we cannot put to the owner (user input forms, MCP elicitation, legacy v1 approvals):
                // say so rather than leave the agent waiting forever.
                return _rpc.RespondAsync(id, JsonRpcReply.Failure(JsonRpcErrors.MethodNotFound, $"PocketCoder does not handle '{method}'."));
        }
    }

    private PermissionRequest PermissionFor(string method, JsonElement parameters)
    {
        var itemId = Text(parameters, "itemId") ?? "";
        _startedItems.TryGetValue(itemId, out var item);
        if (method == "item/commandExecution/requestApproval")
        {
            var command = CodexCommand.Script(Text(parameters, "command") ?? "");
            var input = new JsonObject { ["command"] = command, ["cwd"] = Text(parameters, "cwd"), ["reason"] = Text(parameters, "reason") };
            if (Text(parameters, "kind") is { } kind && kind != "command")
            {
                input["kind"] = kind;
            }

            // A network prompt comes as a command approval with no command: the host it asks for is the question, shown
            // and remembered as such (never as an empty command, which "always allow" would turn into every command).
            string? host = null;
            if (parameters.TryGetProperty("networkApprovalContext", out var network) && network.ValueKind == JsonValueKind.Object)
            {
                input["networkApprovalContext"] = JsonNode.Parse(network.GetRawText());
                host = Text(network, "host");
            }

            var subject = command.Length > 0 ? command : host is not null ? $"network {Text(network, "protocol")} {host}" : null;
            return new PermissionRequest(itemId, ExecTool, ToolKind.Execute, subject ?? "a command Codex did not name", ToElement(input), subject, null, null);
        }

        var changes = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("changes", out var c) && c.ValueKind == JsonValueKind.Array
            ? c.Clone()
            : JsonElement.Parse("[]");
        var paths = changes.EnumerateArray().Select(change => Text(change, "path")).OfType<string>().ToList();
        var fileInput = new JsonObject
        {
            ["changes"] = JsonNode.Parse(changes.GetRawText()),
            ["reason"] = Text(parameters, "reason"),
            ["grantRoot"] = Text(parameters, "grantRoot"),
        };
        var title = paths.Count switch
        {
            0 => Text(parameters, "grantRoot") is { } root ? $"Write under {root}" : "Change files",
            1 => $"Edit {paths[0]}",
            _ => $"Edit {paths[0]} and {paths.Count - 1} more",
        };
        return new PermissionRequest(itemId, PatchTool, ToolKind.Edit, title, ToElement(fileInput), null,
            paths.FirstOrDefault() ?? Text(parameters, "grantRoot"), null);
    }

    /// <summary>Always "accept", never "acceptForSession": Codex's own session memory would skip the gatekeeper.</summary>
    private async Task AnswerAsync(JsonElement id, string? turnId, PermissionDecision decision)
    {
        if (!decision.Allow && !string.IsNullOrWhiteSpace(decision.Message) && turnId is not null)
        {
            // Codex tells the model only "rejected by user"; the owner's reason goes in as a steer on the running turn
            // first, so the model reads it with the rejection.
            await SteerAsync(turnId, $"(The owner declined: {decision.Message})").ConfigureAwait(false);
        }

        await _rpc.RespondAsync(id, JsonRpcReply.Success(new JsonObject { ["decision"] = decision.Allow ? "accept" : "decline" })).ConfigureAwait(false);
    }

    private async Task SteerAsync(string turnId, string text)
    {
        try
        {
            await _rpc.RequestAsync("turn/steer", new JsonObject
            {
                ["threadId"] = AgentSessionId,
                ["expectedTurnId"] = turnId,
                ["input"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }),
            }, Lifetime).ConfigureAwait(false);
        }
        catch (JsonRpcException)
        {
            // The turn is over; the plain rejection still reaches the model.
        }
    }

    // The names users see and write rules for: Codex's own tool names for running a command and patching files.
    internal const string ExecTool = "exec_command";
    internal const string PatchTool = "apply_patch";

    internal static ToolCall? Describe(JsonElement item)
    {
        var id = Text(item, "id") ?? "";
        switch (Text(item, "type"))
        {
            case "commandExecution":
                var command = CodexCommand.Script(Text(item, "command") ?? "");
                return new ToolCall(id, ExecTool, ToolKind.Execute, command,
                    ToElement(new JsonObject { ["command"] = command, ["cwd"] = Text(item, "cwd") }));
            case "fileChange":
                var changes = item.TryGetProperty("changes", out var c) && c.ValueKind == JsonValueKind.Array ? c : JsonElement.Parse("[]");
                var paths = changes.EnumerateArray().Select(change => Text(change, "path")).OfType<string>().ToList();
                return new ToolCall(id, PatchTool, ToolKind.Edit, paths.Count == 0 ? "Change files" : $"Edit {string.Join(", ", paths)}",
                    ToElement(new JsonObject { ["changes"] = JsonNode.Parse(changes.GetRawText()) }));
            case "mcpToolCall":
                var tool = $"mcp__{Text(item, "server")}__{Text(item, "tool")}";
                return new ToolCall(id, tool, ToolKind.Other, tool,
                    item.TryGetProperty("arguments", out var arguments) ? arguments.Clone() : JsonElement.Parse("{}"));
            case "dynamicToolCall":
                var dynamicTool = Text(item, "tool") ?? "tool";
                return new ToolCall(id, dynamicTool, ToolKind.Other, dynamicTool,
                    item.TryGetProperty("arguments", out var dynamicArguments) ? dynamicArguments.Clone() : JsonElement.Parse("{}"));
            case "webSearch":
                var query = Text(item, "query") ?? "";
                return new ToolCall(id, "web_search", ToolKind.Fetch, $"Search the web: {query}", ToElement(new JsonObject { ["query"] = query }));
            default:
                return null;
        }
    }

    internal static ToolResult ResultOf(string id, JsonElement item)
    {
        var status = Text(item, "status");
        var failed = status is "failed" or "declined"
                     || (item.TryGetProperty("exitCode", out var exit) && exit.ValueKind == JsonValueKind.Number && exit.GetInt32() != 0)
                     || (item.TryGetProperty("success", out var success) && success.ValueKind == JsonValueKind.False);
        var content = Text(item, "aggregatedOutput")
                      ?? (item.TryGetProperty("result", out var result) && result.ValueKind != JsonValueKind.Null ? result.GetRawText() : null)
                      ?? (item.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null ? error.GetRawText() : null)
                      ?? (status == "declined" ? "Declined." : "");
        return new ToolResult(id, content, failed);
    }

    private static IEnumerable<string> Strings(JsonElement element, string property) =>
        element.TryGetProperty(property, out var array) && array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.String).Select(s => s.GetString() ?? "")
            : [];

    // Relaxed escaping: a patch's "+" and "<" stay themselves in the stored input a person reads, not \u002B and \u003C.
    private static readonly JsonSerializerOptions Readably = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static JsonElement ToElement(JsonObject node) => JsonElement.Parse(node.ToJsonString(Readably));

    private readonly record struct Usage(long Input, long Output, long CacheRead, long CacheWrite)
    {
        public bool Any => Input + Output + CacheRead + CacheWrite > 0;

        public static Usage From(JsonElement breakdown) => new(
            Number(breakdown, "inputTokens") - Number(breakdown, "cachedInputTokens"),
            Number(breakdown, "outputTokens"),
            Number(breakdown, "cachedInputTokens"),
            Number(breakdown, "cacheWriteInputTokens"));

        public static Usage operator -(Usage a, Usage b) =>
            new(a.Input - b.Input, a.Output - b.Output, a.CacheRead - b.CacheRead, a.CacheWrite - b.CacheWrite);

        private static long Number(JsonElement element, string property) =>
            element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : 0;
    }
}
