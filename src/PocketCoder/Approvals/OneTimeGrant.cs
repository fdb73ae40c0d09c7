using PocketCoder.Agents;

namespace PocketCoder.Approvals;

/// <summary>
/// The owner's allow of a call whose agent was stopped while it waited (docs/design.md, "Waits that cost no memory"): the
/// resumed agent is told it may run the call again, and this lets exactly that call through its session's gate, once. Only
/// the very call the owner saw matches (<see cref="PermissionRequest.AsksTheSameAs"/>); the first match takes it, and nothing
/// else ever can. It lives in its session's runner only, so no other session can reach it, and the gatekeeper asks the
/// authority again before it counts.
/// </summary>
public sealed class OneTimeGrant(string sessionId, PermissionRequest asked, string approvalId, string deciderId, string deciderName)
{
    private int _state;

    /// <summary>The call as the owner saw it (its input a copy: the request it came from may be gone).</summary>
    private readonly PermissionRequest _asked = asked with { Input = asked.Input.Clone() };

    public string SessionId { get; } = sessionId;

    public string Tool { get; } = asked.Tool;

    /// <summary>The approval whose allow this is.</summary>
    public string ApprovalId { get; } = approvalId;

    /// <summary>The device whose decision settled it: asked of the authority again when the grant is used.</summary>
    public string DeciderId { get; } = deciderId;

    public string DeciderName { get; } = deciderName;

    /// <summary>True until used or given up.</summary>
    public bool Open => Volatile.Read(ref _state) == 0;

    /// <summary>Is <paramref name="request"/> the very call this grant allows (and the grant still open)?</summary>
    public bool Matches(PermissionRequest request) => Open && _asked.AsksTheSameAs(request);

    /// <summary>Takes the grant for one call; true once only, whoever asks.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

    /// <summary>Gives the grant up unused (its turn ended, or its decider may no longer decide).</summary>
    public void Close() => Interlocked.Exchange(ref _state, 2);
}
