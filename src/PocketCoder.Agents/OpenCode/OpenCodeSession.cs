using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.OpenCode;

/// <summary>
/// One OpenCode session on the project's shared server. Its share of the <c>/event</c> stream becomes
/// <see cref="AgentEvent"/>s (<see cref="OpenCodeUpdates"/>); its <c>permission.asked</c> and <c>question.asked</c> are
/// answered with the gatekeeper's decision. So are its subagents': each <c>task</c> call runs in a child session of its own,
/// which this session takes in as OpenCode makes it (its gate rules put on it, its events followed and shown under the call).
/// </summary>
internal sealed class OpenCodeSession : IAgentSession
{
    private readonly OpenCodeServer _server;
    private readonly AgentStartOptions _options;
    private readonly IAgentSink _sink;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly OpenCodeStream _stream = new();
    private readonly PermissionBroker _permissions;
    private readonly Lock _streamLock = new();
    private string _mode;
    private int _released;
    private readonly Lazy<Task<AgentModels?>> _models;

    /// <summary>The subagents' child sessions, by id: each one's stream memory and the <c>task</c> call that started it.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Subagent> _subagents = new(StringComparer.Ordinal);

    private OpenCodeSession(OpenCodeServer server, AgentStartOptions options, IAgentSink sink, string sessionId)
    {
        _server = server;
        _options = options;
        _sink = sink;
        _mode = options.Mode;
        AgentSessionId = sessionId;
        _permissions = new PermissionBroker(sink, appliesEditedInput: false, "OpenCode", _lifetime.Token);
        _models = new Lazy<Task<AgentModels?>>(ListModelsAsync);
    }

    public string AgentSessionId { get; }

    public Task Exited => _exited.Task;

    public int? ProcessId => _server.ProcessId;

    private IEnumerable<string> McpServers => _options.McpServers.Servers.Select(s => s.Name);

    public static async Task<OpenCodeSession> StartAsync(OpenCodeServer server, AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken)
    {
        string? problem = null;
        string? id = null;
        // A body is sent once: each request gets its own.
        HttpContent Rules() => JsonContent.Create(new SessionInfo(null, GateRules()), OpenCodeJson.Default.SessionInfo);
        if (options.ResumeAgentSessionId is { } resume)
        {
            try
            {
                var earlier = await server.SendAsync(HttpMethod.Get, $"/session/{Uri.EscapeDataString(resume)}", null, OpenCodeJson.Default.SessionInfo,
                    cancellationToken).ConfigureAwait(false);
                id = earlier?.Id;
                if (id is not null && !EndsWithGateRules(earlier!))
                {
                    // A session made before the gate rules existed (or by someone else): OpenCode appends, and the last rule wins.
                    await server.SendAsync(HttpMethod.Patch, $"/session/{Uri.EscapeDataString(id)}", Rules(), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OpenCodeHttpException exception)
            {
                problem = $"OpenCode could not find its earlier session ({exception.Status}); this message starts a new one.";
            }
        }

        id ??= (await server.SendAsync(HttpMethod.Post, "/session", Rules(), OpenCodeJson.Default.SessionInfo, cancellationToken).ConfigureAwait(false))?.Id
            ?? throw new AgentUnavailableException(server.Flavor.AgentId, $"{server.Flavor.Name} created a session without an id.");

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

    /// <summary>The server keeps the session's messages; a turn stopped mid-wait keeps the turns before it (the call interrupted).</summary>
    public bool ResumesOnDecision => true;

    /// <summary>Asked of its server once, when first wanted: not for every start.</summary>
    public Task<AgentModels?> Models => _models.Value;

    /// <summary>
    /// Every model of every provider OpenCode has, as <c>provider/model</c> (what a prompt's model names), and the one in use: the
    /// owner's choice, else OpenCode's configured model.
    /// </summary>
    private async Task<AgentModels?> ListModelsAsync()
    {
        try
        {
            var providers = await _server.SendAsync(HttpMethod.Get, "/config/providers", null, OpenCodeJson.Default.ProvidersAnswer, _lifetime.Token)
                .ConfigureAwait(false);
            var current = _options.Model is { Length: > 0 } chosen ? chosen
                : (await _server.SendAsync(HttpMethod.Get, "/config", null, OpenCodeJson.Default.ConfigAnswer, _lifetime.Token).ConfigureAwait(false))?.Model;
            return AgentModels.Of((providers?.Providers ?? []).OfType<ProviderInfo>().Where(p => p.Id is { Length: > 0 })
                .SelectMany(p => (p.Models ?? new Dictionary<string, ProviderModel?>()).Select(m =>
                    new AgentModel($"{p.Id}/{m.Key}", $"{p.Name ?? p.Id}: {m.Value?.Name ?? m.Key}", null))), current);
        }
        catch (Exception exception) when (exception is OpenCodeHttpException or HttpRequestException or OperationCanceledException or JsonException)
        {
            return null;
        }
    }

    public async Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken)
    {
        var body = new Prompt(
            [
                new PromptPart("text", prompt.Text),
                .. prompt.Images.Select((i, n) => new PromptPart("file", Mime: i.MediaType, Url: i.DataUrl,
                    Filename: $"image-{n + 1}.{i.MediaType[(i.MediaType.IndexOf('/') + 1)..]}")),
            ],
            OpenCodeAdapter.AgentFor(_mode, _server.Flavor),
            _options.Model is { Length: > 0 } model && model.Split('/', 2) is [var provider, var modelId] ? new ModelRef(provider, modelId) : null,
            // OpenCode takes a system prompt addition per message: the owner's instructions (a profile's) go with each.
            _options.Instructions is { Length: > 0 } instructions ? instructions : null);

        lock (_streamLock)
        {
            _stream.BeginTurn();
        }

        try
        {
            await _server.SendAsync(HttpMethod.Post, $"/session/{AgentSessionId}/prompt_async", JsonContent.Create(body, OpenCodeJson.Default.Prompt),
                cancellationToken).ConfigureAwait(false);
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

        lock (_streamLock)
        {
            _stream.Aborted = true;
        }

        await _server.SendAsync(HttpMethod.Post, $"/session/{AgentSessionId}/abort", null, cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await AbortOnSharedServerAsync().ConfigureAwait(false);
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

    /// <summary>
    /// A server other sessions keep running would carry on with this session's turn (waiting on its permission, or calling the
    /// model) after we left it: the turn is aborted there. The last session out stops the server, which ends the turn with it.
    /// </summary>
    private async Task AbortOnSharedServerAsync()
    {
        if (Volatile.Read(ref _released) == 1 || !_server.Shared || _server.Exited.IsCompleted)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _server.SendAsync(HttpMethod.Post, $"/session/{AgentSessionId}/abort", null, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException or OpenCodeHttpException)
        {
            // Gone meanwhile, or not answering: nothing more to stop here.
        }
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
        foreach (var childId in _subagents.Keys)
        {
            _server.Unlisten(childId);
        }

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

    private async Task OnEventAsync(OpenCodeEvent update)
    {
        var properties = update.Properties!;
        if (update.Type == "session.created" && properties.Info is { Id: { } childId, ParentID: { } parentId } && parentId == AgentSessionId)
        {
            await TakeInSubagentAsync(childId).ConfigureAwait(false);
            return;
        }

        if (await AskedAsync(update, AgentSessionId, subagent: null).ConfigureAwait(false))
        {
            return;
        }

        IReadOnlyList<AgentEvent> events;
        lock (_streamLock)
        {
            events = OpenCodeUpdates.Map(update.Type, properties, _stream, McpServers);
        }

        if (update.Type == "message.part.updated" && properties.Part is { } part && OpenCodeUpdates.Subagent(part) is var (callId, task))
        {
            // The task call names its child session: the subagent's later events go under this call.
            var subagent = _subagents.GetOrAdd(task.TaskId, _ => new Subagent());
            subagent.ParentCallId ??= callId;
            if (subagent.LastStatus != task.Status)
            {
                subagent.LastStatus = task.Status;
                events = [.. events, task];
            }

            if (task.Status != AgentTaskStatuses.Running)
            {
                // Stopped, its question was never answered, and OpenCode says nothing of it: nobody needs to decide it any more.
                foreach (var requestId in subagent.TakeAsked())
                {
                    await _permissions.WithdrawAsync(requestId).ConfigureAwait(false);
                }
            }
        }

        await _sink.OnEventsAsync(events, _lifetime.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// A permission, a question, or the end of either, of this session (<paramref name="subagent"/> null) or one of its
    /// subagents: put to the gatekeeper, or withdrawn. False for any other event.
    /// </summary>
    private async Task<bool> AskedAsync(OpenCodeEvent update, string sessionId, Subagent? subagent)
    {
        var properties = update.Properties!;
        var parentCallId = subagent?.ParentCallId;
        if (update.Type is "permission.asked" or "question.asked" && properties.Id is { } asked)
        {
            subagent?.Asking(asked);
        }

        switch (update.Type)
        {
            case "permission.asked" when properties is { Id: { } requestId, Permission: "task", Patterns: [var name] }
                                        && await UnguardedAllowsAsync(name).ConfigureAwait(false) is { Count: > 0 } unguarded:
                // Refused before the owner is asked: allowed, it would run calls nobody is asked about.
                await PostAnswerAsync(($"/permission/{Uri.EscapeDataString(requestId)}/reply", JsonContent.Create(
                    new PermissionReply("reject", OpenCodeUpdates.RefusedSubagent(name, unguarded)), OpenCodeJson.Default.PermissionReply))).ConfigureAwait(false);
                return true;
            case "permission.asked" when properties.Id is { } requestId:
                var call = OpenCodeUpdates.NeedsCall(properties, McpServers)
                    ? await CallPartAsync(sessionId, properties.Tool?.CallID ?? requestId, properties.Tool?.MessageID, _lifetime.Token).ConfigureAwait(false)
                    : default;
                var permission = OpenCodeUpdates.Permission(properties, requestId, call, McpServers) with { ParentToolCallId = parentCallId };
                _permissions.Ask(requestId, permission, decision => AnswerAsync(requestId, decision));
                return true;
            case "question.asked" when OpenCodeUpdates.Question(properties) is ({ } request, var count):
                var questionId = properties.Id!;
                _permissions.Ask(questionId, request with { ParentToolCallId = parentCallId }, decision => PostAnswerAsync(OpenCodeUpdates.Answers(decision, count) is { } answers
                    ? ($"/question/{Uri.EscapeDataString(questionId)}/reply", JsonContent.Create(answers, OpenCodeJson.Default.QuestionReply))
                    : ($"/question/{Uri.EscapeDataString(questionId)}/reject", null)));
                return true;
            case "question.replied" or "question.rejected" or "permission.replied" when properties.RequestID is { } requestId:
                // Answered elsewhere (someone at the OpenCode TUI), or ours arrived: nobody needs to decide it here any more.
                await _permissions.WithdrawAsync(requestId).ConfigureAwait(false);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// OpenCode made a child session for a subagent of this one. Its rules are derived from this session's deny rules alone, so
    /// its calls would be judged by the agent's and the config's rules: the gate rules go onto it at once (the server's
    /// permission config already asks about everything, so nothing of a built-in subagent runs before they land), and its
    /// events are followed from here.
    /// </summary>
    private async Task TakeInSubagentAsync(string childId)
    {
        _subagents.GetOrAdd(childId, _ => new Subagent());
        _server.Listen(childId, update => OnSubagentEventAsync(childId, update));
        try
        {
            await _server.SendAsync(HttpMethod.Patch, $"/session/{Uri.EscapeDataString(childId)}",
                JsonContent.Create(new SessionInfo(null, GateRules(subagent: true)), OpenCodeJson.Default.SessionInfo), _lifetime.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is HttpRequestException or OpenCodeHttpException or OperationCanceledException)
        {
            // The server went, or the child ended already: there is nothing of it left to run.
        }
    }

    private async Task OnSubagentEventAsync(string childId, OpenCodeEvent update)
    {
        var subagent = _subagents.GetOrAdd(childId, _ => new Subagent());
        if (await AskedAsync(update, childId, subagent).ConfigureAwait(false))
        {
            return;
        }

        IReadOnlyList<AgentEvent> events;
        lock (_streamLock)
        {
            events = OpenCodeUpdates.MapSubagent(update.Type, update.Properties!, subagent.Stream, _stream, subagent.ParentCallId, McpServers);
        }

        await _sink.OnEventsAsync(events, _lifetime.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// What of subagent <paramref name="name"/>'s rules would let its calls run unasked before its child session gets the gate
    /// rules (<see cref="OpenCodeUpdates.UnguardedAllows"/>). An agent OpenCode does not know has none: its task fails on its own.
    /// </summary>
    private async Task<IReadOnlyList<PermissionRule>> UnguardedAllowsAsync(string name)
    {
        try
        {
            var agents = await _server.SendAsync(HttpMethod.Get, "/agent", null, OpenCodeJson.Default.IReadOnlyListAgentInfo, _lifetime.Token).ConfigureAwait(false);
            return agents?.FirstOrDefault(a => a.Name == name)?.Permission is { } rules ? OpenCodeUpdates.UnguardedAllows(rules) : [];
        }
        catch (Exception exception) when (exception is HttpRequestException or OpenCodeHttpException or JsonException or OperationCanceledException)
        {
            // Its rules unknown, it is refused as if they allowed everything.
            return [new PermissionRule("*", "*", "allow")];
        }
    }

    /// <summary>Stops one running subagent: its child session is aborted, and OpenCode ends its task call with an error.</summary>
    public async Task<bool> StopTaskAsync(string taskId, CancellationToken cancellationToken)
    {
        if (!_subagents.TryGetValue(taskId, out var subagent) || subagent.LastStatus != AgentTaskStatuses.Running)
        {
            return false;
        }

        await _server.SendAsync(HttpMethod.Post, $"/session/{Uri.EscapeDataString(taskId)}/abort", null, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>A subagent's child session as seen from here; written under the session's stream lock or by its one event reader.</summary>
    private sealed class Subagent
    {
        private readonly Lock _lock = new();
        private readonly List<string> _asked = [];

        public OpenCodeStream Stream { get; } = new();

        public string? ParentCallId { get; set; }

        public string? LastStatus { get; set; }

        /// <summary>A permission or question it asked: withdrawn when it ends, if still open.</summary>
        public void Asking(string requestId)
        {
            lock (_lock)
            {
                _asked.Add(requestId);
            }
        }

        public IReadOnlyList<string> TakeAsked()
        {
            lock (_lock)
            {
                var asked = _asked.ToList();
                _asked.Clear();
                return asked;
            }
        }
    }

    /// <summary>
    /// A call's tool and arguments: from its tool part, which OpenCode may not have sent yet when it asks (1.18 asks first), so
    /// then read from the message itself. Null when neither has them.
    /// </summary>
    private async Task<(string? Tool, JsonElement? Input)> CallPartAsync(string sessionId, string callId, string? messageId, CancellationToken ct)
    {
        // The message first: a call id may come again in a later turn (a provider's own numbering), and what is shown must
        // be this call's arguments, not an earlier one's.
        if (messageId is null)
        {
            lock (_streamLock)
            {
                return (null, _stream.CallInputs.TryGetValue(callId, out var known) ? known : null);
            }
        }

        try
        {
            var message = await _server.SendAsync(HttpMethod.Get, $"/session/{Uri.EscapeDataString(sessionId)}/message/{Uri.EscapeDataString(messageId)}",
                null, OpenCodeJson.Default.MessageWithParts, ct).ConfigureAwait(false);
            if (message?.Parts?.FirstOrDefault(part => part.CallID == callId) is { } part)
            {
                return (part.Tool, part.State?.Input is { ValueKind: JsonValueKind.Object } input ? input : null);
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or InvalidOperationException or JsonException)
        {
            // Shown with what the permission itself says; the decision is the same.
        }

        return (null, null);
    }

    // Always "once", even when the owner allowed for the whole session: OpenCode's "always" would let its own server
    // (shared by every session of the project) allow the next matching calls without asking us, so they would never
    // reach the gatekeeper or the ledger. The session grant lives in the gatekeeper instead. A rejection's words go to
    // the model as the user's feedback on the rejected call.
    private Task AnswerAsync(string requestId, PermissionDecision decision) =>
        PostAnswerAsync(($"/permission/{Uri.EscapeDataString(requestId)}/reply", JsonContent.Create(
            new PermissionReply(decision.Allow ? "once" : "reject", decision.Allow || string.IsNullOrWhiteSpace(decision.Message) ? null : decision.Message),
            OpenCodeJson.Default.PermissionReply)));

    private async Task PostAnswerAsync((string Path, HttpContent? Body) answer)
    {
        try
        {
            await _server.SendAsync(HttpMethod.Post, answer.Path, answer.Body, CancellationToken.None).ConfigureAwait(false);
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
    /// owner as question cards); plan switches are off: PocketCoder has its own plan mode. A subagent (<c>task</c>) is a call
    /// that asks like any other; its own child session gets these rules too, with no subagent of its own.
    /// </summary>
    internal static IReadOnlyList<PermissionRule> GateRules(bool subagent = false) =>
    [
        new("*", "*", "ask"),
        new("todowrite", "*", "allow"),
        new("todoread", "*", "allow"),
        // The question tool only asks: its question.asked goes to the owner as a question card (never answered by a rule).
        new("question", "*", "allow"),
        new("plan_enter", "*", "deny"),
        new("plan_exit", "*", "deny"),
        .. subagent ? [new PermissionRule("task", "*", "deny")] : Array.Empty<PermissionRule>(),
    ];

    private static bool EndsWithGateRules(SessionInfo session) =>
        session.Permission is { } theirs && GateRules() is var ours && theirs.Count >= ours.Count && theirs.TakeLast(ours.Count).SequenceEqual(ours);
}
