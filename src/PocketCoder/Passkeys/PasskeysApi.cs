using System.Buffers.Text;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
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
    string? AttestationObject,
    PasskeyAssertion? Assertion = null)
{
    internal const string NameMessage = "'name' is required: 1 to 100 printable characters, e.g. \"Ana's phone\".";
    internal const string ResponseMessage = "'clientDataJSON' and 'attestationObject' are required: the authenticator's response, base64url.";
}

/// <summary>An assertion (<c>navigator.credentials.get</c>'s answer): the credential's id and its response's parts, base64url.</summary>
public sealed record PasskeyAssertion(string? CredentialId, [property: JsonPropertyName("clientDataJSON")] string? ClientDataJson,
    string? AuthenticatorData, string? Signature);

/// <summary>A revocation by a person who has a passkey: their fresh assertion on it (<c>STEP_UP_REQUIRED</c> hands out the challenge).</summary>
public sealed record RevokePasskeyRequest(PasskeyAssertion? Assertion);

/// <summary>The decision to step up on: the same decision and input the decision request will carry.</summary>
public sealed record StepUpRequest(
    [property: Required(ErrorMessage = DecisionRequest.DecisionMessage)]
    [property: AllowedValues(Decisions.AllowOnce, Decisions.AllowSession, Decisions.AllowAlways, Decisions.Deny, ErrorMessage = DecisionRequest.DecisionMessage)]
    string? Decision,
    JsonElement? UpdatedInput,
    string? Pattern = null,
    string? Message = null);

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

    private static PasskeyResponse Register(RegisterPasskeyRequest request, PasskeyStore passkeys, StepUps stepUps, People people, Devices devices,
        HttpRequest http, ClaimsPrincipal user)
    {
        var person = Caller(people, user);
        // A second passkey is added with the first: else a stolen device token adds its own and passes every step-up.
        EnsureSteppedUp(person.Id, "passkeys:add", request.AttestationObject ?? "", request.Assertion, stepUps, passkeys, http, devices);
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

    private static NoContent Revoke(string id, [FromBody] RevokePasskeyRequest? request, PasskeyStore passkeys, StepUps stepUps, People people,
        Authority authority, Devices devices, HttpRequest http, ClaimsPrincipal user)
    {
        var person = Caller(people, user);
        var passkey = passkeys.Find(id) is { RevokedAt: null } found ? found
            : throw ApiProblem.NotFound(ErrorCodes.PasskeyNotFound, $"No passkey with id '{id}'.");
        if (passkey.PersonId != person.Id)
        {
            authority.Ensure(user.Actor(), null, new Manage("revoke other people's passkeys"));
        }

        // Signed by the one revoking, where they have a passkey: else a stolen device token revokes them all and step-up is off.
        EnsureSteppedUp(person.Id, $"passkey:{id}:revoke", "{}", request?.Assertion, stepUps, passkeys, http, devices);
        passkeys.Revoke(id, user.Actor());
        return TypedResults.NoContent();
    }

    /// <summary>A challenge bound to this approval, this decision and the input as it will be sent (the edited one, or the call's).</summary>
    private static StepUpOptions BeginStepUp(string id, StepUpRequest request, HttpRequest http, StepUps stepUps, ApprovalStore approvals, People people,
        Devices devices, ClaimsPrincipal user)
    {
        var person = Caller(people, user);
        var approval = approvals.Find(id) ?? throw ApiProblem.NotFound(ErrorCodes.ApprovalNotFound, $"No approval with id '{id}'.");
        var (challenge, keys) = stepUps.Begin(person.Id, approval.Id, request.Decision!, WhatIsSigned(approval, request.UpdatedInput, request.Pattern, request.Message), RelyingParty.Of(http, devices));
        return new StepUpOptions(challenge.Value, challenge.RpId, [.. keys.Select(k => new PasskeyCredential("public-key", k.Id))], "required",
            (int)PasskeyStore.ChallengeLifetime.TotalMilliseconds, challenge.ExpiresAt);
    }

    /// <summary>
    /// An act on a person's passkeys, by a person who has one, needs their fresh assertion bound to that act (<paramref name="subject"/>
    /// and <paramref name="input"/>): without it, 403 <c>STEP_UP_REQUIRED</c> carrying the challenge, as a decision's refusal does.
    /// A person with none acts on their token alone (their first passkey, as their decisions, is theirs on first use).
    /// </summary>
    private static void EnsureSteppedUp(string personId, string subject, string input, PasskeyAssertion? assertion, StepUps stepUps,
        PasskeyStore passkeys, HttpRequest http, Devices devices)
    {
        if (passkeys.Of(personId).Count == 0)
        {
            return;
        }

        if (assertion is not null)
        {
            stepUps.Verify(personId, subject, StepUps.ManageAct, input, assertion);
            return;
        }

        var (challenge, keys) = stepUps.Begin(personId, subject, StepUps.ManageAct, input, RelyingParty.Of(http, devices));
        throw StepUps.Required("Changing your passkeys needs one of them: verify on this device with a passkey you already have.", challenge, keys);
    }

    /// <summary>
    /// What a decision's assertion signs over besides its approval and decision: the input it allows (its edit when it carries
    /// one, else the call as asked), the pattern an "always" remembers and the message the agent is told. A relay or a script
    /// that changes any of them (<c>npm test</c> widened to <c>*</c>) makes the assertion prove nothing.
    /// </summary>
    public static string WhatIsSigned(Approval approval, JsonElement? updatedInput, string? pattern, string? message) =>
        new System.Text.Json.Nodes.JsonObject
        {
            ["input"] = System.Text.Json.Nodes.JsonNode.Parse(updatedInput is { ValueKind: JsonValueKind.Object } edited ? edited.GetRawText() : approval.Input),
            ["pattern"] = pattern,
            ["message"] = message,
        }.ToJsonString();

    private static Person Caller(People people, ClaimsPrincipal user) => people.OfDevice(user.Actor().Id)
        ?? throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.RoleForbidden, "This device is no one's: a passkey belongs to a person.");
}
