using PocketCoder.Agents;

namespace PocketCoder.Sessions.Running;

/// <summary>
/// What each start of the agent says, handed to its runner. The runner outlives its processes (a pause stops one, the
/// decision starts the next; a look starts one ahead), so an exit reported late by an earlier process (one started ahead
/// that died as the decision started another) must not be taken for the current one's and end the session.
/// </summary>
internal sealed class ProcessSinks(IAgentSink runner, ILogger logger, string sessionId, string agent)
{
    /// <summary>Which start of the agent is the current one.</summary>
    private int _current;

    /// <summary>The sink for the next start, which is the current one from now on.</summary>
    public IAgentSink Next() => new Sink(this, Interlocked.Increment(ref _current));

    private ValueTask OnEventAsync(int process, AgentEvent agentEvent, CancellationToken cancellationToken)
    {
        if (agentEvent is AgentExited exited && process != Volatile.Read(ref _current))
        {
            logger.LogInformation("Session {SessionId}: an earlier {Agent} process exited (code {ExitCode}); the current one runs on",
                sessionId, agent, exited.ExitCode);
            return ValueTask.CompletedTask;
        }

        return runner.OnEventAsync(agentEvent, cancellationToken);
    }

    /// <remarks>Only the current process may ask: one the runner has moved on from is not the agent the owner steers, and
    /// whatever it asks is refused unasked (never put to anyone, never run).</remarks>
    private Task<PermissionDecision> RequestPermissionAsync(int process, PermissionRequest request, CancellationToken cancellationToken) =>
        process == Volatile.Read(ref _current)
            ? runner.RequestPermissionAsync(request, cancellationToken)
            : Task.FromResult(PermissionDecision.Deny("This agent process was replaced; nothing it asks runs."));

    private sealed class Sink(ProcessSinks sinks, int process) : IAgentSink
    {
        public ValueTask OnEventAsync(AgentEvent agentEvent, CancellationToken cancellationToken) =>
            sinks.OnEventAsync(process, agentEvent, cancellationToken);

        public Task<PermissionDecision> RequestPermissionAsync(PermissionRequest request, CancellationToken cancellationToken) =>
            sinks.RequestPermissionAsync(process, request, cancellationToken);
    }
}
