using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents.Sessions;

/// <summary>
/// What every agent session backed by one long-lived child process shares: starting it (a missing binary is
/// "unavailable", not a crash), the permission broker, cancel (withdraw open questions, interrupt the agent, end every
/// process the turn started), stop, and reporting the exit. Each adapter only maps its own protocol.
/// </summary>
internal abstract class ProcessAgentSession : IAgentSession
{
    protected static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _lifetime = new();
    private ChildProcess? _process;
    private volatile bool _started;

    protected ProcessAgentSession(IAgentSink sink, string agentId, string agentName, bool appliesEditedInput)
    {
        Sink = sink;
        AgentId = agentId;
        AgentName = agentName;
        Permissions = new PermissionBroker(sink, appliesEditedInput, agentName, _lifetime.Token);
    }

    public abstract string AgentSessionId { get; }

    public Task Exited { get; private set; } = Task.CompletedTask;

    protected IAgentSink Sink { get; }

    protected string AgentId { get; }

    /// <summary>The name users know the agent by, for messages ("Codex", "Gemini CLI").</summary>
    protected string AgentName { get; }

    protected PermissionBroker Permissions { get; }

    /// <summary>Cancelled when the session stops: work on its behalf ends with it.</summary>
    protected CancellationToken Lifetime => _lifetime.Token;

    public int? ProcessId => _process?.Pid;

    protected ChildProcess Process => _process ?? throw new InvalidOperationException("The agent process has not started.");

    /// <summary>True once the handshake succeeded; from then on an exit is reported to the sink.</summary>
    protected bool Started => _started;

    /// <summary>Claude Code and Codex take images in every prompt; an ACP agent says whether it does.</summary>
    public virtual bool TakesImages => true;

    /// <inheritdoc cref="IAgentSession.ResumesOnDecision"/>
    public virtual bool ResumesOnDecision => false;

    /// <summary>Set by the adapter once the agent has named its models as it started; null on exit (or where it never says).</summary>
    protected TaskCompletionSource<AgentModels?> ModelsReported { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What the agent said as it started; an adapter that must ask for the list asks only when this is first read.</summary>
    public virtual Task<AgentModels?> Models => ModelsReported.Task;

    public abstract Task SendAsync(AgentPrompt prompt, CancellationToken cancellationToken);

    public abstract Task SetModeAsync(string mode, CancellationToken cancellationToken);

    /// <inheritdoc cref="IAgentSession.StopTaskAsync"/>
    public virtual Task<bool> StopTaskAsync(string taskId, CancellationToken cancellationToken) => Task.FromResult(false);

    public async Task CancelTurnAsync(CancellationToken cancellationToken)
    {
        // Questions still open belong to the turn being stopped: withdraw them so nobody decides a dead call.
        await Permissions.WithdrawAllAsync().ConfigureAwait(false);
        await InterruptTurnAsync(cancellationToken).ConfigureAwait(false);
        // An agent's interrupt ends the turn but may let an approved command run on (Codex did, for 40 s, its result
        // arriving after the turn ended): end every process the turn started.
        await Process.StopTurnProcessesAsync().ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _lifetime.CancelAsync().ConfigureAwait(false);
        await Process.StopAsync(StopGrace, cancellationToken).ConfigureAwait(false);
        await Exited.ConfigureAwait(false);
    }

    public async Task EndAsync(CancellationToken cancellationToken)
    {
        await Process.EndInputAsync(StopGrace, cancellationToken).ConfigureAwait(false);
        await Exited.ConfigureAwait(false);
        await _lifetime.CancelAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync().ConfigureAwait(false);
        if (_process is not null)
        {
            await _process.DisposeAsync().ConfigureAwait(false);
        }

        _lifetime.Dispose();
    }

    /// <summary>Starts the agent's process; its stdout lines reach <paramref name="onLine"/> one at a time, in order.</summary>
    protected void Launch(ProcessSpec spec, Func<string, Task> onLine)
    {
        _process = ChildProcess.StartAgent(AgentId, AgentName, spec, onLine);
        Exited = WatchExitAsync();
    }

    protected void MarkStarted() => _started = true;

    /// <summary>
    /// Starts the agent's process and runs its <paramref name="handshake"/> within <paramref name="timeout"/>. An agent that
    /// fails it is stopped, and the start refused as unavailable with the end of what it said on stderr.
    /// </summary>
    /// <exception cref="AgentUnavailableException">The handshake failed or timed out.</exception>
    protected async Task StartAsync(ProcessSpec spec, Func<string, Task> onLine, TimeSpan timeout, Func<CancellationToken, Task> handshake,
        CancellationToken cancellationToken)
    {
        Launch(spec, onLine);
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            await handshake(limit.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is InvalidOperationException or JsonRpcException or OperationCanceledException)
        {
            // Stopped first: its exit waits for stderr to be drained, so the tail is complete when read.
            await Process.StopAsync(StopGrace, CancellationToken.None).ConfigureAwait(false);
            var tail = Process.StderrTail;
            await DisposeAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            throw new AgentUnavailableException(AgentId, StartFailure(exception, timeout) + AgentUnavailableException.LastOutput(tail), exception);
        }

        _started = true;
    }

    /// <summary>What the owner is told when the handshake failed (or did not end within <paramref name="timeout"/>).</summary>
    protected virtual string StartFailure(Exception exception, TimeSpan timeout) => $"{AgentName} did not start ({exception.Message}).";

    /// <summary>PocketCoder's version, as it introduces itself to an agent.</summary>
    protected static string ClientVersion => typeof(ProcessAgentSession).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Asks the agent to stop its current turn (its protocol's interrupt).</summary>
    protected abstract Task InterruptTurnAsync(CancellationToken cancellationToken);

    /// <summary>Runs first when the process has exited: fail what waits on it.</summary>
    protected virtual void OnProcessExited(int exitCode)
    {
    }

    private async Task WatchExitAsync()
    {
        var exitCode = await Process.Exited.ConfigureAwait(false);
        ModelsReported.TrySetResult(null);
        OnProcessExited(exitCode);
        await Permissions.WithdrawAllAsync().ConfigureAwait(false);
        // A process that dies during the handshake is reported by the start as a failure to start.
        if (_started)
        {
            await Sink.OnEventAsync(new AgentExited(exitCode, Process.StopRequested, Process.StderrTail), CancellationToken.None)
                .ConfigureAwait(false);
        }
    }
}
