using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Data;
using PocketCoder.Projects;
using PocketCoder.Teams;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Gate;

/// <summary>
/// A two-person call allowed while its agent was paused leaves a one-time grant; when the resumed agent asks the call again,
/// the grant counts only if the allow it rests on still stands as of then: both people may still decide it. Revoking the
/// first of the two is as good as the second: the call is asked anew. A paused Claude Code, which runs the call on the allow as
/// it resumes, gets a deny instead.
/// </summary>
public sealed class TwoPersonGrantTests : IDisposable
{
    private readonly string _repository = TempPaths.NewGitRepository();

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task TwoPersonAllow_TheFirstVoterRevokedBeforeTheCallIsAskedAgain_TheGrantIsRefused(bool revokeFirstVoter, bool claudeResumes)
    {
        await using var server = await TestServer.StartAsync();
        var owner = await server.PairAsync();
        var ana = await server.PairPersonAsync("Ana", Role.Approver);
        var projectId = (await owner.Http.PostOkAsync("/api/projects", new { path = _repository })).GetProperty("id").GetString()!;
        await ApiAssert.OkJsonAsync(await owner.Http.PutAsJsonAsync($"/api/projects/{projectId}/policy", new { twoPerson = new[] { "shell" } }));
        const string sessionId = "two-person-grant";
        server.Services.GetRequiredService<Database>().Write(write => write.Execute(
            "INSERT INTO sessions (id, project_id, agent, status, agent_session_id, created_at, updated_at) VALUES ($id, $project, 'codex', 'running', 'a', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            ("$id", sessionId), ("$project", projectId)));
        var gate = server.Services.GetRequiredService<Gatekeeper>();
        var project = server.Services.GetRequiredService<ProjectStore>().Get(projectId)!;
        var call = new PermissionRequest("call-1", "bash", ToolKind.Execute, "rm -rf build",
            JsonSerializer.SerializeToElement(new { command = "rm -rf build" }), "rm -rf build", null, null);

        // Asked, and allowed by two people: Ana first (a vote), the owner second (settles it).
        var asking = new TaskCompletionSource();
        var first = gate.RequestAsync(new GateContext(sessionId, project, SessionModes.Ask), call, asking.SetResult, CancellationToken.None);
        await asking.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var approvalId = await PendingAsync(owner);
        Assert.Equal("pending", (await ApiAssert.OkJsonAsync(await Decide(ana.Http, approvalId))).GetProperty("status").GetString());
        Assert.Equal("decided", (await ApiAssert.OkJsonAsync(await Decide(owner.Http, approvalId))).GetProperty("status").GetString());
        var allowed = await first.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(allowed.Allow);
        Assert.Equal(owner.DeviceId, allowed.DeciderId);

        if (revokeFirstVoter)
        {
            var anaId = (await ana.Http.GetOkAsync("/api/people/me")).GetProperty("person").GetProperty("id").GetString();
            Assert.Equal(HttpStatusCode.NoContent, (await owner.Http.DeleteAsync($"/api/people/{anaId}")).StatusCode);
        }

        if (claudeResumes)
        {
            // A paused Claude Code is not asked again: it runs the call on the allow as it resumes (after waiting in line for a
            // slot, perhaps), so the allow is checked then.
            var applied = gate.StillStanding(sessionId, new PausedCall("call-1", "bash", call.Input, allowed));
            Assert.Equal(!revokeFirstVoter, applied.Allow);
            var actions = (await owner.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray()
                .Select(e => e.GetProperty("action").GetString()).ToList();
            Assert.Equal(revokeFirstVoter, actions.Contains("approval.grant_refused"));
            return;
        }

        // The agent was paused and is back: it asks the same call again, with the grant the allow left.
        var grant = new OneTimeGrant(sessionId, call, approvalId, owner.DeviceId, "Owner");
        var askingAgain = new TaskCompletionSource();
        var again = gate.RequestAsync(new GateContext(sessionId, project, SessionModes.Ask, Grant: grant),
            call with { ToolCallId = "call-2" }, askingAgain.SetResult, CancellationToken.None);
        if (!revokeFirstVoter)
        {
            Assert.True((await again.WaitAsync(TimeSpan.FromSeconds(30))).Allow);
            Assert.False(askingAgain.Task.IsCompleted);
            var used = (await owner.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray();
            Assert.Contains(used, e => e.GetProperty("action").GetString() == "approval.grant_used");
            return;
        }

        await askingAgain.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var askedAnew = await PendingAsync(owner);
        Assert.NotEqual(approvalId, askedAnew);
        Assert.False(again.IsCompleted, "a grant resting on a revoked person's allow let the call run");
        var ledger = (await owner.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "approval.grant_refused");
        Assert.DoesNotContain(ledger, e => e.GetProperty("action").GetString() == "approval.grant_used");
        Assert.Equal(HttpStatusCode.OK, (await owner.Http.PostAsJsonAsync($"/api/approvals/{askedAnew}/decision", new { decision = "deny" })).StatusCode);
        Assert.False((await again.WaitAsync(TimeSpan.FromSeconds(30))).Allow);
    }

    private static Task<HttpResponseMessage> Decide(HttpClient http, string approvalId) =>
        http.PostAsJsonAsync($"/api/approvals/{approvalId}/decision", new { decision = "allow_once" });

    /// <summary>The one call pending now (read once the gate has said it is asking).</summary>
    private static async Task<string> PendingAsync(PairedClient phone) =>
        Assert.Single((await phone.Http.GetOkAsync("/api/approvals?status=pending")).EnumerateArray()).GetProperty("id").GetString()!;

    public void Dispose() => TempPaths.Delete(_repository);
}
