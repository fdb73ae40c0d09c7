using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Network;

namespace PocketCoder.Sessions.Running;

/// <summary>
/// How a call the agent asks for reaches the <see cref="Gatekeeper"/>: after the turn's opening snapshot and through the pause
/// wait (<see cref="PausedCalls"/>); while the owner is asked, the session counts as waiting for them rather than the agent as
/// silent; an allowed fetch lets the agent's connection to its host be asked about.
/// </summary>
/// <param name="fetchAllowed">Told the input of each fetch allowed (<see cref="AllowedFetches"/>).</param>
internal sealed class AgentCallGate(PausedCalls paused, TurnSnapshots snapshots, Gatekeeper gatekeeper, Func<GateContext> context,
    TurnState turn, StallWatch stall, Action<System.Text.Json.JsonElement> fetchAllowed)
{
    public async Task<PermissionDecision> RequestAsync(PermissionRequest request, CancellationToken cancellationToken)
    {
        var decision = await paused.RequestAsync(request, snapshots.Opening, AskAsync, cancellationToken).ConfigureAwait(false);
        if (decision.Allow && request.Kind == ToolKind.Fetch)
        {
            // The agent's own process goes on to fetch it: its connection to that host is asked about, as a command's would be
            // (the rest of its own traffic is refused unasked). The allow itself opens nothing: a mode or a rule may have given it.
            fetchAllowed(decision.UpdatedInput ?? request.Input);
        }

        return decision;
    }

    /// <summary>Puts the request to the gatekeeper; while the owner is asked, the session counts as waiting for them.</summary>
    private async Task<PermissionDecision> AskAsync(PermissionRequest request, CancellationToken cancellationToken)
    {
        var asked = false;
        try
        {
            return await gatekeeper.RequestAsync(context(), request, () =>
            {
                asked = true;
                turn.Asking();
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (asked)
            {
                // The time spent waiting for the owner is not the agent's silence.
                stall.Touch();
                turn.Answered();
            }
        }
    }
}
