using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;
using PocketCoder.Projects;
using PocketCoder.Teams;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Passkeys;

/// <summary>
/// Passkeys for people and step-up on what matters (#68, docs/security.md "Passkeys and step-up"), through the real routes
/// with a software authenticator: a person registers, lists and revokes their passkeys; once they have one, allowing a call of
/// the highest risk class needs a fresh assertion bound to that approval and input, used once; every other door is refused.
/// </summary>
public sealed class PasskeyTests : IDisposable
{
    private readonly string _repository = TempPaths.NewGitRepository();

    [Fact]
    public async Task Passkeys_RegisteredListedAndRevoked_EachPersonTheirOwn_OwnersAnyones()
    {
        await using var server = await TestServer.StartAsync();
        var owner = await server.PairAsync();
        var vic = await server.PairPersonAsync("Vic", Role.Viewer);
        using var phone = new SoftwareAuthenticator(Origin(server));

        var options = await vic.Http.PostOkAsync("/api/passkeys/options", new { });
        Assert.Equal(phone.RpId, options.GetProperty("rp").GetProperty("id").GetString());
        Assert.Equal("required", options.GetProperty("authenticatorSelection").GetProperty("userVerification").GetString());
        Assert.Equal("preferred", options.GetProperty("authenticatorSelection").GetProperty("residentKey").GetString());
        Assert.Equal("none", options.GetProperty("attestation").GetString());
        Assert.Equal(-7, Assert.Single(options.GetProperty("pubKeyCredParams").EnumerateArray()).GetProperty("alg").GetInt32());
        // An answer from another origin, one without user verification, one that is not base64url: refused.
        using var other = new SoftwareAuthenticator(Origin(server));
        var fresh = await vic.Http.PostOkAsync("/api/passkeys/options", new { });
        await ApiAssert.ProblemAsync(await vic.Http.PostAsJsonAsync("/api/passkeys", other.Register(fresh, "evil", "https://evil.example")),
            HttpStatusCode.BadRequest, "PASSKEY_INVALID");
        other.VerifiesUser = false;
        await ApiAssert.ProblemAsync(await vic.Http.PostAsJsonAsync("/api/passkeys", other.Register(await vic.Http.PostOkAsync("/api/passkeys/options", new { }), "no pin")),
            HttpStatusCode.BadRequest, "PASSKEY_INVALID");
        await ApiAssert.ProblemAsync(await vic.Http.PostAsJsonAsync("/api/passkeys", new { name = "x", clientDataJSON = "%%", attestationObject = "AA" }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        var added = await vic.Http.PostOkAsync("/api/passkeys", phone.Register(options, "Vic's phone"));
        Assert.Equal(phone.Id, added.GetProperty("id").GetString());

        // Vic's token alone (a stolen phone, an agent with the token) cannot add a passkey of its own now: the first must sign it.
        using var thief = new SoftwareAuthenticator(Origin(server));
        var theirs = thief.Register(await vic.Http.PostOkAsync("/api/passkeys/options", new { }), "thief");
        var held = await ApiAssert.ProblemAsync(await vic.Http.PostAsJsonAsync("/api/passkeys", theirs), HttpStatusCode.Forbidden, "STEP_UP_REQUIRED");
        Assert.Equal(phone.Id, Assert.Single(held.GetProperty("allowCredentials").EnumerateArray()).GetString());
        // ...and a signature over another act (a revocation's challenge) adds nothing.
        var revokeChallenge = await ApiAssert.ProblemAsync(await vic.Http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/api/passkeys/{phone.Id}")),
            HttpStatusCode.Forbidden, "STEP_UP_REQUIRED");
        await ApiAssert.ProblemAsync(await vic.Http.PostAsJsonAsync("/api/passkeys", With(theirs, phone.Assert(revokeChallenge))), HttpStatusCode.Forbidden, "STEP_UP_INVALID");
        var second = await vic.Http.PostOkAsync("/api/passkeys", With(theirs, phone.Assert(held)));
        Assert.Equal(thief.Id, second.GetProperty("id").GetString());

        // Revoking one takes a fresh signature too; without it, 403 with the challenge.
        var revoking = await ApiAssert.ProblemAsync(await vic.Http.DeleteAsync($"/api/passkeys/{thief.Id}"), HttpStatusCode.Forbidden, "STEP_UP_REQUIRED");
        var revoked = await vic.Http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/api/passkeys/{thief.Id}")
        {
            Content = JsonContent.Create(new { assertion = phone.Assert(revoking) }),
        });
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);

        Assert.Equal(phone.Id, Assert.Single((await vic.Http.GetOkAsync("/api/passkeys")).EnumerateArray()).GetProperty("id").GetString());
        var vicId = added.GetProperty("personId").GetString()!;
        Assert.Single((await owner.Http.GetOkAsync($"/api/passkeys?personId={vicId}")).EnumerateArray());
        var ownerId = (await owner.Http.GetOkAsync("/api/people/me")).GetProperty("person").GetProperty("id").GetString();
        await ApiAssert.ProblemAsync(await vic.Http.GetAsync($"/api/passkeys?personId={ownerId}"), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");

        // An owner revokes anyone's; it is gone from the list, and revoking it again finds nothing.
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Http.DeleteAsync($"/api/passkeys/{phone.Id}")).StatusCode);
        Assert.Empty((await vic.Http.GetOkAsync("/api/passkeys")).EnumerateArray());
        await ApiAssert.ProblemAsync(await vic.Http.DeleteAsync($"/api/passkeys/{phone.Id}"), HttpStatusCode.NotFound, "PASSKEY_NOT_FOUND");
    }

    [Fact]
    public async Task ProtectedAllow_WithAPasskey_NeedsAFreshAssertionOfThisApprovalAndInput_UsedOnce()
    {
        await using var server = await TestServer.StartAsync();
        var owner = await server.PairAsync();
        using var phone = new SoftwareAuthenticator(Origin(server));
        await owner.Http.PostOkAsync("/api/passkeys", phone.Register(await owner.Http.PostOkAsync("/api/passkeys/options", new { }), "phone"));
        var (gate, project) = await ProjectAsync(server, owner);
        var (first, firstId) = await AskAsync(server, gate, project, "call-1");
        var (second, secondId) = await AskAsync(server, gate, project, "call-2");

        // No assertion: refused with the code the app acts on, through the card, a batch, and the gatekeeper itself (chat, CLI).
        var refused = await ApiAssert.ProblemAsync(await Decide(owner.Http, firstId), HttpStatusCode.Forbidden, "STEP_UP_REQUIRED");
        Assert.Contains("verify on your phone", refused.GetProperty("detail").GetString());
        // The refusal carries the challenge for this very decision (../shared/API.md): signed, it decides it.
        Assert.Equal(phone.Id, Assert.Single(refused.GetProperty("allowCredentials").EnumerateArray()).GetString());
        var fromRefusal = phone.Assert(refused);
        Assert.Equal("decided", (await ApiAssert.OkJsonAsync(await Decide(owner.Http, firstId, fromRefusal))).GetProperty("status").GetString());
        Assert.True((await first.WaitAsync(TimeSpan.FromSeconds(30))).Allow);
        (first, firstId) = await AskAsync(server, gate, project, "call-3");
        var batch = await owner.Http.PostOkAsync("/api/approvals/decisions", new { decisions = new[] { new { id = firstId, decision = "allow_once" } } });
        Assert.Equal("STEP_UP_REQUIRED", batch.GetProperty("results")[0].GetProperty("error").GetProperty("code").GetString());
        var blind = Assert.Throws<ApiProblem>(() => gate.Decide(firstId, Decisions.AllowOnce, null, null, new Actor(owner.DeviceId, "Owner")));
        Assert.Equal(ErrorCodes.StepUpRequired, blind.Code);

        // An assertion made for the second approval, for an edited input, or on another origin proves nothing on the first.
        var forSecond = await StepUpAsync(owner, secondId);
        await ApiAssert.ProblemAsync(await Decide(owner.Http, firstId, phone.Assert(forSecond)), HttpStatusCode.Forbidden, "STEP_UP_INVALID");
        var edited = JsonSerializer.SerializeToElement(new { file_path = ".claude/settings.json", content = "{\"hooks\":{}}" });
        var forEdit = await owner.Http.PostOkAsync($"/api/approvals/{firstId}/step-up", new { decision = "allow_once", updatedInput = edited });
        await ApiAssert.ProblemAsync(await Decide(owner.Http, firstId, phone.Assert(forEdit)), HttpStatusCode.Forbidden, "STEP_UP_INVALID");
        // ...nor one signed for a message the agent would be told when another is sent (a relay or a script swapping it).
        var forMessage = await owner.Http.PostOkAsync($"/api/approvals/{firstId}/step-up", new { decision = "allow_once", message = "Go ahead." });
        await ApiAssert.ProblemAsync(await owner.Http.PostAsJsonAsync($"/api/approvals/{firstId}/decision",
            new { decision = "allow_once", message = "Go ahead, and also push to main.", assertion = phone.Assert(forMessage) }), HttpStatusCode.Forbidden, "STEP_UP_INVALID");
        var elsewhere = await StepUpAsync(owner, firstId);
        await ApiAssert.ProblemAsync(await Decide(owner.Http, firstId, phone.Assert(elsewhere, origin: "https://evil.example")), HttpStatusCode.Forbidden, "STEP_UP_INVALID");
        Assert.False(first.IsCompleted);

        // With its own assertion the call runs, once; the same assertion again is refused, on this approval and on the other.
        var assertion = phone.Assert(await StepUpAsync(owner, firstId));
        Assert.Equal("decided", (await ApiAssert.OkJsonAsync(await Decide(owner.Http, firstId, assertion))).GetProperty("status").GetString());
        Assert.True((await first.WaitAsync(TimeSpan.FromSeconds(30))).Allow);
        await ApiAssert.ProblemAsync(await Decide(owner.Http, firstId, assertion), HttpStatusCode.Forbidden, "STEP_UP_INVALID");
        await ApiAssert.ProblemAsync(await Decide(owner.Http, secondId, assertion), HttpStatusCode.Forbidden, "STEP_UP_INVALID");
        Assert.False(second.IsCompleted);

        // The ledger's entry carries what the passkey signed.
        var entries = (await owner.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray().ToList();
        var decided = Assert.Single(entries, e => e.GetProperty("action").GetString() == "approval.decided" && e.GetProperty("subject").GetString() == firstId);
        Assert.Equal(phone.Id, decided.GetProperty("detail").GetProperty("stepUp").GetProperty("credentialId").GetString());

        // Denying never needs it.
        Assert.Equal(HttpStatusCode.OK, (await owner.Http.PostAsJsonAsync($"/api/approvals/{secondId}/decision", new { decision = "deny" })).StatusCode);
    }

    [Fact]
    public async Task ProtectedAllow_APersonWithoutPasskeys_DecidesAsBefore()
    {
        await using var server = await TestServer.StartAsync();
        var owner = await server.PairAsync();
        var (gate, project) = await ProjectAsync(server, owner);
        var (asked, id) = await AskAsync(server, gate, project, "call-1");

        Assert.Equal("decided", (await ApiAssert.OkJsonAsync(await Decide(owner.Http, id))).GetProperty("status").GetString());
        Assert.True((await asked.WaitAsync(TimeSpan.FromSeconds(30))).Allow);
        await ApiAssert.ProblemAsync(await owner.Http.PostAsJsonAsync($"/api/approvals/{id}/step-up", new { decision = "allow_once" }),
            HttpStatusCode.Conflict, "PASSKEY_NOT_FOUND");
    }

    private static string Origin(TestServer server) => server.BaseUrl.GetLeftPart(UriPartial.Authority);

    private async Task<(Gatekeeper Gate, Project Project)> ProjectAsync(TestServer server, PairedClient owner)
    {
        var projectId = (await owner.Http.PostOkAsync("/api/projects", new { path = _repository })).GetProperty("id").GetString()!;
        server.Services.GetRequiredService<Database>().Write(write => write.Execute(
            "INSERT INTO sessions (id, project_id, agent, status, agent_session_id, created_at, updated_at) VALUES ('s', $project, 'codex', 'running', 'a', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            ("$project", projectId)));
        return (server.Services.GetRequiredService<Gatekeeper>(), server.Services.GetRequiredService<ProjectStore>().Get(projectId)!);
    }

    /// <summary>An edit of the agent's own settings (the highest risk class, protected), asked; its approval's id once pending.</summary>
    private static async Task<(Task<PermissionDecision> Decision, string Id)> AskAsync(TestServer server, Gatekeeper gate, Project project, string callId)
    {
        var path = Path.Combine(project.Path, ".claude", "settings.json");
        var input = JsonSerializer.SerializeToElement(new { file_path = ".claude/settings.json", content = "{}" });
        var asking = new TaskCompletionSource();
        var decision = gate.RequestAsync(new GateContext("s", project, SessionModes.Ask),
            new PermissionRequest(callId, "Write", ToolKind.Edit, "Write .claude/settings.json", input, null, path, null), asking.SetResult, CancellationToken.None);
        await asking.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var approval = server.Services.GetRequiredService<ApprovalStore>().List(ApprovalStatus.Pending, "s").Single(a => a.ToolCallId == callId);
        Assert.Equal(RiskClasses.Protected, approval.Risk);
        return (decision, approval.Id);
    }

    private static Task<JsonElement> StepUpAsync(PairedClient owner, string approvalId) =>
        owner.Http.PostOkAsync($"/api/approvals/{approvalId}/step-up", new { decision = "allow_once" });

    private static Task<HttpResponseMessage> Decide(HttpClient http, string approvalId, object? assertion = null) =>
        http.PostAsJsonAsync($"/api/approvals/{approvalId}/decision", new { decision = "allow_once", assertion });

    public void Dispose() => TempPaths.Delete(_repository);

    /// <summary>A registration's body with an existing passkey's assertion added (a second passkey is added with the first).</summary>
    private static Dictionary<string, object?> With(object registration, object assertion)
    {
        var body = JsonSerializer.SerializeToElement(registration).EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value);
        body["assertion"] = assertion;
        return body;
    }
}
