using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Approvals;

/// <summary>
/// The keys devices give the decisions they send (<see cref="DecisionRequest.ClientId"/>, an idempotency key): the first
/// decision with a key is decided by the gatekeeper as any other and the key recorded in the same transaction; the same
/// key again (a retry after a lost answer, a decision kept in the phone's outbox while offline) is answered with where that
/// decision stands, and nothing is decided twice. The same key with another decision, approval, message, pattern or edit is
/// refused: a key names one decision. Keys are the device's own and are forgotten after <see cref="Kept"/>.
/// </summary>
internal static class DecisionKeys
{
    /// <summary>How long a key is remembered: as long as a message's (<see cref="Sessions.MessageKeys.Kept"/>), far longer than a phone keeps a decision waiting.</summary>
    public static readonly TimeSpan Kept = Sessions.MessageKeys.Kept;

    /// <summary>A key seen before: the approval it decided and what that decision said.</summary>
    public sealed record Used(string ApprovalId, Said Said);

    /// <summary>
    /// What a decision said: its kind, and a digest of the rest (the message, an always rule's pattern, an edited input), so
    /// that a retry is told from another decision sent under the same key: the retry's body is the same bytes, kept by
    /// the phone; a changed edit or pattern is a new decision and must not be answered as the first.
    /// </summary>
    public sealed record Said(string Decision, string Details)
    {
        public static Said Of(string decision, string? message, string? pattern, JsonElement? updatedInput) => new(decision,
            Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
                $"{message?.Length}:{message}|{pattern?.Length}:{pattern}|{updatedInput?.GetRawText()}"))));
    }

    public static Used? Find(DbWrite write, Actor actor, string key) => write.Query(
        "SELECT approval_id, decision, details FROM decision_keys WHERE actor_id = $actor AND client_id = $key",
        r => new Used(r.GetString(0), new Said(r.GetString(1), r.GetString(2))), ("$actor", actor.Id), ("$key", key)).FirstOrDefault();

    /// <summary>Why a used key cannot carry this decision (another decision, or another approval), or null when it is the same one again.</summary>
    public static ApiProblem? Mismatch(Used used, string approvalId, Said said) =>
        used.ApprovalId == approvalId && used.Said == said ? null
        : new ApiProblem(StatusCodes.Status422UnprocessableEntity, ErrorCodes.DecisionKeyReused,
            used.ApprovalId != approvalId
                ? "This 'clientId' was already used for a decision on another approval: a key names one decision. Send this one with a new key."
                : used.Said.Decision != said.Decision
                    ? $"This 'clientId' was already used for a {used.Said.Decision} of this approval: a key names one decision. Send a new decision with a new key."
                    : $"This 'clientId' was already used for a {used.Said.Decision} of this approval with another message, pattern or edit: a key names one decision. Send a new decision with a new key.");

    public static void Record(DbWrite write, Actor actor, string key, string approvalId, Said said, DateTimeOffset now)
    {
        write.Execute("DELETE FROM decision_keys WHERE at < $cutoff", ("$cutoff", (now - Kept).ToDb()));
        write.Execute(
            "INSERT INTO decision_keys (actor_id, client_id, approval_id, decision, details, at) VALUES ($actor, $key, $approval, $decision, $details, $at)",
            ("$actor", actor.Id), ("$key", key), ("$approval", approvalId), ("$decision", said.Decision), ("$details", said.Details), ("$at", now.ToDb()));
    }
}
