using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PocketCoder.Auth;
using PocketCoder.Errors;

namespace PocketCoder.Passkeys;

/// <summary>
/// A person's fresh passkey assertion on one decision, verified: which passkey, and what it signed (kept in the decision's
/// ledger entry, so the entry can be checked against the registered key later).
/// </summary>
public sealed record StepUp(string CredentialId, string PersonId, string ClientDataJson, string AuthenticatorData, string Signature);

/// <summary>
/// Step-up on a decision (docs/security.md, "Passkeys and step-up"): the challenge for one approval carries a digest of the
/// approval id, the decision and the input as shown (<see cref="Binding"/>), so an assertion made for it proves nothing on
/// another approval, another decision or an edited input; it is used once and expires in minutes. Whether an act needs it is
/// the decision-rights table's answer, not this class's.
/// </summary>
public sealed class StepUps(Data.Database database, PasskeyStore passkeys)
{
    /// <summary>The act word bound into a challenge for changing one's passkeys (adding one, revoking one).</summary>
    public const string ManageAct = "manage";

    /// <summary>
    /// 403 <c>STEP_UP_REQUIRED</c> carrying the challenge for the act (<c>challenge</c>, <c>rpId</c>, <c>allowCredentials</c>,
    /// <c>expiresAt</c>): signed, the same request with <c>assertion</c> goes through.
    /// </summary>
    internal static ApiProblem Required(string detail, Challenge challenge, IReadOnlyList<Passkey> keys) =>
        new(StatusCodes.Status403Forbidden, ErrorCodes.StepUpRequired, detail)
        {
            Fields = new Dictionary<string, object?>
            {
                ["challenge"] = challenge.Value, ["rpId"] = challenge.RpId, ["allowCredentials"] = keys.Select(k => k.Id).ToArray(),
                ["expiresAt"] = challenge.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            },
        };

    /// <summary>What an assertion for this decision must sign over: approval id, decision and the input (compact JSON), hashed.</summary>
    public static byte[] Binding(string approvalId, string decision, string input) =>
        SHA256.HashData(Encoding.UTF8.GetBytes($"pocketcoder step-up\n{approvalId}\n{decision}\n{Compact(input)}"));

    /// <summary>A challenge for <paramref name="personId"/> to allow this approval with this input, and the passkeys that may sign it.</summary>
    internal (Challenge Challenge, IReadOnlyList<Passkey> Keys) Begin(string personId, string approvalId, string decision, string input, RelyingParty party)
    {
        var keys = passkeys.Of(personId).Where(k => k.RpId == party.Id).ToList();
        if (keys.Count == 0)
        {
            throw new ApiProblem(StatusCodes.Status409Conflict, ErrorCodes.PasskeyNotFound,
                $"You have no passkey registered on {party.Id}: register one (People, Passkeys) from this app first.");
        }

        return (passkeys.Issue(personId, PasskeyStore.StepUp, party, approvalId, Binding(approvalId, decision, input)), keys);
    }

    /// <summary>Verifies <paramref name="assertion"/> as <paramref name="personId"/>'s on this decision, and spends its challenge.</summary>
    /// <exception cref="ApiProblem">403 <c>STEP_UP_INVALID</c>: anything that does not hold, said plainly.</exception>
    public StepUp Verify(string personId, string approvalId, string decision, string input, PasskeyAssertion assertion) => database.Write(write =>
    {
        var (credentialId, clientData, authData, signature) = Decode(assertion);
        var named = WebAuthn.ChallengeOf(clientData);
        var challenge = named is null ? null : passkeys.Take(write, named, personId, PasskeyStore.StepUp);
        if (challenge is null)
        {
            throw Invalid("This assertion answers no open step-up challenge of yours: each is used once, within five minutes. Ask for a new one.");
        }

        var bound = Base64Url.EncodeToString(Binding(approvalId, decision, input));
        if (challenge.ApprovalId != approvalId || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(challenge.Binding ?? ""), Encoding.ASCII.GetBytes(bound)))
        {
            throw Invalid("This assertion was made for another approval, decision or input than this one: ask for a challenge for this one.");
        }

        var key = PasskeyStore.Find(write, Base64Url.EncodeToString(credentialId));
        if (key is null || key.RevokedAt is not null || key.PersonId != personId || key.RpId != challenge.RpId)
        {
            throw Invalid("This passkey is not one of yours (or it was revoked).");
        }

        try
        {
            var counter = WebAuthn.VerifyAssertion(clientData, authData, signature, key.PublicKey, key.SignCount,
                new Expected(challenge.Value, challenge.Origin, challenge.RpId));
            passkeys.Used(write, key.Id, counter);
        }
        catch (WebAuthnException exception)
        {
            throw Invalid(exception.Message);
        }

        return new StepUp(key.Id, personId, assertion.ClientDataJson!, assertion.AuthenticatorData!, assertion.Signature!);
    });

    private static (byte[] Id, byte[] ClientData, byte[] AuthData, byte[] Signature) Decode(PasskeyAssertion assertion)
    {
        if (assertion is not { CredentialId: not null, ClientDataJson: not null, AuthenticatorData: not null, Signature: not null })
        {
            throw ApiProblem.Validation("'assertion' carries credentialId, clientDataJSON, authenticatorData and signature, each base64url.");
        }

        try
        {
            return (Base64Url.DecodeFromChars(assertion.CredentialId), Base64Url.DecodeFromChars(assertion.ClientDataJson),
                Base64Url.DecodeFromChars(assertion.AuthenticatorData), Base64Url.DecodeFromChars(assertion.Signature));
        }
        catch (FormatException)
        {
            throw ApiProblem.Validation("'assertion' carries credentialId, clientDataJSON, authenticatorData and signature, each base64url.");
        }
    }

    private static ApiProblem Invalid(string detail) => new(StatusCodes.Status403Forbidden, ErrorCodes.StepUpInvalid, detail);

    /// <summary>The input as compact JSON, so the same object sent with other spacing binds the same.</summary>
    private static string Compact(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                document.RootElement.WriteTo(writer);
            }

            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        catch (JsonException)
        {
            return json;
        }
    }
}
