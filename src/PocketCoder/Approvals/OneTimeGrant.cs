using System.Text.Json;
using PocketCoder.Agents;

namespace PocketCoder.Approvals;

/// <summary>
/// The owner's allow of a call whose agent was stopped while it waited (docs/design.md, "Waits that cost no memory"): the
/// resumed agent is told it may run the call again, and this lets exactly that call through its session's gate, once. Only
/// the same tool, kind, command and path with the same input as the owner saw it matches (the input compared as JSON values:
/// the order of an object's properties does not count, anything else does; the command and path too, because an ACP agent
/// may carry its command in the call's title and send an empty input); the first match takes it, and nothing else ever can.
/// It lives in its session's runner only, so no other session can reach it, and the gatekeeper asks the authority again
/// before it counts.
/// </summary>
public sealed class OneTimeGrant(string sessionId, PermissionRequest asked, string approvalId, string deciderId, string deciderName)
{
    private int _state;

    public string SessionId { get; } = sessionId;

    public string Tool { get; } = asked.Tool;

    private readonly ToolKind _kind = asked.Kind;
    private readonly string? _command = asked.Command;
    private readonly string? _path = asked.Path;

    /// <summary>The call's input as the owner saw it (a copy: the request it came from may be gone).</summary>
    public JsonElement Input { get; } = asked.Input.Clone();

    /// <summary>The approval whose allow this is.</summary>
    public string ApprovalId { get; } = approvalId;

    /// <summary>The device whose decision settled it: asked of the authority again when the grant is used.</summary>
    public string DeciderId { get; } = deciderId;

    public string DeciderName { get; } = deciderName;

    /// <summary>True until used or given up.</summary>
    public bool Open => Volatile.Read(ref _state) == 0;

    /// <summary>Is <paramref name="request"/> the very call this grant allows (and the grant still open)?</summary>
    public bool Matches(PermissionRequest request) =>
        Open && string.Equals(request.Tool, Tool, StringComparison.Ordinal) && request.Kind == _kind
        && string.Equals(request.Command, _command, StringComparison.Ordinal) && string.Equals(request.Path, _path, StringComparison.Ordinal)
        && JsonElement.DeepEquals(request.Input, Input);

    /// <summary>Takes the grant for one call; true once only, whoever asks.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

    /// <summary>Gives the grant up unused (its turn ended, or its decider may no longer decide).</summary>
    public void Close() => Interlocked.Exchange(ref _state, 2);
}
