using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// One running <c>codex app-server</c> holding one thread. Turns its notifications into <see cref="AgentEvent"/>s
/// and answers its command / file-change approval requests with the gatekeeper's decision.
/// </summary>
internal sealed class CodexSession : JsonRpcAgentSession
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Longest the first turn waits for the MCP servers to start (Codex offers a server's tools only once it has).</summary>
    private static readonly TimeSpan McpStartWait = TimeSpan.FromSeconds(30);

    private readonly AgentStartOptions _options;
    private readonly ConcurrentDictionary<string, ThreadItem> _startedItems = new(StringComparer.Ordinal);

    /// <summary>MCP tool calls whose approval was already asked: each started call is asked about once.</summary>
    private readonly ConcurrentDictionary<string, bool> _askedMcpCalls = new(StringComparer.Ordinal);

    /// <summary>The MCP servers of Codex's config that have not yet said ready, failed or cancelled.</summary>
    private readonly HashSet<string> _mcpStarting;
    private readonly TaskCompletionSource _mcpStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _agentSessionId;

    /// <summary>The thread's model (thread/start's answer): the one in use, in the model list.</summary>
    private string? _threadModel;
    private readonly Lazy<Task<AgentModels?>> _models;

    /// <summary>The running turn: set by turn/started (or turn/start's answer, whichever comes first), cleared by turn/completed.</summary>
    private volatile string? _turnId;
    private string _mode;
    private TokenUsageBreakdown _reported = TokenUsageBreakdown.None;
    private TokenUsageBreakdown _latest = TokenUsageBreakdown.None;

    private CodexSession(AgentStartOptions options, IAgentSink sink, IReadOnlyCollection<string> mcpServers)
        : base(sink, CodexAdapter.AgentId, "Codex", stampVersion: false)
    {
        _mcpStarting = new HashSet<string>(mcpServers, StringComparer.Ordinal);
        if (_mcpStarting.Count == 0)
        {
            _mcpStarted.SetResult();
        }

        _options = options;
        _mode = options.Mode;
        _agentSessionId = options.ResumeAgentSessionId ?? "";
        _models = new Lazy<Task<AgentModels?>>(() => ListModelsAsync(_threadModel));
    }

    /// <summary>Codex's <c>model/list</c>, asked once, when first wanted (it may ask its provider): not for every start.</summary>
    public override Task<AgentModels?> Models => _models.Value;

    /// <summary>A thread resumed in a new app-server keeps the turns before a call stopped mid-wait (the call aborted): verified with 0.169.0.</summary>
    public override bool ResumesOnDecision => true;

    public override string AgentSessionId => _agentSessionId;

    /// <param name="mcpServers">The MCP servers Codex's config names: the first turn waits (a while) until each has started.</param>
    public static async Task<CodexSession> StartAsync(ProcessSpec spec, AgentStartOptions options, IAgentSink sink, IReadOnlyCollection<string> mcpServers,
        CancellationToken cancellationToken)
    {
        var session = new CodexSession(options, sink, mcpServers);
        await session.StartAsync(spec, StartupTimeout, session.HandshakeAsync, cancellationToken).ConfigureAwait(false);
        return session;
    }

    public override async Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken)
    {
        // app-server's UserInput: text, and each image as a data URL (no file left behind to clean up).
        UserInput[] input = [new("text", prompt.Text), .. prompt.Images.Select(i => new UserInput("image", Url: i.DataUrl))];
        // A turn is running: add the message to it, as a user typing into the Codex TUI would. If it ended meanwhile, a new
        // one starts below.
        if (_turnId is { } active && await SteerAsync(active, input, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var parameters = new TurnStartParams(AgentSessionId, input, CodexAdapter.ApprovalPolicy, new SandboxPolicy(CodexAdapter.SandboxPolicyType(_mode)),
            Model);
        // A turn begun before an MCP server is up is offered none of its tools (the model then calls them in vain).
        // Waited for once: a server that never reports (disabled in the config, say) delays only the first turn.
        await Task.WhenAny(_mcpStarted.Task, Task.Delay(McpStartWait, cancellationToken)).ConfigureAwait(false);
        _mcpStarted.TrySetResult();
        Process.MarkTurnStart();
        var started = await Rpc.RequestAsync("turn/start", CodexWire.Node(parameters), cancellationToken).ConfigureAwait(false);
        if (CodexWire.Read<TurnStartResponse>(started)?.Turn?.Id is { } turnId)
        {
            Interlocked.CompareExchange(ref _turnId, turnId, null);
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
        try
        {
            if (_turnId is { } turnId)
            {
                await Rpc.RequestAsync("turn/interrupt", CodexWire.Node(new TurnInterruptParams(AgentSessionId, turnId)), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (JsonRpcException)
        {
            // The turn finished on its own before the interrupt arrived.
        }
    }

    protected override void OnProcessExited(int exitCode) => Rpc.Close($"the codex process exited with code {exitCode}");

    private async Task HandshakeAsync(CancellationToken ct)
    {
        var initialized = await CodexWire.InitializeAsync(Rpc, ClientVersion, ct).ConfigureAwait(false);
        JsonElement? resumed = null;
        string? problem = null;
        if (_options.ResumeAgentSessionId is { } resume)
        {
            try
            {
                resumed = await Rpc.RequestAsync("thread/resume", ThreadParameters(resume), ct).ConfigureAwait(false);
            }
            catch (JsonRpcException exception)
            {
                // The rollout is gone (deleted CODEX_HOME, another machine): keep the session usable with a new thread.
                problem = $"Codex could not resume its earlier conversation ({exception.Message}); this message starts a new one.";
            }
        }

        var thread = CodexWire.Read<ThreadResponse>(resumed ?? await Rpc.RequestAsync("thread/start", ThreadParameters(null), ct).ConfigureAwait(false));
        _agentSessionId = thread?.Thread?.Id ?? "";
        if (AgentSessionId.Length == 0)
        {
            throw new InvalidOperationException("thread/start returned no thread id");
        }

        var agentVersion = initialized?.UserAgent is { } agent && agent.Split(' ')[0].Split('/') is [_, var v] ? v : null;
        await Sink.OnEventAsync(new AgentReady(AgentSessionId, thread?.Model, agentVersion), ct).ConfigureAwait(false);
        if (problem is not null)
        {
            await Sink.OnEventAsync(new AgentError(problem), ct).ConfigureAwait(false);
        }

        _threadModel = thread?.Model;
    }

    /// <summary>Codex's <c>model/list</c>, every page (a few at most), with the thread's model as the one in use.</summary>
    private async Task<AgentModels?> ListModelsAsync(string? current)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Lifetime);
            timeout.CancelAfter(ModelListTimeout);
            List<AgentModel> models = [];
            string? cursor = null;
            for (var page = 0; page < 10; page++)
            {
                var listed = CodexWire.Read<ModelListResponse>(await Rpc.RequestAsync("model/list", CodexWire.Node(new ModelListParams(cursor)), timeout.Token)
                    .ConfigureAwait(false));
                models.AddRange((listed?.Data ?? []).OfType<CodexModel>().Where(m => m is { Hidden: not true } && (m.Model ?? m.Id) is { Length: > 0 })
                    .Select(m => new AgentModel((m.Model ?? m.Id)!, m.DisplayName ?? (m.Model ?? m.Id)!, m.Description)));
                if ((cursor = listed?.NextCursor) is null)
                {
                    break;
                }
            }

            return AgentModels.Of(models, current);
        }
        catch (Exception exception) when (exception is JsonRpcException or OperationCanceledException or InvalidOperationException or IOException)
        {
            // An older Codex without model/list, one whose provider did not answer, or one that exited: it names no models.
            return null;
        }
    }

    private static readonly TimeSpan ModelListTimeout = TimeSpan.FromSeconds(30);

    /// <summary>thread/start's params, or thread/resume's for <paramref name="threadId"/>.</summary>
    private JsonObject ThreadParameters(string? threadId) => CodexWire.Node(new ThreadParams(threadId, _options.WorkingDirectory, CodexAdapter.ApprovalPolicy,
        CodexAdapter.SandboxMode(_mode), Model, _options.Instructions is { Length: > 0 } instructions ? instructions : null));

    /// <summary>The model the owner chose; null leaves Codex's own.</summary>
    private string? Model => _options.Model is { Length: > 0 } model ? model : null;

    protected override async Task OnNotificationAsync(string method, JsonElement parameters)
    {
        if (CodexWire.Notification(method, parameters) is not { } notification)
        {
            return;
        }

        var itemWasStarted = false;
        TokenUsageBreakdown? turnUsage = null;
        switch (notification)
        {
            case McpServerStatusUpdatedNotification { Name: { } server, Status: not (null or "starting") }:
                lock (_mcpStarting)
                {
                    if (_mcpStarting.Remove(server) && _mcpStarting.Count == 0)
                    {
                        _mcpStarted.TrySetResult();
                    }
                }

                break;
            case TurnStartedNotification { Turn: { } turn }:
                _turnId = turn.Id;
                break;
            case ItemStartedNotification { Item: { Id: { } id } item }:
                _startedItems[id] = item;
                break;
            case ItemCompletedNotification { Item: { } item }:
                itemWasStarted = _startedItems.TryRemove(item.Id ?? "", out _);
                break;
            case ThreadTokenUsageUpdatedNotification { TokenUsage.Total: { } total }:
                _latest = total;
                // Sent right after thread/resume with the thread's whole history: that is not this turn's cost.
                if (_turnId is null)
                {
                    _reported = _latest;
                }

                break;
            case ServerRequestResolvedNotification { RequestId.ValueKind: not JsonValueKind.Undefined } resolved:
                await Permissions.WithdrawAsync(resolved.RequestId.GetRawText()).ConfigureAwait(false);
                break;
            case TurnCompletedNotification { Turn: not null }:
                _turnId = null;
                turnUsage = _latest - _reported;
                _reported = _latest;
                break;
        }

        await Sink.OnEventsAsync(CodexUpdates.Map(notification, itemWasStarted, turnUsage), Lifetime).ConfigureAwait(false);
    }

    protected override Task OnRequestAsync(JsonElement id, string method, JsonElement parameters)
    {
        var requestId = id.Clone();
        (PermissionRequest Request, Func<PermissionDecision, Task> Answer)? ask = method switch
        {
            "item/commandExecution/requestApproval" when CodexWire.Read<CommandExecutionRequestApprovalParams>(parameters) is { } command =>
                (CodexRequests.Command(command), decision => AnswerAsync(requestId, command.TurnId, decision, elicitation: false)),
            "item/fileChange/requestApproval" when CodexWire.Read<FileChangeRequestApprovalParams>(parameters) is { } change =>
                (CodexRequests.FileChange(change, _startedItems.GetValueOrDefault(change.ItemId ?? "") as FileChangeItem),
                    decision => AnswerAsync(requestId, change.TurnId, decision, elicitation: false)),
            // Codex asks before an MCP tool runs as an elicitation marked codex_approval_kind "mcp_tool_call".
            "mcpServer/elicitation/request" when CodexWire.Read<McpServerElicitationRequestParams>(parameters) is { } elicitation
                                                 && McpToolCallFor(elicitation) is { } toolCall =>
                (toolCall, decision => AnswerAsync(requestId, elicitation.TurnId, decision, elicitation: true)),
            // An MCP server asks the owner to fill in a form: a question, answered field by field.
            "mcpServer/elicitation/request" when McpForm.Questions(parameters) is { } form && parameters.Clone() is var asked =>
                (form, decision => Rpc.RespondAsync(requestId, JsonRpcReply.Success(CodexWire.Node(CodexRequests.FormAnswer(asked, decision))))),
            "item/tool/requestUserInput" when CodexWire.Read<ToolRequestUserInputParams>(parameters) is { } asked && CodexRequests.Questions(asked) is { } question =>
                (question, decision => AnswerQuestionAsync(requestId, asked, decision)),
            _ => null,
        };
        if (ask is not var (request, answer))
        {
            // Questions we cannot put to the owner (an MCP form with fields we cannot show, a URL elicitation, legacy
            // v1 approvals, user input with no questions or without distinct ids): an MCP tool call is then declined.
            // say so rather than leave the agent waiting forever.
            return Rpc.RefuseAsync(id, method);
        }

        Permissions.Ask(requestId.GetRawText(), request, answer);
        return Task.CompletedTask;
    }

    /// <summary>The MCP tool call an elicitation asks about, when it is one (see <see cref="CodexRequests.McpToolCall"/>); asked about once.</summary>
    private PermissionRequest? McpToolCallFor(McpServerElicitationRequestParams elicitation)
    {
        var unasked = _startedItems.Values.OfType<McpToolCallItem>().Where(call => call.Id is { } id && !_askedMcpCalls.ContainsKey(id));
        return CodexRequests.McpToolCall(elicitation, unasked) is { } toolCall && _askedMcpCalls.TryAdd(toolCall.ToolCallId, true) ? toolCall : null;
    }

    /// <summary>The owner's answers, one per question id; a dismissed question is an error the model reads.</summary>
    private async Task AnswerQuestionAsync(JsonElement id, ToolRequestUserInputParams asked, PermissionDecision decision)
    {
        if (!decision.Allow)
        {
            // Codex hands the model an empty set of answers for an error, nothing more: the dismissal (and the owner's
            // reason) goes in as a steer on the running turn first, as a declined command's reason does.
            var why = "The owner dismissed your question" + (string.IsNullOrWhiteSpace(decision.Message) ? "" : $": {decision.Message}");
            if (asked.TurnId is { } turnId)
            {
                await SteerAsync(turnId, $"({why})").ConfigureAwait(false);
            }

            await Rpc.RespondAsync(id, JsonRpcReply.Failure(JsonRpcErrors.InternalError, why)).ConfigureAwait(false);
            return;
        }

        await Rpc.RespondAsync(id, JsonRpcReply.Success(CodexWire.Node(CodexRequests.Answers(asked, decision)))).ConfigureAwait(false);
    }

    /// <summary>
    /// Answers an approval (a command's or file change's "decision", an MCP tool call's elicitation "action"): always
    /// "accept", never "acceptForSession", and an MCP call's "persist" is left out, since Codex's own memory would skip the
    /// gatekeeper. The next call asks PocketCoder again.
    /// </summary>
    private async Task AnswerAsync(JsonElement id, string? turnId, PermissionDecision decision, bool elicitation)
    {
        if (!decision.Allow && !string.IsNullOrWhiteSpace(decision.Message) && turnId is not null)
        {
            // Codex tells the model only "rejected by user"; the owner's reason goes in as a steer on the running turn
            // first, so the model reads it with the rejection.
            await SteerAsync(turnId, $"(The owner declined: {decision.Message})").ConfigureAwait(false);
        }

        var verdict = decision.Allow ? "accept" : "decline";
        await Rpc.RespondAsync(id, JsonRpcReply.Success(elicitation
            ? CodexWire.Node(new McpServerElicitationRequestResponse(verdict))
            : CodexWire.Node(new ApprovalResponse(verdict)))).ConfigureAwait(false);
    }

    private Task SteerAsync(string turnId, string text) => SteerAsync(turnId, [new UserInput("text", text)], Lifetime);

    /// <summary>Adds <paramref name="input"/> to the running turn; false when that turn is over.</summary>
    private async Task<bool> SteerAsync(string turnId, IReadOnlyList<UserInput> input, CancellationToken cancellationToken)
    {
        try
        {
            await Rpc.RequestAsync("turn/steer", CodexWire.Node(new TurnSteerParams(AgentSessionId, turnId, input)), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (JsonRpcException)
        {
            // The turn is over: a message then starts a new one; a declined call's plain rejection still reaches the model.
            return false;
        }
    }
}
