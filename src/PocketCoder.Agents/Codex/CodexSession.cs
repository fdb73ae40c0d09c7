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

    /// <summary>Longest the first turn waits for the MCP servers to start (Codex offers a server's tools only once it has).</summary>
    private static readonly TimeSpan McpStartWait = TimeSpan.FromSeconds(30);

    /// <summary>The MCP servers of Codex's config that have not yet said ready, failed or cancelled.</summary>
    private readonly HashSet<string> _mcpStarting;
    private readonly TaskCompletionSource _mcpStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private CodexSession(AgentStartOptions options, IAgentSink sink, IReadOnlyCollection<string> mcpServers)
        : base(sink, CodexAdapter.AgentId, "Codex", appliesEditedInput: false)
    {
        _mcpStarting = new HashSet<string>(mcpServers, StringComparer.Ordinal);
        if (_mcpStarting.Count == 0)
        {
            _mcpStarted.SetResult();
        }

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

    /// <param name="mcpServers">The MCP servers Codex's config names: the first turn waits (a while) until each has started.</param>
    public static async Task<CodexSession> StartAsync(ProcessSpec spec, AgentStartOptions options, IAgentSink sink, IReadOnlyCollection<string> mcpServers,
        CancellationToken cancellationToken)
    {
        var session = new CodexSession(options, sink, mcpServers);
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

        // A turn is running: add the message to it, as a user typing into the Codex TUI would. If it ended meanwhile, a new
        // one starts below.
        if (active is not null && await SteerAsync(active, input, cancellationToken).ConfigureAwait(false))
        {
            return;
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

        // A turn begun before an MCP server is up is offered none of its tools (the model then calls them in vain).
        // Waited for once: a server that never reports (disabled in the config, say) delays only the first turn.
        await Task.WhenAny(_mcpStarted.Task, Task.Delay(McpStartWait, cancellationToken)).ConfigureAwait(false);
        _mcpStarted.TrySetResult();
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

        JsonElement? resumed = null;
        string? problem = null;
        if (_options.ResumeAgentSessionId is { } resume)
        {
            try
            {
                resumed = await _rpc.RequestAsync("thread/resume", ThreadParameters(new JsonObject { ["threadId"] = resume }), ct).ConfigureAwait(false);
            }
            catch (JsonRpcException exception)
            {
                // The rollout is gone (deleted CODEX_HOME, another machine): keep the session usable with a new thread.
                problem = $"Codex could not resume its earlier conversation ({exception.Message}); this message starts a new one.";
            }
        }

        var thread = resumed ?? await _rpc.RequestAsync("thread/start", ThreadParameters(new JsonObject()), ct).ConfigureAwait(false);

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

        if (_options.Instructions is { Length: > 0 } instructions)
        {
            parameters["developerInstructions"] = instructions;
        }

        return parameters;
    }

    private async Task OnNotificationAsync(string method, JsonElement parameters)
    {
        var ct = Lifetime;
        switch (method)
        {
            case "mcpServer/startupStatus/updated" when Text(parameters, "name") is { } server && Text(parameters, "status") is { } state and not "starting":
                lock (_mcpStarting)
                {
                    if (_mcpStarting.Remove(server) && _mcpStarting.Count == 0)
                    {
                        _mcpStarted.TrySetResult();
                    }
                }

                if (state == "failed")
                {
                    // Its tools are missing from this session: say so, rather than let the model call them in vain.
                    await Sink.OnEventAsync(new AgentError($"The MCP server '{server}' did not start: {Text(parameters, "error") ?? "no reason given"}."), ct)
                        .ConfigureAwait(false);
                }

                break;
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
            case "error" when parameters.TryGetProperty("error", out var error) && !IsTrue(parameters, "willRetry"):
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
        var lastMessage = turn.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array
            ? items.EnumerateArray().Where(i => Text(i, "type") == "agentMessage").Select(i => Text(i, "text")).LastOrDefault()
            : null;

        await Sink.OnEventAsync(new TurnCompleted(status, status == "failed", error ?? lastMessage), ct).ConfigureAwait(false);
    }

    private Task OnRequestAsync(JsonElement id, string method, JsonElement parameters)
    {
        var requestId = id.Clone();
        var key = requestId.GetRawText();
        var turnId = Text(parameters, "turnId");
        switch (method)
        {
            case "item/commandExecution/requestApproval":
            case "item/fileChange/requestApproval":
                Permissions.Ask(key, PermissionFor(method, parameters), decision => AnswerAsync(requestId, turnId, decision, "decision"));
                return Task.CompletedTask;
            case "mcpServer/elicitation/request" when McpToolCallFor(parameters) is { } toolCall:
                // Codex asks before an MCP tool runs as an elicitation marked codex_approval_kind "mcp_tool_call".
                Permissions.Ask(key, toolCall, decision => AnswerAsync(requestId, turnId, decision, "action"));
                return Task.CompletedTask;
            case "mcpServer/elicitation/request" when McpForm.Questions(parameters) is { } form:
                // An MCP server asks the owner to fill in a form: a question, answered field by field.
                var formAsked = parameters.Clone();
                Permissions.Ask(key, form, decision => AnswerMcpFormAsync(requestId, formAsked, decision));
                return Task.CompletedTask;
            case "item/tool/requestUserInput" when QuestionFor(parameters) is { } question:
                var asked = parameters.Clone();
                Permissions.Ask(key, question, decision => AnswerQuestionAsync(requestId, asked, decision));
                return Task.CompletedTask;
            default:
                // Questions we cannot put to the owner (an MCP form with fields we cannot show, a URL elicitation, legacy
                // v1 approvals, user input with no questions or without distinct ids): an MCP tool call is then declined.
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

    /// <summary>
    /// Codex's request_user_input (its questions, each with an id, a header and optional options; one answer each) in the
    /// shape the gate and the phone know. Null when it holds no question.
    /// </summary>
    private static PermissionRequest? QuestionFor(JsonElement parameters)
    {
        var questions = new JsonArray();
        if (parameters.TryGetProperty("questions", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var question in list.EnumerateArray().Where(q => Text(q, "question") is not null))
            {
                var entry = new JsonObject
                {
                    ["question"] = Text(question, "question"), ["header"] = Text(question, "header"), ["options"] = AgentQuestions.Options(question),
                    ["multiSelect"] = false,
                    ["id"] = Text(question, "id"),
                };
                if (IsTrue(question, "isSecret"))
                {
                    // Its answer goes to Codex only: the gate keeps it out of the approval, the events and the ledger.
                    entry["secret"] = true;
                }

                questions.Add(entry);
            }
        }

        // Answers go back keyed by id: a question without one, or two sharing one, would have its answer lost or given to
        // the other. Such a form is refused (answered as not handled), never shown.
        var ids = questions.Select(q => q!["id"]?.GetValue<string>()).ToList();
        if (questions.Count == 0 || ids.Any(id => string.IsNullOrEmpty(id)) || ids.Distinct(StringComparer.Ordinal).Count() != ids.Count)
        {
            return null;
        }

        var input = ToElement(new JsonObject { ["questions"] = questions });
        return new PermissionRequest(Text(parameters, "itemId") ?? "", UserInputTool, ToolKind.Question, AgentQuestions.Title(input), input, null, null, null);
    }

    /// <summary>MCP tool calls whose approval was already asked: each started call is asked about once.</summary>
    private readonly ConcurrentDictionary<string, bool> _askedMcpCalls = new(StringComparer.Ordinal);

    /// <summary>
    /// An MCP tool call Codex asks about: the tool as <c>mcp__SERVER__TOOL</c> (as Claude names them), its arguments as
    /// input. Codex forwards a server's own elicitation with its <c>_meta</c> untouched, so a hostile server could dress a
    /// form up as Codex's approval of a tool call (which a rule or a trusted mode would then accept, unseen): it counts as
    /// one only when it matches a call Codex has started (<c>item/started</c> mcpToolCall: same server, tool and arguments)
    /// and not yet asked about. Anything else is the server's form, shown to the owner with its message.
    /// </summary>
    private PermissionRequest? McpToolCallFor(JsonElement parameters)
    {
        if (!parameters.TryGetProperty("_meta", out var meta) || meta.ValueKind != JsonValueKind.Object
            || Text(meta, "codex_approval_kind") != "mcp_tool_call" || Text(parameters, "serverName") is not { Length: > 0 } server
            || Text(meta, "tool_name") is not { Length: > 0 } tool || server.Contains("__", StringComparison.Ordinal) || server.EndsWith('_'))
        {
            // A server name that would not split back out of mcp__SERVER__TOOL (and so could borrow another server's
            // rules) is never a tool call here: the owner sees the request as the server's form.
            return null;
        }

        var arguments = meta.TryGetProperty("tool_params", out var given) && given.ValueKind == JsonValueKind.Object
            ? given.Clone()
            : ToElement(new JsonObject());
        var started = _startedItems.FirstOrDefault(pair => Text(pair.Value, "type") == "mcpToolCall" && Text(pair.Value, "server") == server
            && Text(pair.Value, "tool") == tool && SameJson(pair.Value.TryGetProperty("arguments", out var a) ? a : default, arguments)
            && !_askedMcpCalls.ContainsKey(pair.Key));
        if (started.Key is null || !_askedMcpCalls.TryAdd(started.Key, true))
        {
            return null;
        }

        return new PermissionRequest(started.Key, McpTool(server, tool), ToolKind.Mcp, $"{server}/{tool}", arguments, null, null, null);
    }

    /// <summary>Whether two JSON values say the same (objects compared key by key, whatever their order).</summary>
    private static bool SameJson(JsonElement a, JsonElement b) =>
        JsonNode.DeepEquals(a.ValueKind == JsonValueKind.Undefined ? new JsonObject() : JsonNode.Parse(a.GetRawText()),
            b.ValueKind == JsonValueKind.Undefined ? new JsonObject() : JsonNode.Parse(b.GetRawText()));

    /// <summary>The name rules and the phone use for an MCP tool: <c>mcp__SERVER__TOOL</c>.</summary>
    internal static string McpTool(string server, string tool) => $"mcp__{server}__{tool}";

    /// <summary>The owner's answers to an MCP form as the content it asked for; a dismissal declines it.</summary>
    private Task AnswerMcpFormAsync(JsonElement id, JsonElement asked, PermissionDecision decision)
    {
        // An answer that does not fit the form (a word where a number was asked): the server is told the owner declined.
        var content = decision.Allow ? McpForm.Content(asked, decision.Answers) : null;
        return _rpc.RespondAsync(id, JsonRpcReply.Success(content is null
            ? new JsonObject { ["action"] = "decline" }
            : new JsonObject { ["action"] = "accept", ["content"] = content }));
    }

    /// <summary>The owner's answers, one per question id; a dismissed question is an error the model reads.</summary>
    private async Task AnswerQuestionAsync(JsonElement id, JsonElement asked, PermissionDecision decision)
    {
        if (!decision.Allow)
        {
            // Codex hands the model an empty set of answers for an error, nothing more: the dismissal (and the owner's
            // reason) goes in as a steer on the running turn first, as a declined command's reason does.
            var why = "The owner dismissed your question" + (string.IsNullOrWhiteSpace(decision.Message) ? "" : $": {decision.Message}");
            if (Text(asked, "turnId") is { } turnId)
            {
                await SteerAsync(turnId, $"({why})").ConfigureAwait(false);
            }

            await _rpc.RespondAsync(id, JsonRpcReply.Failure(JsonRpcErrors.InternalError, why)).ConfigureAwait(false);
            return;
        }

        var answers = new JsonObject();
        var index = 0;
        foreach (var question in asked.GetProperty("questions").EnumerateArray().Where(q => Text(q, "question") is not null))
        {
            // Each chosen label, then the owner's own words: as Codex's own prompt gives them.
            var given = decision.Answers is { } owner && index < owner.Count
                ? [.. owner[index].Selected, .. owner[index].Other is { } own ? [own] : Array.Empty<string>()]
                : AgentQuestions.Answer(decision.UpdatedInput, Text(question, "question")!) is { } joined ? [joined] : new List<string>();
            index++;
            if (Text(question, "id") is { } questionId && given.Count > 0)
            {
                answers[questionId] = new JsonObject { ["answers"] = new JsonArray([.. given.Select(a => (JsonNode)JsonValue.Create(a))]) };
            }
        }

        await _rpc.RespondAsync(id, JsonRpcReply.Success(new JsonObject { ["answers"] = answers })).ConfigureAwait(false);
    }

    /// <summary>
    /// Answers an approval in <paramref name="field"/> ("decision" for a command or file change, "action" for an MCP tool
    /// call): always "accept", never "acceptForSession", and an MCP call's "persist" is left out, since Codex's own memory
    /// would skip the gatekeeper. The next call asks PocketCoder again.
    /// </summary>
    private async Task AnswerAsync(JsonElement id, string? turnId, PermissionDecision decision, string field)
    {
        if (!decision.Allow && !string.IsNullOrWhiteSpace(decision.Message) && turnId is not null)
        {
            // Codex tells the model only "rejected by user"; the owner's reason goes in as a steer on the running turn
            // first, so the model reads it with the rejection.
            await SteerAsync(turnId, $"(The owner declined: {decision.Message})").ConfigureAwait(false);
        }

        await _rpc.RespondAsync(id, JsonRpcReply.Success(new JsonObject { [field] = decision.Allow ? "accept" : "decline" })).ConfigureAwait(false);
    }

    private Task SteerAsync(string turnId, string text) =>
        SteerAsync(turnId, new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }), Lifetime);

    /// <summary>Adds <paramref name="input"/> to the running turn; false when that turn is over.</summary>
    private async Task<bool> SteerAsync(string turnId, JsonArray input, CancellationToken cancellationToken)
    {
        try
        {
            await _rpc.RequestAsync("turn/steer", new JsonObject { ["threadId"] = AgentSessionId, ["expectedTurnId"] = turnId, ["input"] = input },
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (JsonRpcException)
        {
            // The turn is over: a message then starts a new one; a declined call's plain rejection still reaches the model.
            return false;
        }
    }

    // The names users see and write rules for: Codex's own tool names for running a command and patching files.
    internal const string ExecTool = "exec_command";
    internal const string PatchTool = "apply_patch";

    /// <summary>Codex's tool for asking the owner questions; its requests come as item/tool/requestUserInput.</summary>
    internal const string UserInputTool = "request_user_input";

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
            case var type and ("mcpToolCall" or "dynamicToolCall"):
                var tool = type == "mcpToolCall" ? McpTool(Text(item, "server") ?? "", Text(item, "tool") ?? "") : Text(item, "tool") ?? "tool";
                return new ToolCall(id, tool, ToolKind.Other, tool,
                    item.TryGetProperty("arguments", out var arguments) ? arguments.Clone() : JsonElement.Parse("{}"));
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
    }
}
