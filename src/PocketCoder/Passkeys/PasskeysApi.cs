using System.Buffers.Text;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Teams;

namespace PocketCoder.Passkeys;

/// <summary>A passkey as listed (its key stays on the server).</summary>
public sealed record PasskeyResponse(string Id, string PersonId, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt)
{
    public static PasskeyResponse From(Passkey k) => new(k.Id, k.PersonId, k.Name, k.CreatedAt, k.LastUsedAt);
}

public sealed record PasskeyRelyingParty(string Id, string Name);

/// <param name="Id">The person's id, base64url: what the authenticator keeps as the user handle.</param>
public sealed record PasskeyUser(string Id, string Name, string DisplayName);

public sealed record PasskeyAlgorithm(string Type, int Alg);

public sealed record PasskeyCredential(string Type, string Id);

public sealed record PasskeySelection(string ResidentKey, bool RequireResidentKey, string UserVerification);

/// <summary>What <c>navigator.credentials.create({ publicKey })</c> takes, binary values as base64url.</summary>
public sealed record PasskeyRegistrationOptions(string Challenge, PasskeyRelyingParty Rp, PasskeyUser User, IReadOnlyList<PasskeyAlgorithm> PubKeyCredParams,
    PasskeySelection AuthenticatorSelection, string Attestation, int Timeout, IReadOnlyList<PasskeyCredential> ExcludeCredentials);

/// <summary>The authenticator's answer to a registration (<c>response.clientDataJSON</c>, <c>response.attestationObject</c>, base64url).</summary>
public sealed record RegisterPasskeyRequest(
    [property: Required(ErrorMessage = RegisterPasskeyRequest.NameMessage)]
    [property: PrintableText(100, AllowBlank = false, ErrorMessage = RegisterPasskeyRequest.NameMessage)]
    string? Name,
    [property: Required(ErrorMessage = RegisterPasskeyRequest.ResponseMessage), JsonPropertyName("clientDataJSON")]
    string? ClientDataJson,
    [property: Required(ErrorMessage = RegisterPasskeyRequest.ResponseMessage)]
    string? AttestationObject)
{
    internal const string NameMessage = "'name' is required: 1 to 100 printable characters, e.g. \"Ana's phone\".";
    internal const string ResponseMessage = "'clientDataJSON' and 'attestationObject' are required: the authenticator's response, base64url.";
}

/// <summary>An assertion (<c>navigator.credentials.get</c>'s answer): the credential's id and its response's parts, base64url.</summary>
public sealed record PasskeyAssertion(string? CredentialId, [property: JsonPropertyName("clientDataJSON")] string? ClientDataJson,
    string? AuthenticatorData, string? Signature);

/// <summary>The decision to step up on: the same decision and input the decision request will carry.</summary>
public sealed record StepUpRequest(
    [property: Required(ErrorMessage = DecisionRequest.DecisionMessage)]
    [property: AllowedValues(Decisions.AllowOnce, Decisions.AllowSession, Decisions.AllowAlways, Decisions.Deny, ErrorMessage = DecisionRequest.DecisionMessage)]
    string? Decision,
    JsonElement? UpdatedInput);

/// <summary>What <c>navigator.credentials.get({ publicKey })</c> takes for one decision, and until when its challenge holds.</summary>
public sealed record StepUpOptions(string Challenge, string RpId, IReadOnlyList<PasskeyCredential> AllowCredentials, string UserVerification, int Timeout,
    DateTimeOffset ExpiresAt);

/// <summary>People's passkeys (#68): each person registers and revokes their own; owners list and revoke anyone's.</summary>
public static class PasskeysApi
{
    public static IServiceCollection AddPasskeys(this IServiceCollection services) => services.AddSingleton<PasskeyStore>().AddSingleton<StepUps>();

    public static void MapPasskeys(this IEndpointRouteBuilder api)
    {
        var passkeys = api.MapGroup("/passkeys");
        passkeys.MapPost("/options", Begin).WithName("BeginPasskeyRegistration");
        passkeys.MapPost("/", Register).WithName("RegisterPasskey");
        passkeys.MapGet("/", List).WithName("ListPasskeys");
        passkeys.MapDelete("/{id}", Revoke).WithName("RevokePasskey");
        api.MapPost("/approvals/{id}/step-up", BeginStepUp).WithName("BeginStepUp");
    }

    private static PasskeyRegistrationOptions Begin(HttpRequest http, PasskeyStore passkeys, People people, Devices devices, ClaimsPrincipal user)
    {
        var person = Caller(people, user);
        var party = RelyingParty.Of(http, devices);
        var challenge = passkeys.Issue(person.Id, PasskeyStore.Register, party);
        return new PasskeyRegistrationOptions(challenge.Value, new PasskeyRelyingParty(party.Id, RelyingParty.Name),
            new PasskeyUser(Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(person.Id)), person.Name, person.Name),
            [new("public-key", WebAuthn.Es256)], new PasskeySelection("preferred", false, "required"), "none",
            (int)PasskeyStore.ChallengeLifetime.TotalMilliseconds,
            [.. passkeys.Of(person.Id).Where(k => k.RpId == party.Id).Select(k => new PasskeyCredential("public-key", k.Id))]);
    }

    private static PasskeyResponse Register(RegisterPasskeyRequest request, PasskeyStore passkeys, People people, ClaimsPrincipal user)
    {
        var person = Caller(people, user);
        byte[] clientData, attestation;
        try
        {
            (clientData, attestation) = (Base64Url.DecodeFromChars(request.ClientDataJson), Base64Url.DecodeFromChars(request.AttestationObject));
        }
        catch (FormatException)
        {
            throw ApiProblem.Validation(RegisterPasskeyRequest.ResponseMessage);
        }

        return PasskeyResponse.From(passkeys.Add(person.Id, request.Name!.Trim(), clientData, attestation, user.Actor()));
    }

    /// <summary>One's own passkeys; an owner names anyone with <c>personId</c> (the People screen).</summary>
    private static IEnumerable<PasskeyResponse> List(string? personId, PasskeyStore passkeys, People people, Authority authority, ClaimsPrincipal user)
    {
        var person = Caller(people, user);
        if (personId is not null && personId != person.Id)
        {
            authority.Ensure(user.Actor(), null, new Manage("list other people's passkeys"));
            people.Get(personId);
        }

        return passkeys.Of(personId ?? person.Id).Select(PasskeyResponse.From);
    }

    private static NoContent Revoke(string id, PasskeyStore passkeys, People people, Authority authority, ClaimsPrincipal user)
    {
        var person = Caller(people, user);
        var passkey = passkeys.Find(id) is { RevokedAt: null } found ? found
            : throw ApiProblem.NotFound(ErrorCodes.PasskeyNotFound, $"No passkey with id '{id}'.");
        if (passkey.PersonId != person.Id)
        {
            authority.Ensure(user.Actor(), null, new Manage("revoke other people's passkeys"));
        }

        passkeys.Revoke(id, user.Actor());
        return TypedResults.NoContent();
    }

    /// <summary>A challenge bound to this approval, this decision and the input as it will be sent (the edited one, or the call's).</summary>
    private static StepUpOptions BeginStepUp(string id, StepUpRequest request, HttpRequest http, StepUps stepUps, ApprovalStore approvals, People people,
        Devices devices, ClaimsPrincipal user)
    {
        var person = Caller(people, user);
        var approval = approvals.Find(id) ?? throw ApiProblem.NotFound(ErrorCodes.ApprovalNotFound, $"No approval with id '{id}'.");
        var (challenge, keys) = stepUps.Begin(person.Id, approval.Id, request.Decision!, InputShown(approval, request.UpdatedInput), RelyingParty.Of(http, devices));
        return new StepUpOptions(challenge.Value, challenge.RpId, [.. keys.Select(k => new PasskeyCredential("public-key", k.Id))], "required",
            (int)PasskeyStore.ChallengeLifetime.TotalMilliseconds, challenge.ExpiresAt);
    }

    /// <summary>The input a decision allows: its edit when it carries one, else the call as asked.</summary>
    public static string InputShown(Approval approval, JsonElement? updatedInput) =>
        updatedInput is { ValueKind: JsonValueKind.Object } edited ? edited.GetRawText() : approval.Input;

    private static Person Caller(People people, ClaimsPrincipal user) => people.OfDevice(user.Actor().Id)
        ?? throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.RoleForbidden, "This device is no one's: a passkey belongs to a person.");
}
