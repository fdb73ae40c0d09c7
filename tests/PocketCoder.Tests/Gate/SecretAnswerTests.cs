using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents;
using PocketCoder.Approvals;
using PocketCoder.Data;
using PocketCoder.Projects;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Gate;

/// <summary>
/// A question the agent marks secret (Codex's <c>isSecret</c>: a password, a token): the answer reaches the agent and
/// nothing else: not the approval as the API shows it, not the events every device receives, not the ledger.
/// </summary>
public sealed class SecretAnswerTests : IDisposable
{
    private const string Token = "hunter2-token-9f8e";
    private readonly string _repository = TempPaths.NewGitRepository();

    [Fact]
    public async Task SecretQuestion_AnswerGoesToTheAgentOnly_NeverIntoTheApprovalEventsOrLedger()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var projectId = (await phone.Http.PostOkAsync("/api/projects", new { path = _repository })).GetProperty("id").GetString()!;
        var project = server.Services.GetRequiredService<ProjectStore>().Get(projectId);
        const string sessionId = "secret-session";
        server.Services.GetRequiredService<Database>().Write(write => write.Execute(
            "INSERT INTO sessions (id, project_id, agent, status, agent_session_id, created_at, updated_at) VALUES ($id, $project, 'codex', 'running', 'a', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            ("$id", sessionId), ("$project", projectId)));
        var input = JsonSerializer.SerializeToElement(new
        {
            questions = new object[]
            {
                new { id = "region", question = "Which region?", options = new object[] { new { label = "eu" }, new { label = "us" } } },
                new { id = "token", question = "Your deploy token?", options = Array.Empty<object>(), secret = true },
            },
        });
        var asked = new TaskCompletionSource();
        var decision = server.Services.GetRequiredService<Gatekeeper>().RequestAsync(new GateContext(sessionId, project, SessionModes.Ask),
            new PermissionRequest("call-1", "request_user_input", ToolKind.Question, "Which region? (and 1 more)", input, null, null, null),
            asked.SetResult, CancellationToken.None);
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var approvalId = (await phone.Http.GetOkAsync("/api/approvals?status=pending"))[0].GetProperty("id").GetString()!;

        var answered = await ApiAssert.OkJsonAsync(await phone.Http.PostAsJsonAsync($"/api/approvals/{approvalId}/answer", new
        {
            answers = new object[] { new { selected = new[] { "eu" } }, new { other = Token } },
        }));

        // The agent gets the token (in Claude's form and structured).
        var given = await decision.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Token, given.UpdatedInput!.Value.GetProperty("answers").GetProperty("Your deploy token?").GetString());
        Assert.Equal(Token, given.Answers![1].Other);
        // Everyone else reads that it was a secret, and the other answer as it was.
        var kept = (await phone.Http.GetOkAsync($"/api/approvals/{approvalId}")).GetProperty("updatedInput").GetProperty("answers");
        Assert.Equal(QuestionAnswers.SecretAnswer, kept.GetProperty("Your deploy token?").GetString());
        Assert.Equal("eu", kept.GetProperty("Which region?").GetString());
        Assert.DoesNotContain(Token, answered.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(Token, (await phone.Http.GetOkAsync("/api/ledger?limit=1000")).GetRawText(), StringComparison.Ordinal);
        var stored = server.Services.GetRequiredService<Database>().Read(connection => connection.Query(
            "SELECT data FROM events WHERE session_id = $id", r => r.GetString(0), ("$id", sessionId)));
        Assert.NotEmpty(stored);
        Assert.DoesNotContain(stored, data => data.Contains(Token, StringComparison.Ordinal));
    }

    public void Dispose() => TempPaths.Delete(_repository);
}
