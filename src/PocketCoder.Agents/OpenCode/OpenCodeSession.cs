using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Sessions;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// One OpenCode session on the project's shared server. Its share of the <c>/event</c> stream becomes
/// <see cref="AgentEvent"/>s; its <c>permission.asked</c> questions are answered with the gatekeeper's decision.
/// </summary>
internal sealed class OpenCodeSession : IAgentSession
{
    private readonly OpenCodeServer _server;
    private readonly AgentStartOptions _options;
    private readonly IAgentSink _sink;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, string> _messageRoles = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _partTypes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _announcedCalls = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, JsonElement> _callInputs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _finishedParts = new(StringComparer.Ordinal);
    private readonly PermissionBroker _permissions;
    private readonly Lock _turnLock = new();
    private string _mode;
    private bool _aborted;
    private bool _turnActive;
    private bool _sawBusy;
    private bool _reportedRetry;
    private string? _lastText;
    private (long Input, long Output, long CacheRead, long CacheWrite, decimal Cost) _usage;
    private int _released;

    private OpenCodeSession(OpenCodeServer server, AgentStartOptions options, IAgentSink sink, string sessionId)
    {
        _server = server;
        _options = options;
        _sink = sink;
        _mode = options.Mode;
        AgentSessionId = sessionId;
        _permissions = new PermissionBroker(sink, appliesEditedInput: false, "OpenCode", _lifetime.Token);
    }

    public string AgentSessionId { get; }

    public Task Exited => _exited.Task;

    public static async Task<OpenCodeSession> StartAsync(OpenCodeServer server, AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken)
    {
        string? problem = null;
        string? id = null;
        if (options.ResumeAgentSessionId is { } resume)
        {
            try
            {
                var earlier = await server.SendAsync(HttpMethod.Get, $"/session/{Uri.EscapeDataString(resume)}", null, cancellationToken).ConfigureAwait(false);
                id = Text(earlier, "id");
                if (id is not null && !EndsWithGateRules(earlier))
                {
                    // A session made before the gate rules existed (or by someone else): OpenCode appends, and the last rule wins.
                    await server.SendAsync(HttpMethod.Patch, $"/session/{Uri.EscapeDataString(id)}", new JsonObject { ["permission"] = GateRules() }, cancellationToken)
                        .ConfigureAwait(false);
                }
            }
            catch (OpenCodeHttpException exception)
            {
                problem = $"OpenCode could not find its earlier session ({exception.Status}); this message starts a new one.";
            }
        }

        id ??= Text(await server.SendAsync(HttpMethod.Post, "/session", new JsonObject { ["permission"] = GateRules() }, cancellationToken).ConfigureAwait(false), "id")
            ?? throw new AgentUnavailableException(OpenCodeAdapter.AgentId, "OpenCode created a session without an id.");

        var session = new OpenCodeSession(server, options, sink, id);
        server.Listen(id, session.OnEventAsync);
        _ = session.WatchServerAsync();
        await sink.OnEventAsync(new AgentReady(id, options.Model, null), cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            await sink.OnEventAsync(new AgentError(problem), cancellationToken).ConfigureAwait(false);
        }

        return session;
    }

    public bool TakesImages => true;

    public async Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            // A file part with a data URL is how OpenCode's own clients attach an image.
            ["parts"] = new JsonArray([
                new JsonObject { ["type"] = "text", ["text"] = prompt.Text },
                .. prompt.Images.Select((i, n) => (JsonNode)new JsonObject
                {
                    ["type"] = "file",
                    ["mime"] = i.MediaType,
                    ["url"] = i.DataUrl,
                    ["filename"] = $"image-{n + 1}.{i.MediaType[(i.MediaType.IndexOf('/') + 1)..]}",
                }),
            ]),
            ["agent"] = OpenCodeAdapter.AgentFor(_mode),
        };
        if (_options.Model is { Length: > 0 } model && model.Split('/', 2) is [var provider, var modelId])
        {
            body["model"] = new JsonObject { ["providerID"] = provider, ["modelID"] = modelId };
        }

        if (_options.Instructions is { Length: > 0 } instructions)
        {
            // OpenCode takes a system prompt addition per message: the owner's instructions (a profile's) go with each.
            body["system"] = instructions;
        }

        lock (_turnLock)
        {
            // A turn ends at the first session.idle after OpenCode reported it busy: an abort is followed by
            // more than one idle, and a late one must not end the next turn before it began.
            _aborted = false;
            _turnActive = true;
            _sawBusy = false;
            _reportedRetry = false;
        }

        try
        {
            await _server.SendAsync(HttpMethod.Post, $"/session/{AgentSessionId}/prompt_async", body, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is HttpRequestException or OpenCodeHttpException)
        {
            throw new InvalidOperationException($"OpenCode did not take the message: {exception.Message}", exception);
        }
    }

    /// <summary>Takes effect from the next message: plan mode prompts OpenCode's read-only "plan" agent.</summary>
    public Task SetModeAsync(string mode, CancellationToken cancellationToken)
    {
        _mode = mode;
        return Task.CompletedTask;
    }

    public async Task CancelTurnAsync(CancellationToken cancellationToken)
    {
        await _permissions.WithdrawAllAsync().ConfigureAwait(false);

        lock (_turnLock)
        {
            _aborted = true;
        }

        await _server.SendAsync(HttpMethod.Post, $"/session/{AgentSessionId}/abort", null, cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await ReleaseAsync().ConfigureAwait(false);
        await _sink.OnEventAsync(new AgentExited(0, true, ""), CancellationToken.None).ConfigureAwait(false);
        _exited.TrySetResult();
    }

    /// <summary>OpenCode's server keeps its sessions itself; a session here has no process of its own to let finish.</summary>
    public Task EndAsync(CancellationToken cancellationToken) => StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync().ConfigureAwait(false);
        _exited.TrySetResult();
        _lifetime.Dispose();
    }

    /// <summary>Our share of the server ends once: the last session out stops the process.</summary>
    private async Task ReleaseAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 1)
        {
            return;
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        _server.Unlisten(AgentSessionId);
        await _server.ReleaseAsync().ConfigureAwait(false);
    }

    private async Task WatchServerAsync()
    {
        var exitCode = await _server.Exited.ConfigureAwait(false);
        if (Volatile.Read(ref _released) == 1)
        {
            return;
        }

        await _permissions.WithdrawAllAsync().ConfigureAwait(false);

        await _sink.OnEventAsync(new AgentExited(exitCode, _server.StopRequested, _server.StderrTail), CancellationToken.None).ConfigureAwait(false);
        await ReleaseAsync().ConfigureAwait(false);
        _exited.TrySetResult();
    }

    private async Task OnEventAsync(string type, JsonElement properties)
    {
        var ct = _lifetime.Token;
        switch (type)
        {
            case "message.updated" when properties.TryGetProperty("info", out var info) && Text(info, "id") is { } messageId:
                _messageRoles[messageId] = Text(info, "role") ?? "";
                break;
            case "message.part.updated" when properties.TryGetProperty("part", out var part):
                await OnPartAsync(part, ct).ConfigureAwait(false);
                break;
            case "message.part.delta" when Text(properties, "field") == "text" && Text(properties, "delta") is { Length: > 0 } delta
                                           && Text(properties, "partID") is { } partId && _partTypes.TryGetValue(partId, out var partType)
                                           && partType == "text" && IsAssistant(Text(properties, "messageID")):
                await _sink.OnEventAsync(new MessageDelta(delta), ct).ConfigureAwait(false);
                break;
            case "permission.asked":
                await OnPermissionAskedAsync(properties, ct).ConfigureAwait(false);
                break;
            case "question.asked":
                OnQuestionAsked(properties);
                break;
            case "question.replied" or "question.rejected" or "permission.replied" when Text(properties, "requestID") is { } requestId:
                // Answered elsewhere (someone at the OpenCode TUI), or ours arrived: nobody needs to decide it here any more.
                await _permissions.WithdrawAsync(requestId).ConfigureAwait(false);
                break;
            case "session.error" when properties.TryGetProperty("error", out var error):
                var name = Text(error, "name");
                bool aborted;
                lock (_turnLock)
                {
                    aborted = _aborted;
                }

                if (name != "MessageAbortedError" && !aborted)
                {
                    var detail = error.TryGetProperty("data", out var data) && Text(data, "message") is { } m ? m : name ?? error.GetRawText();
                    await _sink.OnEventAsync(new AgentError(detail), ct).ConfigureAwait(false);
                }

                break;
            case "session.status" when properties.TryGetProperty("status", out var status) && Text(status, "type") == "busy":
                lock (_turnLock)
                {
                    _sawBusy = _turnActive;
                }

                break;
            case "session.status" when properties.TryGetProperty("status", out var retry) && Text(retry, "type") == "retry":
                // OpenCode retries a model it cannot reach forever, with growing pauses, saying nothing else: tell the
                // owner once per turn rather than leave "Working..." on the screen.
                bool first;
                lock (_turnLock)
                {
                    first = _turnActive && !_reportedRetry;
                    _reportedRetry = true;
                }

                if (first)
                {
                    await _sink.OnEventAsync(new AgentError(
                        $"OpenCode cannot reach its model: {Text(retry, "message") ?? "no answer"} It keeps retrying; cancel the turn to stop it."), ct)
                        .ConfigureAwait(false);
                }

                break;
            case "session.idle":
                await OnIdleAsync(ct).ConfigureAwait(false);
                break;
        }
    }

    private async Task OnPartAsync(JsonElement part, CancellationToken ct)
    {
        var partId = Text(part, "id") ?? "";
        var partType = Text(part, "type") ?? "";
        _partTypes[partId] = partType;
        var ended = part.TryGetProperty("time", out var time) && time.TryGetProperty("end", out _);
        switch (partType)
        {
            case "text" when ended && IsAssistant(Text(part, "messageID")) && Text(part, "text") is { Length: > 0 } text
                             && _finishedParts.TryAdd(partId, true):
                _lastText = text;
                await _sink.OnEventAsync(new AssistantMessage(text), ct).ConfigureAwait(false);
                break;
            case "reasoning" when ended && Text(part, "text") is { Length: > 0 } thinking && _finishedParts.TryAdd(partId, true):
                await _sink.OnEventAsync(new Thinking(thinking), ct).ConfigureAwait(false);
                break;
            case "tool":
                await OnToolPartAsync(part, ct).ConfigureAwait(false);
                break;
            case "step-finish" when part.TryGetProperty("tokens", out var tokens):
                var cache = tokens.TryGetProperty("cache", out var c) ? c : default;
                var cost = part.TryGetProperty("cost", out var costValue) && costValue.ValueKind == JsonValueKind.Number ? costValue.GetDecimal() : 0m;
                lock (_turnLock)
                {
                    _usage = (_usage.Input + Number(tokens, "input"), _usage.Output + Number(tokens, "output"),
                        _usage.CacheRead + Number(cache, "read"), _usage.CacheWrite + Number(cache, "write"), _usage.Cost + cost);
                }

                break;
        }
    }

    private async Task OnToolPartAsync(JsonElement part, CancellationToken ct)
    {
        var callId = Text(part, "callID") ?? Text(part, "id") ?? "";
        var tool = Text(part, "tool") ?? "unknown";
        if (!part.TryGetProperty("state", out var state))
        {
            return;
        }

        // "pending" carries no input yet; from "running" on it does.
        var status = Text(state, "status");
        if (status is null or "pending")
        {
            return;
        }

        if (_announcedCalls.TryAdd(callId, true))
        {
            var input = state.TryGetProperty("input", out var i) && i.ValueKind == JsonValueKind.Object ? i.Clone() : JsonElement.Parse("{}");
            _callInputs[callId] = input;
            var (name, kind, title) = McpTool(tool) is { } mcp ? (mcp.Name, ToolKind.Mcp, mcp.Title) : (tool, Describe(tool, input).Kind, Describe(tool, input).Title);
            await _sink.OnEventAsync(new ToolCall(callId, name, kind, title, input), ct).ConfigureAwait(false);
        }

        if (status is "completed" or "error" && _finishedParts.TryAdd("call:" + callId, true))
        {
            var content = status == "completed" ? Text(state, "output") ?? "" : Text(state, "error") ?? "";
            await _sink.OnEventAsync(new ToolResult(callId, content, status == "error"), ct).ConfigureAwait(false);
        }
    }

    private async Task OnIdleAsync(CancellationToken ct)
    {
        (long Input, long Output, long CacheRead, long CacheWrite, decimal Cost) used;
        bool aborted;
        string? last;
        lock (_turnLock)
        {
            if (!_turnActive || !_sawBusy)
            {
                return;
            }

            _turnActive = false;
            _callInputs.Clear();
            _sawBusy = false;
            used = _usage;
            _usage = default;
            aborted = _aborted;
            _aborted = false;
            last = _lastText;
            _lastText = null;
        }

        if (used.Input + used.Output + used.CacheRead + used.CacheWrite > 0)
        {
            await _sink.OnEventAsync(new UsageReport(used.Input, used.Output, used.CacheRead, used.CacheWrite, used.Cost), ct).ConfigureAwait(false);
        }

        await _sink.OnEventAsync(new TurnCompleted(aborted ? "cancelled" : "completed", false, aborted ? null : last), ct).ConfigureAwait(false);
    }

    private async Task OnPermissionAskedAsync(JsonElement properties, CancellationToken ct)
    {
        if (Text(properties, "id") is not { } requestId)
        {
            return;
        }

        var permission = Text(properties, "permission") ?? "unknown";
        var metadata = properties.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object
            ? JsonNode.Parse(m.GetRawText())!.AsObject()
            : new JsonObject();
        var patterns = properties.TryGetProperty("patterns", out var p) && p.ValueKind == JsonValueKind.Array
            ? [.. p.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!)]
            : new List<string>();
        metadata["patterns"] = new JsonArray([.. patterns.Select(x => JsonValue.Create(x))]);
        var input = JsonElement.Parse(metadata.ToJsonString());
        var callId = properties.TryGetProperty("tool", out var tool) && Text(tool, "callID") is { } id ? id : requestId;
        if (permission == "read" && patterns.Count > 0 && patterns.All(p => p.StartsWith("mcp:", StringComparison.Ordinal)))
        {
            // OpenCode's MCP resource tools ask "read" of "mcp:SERVER:URI". Only the call's own tool says it is one: a
            // shell command or a file can be named "mcp:…" too, and must never pass for an MCP call (that an mcp: rule
            // allows). Whatever it is, it is never taken for a read inside the project, which the policy allows unasked.
            var (partTool, _) = await CallPartAsync(callId, Text(tool, "messageID"), ct).ConfigureAwait(false);
            var resource = McpResource(partTool, patterns, metadata);
            _permissions.Ask(requestId, resource is { } r
                    ? new PermissionRequest(callId, r.Name, r.Kind, r.Title, r.Input, null, null, null)
                    : new PermissionRequest(callId, permission, ToolKind.Other, $"read {string.Join(", ", patterns)}", input, null, null, null),
                decision => AnswerAsync(requestId, decision));
            return;
        }

        var (kind, title, command, path) = Describe(permission, input);
        if (kind != ToolKind.Execute)
        {
            path ??= patterns.FirstOrDefault();
        }

        // An MCP tool's permission names only the tool (SERVER_TOOL, patterns ["*"]): the owner is shown the call's own
        // arguments, and the name rules use (mcp__SERVER__TOOL), as for every other agent.
        var request = McpTool(permission) is { } mcp
            ? new PermissionRequest(callId, mcp.Name, ToolKind.Mcp, mcp.Title,
                (await CallPartAsync(callId, Text(tool, "messageID"), ct).ConfigureAwait(false)).Input ?? input, null, null, null)
            : new PermissionRequest(callId, permission, kind, title, input, command, path, null);
        _permissions.Ask(requestId, request, decision => AnswerAsync(requestId, decision));
    }

    /// <summary>OpenCode's tools that read MCP servers' resources (each asks "read" of <c>mcp:SERVER:URI</c> or <c>mcp:SERVER:*</c>).</summary>
    private static readonly HashSet<string> ResourceTools = new(StringComparer.Ordinal)
    {
        "read_mcp_resource", "list_mcp_resources", "list_mcp_resource_templates",
    };

    /// <summary>
    /// The permission of one of OpenCode's MCP resource tools (<paramref name="tool"/>, the call's own), or null for any
    /// other tool. On one server: <c>mcp__SERVER__TOOL</c> (so <c>mcp:SERVER/read_mcp_resource</c> rules it). On several (a
    /// list of every server's): the tool by its own name, kind other, so no one server's rule covers the others'.
    /// </summary>
    internal static (string Name, ToolKind Kind, string Title, JsonElement Input)? McpResource(string? tool, IReadOnlyList<string> patterns, JsonObject metadata)
    {
        if (tool is null || !ResourceTools.Contains(tool) || patterns.Count == 0 || !patterns.All(p => p.StartsWith("mcp:", StringComparison.Ordinal)))
        {
            return null;
        }

        var servers = patterns.Select(p => p[4..].Split(':', 2)[0]).Distinct(StringComparer.Ordinal).ToList();
        var uri = metadata["uri"] is JsonValue given && given.TryGetValue<string>(out var fromUri) ? fromUri : null;
        var input = JsonElement.Parse(new JsonObject
        {
            ["servers"] = new JsonArray([.. servers.Select(x => JsonValue.Create(x))]), ["uri"] = uri,
            ["patterns"] = new JsonArray([.. patterns.Select(x => JsonValue.Create(x))]),
        }.ToJsonString());
        return servers is [var server] && Mcp.McpServer.IsName(server)
            ? ($"mcp__{server}__{tool}", ToolKind.Mcp, uri is null ? $"{server}/{tool}" : $"{server}/{tool} {uri}", input)
            : (tool, ToolKind.Other, $"{tool}: {string.Join(", ", servers)}", input);
    }

    /// <summary>
    /// A call's tool and arguments: from its tool part, which OpenCode may not have sent yet when it asks (1.18 asks first), so
    /// then read from the message itself. Null when neither has them.
    /// </summary>
    private async Task<(string? Tool, JsonElement? Input)> CallPartAsync(string callId, string? messageId, CancellationToken ct)
    {
        // The message first: a call id may come again in a later turn (a provider's own numbering), and what is shown must
        // be this call's arguments, not an earlier one's.
        if (messageId is null)
        {
            return (null, _callInputs.TryGetValue(callId, out var known) ? known : null);
        }

        try
        {
            var message = await _server.SendAsync(HttpMethod.Get, $"/session/{Uri.EscapeDataString(AgentSessionId)}/message/{Uri.EscapeDataString(messageId)}",
                null, ct).ConfigureAwait(false);
            if (message.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in parts.EnumerateArray())
                {
                    if (Text(part, "callID") == callId)
                    {
                        return (Text(part, "tool"), part.TryGetProperty("state", out var state) && state.TryGetProperty("input", out var input)
                            && input.ValueKind == JsonValueKind.Object ? input.Clone() : null);
                    }
                }
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or InvalidOperationException or JsonException)
        {
            // Shown with what the permission itself says; the decision is the same.
        }

        return (null, null);
    }

    /// <summary>
    /// OpenCode's own tools and permissions: never an MCP server's, whatever a server is called (one named "external" must
    /// not turn the question about a path outside the project, <c>external_directory</c>, into an MCP call its rules allow).
    /// </summary>
    private static readonly HashSet<string> BuiltIn = new(StringComparer.Ordinal)
    {
        "bash", "edit", "write", "patch", "apply_patch", "multiedit", "read", "glob", "grep", "list", "webfetch", "websearch", "codesearch",
        "external_directory", "doom_loop", "task", "todowrite", "todoread", "question", "skill", "lsp", "plan_enter", "plan_exit", "batch", "invalid",
        "workflow_tool_approval", "read_mcp_resource", "list_mcp_resources", "list_mcp_resource_templates",
    };

    /// <summary>
    /// OpenCode names a tool of an MCP server <c>SERVER_TOOL</c>. For the servers PocketCoder gave it (their names known,
    /// the longest that fits winning), that is <c>mcp__SERVER__TOOL</c>, titled <c>SERVER/TOOL</c>; null for any other tool.
    /// </summary>
    private (string Name, string Title)? McpTool(string tool) => McpTool(tool, _options.McpServers.Servers.Select(s => s.Name));

    internal static (string Name, string Title)? McpTool(string tool, IEnumerable<string> servers) => BuiltIn.Contains(tool) ? null :
        servers.Where(server => tool.Length > server.Length + 1 && tool.StartsWith(server + "_", StringComparison.Ordinal))
            .OrderByDescending(server => server.Length).Select(server => ((string Name, string Title)?)($"mcp__{server}__{tool[(server.Length + 1)..]}",
                $"{server}/{tool[(server.Length + 1)..]}")).FirstOrDefault();

    /// <summary>
    /// OpenCode's question tool (<c>question.asked {id, questions [{question, header, options [{label, description}],
    /// multiple, custom}]}</c>) as the question card; answered with one list of strings per question.
    /// </summary>
    private void OnQuestionAsked(JsonElement properties)
    {
        if (Text(properties, "id") is not { } requestId || !properties.TryGetProperty("questions", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        var questions = new JsonArray();
        foreach (var question in list.EnumerateArray())
        {
            questions.Add(new JsonObject
            {
                ["question"] = Text(question, "question"), ["header"] = Text(question, "header"), ["options"] = AgentQuestions.Options(question),
                ["multiSelect"] = IsTrue(question, "multiple"),
            });
        }

        var input = JsonElement.Parse(new JsonObject { ["questions"] = questions }.ToJsonString());
        var callId = properties.TryGetProperty("tool", out var tool) && Text(tool, "callID") is { } id ? id : requestId;
        var request = new PermissionRequest(callId, "question", ToolKind.Question, AgentQuestions.Title(input), input, null, null, null);
        var count = questions.Count;
        _permissions.Ask(requestId, request, decision => AnswerQuestionAsync(requestId, count, decision));
    }

    /// <summary>The owner's answers (each chosen label, then their own words), or a rejection: "the user dismissed this question".</summary>
    private async Task AnswerQuestionAsync(string requestId, int questions, PermissionDecision decision)
    {
        var (path, body) = decision is { Allow: true, Answers: { } answers } && answers.Count == questions
            ? ($"/question/{Uri.EscapeDataString(requestId)}/reply", new JsonObject
            {
                ["answers"] = new JsonArray([.. answers.Select(a => (JsonNode)new JsonArray(
                    [.. a.Selected.Select(l => (JsonNode)JsonValue.Create(l)), .. a.Other is { } own ? [JsonValue.Create(own)] : Array.Empty<JsonNode>()]))]),
            })
            : ($"/question/{Uri.EscapeDataString(requestId)}/reject", (JsonObject?)null);
        await PostAnswerAsync(path, body).ConfigureAwait(false);
    }

    private async Task AnswerAsync(string requestId, PermissionDecision decision)
    {
        // Always "once", even when the owner allowed for the whole session: OpenCode's "always" would let its own
        // server (shared by every session of the project) allow the next matching calls without asking us, so
        // they would never reach the gatekeeper or the ledger. The session grant lives in the gatekeeper instead.
        var reply = decision.Allow ? new JsonObject { ["reply"] = "once" } : new JsonObject { ["reply"] = "reject" };
        if (!decision.Allow && !string.IsNullOrWhiteSpace(decision.Message))
        {
            // OpenCode hands this to the model as the user's feedback on the rejected call.
            reply["message"] = decision.Message;
        }

        await PostAnswerAsync($"/permission/{Uri.EscapeDataString(requestId)}/reply", reply).ConfigureAwait(false);
    }

    private async Task PostAnswerAsync(string path, JsonObject? body)
    {
        try
        {
            await _server.SendAsync(HttpMethod.Post, path, body, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is HttpRequestException or OpenCodeHttpException && _server.Exited.IsCompleted)
        {
            // The server is gone: nobody is waiting for the answer.
        }
    }

    /// <summary>
    /// The session's own permission rules. OpenCode decides a call by the LAST matching rule of the agent's rules
    /// (its defaults, then every config's <c>permission</c>, then the agent's own <c>permission</c>) followed by the
    /// session's: so these, on the session, outrank anything a config file says. Everything asks — reads too, so that
    /// every call reaches the gatekeeper, is in the ledger and meets the project's deny rules (PocketCoder's own policy
    /// allows reads inside the project without troubling the owner). Its question tool runs (its questions come to the
    /// owner as question cards); plan switches are off: PocketCoder has its own plan mode. Subagents are off (see below).
    /// </summary>
    internal static JsonArray GateRules() =>
    [
        Rule("*", "*", "ask"),
        Rule("todowrite", "*", "allow"),
        Rule("todoread", "*", "allow"),
        // The question tool only asks: its question.asked goes to the owner as a question card (never answered by a rule).
        Rule("question", "*", "allow"),
        Rule("plan_enter", "*", "deny"),
        Rule("plan_exit", "*", "deny"),
        // A subagent runs in a child session that inherits only the deny and external_directory rules of this one, so
        // its calls would be judged by the config rules alone (and asked on a session we do not listen to): no subagents.
        Rule("task", "*", "deny"),
    ];

    private static JsonObject Rule(string permission, string pattern, string action) =>
        new() { ["permission"] = permission, ["pattern"] = pattern, ["action"] = action };

    private static bool EndsWithGateRules(JsonElement session)
    {
        if (!session.TryGetProperty("permission", out var rules) || rules.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        var ours = GateRules();
        var theirs = rules.EnumerateArray().ToList();
        return theirs.Count >= ours.Count && ours.Select((rule, i) => (rule, i)).All(x =>
        {
            var other = theirs[theirs.Count - ours.Count + x.i];
            return Text(other, "permission") == (string?)x.rule!["permission"] && Text(other, "pattern") == (string?)x.rule["pattern"]
                && Text(other, "action") == (string?)x.rule["action"];
        });
    }

    private bool IsAssistant(string? messageId) =>
        messageId is not null && _messageRoles.TryGetValue(messageId, out var role) && role == "assistant";

    /// <summary>OpenCode's tool (and permission) names: what kind of action each is, and what to show.</summary>
    internal static (ToolKind Kind, string Title, string? Command, string? Path) Describe(string tool, JsonElement input)
    {
        var file = Text(input, "filePath") ?? Text(input, "filepath") ?? Text(input, "path");
        return tool switch
        {
            "bash" => (ToolKind.Execute, Text(input, "command") ?? "Run a command", Text(input, "command"), null),
            "edit" or "write" or "patch" or "apply_patch" or "multiedit" => (ToolKind.Edit, file is null ? "Edit files" : $"Edit {file}", null, file),
            "read" or "glob" or "grep" or "list" => (ToolKind.Read, file is null ? tool : $"Read {file}", null, file),
            "webfetch" or "websearch" => (ToolKind.Fetch, Text(input, "url") ?? tool, null, null),
            "external_directory" => (ToolKind.Other, "Use a path outside the project", null, file),
            _ => (ToolKind.Other, tool, null, null),
        };
    }
}
