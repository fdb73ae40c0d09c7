using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Passkeys;

/// <summary>A person's passkey as stored (the key stays on the server; the list shows the rest).</summary>
public sealed record Passkey(string Id, string PersonId, string Name, byte[] PublicKey, string RpId, uint SignCount, DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>A challenge handed out, as kept until it is used or expires.</summary>
internal sealed record Challenge(string Value, string PersonId, string Purpose, string? ApprovalId, string? Binding, string RpId, string Origin,
    DateTimeOffset ExpiresAt);

/// <summary>
/// People's passkeys: registering one (a challenge, then the authenticator's answer), listing, revoking, and the challenges a
/// step-up signs (<see cref="StepUps"/>). Every challenge is for one person and one purpose, used once, and expires in
/// <see cref="ChallengeLifetime"/>. The checks themselves are <see cref="WebAuthn"/>'s.
/// </summary>
public sealed class PasskeyStore(Database database, Ledger.LedgerStore ledger, TimeProvider clock)
{
    public static readonly TimeSpan ChallengeLifetime = TimeSpan.FromMinutes(5);

    public const string Register = "register";
    public const string StepUp = "step_up";

    public IReadOnlyList<Passkey> Of(string personId, bool withRevoked = false) => database.Read(connection => connection.Query(
        $"SELECT {Columns} FROM passkeys WHERE person_id = $person {(withRevoked ? "" : "AND revoked_at IS NULL")} ORDER BY created_at",
        Map, ("$person", personId)));

    public Passkey? Find(string id) => database.Read(connection => connection.Query($"SELECT {Columns} FROM passkeys WHERE id = $id", Map, ("$id", id)))
        .FirstOrDefault();

    /// <summary>A new challenge for <paramref name="personId"/>: 16 random bytes, then the binding's 32 when there is one (so it carries it).</summary>
    internal Challenge Issue(string personId, string purpose, RelyingParty party, string? approvalId = null, byte[]? binding = null)
    {
        var value = Base64Url.EncodeToString([.. RandomNumberGenerator.GetBytes(16), .. binding ?? []]);
        var challenge = new Challenge(value, personId, purpose, approvalId, binding is null ? null : Base64Url.EncodeToString(binding), party.Id,
            party.Origin, clock.GetUtcNow() + ChallengeLifetime);
        database.Write(write =>
        {
            // Spent and expired ones go as new ones come: the table holds minutes of challenges, never a history.
            write.Execute("DELETE FROM passkey_challenges WHERE expires_at < $now OR used_at IS NOT NULL", ("$now", clock.GetUtcNow().ToDb()));
            write.Execute("""
                INSERT INTO passkey_challenges (challenge, person_id, purpose, approval_id, binding, rp_id, origin, expires_at)
                VALUES ($challenge, $person, $purpose, $approval, $binding, $rp, $origin, $expires)
                """, ("$challenge", value), ("$person", personId), ("$purpose", purpose), ("$approval", approvalId), ("$binding", challenge.Binding),
                ("$rp", party.Id), ("$origin", party.Origin), ("$expires", challenge.ExpiresAt.ToDb()));
        });
        return challenge;
    }

    /// <summary>Takes a challenge for good (in the caller's transaction): this person's, this purpose's, unused and unexpired; else null.</summary>
    internal Challenge? Take(DbWrite write, string value, string personId, string purpose)
    {
        var found = write.Query("""
            SELECT challenge, person_id, purpose, approval_id, binding, rp_id, origin, expires_at FROM passkey_challenges
            WHERE challenge = $challenge AND person_id = $person AND purpose = $purpose AND used_at IS NULL AND expires_at >= $now
            """, r => new Challenge(r.GetString(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.NullableString(4), r.GetString(5),
                r.GetString(6), r.Time(7)),
            ("$challenge", value), ("$person", personId), ("$purpose", purpose), ("$now", clock.GetUtcNow().ToDb()));
        if (found.Count == 0)
        {
            return null;
        }

        write.Execute("UPDATE passkey_challenges SET used_at = $now WHERE challenge = $challenge", ("$now", clock.GetUtcNow().ToDb()), ("$challenge", value));
        return found[0];
    }

    /// <summary>Checks a registration against the challenge it names and keeps the passkey as <paramref name="personId"/>'s.</summary>
    /// <exception cref="ApiProblem">400 <c>PASSKEY_INVALID</c>: the challenge is not theirs (or spent, or expired), or the answer does not verify.</exception>
    public Passkey Add(string personId, string name, byte[] clientDataJson, byte[] attestationObject, Actor actor) => database.Write(write =>
    {
        var challenge = WebAuthn.ChallengeOf(clientDataJson) is { } named ? Take(write, named, personId, Register) : null;
        if (challenge is null)
        {
            throw Invalid("This registration answers no challenge of yours that is still open (each is used once, within five minutes): begin again.");
        }

        RegisteredKey key;
        try
        {
            key = WebAuthn.VerifyRegistration(clientDataJson, attestationObject, new Expected(challenge.Value, challenge.Origin, challenge.RpId));
        }
        catch (WebAuthnException exception)
        {
            throw Invalid(exception.Message);
        }

        var id = Base64Url.EncodeToString(key.CredentialId);
        if (write.Scalar<long>("SELECT COUNT(*) FROM passkeys WHERE id = $id", ("$id", id)) > 0)
        {
            throw ApiProblem.Conflict(ErrorCodes.PasskeyInvalid, "This passkey is registered already.");
        }

        var passkey = new Passkey(id, personId, name, key.PublicKey, challenge.RpId, key.SignCount, clock.GetUtcNow(), null, null);
        write.Execute("""
            INSERT INTO passkeys (id, person_id, name, public_key, rp_id, sign_count, created_at)
            VALUES ($id, $person, $name, $key, $rp, $count, $at)
            """, ("$id", id), ("$person", personId), ("$name", name), ("$key", Base64Url.EncodeToString(key.PublicKey)), ("$rp", challenge.RpId),
            ("$count", (long)key.SignCount), ("$at", passkey.CreatedAt.ToDb()));
        ledger.Append(write, actor.Name, "passkey.registered", id, new JsonObject
        {
            ["personId"] = personId, ["name"] = name, ["rpId"] = challenge.RpId, ["publicKey"] = Base64Url.EncodeToString(key.PublicKey),
            ["deviceId"] = actor.Id,
        });
        return passkey;
    });

    /// <summary>Revokes a passkey for good (kept, marked: what it signed before can still be checked).</summary>
    public void Revoke(string id, Actor actor) => database.Write(write =>
    {
        if (write.Execute("UPDATE passkeys SET revoked_at = $now WHERE id = $id AND revoked_at IS NULL", ("$now", clock.GetUtcNow().ToDb()), ("$id", id)) == 1)
        {
            ledger.Append(write, actor.Name, "passkey.revoked", id, new JsonObject { ["deviceId"] = actor.Id });
        }
    });

    /// <summary>Records a verified use: the authenticator's new counter, and when.</summary>
    internal void Used(DbWrite write, string id, uint counter) => write.Execute(
        "UPDATE passkeys SET sign_count = $count, last_used_at = $now WHERE id = $id",
        ("$count", (long)counter), ("$now", clock.GetUtcNow().ToDb()), ("$id", id));

    internal static Passkey? Find(DbWrite write, string id) =>
        write.Query($"SELECT {Columns} FROM passkeys WHERE id = $id", Map, ("$id", id)).FirstOrDefault();

    internal static ApiProblem Invalid(string detail) => new(StatusCodes.Status400BadRequest, ErrorCodes.PasskeyInvalid, detail);

    private const string Columns = "id, person_id, name, public_key, rp_id, sign_count, created_at, last_used_at, revoked_at";

    private static Passkey Map(Microsoft.Data.Sqlite.SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2),
        Base64Url.DecodeFromChars(r.GetString(3)), r.GetString(4), (uint)r.GetInt64(5), r.Time(6), r.NullableTime(7), r.NullableTime(8));
}
