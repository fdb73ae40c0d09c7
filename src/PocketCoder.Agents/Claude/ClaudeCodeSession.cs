using System.Collections.Concurrent;
using System.Text.Json;
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

    /// <summary>
    /// The subagents' calls and the main thread's call that started each (Claude prints a call before it asks about it): the
    /// question names its subagent. Kept for the process's life: a background subagent works on after its turn has ended.
    /// </summary>
    private readonly ConcurrentDictionary<string, string> _parentOfCall = new(StringComparer.Ordinal);

    /// <summary>Resumed after a pause: the call it paused on, and the owner's decision for it.</summary>
    private PausedCall? _paused;

    /// <summary>Where Claude writes its plans (a write there is its own note, not an edit), when the adapter knows.</summary>
    private readonly ClaudePlanFiles? _plans;
    private string _agentSessionId;

    /// <summary>The main thread's latest entry in the conversation's chain: where a turn that ends now can be cut after.</summary>
    private string? _lastEntry;
    private long _requestCounter;
    private string? _model;

    /// <summary>The id of the first control request, initialize (<see cref="SendControlRequestAsync"/> counts from 1).</summary>
    private const string InitializeRequestId = "pocketcoder-1";

    /// <summary>The value of Claude Code's model list that runs when no <c>--model</c> is given.</summary>
    private const string DefaultModel = "default";

    /// <summary>Without a process: only for feeding <see cref="OnLineAsync"/> directly (benchmarks of the line parser).</summary>
    internal ClaudeCodeSession(string agentSessionId, IAgentSink sink, bool holdsCalls = false, PausedCall? paused = null, ClaudePlanFiles? plans = null)
        : base(sink, ClaudeCodeAdapter.AgentId, "Claude Code", appliesEditedInput: true)
    {
        _agentSessionId = agentSessionId;
        _holdsCalls = holdsCalls;
        _paused = paused;
        _plans = plans;
    }

    public override string AgentSessionId => _agentSessionId;

    /// <param name="holdFor">Set when calls may pause the agent: the gate hook then holds each call until it is decided or
    /// paused, which takes at most this long (Claude's own time limit on the hook is set well past it).</param>
    /// <param name="model">The model the owner chose (<c>--model</c>); null: Claude's default.</param>
    public static ClaudeCodeSession Start(ProcessSpec spec, string agentSessionId, IAgentSink sink, TimeSpan? holdFor, PausedCall? paused, string? model,
        ClaudePlanFiles? plans = null)
    {
        var session = new ClaudeCodeSession(agentSessionId, sink, holdFor is not null, paused, plans);
        session.Launch(spec, session.OnLineAsync);
        session.MarkStarted();
        // Before the first message: register the gate hook, so not even the first tool call escapes it. A hook that runs out of
        // time stops the call (the owner's answer would then be lost): the hold never comes near it.
        var gate = new HookMatcher(HookCallbackIds: [GateHookId], Timeout: holdFor is { } hold ? (int)Math.Ceiling((hold + HookTimeMargin).TotalSeconds) : null);
        session._model = model;
        _ = session.SendControlRequestAsync(new ControlRequest("initialize", Hooks: new HookSettings([gate])), CancellationToken.None);
        return session;
    }

    /// <summary>How much longer than the pause threshold Claude lets the held hook take (the gate first waits for the turn's snapshot).</summary>
    private static readonly TimeSpan HookTimeMargin = TimeSpan.FromMinutes(30);

    public override Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken)
    {
        // Images go first, as Anthropic advises, each a base64 image block; then the text.
        var content = prompt.Images.Count == 0 ? ClaudeJson.Element(prompt.Text) : ClaudeJson.Element<IReadOnlyList<ContentBlock>>(
        [
            .. prompt.Images.Select(i => new ContentBlock("image", Source: new ImageSource("base64", i.MediaType, i.Base64))),
            .. string.IsNullOrEmpty(prompt.Text) ? Array.Empty<ContentBlock>() : [new ContentBlock("text", prompt.Text)],
        ]);
        Process.MarkTurnStart();
        return Process.WriteLineAsync(ClaudeJson.Line(new UserLine(new ClaudeMessage(null, "user", content), AgentSessionId)), cancellationToken);
    }

    public override Task SetModeAsync(string mode, CancellationToken cancellationToken) =>
        SendControlRequestAsync(new ControlRequest("set_permission_mode", ClaudeCodeAdapter.PermissionMode(mode)), cancellationToken);

    protected override Task InterruptTurnAsync(CancellationToken cancellationToken) => SendControlRequestAsync(new ControlRequest("interrupt"), cancellationToken);

    /// <summary>Claude stops the task alone (its questions withdrawn) and says so with a <c>task_notification</c> of status stopped.</summary>
    public override async Task<bool> StopTaskAsync(string taskId, CancellationToken cancellationToken)
    {
        await SendControlRequestAsync(new ControlRequest("stop_task", TaskId: taskId), cancellationToken).ConfigureAwait(false);
        return true;
    }

    private Task SendControlRequestAsync(ControlRequest request, CancellationToken cancellationToken) => Process.WriteLineAsync(
        ClaudeJson.Line(new ControlRequestLine($"pocketcoder-{Interlocked.Increment(ref _requestCounter)}", request)), cancellationToken);

    internal async Task OnLineAsync(string line)
    {
        // A line that is not protocol output (a stray print) stays in the log, where a user debugging the agent will look.
        switch (ClaudeJson.Read<ClaudeLine>(line))
        {
            case ControlRequestLine { RequestId: { } requestId, Request: { } request }:
                OnControlRequest(requestId, request);
                break;
            case ControlResponseLine { Response: { RequestId: InitializeRequestId } answer }:
                // Its answer to initialize names the models it offers; "default" is what runs without --model.
                ModelsReported.TrySetResult(answer.Response?.Models is { } models
                    ? AgentModels.Of(models.OfType<ClaudeModelInfo>().Where(m => m.Value is { Length: > 0 })
                        .Select(m => new AgentModel(m.Value!, m.DisplayName ?? m.Value!, m.Description)), _model ?? DefaultModel)
                    : null);
                break;
                        case ControlCancelRequestLine { RequestId: { } cancelled }:
                await Permissions.WithdrawAsync(cancelled).ConfigureAwait(false);
                break;
            case { } message:
                var events = ClaudeUpdates.Map(message, _tasks, AgentSessionId);
                if (message is ResultLine && _lastEntry is { } entry)
                {
                    events = [.. events.Select(e => e is TurnCompleted ended ? ended with { ResumeAt = entry } : e)];
                }

                Remember(message, events);
                await Sink.OnEventsAsync(events, Lifetime).ConfigureAwait(false);

                break;
        }
    }

    /// <summary>What the session keeps of a line: the conversation's id, and the calls of each of the main thread's messages.</summary>
    private void Remember(ClaudeLine line, IReadOnlyList<AgentEvent> events)
    {
        _lastEntry = line switch
        {
            AssistantLine { ParentToolUseId: null, Uuid: { } said } => said,
            UserLine { ParentToolUseId: null, Uuid: { } answered } => answered,
            _ => _lastEntry,
        };

        switch (line)
        {
            case SystemLine when events is [AgentReady ready]:
                _agentSessionId = ready.AgentSessionId;
                break;
            case AssistantLine { ParentToolUseId: { } parent }:
                foreach (var call in events.OfType<ToolCall>().Where(call => call.ToolCallId.Length > 0))
                {
                    _parentOfCall[call.ToolCallId] = parent;
                }

                break;
            // A subagent's calls are never paused on: Claude would end the subagent, not the turn.
            case AssistantLine { ParentToolUseId: null, Message.Id: { } messageId }:
                foreach (var call in events.OfType<ToolCall>().Where(call => call.ToolCallId.Length > 0))
                {
                    _messageOfCall[call.ToolCallId] = messageId;
                    _callsInMessage.AddOrUpdate(messageId, 1, (_, n) => n + 1);
                }

                break;
            case ResultLine:
                // What this turn's calls left behind: decisions no can_use_tool came for (denied by Claude's own rules, interrupted),
                // and the count of calls per message, which only the turn's own calls need.
                _decidedInHook.Clear();
                _callsInMessage.Clear();
                _messageOfCall.Clear();
                break;
        }
    }

    private void OnControlRequest(string requestId, ControlRequest request)
    {
        if (request.Subtype == "hook_callback")
        {
            OnGateHook(requestId, request);
            return;
        }

        if (request.Subtype != "can_use_tool")
        {
            // We offer no MCP servers over this pipe; say so rather than leave the agent waiting.
            _ = RespondAsync(requestId, null, $"Unsupported control request '{request.Subtype}'.");
            return;
        }

        var tool = request.ToolName ?? "unknown";
        var input = ClaudeJson.InputOf(request.Input);
        var toolUseId = request.ToolUseId ?? requestId;
        if (_decidedInHook.TryRemove(toolUseId, out var decided))
        {
            _ = RespondAsync(requestId, ToolAnswer(decided.Tool == tool ? decided.Decision : PermissionDecision.NotTheCallDecided, decided.Input));
            return;
        }

        if (_paused is { } paused && paused.ToolCallId == toolUseId && Interlocked.CompareExchange(ref _paused, null, paused) == paused)
        {
            // The call this agent paused on, run as it resumes: the owner's decision on the call as they saw it, whatever
            // the transcript on disk says now (anything allowed to write there could have changed it).
            var decision = !paused.Decision.Allow || (paused.Tool == tool && paused.Input is not null) ? paused.Decision : PermissionDecision.NotTheCallDecided;
            _ = RespondAsync(requestId, ToolAnswer(PermissionBroker.Normalise(decision, Describe(toolUseId, tool, input), true, AgentName),
                paused.Input ?? input));
            return;
        }

        var permission = Describe(toolUseId, tool, input);
        permission = permission with { Path = permission.Path ?? request.BlockedPath };
        Permissions.Ask(requestId, permission, decision => RespondAsync(requestId, ToolAnswer(decision, input)));
    }

    private PermissionRequest Describe(string toolUseId, string tool, JsonElement input, bool canPause = false)
    {
        var described = ClaudeTools.Describe(tool, input, _plans);
        return new PermissionRequest(toolUseId, tool, described.Kind, described.Title, input, described.Command, described.Path,
            tool == "ExitPlanMode" ? JsonFields.Text(input, "plan") : null, canPause, CanEditInput: true, _parentOfCall.GetValueOrDefault(toolUseId));
    }

    /// <summary>A decision as the answer to <c>can_use_tool</c>: an allow hands over the input to run (the owner's edit, where they made one).</summary>
    private static ControlAnswer ToolAnswer(PermissionDecision decision, JsonElement input) => decision.Allow
        ? new ControlAnswer("allow", UpdatedInput: decision.UpdatedInput ?? input)
        : new ControlAnswer("deny", Message: decision.Message ?? "Denied by the owner.");

    /// <summary>
    /// The gate hook. It answers "ask", which Claude ranks above its own allow rules and any other hook's "allow": the
    /// call then goes to the permission prompt tool (<c>can_use_tool</c> above), so the gatekeeper sees it whatever
    /// Claude's settings say. Where calls may pause the agent, the hook first holds the call until the gatekeeper decides
    /// (the <c>can_use_tool</c> that follows is answered with that decision) or says to pause: then it answers "defer",
    /// and Claude ends the turn with the call kept in its transcript, to be decided when it resumes (see
    /// <see cref="ClaudeCodeAdapter"/>). Without pausing the hook answers at once and the decision waits in
    /// <c>can_use_tool</c>, so a human taking an hour meets no hook time limit.
    /// </summary>
    private void OnGateHook(string requestId, ControlRequest request)
    {
        if (request.CallbackId != GateHookId)
        {
            _ = RespondAsync(requestId, null, $"Unknown hook callback '{request.CallbackId}'.");
            return;
        }

        var hook = ClaudeJson.Read<HookInput>(request.Input);
        var toolUseId = request.ToolUseId ?? hook?.ToolUseId;
        if (!_holdsCalls || toolUseId is null || toolUseId == _paused?.ToolCallId)
        {
            _ = RespondAsync(requestId, HookAnswer("ask"));
            return;
        }

        var tool = hook?.ToolName ?? "unknown";
        var input = ClaudeJson.InputOf(hook?.ToolInput);
        Permissions.Ask(requestId, Describe(toolUseId, tool, input, canPause: true), decision =>
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

    private static ControlAnswer HookAnswer(string permissionDecision) =>
        new(HookSpecificOutput: new HookOutput(permissionDecision, "PocketCoder puts every tool call to the owner's gatekeeper."));

    /// <summary>Answers a control request of Claude's (<paramref name="error"/>: refuses it). Claude gone meanwhile is waiting for nobody.</summary>
    private async Task RespondAsync(string requestId, ControlAnswer? answer, string? error = null)
    {
        try
        {
            await Process.WriteLineAsync(ClaudeJson.Line(new ControlResponseLine(new ControlResponse(error is null ? "success" : "error", requestId, answer, error))),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }
}
