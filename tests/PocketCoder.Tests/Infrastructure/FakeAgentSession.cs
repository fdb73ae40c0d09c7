using PocketCoder.Agents;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// An agent session with no process behind it, for testing what a session does around its agent: what it was sent, whether
/// it was cancelled or stopped, and an exit the test decides. A message can be refused (<see cref="Refuse"/>) or held until
/// the test lets it through (<see cref="Hold"/>). Started by a <see cref="FakeAgent"/>, it also talks back to the server as
/// an agent does (<see cref="Sink"/>): each message it takes runs the agent's script (say something, ask for a tool, end
/// the turn), and stopping or exiting is told as the agent's exit.
/// </summary>
public sealed class FakeAgentSession : IAgentSession
{
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private readonly List<string> _sent = [];
    private TaskCompletionSource _nextSend = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string AgentSessionId { get; init; } = "fake-conversation";

    public bool TakesImages { get; init; }

    public bool ResumesOnDecision { get; init; }

    /// <summary>What <see cref="DisposeAsync"/> waits on once it began (<see cref="Disposing"/>).</summary>
    public Task DisposeHold { get; init; } = Task.CompletedTask;

    /// <summary>What a stop or an end waits on before the process exits (<see cref="Ending"/> says it began).</summary>
    public Task ExitHold { get; init; } = Task.CompletedTask;

    /// <summary>Awaited after <see cref="ExitHold"/> as it stops or ends (<see cref="FakeAgent.Takes"/>).</summary>
    public Func<Task>? ExitTakes { get; init; }

    /// <summary>Completes when the server asks it to stop or end.</summary>
    public TaskCompletionSource Ending { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the server begins to let go of it.</summary>
    public TaskCompletionSource Disposing { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The models it says it offers (its agent's <see cref="FakeAgent.Models"/>).</summary>
    public Task<AgentModels?> Models { get; init; } = Task.FromResult<AgentModels?>(null);

    /// <summary>Where it tells what it does (the server's session), when started by a <see cref="FakeAgent"/>.</summary>
    public IAgentSink? Sink { get; init; }

    /// <summary>What the server started it with, when started by a <see cref="FakeAgent"/>.</summary>
    public AgentStartOptions? Options { get; init; }

    /// <summary>Run for each message it takes, after it is taken (with a <see cref="Sink"/> only).</summary>
    public Func<FakeAgentSession, AgentPrompt, Task>? Script { get; init; }

    private CancellationTokenSource _turn = new();
    private bool _ready;
    private int _turnsOpen;
    private int _calls;

    /// <summary>The texts of the prompts it took, in order.</summary>
    public IReadOnlyList<string> Sent
    {
        get
        {
            lock (_lock)
            {
                return [.. _sent];
            }
        }
    }

    /// <summary>The next message is refused with this (then taken again).</summary>
    public Exception? Refuse { get; set; }

    /// <summary>Messages wait on this before they are taken (a slow pipe).</summary>
    public Task Hold { get; set; } = Task.CompletedTask;

    public int Cancels { get; private set; }

    public string? EndedBy { get; private set; }

    public Task Exited => _exited.Task;

    /// <summary>
    /// Its exit has begun to be told (as a real process is gone before the server hears so): from here the server may give its
    /// agent slot to another, so counting processes against the limit stops counting it here, not at <see cref="Exited"/>.
    /// </summary>
    public bool Gone => Volatile.Read(ref _gone) != 0;

    private int _gone;

    /// <summary>Completes once it has taken <paramref name="count"/> messages.</summary>
    public async Task SentAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            Task next;
            lock (_lock)
            {
                if (_sent.Count >= count)
                {
                    return;
                }

                next = _nextSend.Task;
            }

            await next.WaitAsync(timeout.Token);
        }
    }

    public async Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken)
    {
        await Hold.WaitAsync(cancellationToken);
        if (Refuse is { } refused)
        {
            Refuse = null;
            throw refused;
        }

        TaskCompletionSource taken;
        lock (_lock)
        {
            _sent.Add(prompt.Text);
            taken = _nextSend;
            _nextSend = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        taken.SetResult();
        if (Sink is not null)
        {
            Interlocked.Increment(ref _turnsOpen);
            // What it then does comes from elsewhere, as from a real agent's output: never from within the send.
            _ = Task.Run(() => RunScriptAsync(prompt), CancellationToken.None);
        }
    }

    private async Task RunScriptAsync(AgentPrompt prompt)
    {
        if (!_ready)
        {
            _ready = true;
            await Sink!.OnEventAsync(new AgentReady(AgentSessionId, Options?.Model ?? "fake-model", "1.0"), CancellationToken.None);
        }

        try
        {
            await (Script ?? FakeAgent.Echo)(this, prompt);
        }
        catch (OperationCanceledException)
        {
            // The turn was cancelled while the script waited (for a decision): the cancel has ended it.
        }
    }

    /// <summary>Says <paramref name="text"/> as the agent's whole message.</summary>
    public Task SayAsync(string text) => Sink!.OnEventAsync(new AssistantMessage(text), CancellationToken.None).AsTask();

    /// <summary>Ends the turn as the agent does when it has nothing more to do.</summary>
    public Task EndTurnAsync(string? result = null, string stopReason = "end_turn") =>
        Interlocked.Exchange(ref _turnsOpen, 0) > 0
            ? Sink!.OnEventAsync(new TurnCompleted(stopReason, false, result), CancellationToken.None).AsTask()
            : Task.CompletedTask;

    /// <summary>
    /// Asks to run a shell command, as the agent's tool call, and waits for the gatekeeper's answer. Cancelling the turn
    /// withdraws the question, as the agents do.
    /// </summary>
    /// <param name="canEditInput">Whether it runs an edited input, as Claude Code does.</param>
    public async Task<PermissionDecision> AskToRunAsync(string command, bool canEditInput = false)
    {
        var id = $"fake-call-{Interlocked.Increment(ref _calls)}";
        var input = System.Text.Json.JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["command"] = command });
        return await Sink!.RequestPermissionAsync(
            new PermissionRequest(id, "Bash", ToolKind.Execute, command, input, command, null, null, CanEditInput: canEditInput), _turn.Token);
    }

    public Task SetModeAsync(string mode, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task CancelTurnAsync(CancellationToken cancellationToken)
    {
        Cancels++;
        if (Sink is null)
        {
            return Task.CompletedTask;
        }

        // As the agents do: what the turn asked is withdrawn, and the turn ends, said as cancelled.
        Interlocked.Exchange(ref _turn, new CancellationTokenSource()).Cancel();
        return EndTurnAsync(null, "cancelled");
    }

    public Task StopAsync(CancellationToken cancellationToken) => End("stop");

    public Task EndAsync(CancellationToken cancellationToken) => End("end");

    /// <summary>The process exits by itself.</summary>
    public void Exit() => _ = ExitAsync(1, expected: false);

    private async Task End(string how)
    {
        EndedBy ??= how;
        Ending.TrySetResult();
        await ExitHold;
        if (ExitTakes is { } takes)
        {
            await takes();
        }

        await ExitAsync(0, expected: true);
    }

    private async Task ExitAsync(int code, bool expected)
    {
        Interlocked.Exchange(ref _gone, 1);
        if (!_exited.Task.IsCompleted && Sink is not null)
        {
            await Sink.OnEventAsync(new AgentExited(code, expected, expected ? "" : "the fake agent exited"), CancellationToken.None);
        }

        _exited.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        Disposing.TrySetResult();
        await DisposeHold;
    }
}
