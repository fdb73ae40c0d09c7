using System.Collections.Concurrent;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Sessions;

namespace PocketCoder.Agents.Pi;

/// <summary>
/// One running <c>pi --mode rpc</c>. Reads its event lines in order (<see cref="PiUpdates"/> maps them), answers its commands'
/// responses to whoever waits for them, and puts each of the gate's dialogs to the gatekeeper, answering it with the decision.
/// </summary>
internal sealed class PiSession : ProcessAgentSession
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private readonly PiUpdates _updates = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<PiResponse>> _waiting = new(StringComparer.Ordinal);
    private readonly Lazy<Task<AgentModels?>> _models;
    private string _agentSessionId = "";
    private string? _model;
    private long _requests;

    private PiSession(IAgentSink sink)
        : base(sink, PiAdapter.AgentId, PiAdapter.Name, appliesEditedInput: true)
    {
        _models = new Lazy<Task<AgentModels?>>(ListModelsAsync);
    }

    public override string AgentSessionId => _agentSessionId;

    /// <summary>pi's <c>get_available_models</c>, asked once, when first wanted.</summary>
    public override Task<AgentModels?> Models => _models.Value;

    /// <summary>Starts pi and waits until it names its conversation (get_state): its file is the session's id for resume.</summary>
    public static async Task<PiSession> StartAsync(ProcessSpec spec, IAgentSink sink, CancellationToken cancellationToken)
    {
        var session = new PiSession(sink);
        await session.StartAsync(spec, session.OnLineAsync, StartupTimeout, session.HandshakeAsync, cancellationToken).ConfigureAwait(false);
        return session;
    }

    public override async Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken)
    {
        Process.MarkTurnStart();
        var images = prompt.Images.Count == 0 ? null : prompt.Images.Select(i => new PiImage(i.Base64, i.MediaType)).ToList();
        var answer = Request(new PiCommand("prompt", Message: prompt.Text, Images: images));
        await Process.WriteLineAsync(PiJson.Write(answer.Command), cancellationToken).ConfigureAwait(false);
        // pi answers once it has taken the prompt; one it refuses never starts a run, so the turn ends here.
        _ = Task.Run(async () =>
        {
            if (await answer.Response.ConfigureAwait(false) is { Success: false } refused)
            {
                await Sink.OnEventsAsync(_updates.Refused(refused.Error ?? "pi did not take the message."), Lifetime).ConfigureAwait(false);
            }
        }, CancellationToken.None);
    }

    /// <summary>pi has no modes of its own: the gatekeeper holds plan mode (no edits, no commands) as for every agent.</summary>
    public override Task SetModeAsync(string mode, CancellationToken cancellationToken) => Task.CompletedTask;

    protected override Task InterruptTurnAsync(CancellationToken cancellationToken) =>
        Process.WriteLineAsync(PiJson.Write(new PiCommand("abort")), cancellationToken);

    protected override void OnProcessExited(int exitCode)
    {
        foreach (var waiting in _waiting.Values)
        {
            waiting.TrySetException(new InvalidOperationException($"pi exited (code {exitCode})."));
        }
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        var state = await AskAsync(new PiCommand("get_state"), cancellationToken).ConfigureAwait(false);
        if (PiJson.Read<PiState>(state.Data) is not { } known || (known.SessionFile ?? known.SessionId) is not { Length: > 0 } id)
        {
            throw new InvalidOperationException($"pi named no conversation ({state.Error ?? "get_state said nothing of it"}).");
        }

        _agentSessionId = id;
        _model = known.Model is { Id: { } model } ? $"{known.Model.Provider}/{model}" : null;
        await Sink.OnEventAsync(new AgentReady(id, _model, null), cancellationToken).ConfigureAwait(false);
    }

    private async Task<AgentModels?> ListModelsAsync()
    {
        try
        {
            var answer = await AskAsync(new PiCommand("get_available_models"), Lifetime).ConfigureAwait(false);
            return PiJson.Read<PiModelList>(answer.Data)?.Models is { } models
                ? AgentModels.Of(models.OfType<PiModel>().Where(m => m.Id is { Length: > 0 })
                    .Select(m => new AgentModel($"{m.Provider}/{m.Id}", m.Name ?? m.Id!, m.Provider)), _model)
                : null;
        }
        catch (Exception exception) when (exception is InvalidOperationException or OperationCanceledException)
        {
            return null;
        }
    }

    private async Task<PiResponse> AskAsync(PiCommand command, CancellationToken cancellationToken)
    {
        var (withId, response) = Request(command);
        await Process.WriteLineAsync(PiJson.Write(withId), cancellationToken).ConfigureAwait(false);
        return await response.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The command with an id of its own, and its response to come.</summary>
    private (PiCommand Command, Task<PiResponse> Response) Request(PiCommand command)
    {
        var id = $"pocketcoder-{Interlocked.Increment(ref _requests)}";
        var response = new TaskCompletionSource<PiResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[id] = response;
        return (command with { Id = id }, response.Task);
    }

    private async Task OnLineAsync(string line)
    {
        // A line that is not one of pi's (a stray print) stays in the log.
        switch (PiJson.Read<PiLine>(line))
        {
            case PiResponse { Id: { } id } response when _waiting.TryRemove(id, out var waiting):
                waiting.TrySetResult(response);
                break;
            case PiUiRequest request:
                await OnDialogAsync(request).ConfigureAwait(false);
                break;
            case { } message:
                await Sink.OnEventsAsync(_updates.Map(message), Lifetime).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>
    /// The gate's question goes to the gatekeeper; a dialog of anything else (only the gate is loaded, so nothing should ask)
    /// is dismissed at once, so that pi never waits on a question nobody sees. Notices need no answer.
    /// </summary>
    private async Task OnDialogAsync(PiUiRequest request)
    {
        if (request.Id is not { } id)
        {
            return;
        }

        if (PiUpdates.Ask(request) is { } question)
        {
            Permissions.Ask(id, question, decision => RespondAsync(new PiUiResponse(id, Value: PiUpdates.Answer(decision))),
                () => RespondAsync(new PiUiResponse(id, Cancelled: true)));
        }
        else if (request.Method is "select" or "confirm" or "input" or "editor")
        {
            await RespondAsync(new PiUiResponse(id, Cancelled: true)).ConfigureAwait(false);
        }
    }

    private Task RespondAsync(PiUiResponse response) => Process.WriteLineAsync(PiJson.Write(response), CancellationToken.None);
}
