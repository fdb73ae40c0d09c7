using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;
using static PocketCoder.Agents.JsonFields;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// One ACP agent process: JSON-RPC 2.0, one message per line, both directions. We send <c>initialize</c>,
/// <c>session/new</c> (or <c>session/load</c>), <c>session/prompt</c> (its response ends the turn), <c>session/set_mode</c>
/// and the <c>session/cancel</c> notification; the agent sends <c>session/update</c> notifications and asks us
/// <c>session/request_permission</c> (answered by the gatekeeper) and <c>fs/*</c> (confined to the project).
/// </summary>
internal sealed class AcpSession : ProcessAgentSession
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ReplayQuiet = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan ReplayLimit = TimeSpan.FromSeconds(5);

    private readonly AcpAgentDefinition _agent;
    private readonly GeminiChats? _chats;
    private readonly AcpFileSystem _files;
    private readonly string _workingDirectory;
    private readonly JsonRpcConnection _rpc;
    private readonly Channel<AgentPrompt> _prompts = Channel.CreateUnbounded<AgentPrompt>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _toolsLock = new();
    private readonly Dictionary<string, ToolState> _tools = new(StringComparer.Ordinal);
    private readonly HashSet<string> _finishedTools = new(StringComparer.Ordinal);

    // Assistant text of the current stretch (flushed as one AssistantMessage before a tool call and at turn end)
    // and of the whole turn. Touched only by the stdout reader.
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _turnText = new();

    private string _sessionId = "";
    private volatile bool _replaying;
    private long _lastUpdateTicks;
    private bool _canLoad;
    private bool _takesImages;
    private bool _canResume;
    private string? _agentVersion;

    // The project's instruction files, sent ahead of the first prompt of a new conversation (a continued one has them).
    private string? _instructions;
    // The owner's instructions for this session (its profile's): in Claude's system prompt, else with the instruction files.
    private string? _ownerInstructions;
    private IReadOnlyList<Mcp.McpServer> _mcpServers = [];
    private bool _takesHttpMcp;
    private string? _defaultModeId;
    private string? _currentModeId;
    private HashSet<string> _modeIds = new(StringComparer.Ordinal);

    private AcpSession(AcpAgentDefinition agent, IAgentSink sink, string workingDirectory, GeminiChats? chats)
        : base(sink, agent.Id, agent.Name, appliesEditedInput: false)
    {
        _agent = agent;
        _chats = chats;
        _workingDirectory = workingDirectory;
        _files = new AcpFileSystem(workingDirectory, agent.MissingFileReadsEmpty);
        _rpc = new JsonRpcConnection((line, ct) => Process.WriteLineAsync(line, ct), stampVersion: true)
        {
            OnNotification = OnNotificationAsync,
            OnRequest = OnRequestAsync,
        };
    }

    public override string AgentSessionId => _sessionId;

    /// <param name="chats">Gemini CLI's chat files, tidied after a session/load (<see cref="GeminiChats"/>); null for other agents.</param>
    public static async Task<AcpSession> StartAsync(AcpAgentDefinition agent, ProcessSpec spec, AgentStartOptions options, string? model, IAgentSink sink,
        GeminiChats? chats, CancellationToken cancellationToken)
    {
        var session = new AcpSession(agent, sink, options.WorkingDirectory, chats);
        session.Launch(spec, session._rpc.OnLineAsync);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StartTimeout);
            await session.HandshakeAsync(options, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is JsonRpcException or InvalidOperationException or OperationCanceledException)
        {
            var tail = await session.AbandonStartAsync().ConfigureAwait(false);
            var reason = exception switch
            {
                JsonRpcException { Code: AcpErrors.AuthRequired } => $"it needs to be signed in first ({exception.Message})",
                OperationCanceledException when !cancellationToken.IsCancellationRequested => $"it did not answer within {StartTimeout.TotalSeconds:0} seconds",
                _ => exception.Message,
            };
            throw new AgentUnavailableException(agent.Id,
                $"{agent.Name} failed to start: {reason}." + (tail.Length > 0 ? $" Its last output: {tail}" : ""), exception);
        }

        session.MarkStarted();
        await sink.OnEventAsync(new AgentReady(session._sessionId, model, session._agentVersion), cancellationToken).ConfigureAwait(false);
        _ = Task.Run(session.PumpPromptsAsync, CancellationToken.None);
        return session;
    }

    public override bool TakesImages => _takesImages;

    public override Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken)
    {
        if (prompt.Images.Count > 0 && !_takesImages)
        {
            throw new InvalidOperationException("This agent takes no images in its prompts.");
        }

        // session/prompt is one turn; a second prompt while one runs would abort it (Gemini CLI does), so turns queue here.
        if (Process.Exited.IsCompleted || !_prompts.Writer.TryWrite(prompt))
        {
            throw new InvalidOperationException("The agent process has exited.");
        }

        return Task.CompletedTask;
    }

    public override async Task SetModeAsync(string mode, CancellationToken cancellationToken)
    {
        // Only plan mode is handed to the agent (it then proposes instead of acting). Every other mode stays the
        // agent's default, which asks about everything: the gatekeeper decides, never the agent's own auto-approval.
        var target = mode == SessionModes.Plan && _modeIds.Contains("plan") ? "plan" : _defaultModeId;
        if (target is null || target == _currentModeId)
        {
            return;
        }

        try
        {
            await _rpc.RequestAsync("session/set_mode", new JsonObject { ["sessionId"] = _sessionId, ["modeId"] = target }, cancellationToken)
                .ConfigureAwait(false);
            _currentModeId = target;
        }
        catch (JsonRpcException exception) when (Started)
        {
            // The gatekeeper enforces the mode whatever the agent does; the agent merely behaves less helpfully.
            await Sink.OnEventAsync(new AgentError($"{_agent.Name} did not switch to its '{target}' mode: {exception.Message}"), cancellationToken)
                .ConfigureAwait(false);
        }
    }

    protected override Task InterruptTurnAsync(CancellationToken cancellationToken) =>
        // Open permission requests were withdrawn first: the protocol wants them answered "cancelled" once we cancel.
        _rpc.NotifyAsync("session/cancel", new JsonObject { ["sessionId"] = _sessionId }, cancellationToken);

    protected override void OnProcessExited(int exitCode)
    {
        _prompts.Writer.TryComplete();
        _rpc.Close($"{_agent.Name} exited (code {exitCode}).");
    }

    private async Task HandshakeAsync(AgentStartOptions options, CancellationToken cancellationToken)
    {
        _ownerInstructions = options.Instructions;
        _mcpServers = options.McpServers.Servers;
        var initialized = await _rpc.RequestAsync("initialize", new JsonObject
        {
            ["protocolVersion"] = 1,
            ["clientCapabilities"] = new JsonObject
            {
                ["fs"] = new JsonObject { ["readTextFile"] = true, ["writeTextFile"] = true },
                ["terminal"] = false,
            },
            ["clientInfo"] = new JsonObject { ["name"] = "pocketcoder", ["title"] = "PocketCoder", ["version"] = ClientVersion },
        }, cancellationToken).ConfigureAwait(false);

        if (initialized.TryGetProperty("agentCapabilities", out var capabilities) && capabilities.ValueKind == JsonValueKind.Object)
        {
            _canLoad = IsTrue(capabilities, "loadSession");
            // ACP: image content only where the agent says its prompts take it.
            _takesImages = capabilities.TryGetProperty("promptCapabilities", out var prompts) && IsTrue(prompts, "image");
            _canResume = capabilities.TryGetProperty("sessionCapabilities", out var sessionCapabilities)
                && sessionCapabilities.ValueKind == JsonValueKind.Object
                && sessionCapabilities.TryGetProperty("resume", out var resume)
                && resume.ValueKind == JsonValueKind.Object;
            _takesHttpMcp = capabilities.TryGetProperty("mcpCapabilities", out var mcp) && IsTrue(mcp, "http");
        }

        _agentVersion = initialized.TryGetProperty("agentInfo", out var info) ? Text(info, "version") : null;

        if (options.ResumeAgentSessionId is { } resumeId && await TryContinueAsync(resumeId, cancellationToken).ConfigureAwait(false))
        {
            _sessionId = resumeId;
        }
        else
        {
            var created = await _rpc.RequestAsync("session/new", SessionParameters(null), cancellationToken).ConfigureAwait(false);
            _sessionId = Text(created, "sessionId") ?? throw new InvalidOperationException("session/new returned no sessionId");
            ReadModes(created);
            // Claude over ACP (no instruction files of its own here) takes both in its system prompt (ClaudeAgentGate).
            _instructions = _agent.InstructionFiles.Count == 0
                ? null
                : ProjectInstructions.With(ProjectInstructions.Read(_workingDirectory, _agent.InstructionFiles), _ownerInstructions);
        }

        await SetModeAsync(options.Mode, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Continues an earlier conversation with session/load or session/resume; false (and says why) when it cannot.</summary>
    private async Task<bool> TryContinueAsync(string resumeId, CancellationToken cancellationToken)
    {
        if (!_canLoad && !_canResume)
        {
            await Sink.OnEventAsync(new AgentError(
                $"{_agent.Name} cannot continue earlier conversations (it offers neither session/load nor session/resume): " +
                "a new conversation starts, and the agent does not remember the earlier messages."), cancellationToken).ConfigureAwait(false);
            return false;
        }

        try
        {
            // session/load replays the whole conversation as session/update notifications; we already have it.
            _replaying = _canLoad;
            Interlocked.Exchange(ref _lastUpdateTicks, Environment.TickCount64);
            var loaded = await _rpc.RequestAsync(_canLoad ? "session/load" : "session/resume", SessionParameters(resumeId), cancellationToken)
                .ConfigureAwait(false);
            ReadModes(loaded);
            return true;
        }
        catch (JsonRpcException exception)
        {
            _replaying = false;
            await Sink.OnEventAsync(new AgentError(
                $"{_agent.Name} could not continue the earlier conversation ({exception.Message}): a new conversation starts, " +
                "and the agent does not remember the earlier messages."), cancellationToken).ConfigureAwait(false);
            return false;
        }
        finally
        {
            // At once, loaded or not: until then any Gemini CLI starting for this project would delete the conversation with
            // the start-up files the load left.
            _chats?.AfterLoad(resumeId);
        }
    }

    private JsonObject SessionParameters(string? sessionId)
    {
        var parameters = sessionId is null ? new JsonObject() : new JsonObject { ["sessionId"] = sessionId };
        parameters["cwd"] = _workingDirectory;
        // Only the servers the owner enabled in PocketCoder: the agent's own and the repository's are left out (below).
        parameters["mcpServers"] = Mcp.McpFormats.Acp(_mcpServers, _takesHttpMcp);
        parameters["_meta"] = ClaudeAgentGate(_workingDirectory, _ownerInstructions);
        return parameters;
    }

    /// <summary>
    /// For claude-agent-acp (Claude Code over ACP), which reads <c>_meta.claudeCode.options</c> of session/new as options of
    /// the Claude Agent SDK; other agents ignore <c>_meta</c>, the protocol's extension point. The same gate as the Claude
    /// Code adapter's: only the owner's user settings load (a repository's <c>.claude/settings*.json</c> — hooks, allow
    /// rules, modes — never do), no <c>.mcp.json</c> servers, bypass mode refused, and a PreToolUse hook that answers
    /// "ask" for every tool, so even what Claude deems read-only reaches session/request_permission and the gatekeeper;
    /// and no AskUserQuestion (answered only through Claude Code's own adapter, docs/agents.md).
    /// The repository's CLAUDE.md is content, not configuration: handed over as an addition to the system prompt.
    /// </summary>
    internal static JsonObject ClaudeAgentGate(string projectRoot, string? ownerInstructions = null)
    {
        var meta = new JsonObject
        {
            ["claudeCode"] = new JsonObject
            {
                ["options"] = new JsonObject
                {
                    ["settingSources"] = new JsonArray("user"),
                    ["allowDangerouslySkipPermissions"] = false,
                    // Questions are answered only where PocketCoder knows them for what they are (Claude Code's own
                    // adapter); over ACP one would be a plain permission, allowable by a rule or mode with no answers.
                    ["disallowedTools"] = new JsonArray("AskUserQuestion"),
                    ["extraArgs"] = new JsonObject { ["strict-mcp-config"] = null },
                    ["settings"] = Claude.ClaudeCodeAdapter.AskFirstHooks,
                },
            },
        };
        if (ProjectInstructions.With(ProjectInstructions.Read(projectRoot, ProjectInstructions.Claude), ownerInstructions) is { } instructions)
        {
            meta["systemPrompt"] = new JsonObject { ["append"] = instructions };
        }

        return meta;
    }

    private void ReadModes(JsonElement result)
    {
        if (!result.TryGetProperty("modes", out var modes) || modes.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        _currentModeId = Text(modes, "currentModeId");
        if (modes.TryGetProperty("availableModes", out var available) && available.ValueKind == JsonValueKind.Array)
        {
            _modeIds = [.. available.EnumerateArray().Select(m => Text(m, "id")).OfType<string>()];
        }

        // Thrown inside the handshake: the start is then refused as AGENT_UNAVAILABLE and the process stopped.
        _defaultModeId ??= SafeDefaultMode(_currentModeId, _modeIds)
            ?? throw new InvalidOperationException(
                $"it starts in mode '{_currentModeId}', which runs tools without asking, and offers no mode that asks; " +
                "change the agent's default permission mode in its own settings");
    }

    /// <summary>Agents' mode ids that run tools without asking: never kept as a session's mode.</summary>
    private static readonly HashSet<string> BypassModes = new(StringComparer.OrdinalIgnoreCase)
    {
        "bypassPermissions", "acceptEdits", "dontAsk", "yolo", "autoEdit", "auto_edit", "auto",
    };

    /// <summary>
    /// The mode PocketCoder's sessions run in: the agent's own current mode, unless that one skips asking (e.g.
    /// claude-agent-acp starts in bypassPermissions when the owner's Claude default says so) — then its "default" mode, or
    /// the first that asks. Null when every mode it offers skips asking (or it names none to switch to).
    /// </summary>
    internal static string? SafeDefaultMode(string? current, IReadOnlyCollection<string> available)
    {
        if (current is null || !BypassModes.Contains(current))
        {
            return current;
        }

        return available.FirstOrDefault(m => m == "default") ?? available.FirstOrDefault(m => !BypassModes.Contains(m) && m != "plan");
    }

    private async Task PumpPromptsAsync()
    {
        var ct = Lifetime;
        try
        {
            await foreach (var next in _prompts.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                if (_replaying)
                {
                    await WaitForReplayAsync(ct).ConfigureAwait(false);
                }

                var instructions = Interlocked.Exchange(ref _instructions, null);
                var blocks = new JsonArray([
                    .. instructions is null ? Array.Empty<JsonNode>() : [new JsonObject { ["type"] = "text", ["text"] = instructions }],
                    new JsonObject { ["type"] = "text", ["text"] = next.Text },
                    .. next.Images.Select(image => (JsonNode)new JsonObject { ["type"] = "image", ["mimeType"] = image.MediaType, ["data"] = image.Base64 }),
                ]);

                var prompt = new JsonObject { ["sessionId"] = _sessionId, ["prompt"] = blocks };
                try
                {
                    Process.MarkTurnStart();
                    // The turn's end is reported on the reader as the answer arrives, in order with the updates before it.
                    await _rpc.RequestAsync("session/prompt", prompt, ct, (result, error) => FinishTurnAsync(result, error?.Detail)).ConfigureAwait(false);
                }
                catch (JsonRpcException)
                {
                    // Reported by the reader as a failed turn; the next message gets a new one.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (InvalidOperationException)
        {
            // The process exited; ReportExitAsync tells the sink.
        }
    }

    /// <summary>
    /// Gemini CLI answers session/load first and streams the replay after, unawaited; a prompt sent at once would get
    /// the replay's tail mixed into its turn. Replay notifications come back to back, so a short silence ends it.
    /// </summary>
    private async Task WaitForReplayAsync(CancellationToken cancellationToken)
    {
        var started = Environment.TickCount64;
        while (Environment.TickCount64 - started < ReplayLimit.TotalMilliseconds)
        {
            var quietFor = Environment.TickCount64 - Interlocked.Read(ref _lastUpdateTicks);
            if (quietFor >= ReplayQuiet.TotalMilliseconds)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(ReplayQuiet.TotalMilliseconds - quietFor), cancellationToken).ConfigureAwait(false);
        }

        _replaying = false;
    }

    private Task OnNotificationAsync(string method, JsonElement parameters) =>
        method == "session/update" && parameters.ValueKind == JsonValueKind.Object
        && parameters.TryGetProperty("update", out var update) && update.ValueKind == JsonValueKind.Object
            ? OnUpdateAsync(update)
            : Task.CompletedTask;

    private async Task OnRequestAsync(JsonElement id, string method, JsonElement parameters)
    {
        switch (method)
        {
            case "session/request_permission" when parameters.ValueKind == JsonValueKind.Object:
                await OnPermissionRequestAsync(id.Clone(), parameters.Clone()).ConfigureAwait(false);
                break;
            case "fs/read_text_file" or "fs/write_text_file":
                // Answered in order on the reader: the agent waits for it before it goes on anyway.
                await _rpc.RespondAsync(id, await _files.HandleAsync(method, parameters, Lifetime).ConfigureAwait(false)).ConfigureAwait(false);
                break;
            default:
                // terminal/* is not offered (clientCapabilities.terminal = false): agents run commands themselves, gated.
                await _rpc.RespondAsync(id, JsonRpcReply.Failure(JsonRpcErrors.MethodNotFound, $"PocketCoder does not offer '{method}'.")).ConfigureAwait(false);
                break;
        }
    }

    private async Task OnUpdateAsync(JsonElement update)
    {
        Interlocked.Exchange(ref _lastUpdateTicks, Environment.TickCount64);
        if (_replaying)
        {
            return;
        }

        var ct = Lifetime;
        switch (Text(update, "sessionUpdate"))
        {
            case "agent_message_chunk" when ChunkText(update) is { Length: > 0 } text:
                _text.Append(text);
                _turnText.Append(text);
                await Sink.OnEventAsync(new MessageDelta(text), ct).ConfigureAwait(false);
                break;
            case "agent_thought_chunk" when ChunkText(update) is { Length: > 0 } thought:
                await Sink.OnEventAsync(new Thinking(thought), ct).ConfigureAwait(false);
                break;
            case "tool_call":
                await FlushTextAsync(ct).ConfigureAwait(false);
                await AnnounceToolAsync(update, ct).ConfigureAwait(false);
                await FinishToolIfDoneAsync(update, ct).ConfigureAwait(false);
                break;
            case "tool_call_update":
                if (Text(update, "title") is not null || Text(update, "kind") is not null)
                {
                    await FlushTextAsync(ct).ConfigureAwait(false);
                    await AnnounceToolAsync(update, ct).ConfigureAwait(false);
                }

                await FinishToolIfDoneAsync(update, ct).ConfigureAwait(false);
                break;
            case "plan" when update.TryGetProperty("entries", out var entries) && entries.ValueKind == JsonValueKind.Array:
                await Sink.OnEventAsync(new PlanUpdate([.. entries.EnumerateArray()
                    .Select(e => new PlanEntry(Text(e, "content") ?? "", Text(e, "status") ?? "pending"))]), ct).ConfigureAwait(false);
                break;
            case "usage_update":
                // Context usage (tokens in the window) and, where the agent knows it, the session's cost so far.
                await Sink.OnEventAsync(new UsageReport(Number(update, "used"), 0, 0, 0, Cost(update), CostIsRunningTotal: true), ct).ConfigureAwait(false);
                break;
            case "current_mode_update":
                _currentModeId = Text(update, "currentModeId") ?? _currentModeId;
                break;
        }
    }

    private async Task OnPermissionRequestAsync(JsonElement id, JsonElement parameters)
    {
        var ct = Lifetime;
        var toolCall = parameters.TryGetProperty("toolCall", out var t) && t.ValueKind == JsonValueKind.Object ? t : default;
        if (toolCall.ValueKind != JsonValueKind.Object)
        {
            await _rpc.RespondAsync(id, JsonRpcReply.Failure(JsonRpcErrors.InvalidParams, "toolCall is required.")).ConfigureAwait(false);
            return;
        }

        await FlushTextAsync(ct).ConfigureAwait(false);
        // Gemini CLI asks before it announces the call: announce it first so the phone shows what is being asked about.
        var tool = await AnnounceToolAsync(toolCall, ct).ConfigureAwait(false);
        var options = parameters.TryGetProperty("options", out var o) && o.ValueKind == JsonValueKind.Array
            ? [.. o.EnumerateArray().Select(option => (Id: Text(option, "optionId"), Kind: Text(option, "kind")))]
            : new List<(string? Id, string? Kind)>();
        var request = PermissionFor(toolCall, tool, _agent.ToolKinds);

        // Withdrawn because the turn was cancelled: the protocol wants a "cancelled" outcome.
        Permissions.Ask(id.GetRawText(), request, decision => AnswerAsync(id, request, options, decision),
            () => _rpc.RespondAsync(id, JsonRpcReply.Success(Outcome(null))));
    }

    /// <summary>
    /// What the owner is asked about: the permission request's own view of the call wherever it has one. An agent may
    /// announce a call while its input is still streaming (claude-agent-acp: title "Terminal", rawInput {}) and only the
    /// permission request carries the command that will run; the announced call fills in what the request leaves out.
    /// </summary>
    /// <param name="known">What the agent's own tools are by name (<see cref="AcpAgentDefinition.ToolKinds"/>).</param>
    internal static PermissionRequest PermissionFor(JsonElement toolCall, ToolState announced, IReadOnlyDictionary<string, ToolKind>? known = null)
    {
        var kindName = Text(toolCall, "kind");
        var kind = kindName is null ? announced.Kind : AcpTools.Kind(kindName, announced.Name, known);
        var hasInput = toolCall.TryGetProperty("rawInput", out var raw) && raw.ValueKind == JsonValueKind.Object && raw.EnumerateObject().Any();
        return new PermissionRequest(
            announced.Id,
            announced.Name,
            kind,
            Text(toolCall, "title") ?? announced.Title,
            hasInput ? raw.Clone() : announced.Input,
            AcpTools.Command(toolCall, kind) ?? announced.Command,
            AcpTools.Path(toolCall) ?? announced.Path,
            null);
    }

    private async Task AnswerAsync(JsonElement id, PermissionRequest request, List<(string? Id, string? Kind)> options, PermissionDecision decision)
    {
        var allow = decision.Allow;
        // Always "once": the gatekeeper remembers session and project grants itself. allow_always would make the
        // agent stop asking, and later calls would bypass the gatekeeper.
        var optionId = allow
            ? Option(options, "allow_once")
            : Option(options, "reject_once") ?? Option(options, "reject_always");
        if (allow && optionId is null)
        {
            await Sink.OnEventAsync(new AgentError(
                $"{_agent.Name} offered no one-time allow option for '{request.Title}', so it was refused: allowing it for good would bypass the gatekeeper."),
                CancellationToken.None).ConfigureAwait(false);
            optionId = Option(options, "reject_once") ?? Option(options, "reject_always");
            allow = false;
        }

        await _rpc.RespondAsync(id, JsonRpcReply.Success(Outcome(optionId))).ConfigureAwait(false);
        if (!allow)
        {
            // Agents report a refused call differently (Gemini CLI not at all): close it on the phone either way.
            var message = decision.Allow ? null : decision.Message;
            await FinishToolAsync(request.ToolCallId, string.IsNullOrWhiteSpace(message) ? "Denied." : $"Denied: {message}", true, CancellationToken.None)
                .ConfigureAwait(false);
        }
    }

    private static JsonObject Outcome(string? optionId) => new()
    {
        ["outcome"] = optionId is null
            ? new JsonObject { ["outcome"] = "cancelled" }
            : new JsonObject { ["outcome"] = "selected", ["optionId"] = optionId },
    };

    private static string? Option(List<(string? Id, string? Kind)> options, string kind) =>
        options.FirstOrDefault(o => o.Kind == kind && o.Id is not null).Id;

    /// <summary>Reports a tool call the first time it is seen; later sightings return what was reported.</summary>
    private async Task<ToolState> AnnounceToolAsync(JsonElement toolCall, CancellationToken ct)
    {
        var id = Text(toolCall, "toolCallId") ?? $"acp-{Guid.NewGuid():N}";
        ToolState state;
        lock (_toolsLock)
        {
            if (_tools.TryGetValue(id, out var known))
            {
                return known;
            }

            var kindName = Text(toolCall, "kind");
            var name = AcpTools.ToolName(toolCall, id, kindName);
            var kind = AcpTools.Kind(kindName, name, _agent.ToolKinds);
            state = new ToolState(id, name, kind, Text(toolCall, "title") ?? name, AcpTools.Input(toolCall),
                AcpTools.Command(toolCall, kind), AcpTools.Path(toolCall));
            _tools[id] = state;
        }

        await Sink.OnEventAsync(new ToolCall(state.Id, state.Name, state.Kind, state.Title, state.Input), ct).ConfigureAwait(false);
        return state;
    }

    private Task FinishToolIfDoneAsync(JsonElement update, CancellationToken ct) =>
        Text(update, "status") is "completed" or "failed" && Text(update, "toolCallId") is { } id
            ? FinishToolAsync(id, AcpTools.Output(update), Text(update, "status") == "failed", ct)
            : Task.CompletedTask;

    private async Task FinishToolAsync(string toolCallId, string output, bool isError, CancellationToken ct)
    {
        lock (_toolsLock)
        {
            if (!_finishedTools.Add(toolCallId))
            {
                return;
            }
        }

        await Sink.OnEventAsync(new ToolResult(toolCallId, output, isError), ct).ConfigureAwait(false);
    }

    private async Task FlushTextAsync(CancellationToken ct)
    {
        if (_text.Length == 0)
        {
            return;
        }

        var text = _text.ToString();
        _text.Clear();
        await Sink.OnEventAsync(new AssistantMessage(text), ct).ConfigureAwait(false);
    }

    private async Task FinishTurnAsync(JsonElement? result, string? error)
    {
        var ct = Lifetime;
        await FlushTextAsync(ct).ConfigureAwait(false);
        var turnText = _turnText.ToString();
        _turnText.Clear();
        if (error is not null)
        {
            await Sink.OnEventAsync(new AgentError($"{_agent.Name}: {error}"), ct).ConfigureAwait(false);
            await Sink.OnEventAsync(new TurnCompleted("error", true, error), ct).ConfigureAwait(false);
            return;
        }

        if (result is { ValueKind: JsonValueKind.Object } body && Usage(body) is { } usage)
        {
            await Sink.OnEventAsync(usage, ct).ConfigureAwait(false);
        }

        var stopReason = result is { ValueKind: JsonValueKind.Object } r ? Text(r, "stopReason") ?? "end_turn" : "end_turn";
        await Sink.OnEventAsync(new TurnCompleted(stopReason, stopReason == "refusal", turnText.Length > 0 ? turnText : null), ct)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// The turn's tokens: the protocol's <c>usage</c> (inputTokens, outputTokens, cachedReadTokens, cachedWriteTokens),
    /// else Gemini CLI's <c>_meta.quota.token_count</c> (input_tokens, output_tokens).
    /// </summary>
    private static UsageReport? Usage(JsonElement result)
    {
        if (result.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            return new UsageReport(Number(usage, "inputTokens"), Number(usage, "outputTokens"),
                Number(usage, "cachedReadTokens"), Number(usage, "cachedWriteTokens"), null);
        }

        if (result.TryGetProperty("_meta", out var meta) && meta.ValueKind == JsonValueKind.Object
            && meta.TryGetProperty("quota", out var quota) && quota.ValueKind == JsonValueKind.Object
            && quota.TryGetProperty("token_count", out var count) && count.ValueKind == JsonValueKind.Object)
        {
            return new UsageReport(Number(count, "input_tokens"), Number(count, "output_tokens"), 0, 0, null);
        }

        return null;
    }

    private static decimal? Cost(JsonElement update) =>
        update.TryGetProperty("cost", out var cost) && cost.ValueKind == JsonValueKind.Object
        && Text(cost, "currency") is "USD" or "usd"
        && cost.TryGetProperty("amount", out var amount) && amount.ValueKind == JsonValueKind.Number
            ? amount.GetDecimal()
            : null;

    private static string? ChunkText(JsonElement update) =>
        update.TryGetProperty("content", out var content) && Text(content, "type") == "text" ? Text(content, "text") : null;

    private static string ClientVersion => typeof(AcpSession).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    internal sealed record ToolState(string Id, string Name, ToolKind Kind, string Title, JsonElement Input, string? Command, string? Path);
}
