using PocketCoder.Agents;
using PocketCoder.Approvals;

namespace PocketCoder.Sessions.Running;

/// <summary>
/// The agent stopped mid-wait is back on its conversation, which still ends at the call: it is told the owner's decision as
/// its next prompt. An allow leaves a grant for that very call, once (<see cref="OneTimeGrant"/>), until its turn ends.
/// </summary>
internal sealed class DecisionOnResume(string sessionId, string agentId, SessionStore sessions, ILogger logger)
{
    private OneTimeGrant? _grant;

    /// <summary>The allow the resumed agent may still use: its gate lets that call through once.</summary>
    public OneTimeGrant? Grant => Volatile.Read(ref _grant);

    public async Task TellAsync(IAgentSession agent, PermissionRequest asked, PermissionDecision decision, CancellationToken cancellationToken)
    {
        sessions.ClearPausedCall(sessionId, asked.ToolCallId);
        // An older grant the agent left unused (it made another call instead, which paused it again) ends here: only the call
        // decided last may run on a grant, not one allowed before it in a turn the pause kept open.
        // Never on an edited allow: the grant lets the call through as the agent asks it, which is the original (an agent that
        // runs an edit instead does not stop to pause, and the gatekeeper refuses edits for those that cannot run them).
        var grant = decision is { Allow: true, UpdatedInput: null, ApprovalId: { } approvalId, DeciderId: { } deciderId } && asked.Kind != ToolKind.Question
            ? new OneTimeGrant(sessionId, asked, approvalId, deciderId, decision.DeciderName ?? deciderId)
            : null;
        Interlocked.Exchange(ref _grant, grant)?.Close();

        logger.LogInformation("Session {SessionId}: resumed {Agent} is told the owner's decision on its {Tool} call {ToolCallId} ({Decision})",
            sessionId, agentId, asked.Tool, asked.ToolCallId, decision.Allow ? "allowed" : "denied");
        await agent.SendAsync(AgentPrompt.FromText(DecisionPrompt.Of(asked, decision)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A grant the resumed agent did not use goes with its turn.</summary>
    public void TurnEnded() => Interlocked.Exchange(ref _grant, null)?.Close();
}
