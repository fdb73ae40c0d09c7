using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Acp;

/// <summary>
/// One ACP agent process: JSON-RPC 2.0, one message per line, both directions. We send <c>initialize</c>,
/// <c>session/new</c> (or <c>session/load</c>), <c>session/prompt</c> (its response ends the turn), <c>session/set_mode</c>
/// and the <c>session/cancel</c> notification; the agent sends <c>session/update</c> notifications and asks us
/// <c>session/request_permission</c> (answered by the gatekeeper) and <c>fs/*</c> (confined to the project). The messages
/// are the records of AcpProtocol.cs; what the updates mean for the owner is <see cref="AcpUpdates"/>.
/// </summary>
internal sealed class AcpSession : JsonRpcAgentSession
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ReplayQuiet = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan ReplayLimit = TimeSpan.FromSeconds(5);
    private const string StartsAfresh = "a new conversation starts, and the agent does not remember the earlier messages.";

    private readonly AcpAgentDefinition _agent;
    private readonly GeminiChats? _chats;
    private readonly AcpFileSystem _files;

    /// <summary>The session's folder, the owner's instructions for it (its profile's: in Claude's system prompt, else with the
    /// instruction files) and its MCP servers.</summary>
    private readonly AgentStartOptions _options;
    private readonly Channel<AgentPrompt> _prompts = Channel.CreateUnbounded<AgentPrompt>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AcpUpdates _updates;

    private string _sessionId = "";
    private volatile bool _replaying;
    private long _lastUpdateTicks;
    private AgentCapabilities? _capabilities;
    private string? _agentVersion;

    /// <summary>The models it offers (null: it names none), and why the one the owner chose is not the one in use.</summary>
    private AcpModels? _models;
    private string? _modelProblem;

    // The project's instruction files, sent ahead of the first prompt of a new conversation (a continued one has them).
    private string? _instructions;
    private string? _defaultModeId;
    private string? _currentModeId;
    private HashSet<string> _modeIds = new(StringComparer.Ordinal);

    private AcpSession(AcpAgentDefinition agent, IAgentSink sink, AgentStartOptions options, GeminiChats? chats)
        : base(sink, agent.Id, agent.Name, stampVersion: true)
    {
        _agent = agent;
        _chats = chats;
        _options = options;
        _files = new AcpFileSystem(options.WorkingDirectory, agent.MissingFileReadsEmpty);
        _updates = new AcpUpdates(agent.ToolKinds);
    }

    public override string AgentSessionId => _sessionId;

    /// <param name="chats">Gemini CLI's chat files, tidied after a session/load (<see cref="GeminiChats"/>); null for other agents.</param>
    public static async Task<AcpSession> StartAsync(AcpAgentDefinition agent, ProcessSpec spec, AgentStartOptions options, string? model, IAgentSink sink,
        GeminiChats? chats, CancellationToken cancellationToken)
    {
        var session = new AcpSession(agent, sink, options, chats);
        await session.StartAsync(spec, StartTimeout, session.HandshakeAsync, cancellationToken).ConfigureAwait(false);
        await sink.OnEventAsync(new AgentReady(session._sessionId, session._models?.Offered.Current ?? model, session._agentVersion), cancellationToken)
            .ConfigureAwait(false);
        if (session._modelProblem is { } problem)
        {
            await sink.OnEventAsync(new AgentError(problem), cancellationToken).ConfigureAwait(false);
        }

        session.ModelsReported.TrySetResult(session._models?.Offered);
        _ = Task.Run(session.PumpPromptsAsync, CancellationToken.None);
        return session;
    }

    // ACP: image content only where the agent says its prompts take it.
    public override bool TakesImages => _capabilities?.PromptCapabilities?.Image == true;

    /// <summary>Where the agent offers session/load (or session/resume): its saved chat keeps the turns before a call stopped mid-wait.</summary>
    public override bool ResumesOnDecision =>
        _capabilities?.LoadSession == true || _capabilities?.SessionCapabilities?.Resume is { ValueKind: JsonValueKind.Object };

    public override Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken)
    {
        if (prompt.Images.Count > 0 && !TakesImages)
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
        var target = mode == SessionModes.Plan && _modeIds.FirstOrDefault(m => Bare(m) == "plan") is { } plan ? plan : _defaultModeId;
        if (target is null || target == _currentModeId)
        {
            return;
        }

        try
        {
            await Rpc.RequestAsync("session/set_mode", AcpJson.Object(new SetSessionModeRequest(_sessionId, target)), cancellationToken).ConfigureAwait(false);
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
        Rpc.NotifyAsync("session/cancel", AcpJson.Object(new CancelNotification(_sessionId)), cancellationToken);

    protected override void OnProcessExited(int exitCode)
    {
        _prompts.Writer.TryComplete();
        base.OnProcessExited(exitCode);
    }

    protected override string StartFailure(Exception exception, TimeSpan timeout) => $"{_agent.Name} failed to start: " + exception switch
    {
        JsonRpcException { Code: AcpErrors.AuthRequired } => $"it needs to be signed in first ({exception.Message})",
        OperationCanceledException => $"it did not answer within {timeout.TotalSeconds:0} seconds",
        _ => exception.Message,
    } + ".";

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        // terminal/* is not offered: agents run commands themselves, gated.
        var initialize = new InitializeRequest(1, new ClientCapabilities(new FileSystemCapability(true, true), Terminal: false,
                new Dictionary<string, bool> { ["subagent-transcript"] = true }),
            new Implementation("pocketcoder", "PocketCoder", ClientVersion));
        var initialized = AcpJson.Read<InitializeResponse>(await Rpc.RequestAsync("initialize", AcpJson.Object(initialize), cancellationToken).ConfigureAwait(false));
        _capabilities = initialized?.AgentCapabilities;
        _agentVersion = initialized?.AgentInfo?.Version;

        if (_options.ResumeAgentSessionId is { } resumeId && await TryContinueAsync(resumeId, cancellationToken).ConfigureAwait(false))
        {
            _sessionId = resumeId;
        }
        else
        {
            var created = AcpJson.Read<NewSessionResponse>(await Rpc.RequestAsync("session/new", SessionParameters(null), cancellationToken).ConfigureAwait(false));
            _sessionId = created?.SessionId ?? throw new InvalidOperationException("session/new returned no sessionId");
            ReadModes(created.Modes);
            _models = AcpModels.Read(created);
            // Claude over ACP (no instruction files of its own here) takes both in its system prompt (ClaudeAgentGate).
            _instructions = _agent.InstructionFiles.Count == 0
                ? null
                : ProjectInstructions.With(ProjectInstructions.Read(_options.WorkingDirectory, _agent.InstructionFiles), _options.Instructions);
        }

        await SetModeAsync(_options.Mode, cancellationToken).ConfigureAwait(false);
        await ChooseModelAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes the owner's model the session's, through the protocol, where the agent offers it (by id or by name). An agent with
    /// a launch option for it (Gemini CLI's <c>-m</c>) already took it, or a model outside its list; one without says which it
    /// uses instead, after it is ready.
    /// </summary>
    private async Task ChooseModelAsync(CancellationToken cancellationToken)
    {
        if (_options.Model is not { Length: > 0 } chosen || _models is not { } models)
        {
            return;
        }

        if (models.Offered.Find(chosen) is not { } model)
        {
            if (_agent.ModelArgument is null)
            {
                _modelProblem = $"{_agent.Name} does not offer the model '{chosen}', so it uses {(models.Offered.Current is { } current ? $"'{current}'" : "its default")}. " +
                    $"It offers: {string.Join(", ", models.Offered.Models.Select(m => m.Id))}.";
            }

            return;
        }

        if (model.Id == models.Offered.Current)
        {
            return;
        }

        var (method, parameters) = models.Select(_sessionId, model);
        try
        {
            await Rpc.RequestAsync(method, parameters, cancellationToken).ConfigureAwait(false);
            _models = models with { Offered = models.Offered with { Current = model.Id } };
        }
        catch (JsonRpcException exception)
        {
            _modelProblem = $"{_agent.Name} did not switch to the model '{chosen}' ({exception.Message}), so it uses " +
                $"{(models.Offered.Current is { } current ? $"'{current}'" : "its default")}.";
        }
    }

    /// <summary>Continues an earlier conversation with session/load or session/resume; false (and says why) when it cannot.</summary>
    private async Task<bool> TryContinueAsync(string resumeId, CancellationToken cancellationToken)
    {
        var canLoad = _capabilities?.LoadSession == true;
        if (!canLoad && _capabilities?.SessionCapabilities?.Resume is not { ValueKind: JsonValueKind.Object })
        {
            await Sink.OnEventAsync(new AgentError(
                $"{_agent.Name} cannot continue earlier conversations (it offers neither session/load nor session/resume): {StartsAfresh}"), cancellationToken)
                .ConfigureAwait(false);
            return false;
        }

        try
        {
            // session/load replays the whole conversation as session/update notifications; we already have it.
            _replaying = canLoad;
            Interlocked.Exchange(ref _lastUpdateTicks, Environment.TickCount64);
            // Ended in the reader, as the answer arrives: an agent that replays first has sent all of it by then.
            var loaded = await Rpc.RequestAsync(canLoad ? "session/load" : "session/resume", SessionParameters(resumeId), cancellationToken,
                _agent.ReplaysAfterLoad ? null : (_, _) =>
                {
                    _replaying = false;
                    return Task.CompletedTask;
                }).ConfigureAwait(false);
            var continued = AcpJson.Read<NewSessionResponse>(loaded);
            ReadModes(continued?.Modes);
            _models = AcpModels.Read(continued);
            return true;
        }
        catch (JsonRpcException exception)
        {
            _replaying = false;
            await Sink.OnEventAsync(new AgentError($"{_agent.Name} could not continue the earlier conversation ({exception.Message}): {StartsAfresh}"), cancellationToken)
                .ConfigureAwait(false);
            return false;
        }
        finally
        {
            // At once, loaded or not: until then any Gemini CLI starting for this project would delete the conversation with
            // the start-up files the load left.
            _chats?.AfterLoad(resumeId);
        }
    }

    // Only the servers the owner enabled in PocketCoder: the agent's own and the repository's are left out (below).
    private JsonObject SessionParameters(string? sessionId) => AcpJson.Object(new NewSessionRequest(
        sessionId, _options.WorkingDirectory, Mcp.McpFormats.Acp(_options.McpServers.Servers, _capabilities?.McpCapabilities?.Http == true),
        ClaudeAgentGate(_options.WorkingDirectory, _options.Instructions)));

    /// <summary>
    /// For claude-agent-acp (Claude Code over ACP), which reads <c>_meta.claudeCode.options</c> of session/new as options of
    /// the Claude Agent SDK; other agents ignore <c>_meta</c>, the protocol's extension point. The same gate as the Claude
    /// Code adapter's: only the owner's user settings load (a repository's <c>.claude/settings*.json</c> — hooks, allow
    /// rules, modes — never do), no <c>.mcp.json</c> servers, bypass mode refused, and a PreToolUse hook that answers
    /// "ask" for every tool, so even what Claude deems read-only reaches session/request_permission and the gatekeeper;
    /// and no AskUserQuestion (over ACP a plain permission, allowable by a rule or mode with no answers; answered only through
    /// Claude Code's own adapter, docs/agents.md).
    /// The repository's CLAUDE.md is content, not configuration: handed over as an addition to the system prompt.
    /// </summary>
    internal static ClaudeAgentMeta ClaudeAgentGate(string projectRoot, string? ownerInstructions = null) => new(
        new ClaudeCodeMeta(new ClaudeCodeOptions(["user"], AllowDangerouslySkipPermissions: false, ["AskUserQuestion"],
            new Dictionary<string, string?> { ["strict-mcp-config"] = null }, Claude.ClaudeCodeAdapter.AskFirstHooks)),
        ProjectInstructions.With(ProjectInstructions.Read(projectRoot, ProjectInstructions.Claude), ownerInstructions) is { } instructions
            ? new SystemPromptAppend(instructions)
            : null);

    private void ReadModes(SessionModeState? modes)
    {
        if (modes is null)
        {
            return;
        }

        _currentModeId = modes.CurrentModeId;
        _modeIds = modes.AvailableModes is { } available ? [.. available.Select(m => m?.Id).OfType<string>()] : _modeIds;

        // Thrown inside the handshake: the start is then refused as AGENT_UNAVAILABLE and the process stopped.
        _defaultModeId ??= SafeDefaultMode(_currentModeId, _modeIds)
            ?? throw new InvalidOperationException(
                $"it starts in mode '{_currentModeId}', which runs tools without asking, and offers no mode that asks; " +
                "change the agent's default permission mode in its own settings");
    }

    /// <summary>Agents' mode ids that run tools without asking: never kept as a session's mode.</summary>
    private static readonly HashSet<string> BypassModes = new(StringComparer.OrdinalIgnoreCase)
    {
        "bypassPermissions", "acceptEdits", "dontAsk", "yolo", "autoEdit", "auto_edit", "auto-edit", "auto",
        // Copilot CLI's: it turns on allow-all.
        "autopilot",
    };

    /// <summary>A mode id without the URL it may be given as (Copilot CLI's are <c>https://agentclientprotocol.com/protocol/session-modes#plan</c>).</summary>
    private static string Bare(string id) => id.LastIndexOf('#') is >= 0 and var hash ? id[(hash + 1)..] : id;

    /// <summary>
    /// The mode PocketCoder's sessions run in: the agent's own current mode, unless that one skips asking (e.g.
    /// claude-agent-acp starts in bypassPermissions when the owner's Claude default says so) — then its "default" mode, or
    /// the first that asks. Null when every mode it offers skips asking (or it names none to switch to).
    /// </summary>
    internal static string? SafeDefaultMode(string? current, IReadOnlyCollection<string> available) =>
        current is null || !BypassModes.Contains(Bare(current))
            ? current
            : available.FirstOrDefault(m => Bare(m) == "default") ?? available.FirstOrDefault(m => !BypassModes.Contains(Bare(m)) && Bare(m) != "plan");

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
                var prompt = new PromptRequest(_sessionId, [
                    .. instructions is null ? Array.Empty<ContentBlock>() : [new ContentBlock("text", instructions)],
                    new ContentBlock("text", next.Text),
                    .. next.Images.Select(image => new ContentBlock("image", MimeType: image.MediaType, Data: image.Base64)),
                ]);
                try
                {
                    Process.MarkTurnStart();
                    // The turn's end is reported on the reader as the answer arrives, in order with the updates before it.
                    await Rpc.RequestAsync("session/prompt", AcpJson.Object(prompt), ct,
                        (result, error) => Sink.OnEventsAsync(_updates.EndTurn(AcpJson.Read<PromptResponse>(result), error?.Detail, _agent.Name), Lifetime)).ConfigureAwait(false);
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

    protected override Task OnNotificationAsync(string method, JsonElement parameters) =>
        method == "session/update" && AcpJson.Read<SessionNotification>(parameters) is { Update: { } update }
            ? OnUpdateAsync(update)
            : Task.CompletedTask;

    protected override async Task OnRequestAsync(JsonElement id, string method, JsonElement parameters)
    {
        switch (method)
        {
            case "session/request_permission" when AcpJson.Read<RequestPermissionRequest>(parameters) is { } request:
                await (request.ToolCall is { } toolCall
                    ? OnPermissionRequestAsync(id.Clone(), toolCall, request.Options ?? [])
                    : Rpc.RespondAsync(id, JsonRpcReply.Failure(JsonRpcErrors.InvalidParams, "toolCall is required."))).ConfigureAwait(false);
                break;
            case "fs/read_text_file" or "fs/write_text_file":
                // Answered in order on the reader: the agent waits for it before it goes on anyway.
                await Rpc.RespondAsync(id, await _files.HandleAsync(method, parameters, Lifetime).ConfigureAwait(false)).ConfigureAwait(false);
                break;
            default:
                // terminal/* is not offered (clientCapabilities.terminal = false).
                await Rpc.RefuseAsync(id, method).ConfigureAwait(false);
                break;
        }
    }

    private async Task OnUpdateAsync(SessionUpdate update)
    {
        Interlocked.Exchange(ref _lastUpdateTicks, Environment.TickCount64);
        if (_replaying)
        {
            return;
        }

        if (update is CurrentModeUpdate mode)
        {
            _currentModeId = mode.CurrentModeId ?? _currentModeId;
            return;
        }

        await Sink.OnEventsAsync(_updates.Map(update), Lifetime).ConfigureAwait(false);
    }

    private async Task OnPermissionRequestAsync(JsonElement id, ToolCallUpdate toolCall, IReadOnlyList<PermissionOption?> options)
    {
        var events = new List<AgentEvent>();
        var request = _updates.Ask(toolCall, events);
        await Sink.OnEventsAsync(events, Lifetime).ConfigureAwait(false);
        // Withdrawn because the turn was cancelled: the protocol wants a "cancelled" outcome.
        Permissions.Ask(id.GetRawText(), request, decision => AnswerAsync(id, request, options, decision), () => RespondAsync(id, null));
    }

    private async Task AnswerAsync(JsonElement id, PermissionRequest request, IReadOnlyList<PermissionOption?> options, PermissionDecision decision)
    {
        var allow = decision.Allow;
        var optionId = AcpUpdates.Option(options, allow);
        if (allow && optionId is null)
        {
            await Sink.OnEventAsync(new AgentError(
                $"{_agent.Name} offered no one-time allow option for '{request.Title}', so it was refused: allowing it for good would bypass the gatekeeper."),
                CancellationToken.None).ConfigureAwait(false);
            optionId = AcpUpdates.Option(options, allow: false);
            allow = false;
        }

        await RespondAsync(id, optionId).ConfigureAwait(false);
        // Agents report a refused call differently (Gemini CLI not at all): close it on the phone either way.
        var message = decision.Allow ? null : decision.Message;
        if (!allow)
        {
            await Sink.OnEventsAsync(_updates.Finish(request.ToolCallId, string.IsNullOrWhiteSpace(message) ? "Denied." : $"Denied: {message}", true),
                CancellationToken.None).ConfigureAwait(false);
        }
    }

    private Task RespondAsync(JsonElement id, string? optionId) => Rpc.RespondAsync(id, JsonRpcReply.Success(AcpJson.Object(
        new RequestPermissionResponse(new PermissionOutcome(optionId is null ? "cancelled" : "selected", optionId)))));
}
