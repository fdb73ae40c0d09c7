using PocketCoder.Agents;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// An agent session with no process behind it, for testing what a session does around its agent: what it was sent, whether
/// it was cancelled or stopped, and an exit the test decides. A message can be refused (<see cref="Refuse"/>) or held until
/// the test lets it through (<see cref="Hold"/>).
/// </summary>
public sealed class FakeAgentSession : IAgentSession
{
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private readonly List<string> _sent = [];
    private TaskCompletionSource _nextSend = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string AgentSessionId { get; init; } = "fake-conversation";

    public bool TakesImages { get; init; }

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
    }

    public Task SetModeAsync(string mode, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task CancelTurnAsync(CancellationToken cancellationToken)
    {
        Cancels++;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => End("stop");

    public Task EndAsync(CancellationToken cancellationToken) => End("end");

    /// <summary>The process exits by itself.</summary>
    public void Exit() => _exited.TrySetResult();

    private Task End(string how)
    {
        EndedBy ??= how;
        _exited.TrySetResult();
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
