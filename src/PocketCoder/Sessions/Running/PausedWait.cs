using System.Text.Json;
using PocketCoder.Agents;

namespace PocketCoder.Sessions.Running;

/// <summary>A call the agent is to pause on: the gate's wait for it, and where it stands.</summary>
internal sealed class PausedWait(PermissionRequest request, Task<PermissionDecision> decision, CancellationTokenSource withdraw)
{
    public PermissionRequest Request { get; } = request;

    public string ToolCallId { get; } = request.ToolCallId;

    /// <summary>The call as the owner saw it: what their allow runs when the agent resumes.</summary>
    public string Tool { get; } = request.Tool;

    public JsonElement Input { get; } = request.Input;

    public Task<PermissionDecision> Decision { get; } = decision;

    /// <summary>Withdraws the approval (a cancel, a stop).</summary>
    public CancellationTokenSource Withdraw { get; } = withdraw;

    /// <summary>The agent did not pause but asked for the call again, and took the decision itself.</summary>
    public bool TakenByAgent { get; set; }

    /// <summary>Taken by an agent started ahead of the decision: paused again at the end of its hold if still undecided.</summary>
    public bool TakenWhileWarm { get; set; }

    /// <summary>The agent's turn ended on the call: its process is to go.</summary>
    public bool AgentStopped { get; set; }

    public bool ProcessGone { get; set; }

    /// <summary>The agent could not defer the call: its process is stopped mid-turn, and told the decision after its resume.</summary>
    public bool StopsProcess { get; init; }

    /// <summary>Set once the pause's stop is over (done, or not needed): the stopped agent's request may be let go then.</summary>
    public TaskCompletionSource Gone { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool Resumed { get; set; }

    /// <summary>Its agent was started again ahead of the decision (<see cref="PausedCalls.WarmAsync"/>) and is still running.</summary>
    public bool Warm { get; set; }

    /// <summary>Until when an agent started ahead of the decision waits for it.</summary>
    public DateTimeOffset WarmUntil { get; set; }

    /// <summary>When it was started ahead: later looks extend its hold up to twice the hold from then.</summary>
    public DateTimeOffset WarmSince { get; set; }

    /// <summary>When an agent started ahead was last stopped again undecided: a reopened screen does not start it again soon.</summary>
    public DateTimeOffset? CooledAt { get; set; }

    /// <summary>Wakes the wait for its hold early (someone waits for a slot).</summary>
    public CancellationTokenSource? Wake { get; set; }

    public volatile PermissionDecision? Decided;

    public volatile bool Cancelled;

    /// <summary>Withdraws the approval unless it is already settled; the pause is then cancelled either way.</summary>
    public void WithdrawQuietly()
    {
        Cancelled = true;
        try
        {
            Withdraw.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Decided meanwhile.
        }
    }
}
