using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Approvals;

/// <summary>
/// The keys devices give the decisions they send (<see cref="DecisionRequest.ClientId"/>, an idempotency key): the first
/// decision with a key is decided by the gatekeeper as any other and the key recorded in the same transaction; the same
/// key again (a retry after a lost answer, a decision kept in the phone's outbox while offline) is answered with where that
/// decision stands, and nothing is decided twice. The same key with another decision or approval is refused: a key names
/// one decision. Keys are the device's own and are forgotten after <see cref="Kept"/>.
/// </summary>
internal static class DecisionKeys
{
    /// <summary>How long a key is remembered: as long as a message's (<see cref="Sessions.MessageKeys.Kept"/>), far longer than a phone keeps a decision waiting.</summary>
    public static readonly TimeSpan Kept = Sessions.MessageKeys.Kept;

    /// <summary>A key seen before, and the decision it named.</summary>
    public sealed record Used(string ApprovalId, string Decision);

    public static Used? Find(DbWrite write, Actor actor, string key) => write.Query(
        "SELECT approval_id, decision FROM decision_keys WHERE actor_id = $actor AND client_id = $key",
        r => new Used(r.GetString(0), r.GetString(1)), ("$actor", actor.Id), ("$key", key)).FirstOrDefault();

    /// <summary>Why a used key cannot carry this decision (another decision, or another approval), or null when it is the same one again.</summary>
    public static ApiProblem? Mismatch(Used used, string approvalId, string decision) =>
        used.ApprovalId == approvalId && used.Decision == decision ? null
        : new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.DecisionKeyReused,
            used.ApprovalId == approvalId
                ? $"This 'clientId' was already used for a {used.Decision} of this approval: a key names one decision. Send a new decision with a new key."
                : "This 'clientId' was already used for a decision on another approval: a key names one decision. Send this one with a new key.");

    public static void Record(DbWrite write, Actor actor, string key, string approvalId, string decision, DateTimeOffset now)
    {
        write.Execute("DELETE FROM decision_keys WHERE at < $cutoff", ("$cutoff", (now - Kept).ToDb()));
        write.Execute("INSERT INTO decision_keys (actor_id, client_id, approval_id, decision, at) VALUES ($actor, $key, $approval, $decision, $at)",
            ("$actor", actor.Id), ("$key", key), ("$approval", approvalId), ("$decision", decision), ("$at", now.ToDb()));
    }
}
