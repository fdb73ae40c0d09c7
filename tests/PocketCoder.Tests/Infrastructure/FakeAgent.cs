using PocketCoder.Agents;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// An agent the server runs with no process and no model behind it: each session it starts is a <see cref="FakeAgentSession"/>
/// the test can reach (<see cref="SessionAsync"/>) and drive, and each message runs <see cref="Script"/> (by default it
/// echoes the message and ends the turn). For tests of what the server does around an agent (the runner, the backlog,
/// the chat bridges) that need neither a real CLI nor minutes; the agents' own protocols are tested with the real CLIs.
/// </summary>
public sealed class FakeAgent : IAgentAdapter
{
    public const string AgentId = "fake";

    private readonly Lock _lock = new();
    private readonly List<FakeAgentSession> _sessions = [];
    private TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What each session does with each message it takes; read when a session starts.</summary>
    public Func<FakeAgentSession, AgentPrompt, Task> Script { get; set; } = Echo;

    public string Id => AgentId;

    /// <summary>The models its sessions say they offer (the one in use: the session's model where it names one); null: none.</summary>
    public IReadOnlyList<AgentModel>? Models { get; set; }

    /// <summary>Its sessions are stopped on a call that waits past the threshold and told the decision after a resume, as Codex's are.</summary>
    public bool ResumesOnDecision { get; set; }

    /// <summary>Its sessions' processes, once gone, are let go of only when this completes (a slow clean-up after an exit).</summary>
    public Task DisposeHold { get; set; } = Task.CompletedTask;

    /// <summary>Its sessions' processes, asked to stop or end, exit only when this completes (a process slow to exit).</summary>
    public Task ExitHold { get; set; } = Task.CompletedTask;

    /// <summary>How many sessions it has started, probes of its models included.</summary>
    public int Starts => Started.Count;

    /// <summary>Says "Done: " and the message, then ends the turn.</summary>
    public static async Task Echo(FakeAgentSession session, AgentPrompt prompt)
    {
        await session.SayAsync($"Done: {prompt.Text}");
        await session.EndTurnAsync();
    }

    public Task<AgentAvailability> ProbeAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new AgentAvailability(true, "1.0", null));

    /// <summary>
    /// Set: every start fails with it, as an agent whose executable is missing or broken does (an
    /// <see cref="AgentUnavailableException"/>), or as a start whose set-up broke (anything else: a full disk).
    /// </summary>
    public Exception? StartFails { get; set; }

    /// <summary>What a start waits on before its process is up (<see cref="StartBegun"/> says one began): an agent slow to start.</summary>
    public Task StartHold { get; set; } = Task.CompletedTask;

    public TaskCompletionSource StartBegun { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Awaited as each start begins and as each stop or end exits (null: at once): a real agent's process takes a while to come
    /// up and to go, and a race between a start or a stop and what comes meanwhile needs that while to show.
    /// </summary>
    public Func<Task>? Takes { get; set; }

    public async Task<IAgentSession> StartAsync(AgentStartOptions options, IAgentSink sink, CancellationToken cancellationToken)
    {
        StartBegun.TrySetResult();
        await StartHold;
        if (Takes is { } takes)
        {
            await takes();
        }

        if (StartFails is { } failure)
        {
            throw failure;
        }

        var session = new FakeAgentSession
        {
            AgentSessionId = options.ResumeAgentSessionId ?? options.NewAgentSessionId,
            Sink = sink,
            Options = options,
            Script = Script,
            ResumesOnDecision = ResumesOnDecision,
            DisposeHold = DisposeHold,
            ExitHold = ExitHold,
            ExitTakes = Takes,
            Models = Task.FromResult(Models is { } models ? AgentModels.Of(models, options.Model is { Length: > 0 } chosen ? chosen : models.FirstOrDefault()?.Id) : null),
        };
        TaskCompletionSource started;
        lock (_lock)
        {
            _sessions.Add(session);
            started = _started;
            _started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        started.SetResult();
        return session;
    }

    /// <summary>The sessions it has started so far.</summary>
    public IReadOnlyList<FakeAgentSession> Started
    {
        get
        {
            lock (_lock)
            {
                return [.. _sessions];
            }
        }
    }

    /// <summary>The <paramref name="index"/>th session it started (from 0), once it has.</summary>
    public async Task<FakeAgentSession> SessionAsync(int index)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            Task next;
            lock (_lock)
            {
                if (_sessions.Count > index)
                {
                    return _sessions[index];
                }

                next = _started.Task;
            }

            await next.WaitAsync(timeout.Token);
        }
    }
}
