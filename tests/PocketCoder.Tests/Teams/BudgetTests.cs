using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Agents;
using PocketCoder.Auth;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Teams;

/// <summary>
/// Budgets that stop the agent: past its cap, the agent's next tool call waits on "raise the budget?", which only approvers
/// and owners decide; raised, it goes on; refused, the call is denied and the agent told to stop. Each step is in the ledger.
/// </summary>
public sealed class BudgetTests
{
    [Fact]
    public async Task RealClaude_StopsAtItsBudget_AndGoesOnOnceAnApproverRaisesIt()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var ana = await world.Server.PairPersonAsync("Ana", Role.Approver);
        var olu = await world.Server.PairPersonAsync("Olu", Role.Operator);
        await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/policy",
            new { budget = new { period = "day", session = new { tokens = 1000 } } }));
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);

        // The first turn alone spends more than the cap (Claude Code's own prompt is thousands of tokens).
        world.Model.Enqueue(ScriptedReply.Text("Warmed up."));
        var sessionId = await world.StartSessionAsync("warm up");
        await events.WaitForAsync("turn.completed");
        var spent = await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/budget?sessionId={sessionId}");
        Assert.True(spent.GetProperty("session").GetProperty("usedTokens").GetInt64() > 1000, spent.ToString());

        // Its next tool call waits on the budget, not on the command.
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo ran > ran.txt", description = "Write" }), ScriptedReply.Text("Wrote it."));
        await world.SendAsync(sessionId, "write ran.txt");
        var budget = await events.WaitForAsync("approval.requested");
        Assert.Equal("budget", budget.Json.GetProperty("risk").GetString());
        Assert.StartsWith("Raise the session's budget?", budget.Str("title"));
        var budgetId = budget.Str("approvalId")!;
        await ApiAssert.ProblemAsync(await olu.Http.PostAsJsonAsync($"/api/approvals/{budgetId}/decision", new { decision = "allow_once" }),
            HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        Assert.False(File.Exists(Path.Combine(world.Repository, "ran.txt")));

        await ApiAssert.OkJsonAsync(await ana.Http.PostAsJsonAsync($"/api/approvals/{budgetId}/decision", new { decision = "allow_once" }));
        var command = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("approvalId") != budgetId);
        Assert.Equal("shell", command.Json.GetProperty("risk").GetString());
        await ApiAssert.OkJsonAsync(await ana.Http.PostAsJsonAsync($"/api/approvals/{command.Str("approvalId")}/decision", new { decision = "allow_once" }));
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > command.Id);
        Assert.Equal("ran", (await File.ReadAllTextAsync(Path.Combine(world.Repository, "ran.txt"))).Trim());

        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray().ToList();
        var steps = ledger.Select(e => e.GetProperty("action").GetString()).Where(a => a!.StartsWith("budget.", StringComparison.Ordinal) || a == "approval.decided").ToList();
        Assert.Equal(["budget.warning", "approval.decided", "budget.raised", "approval.decided"], steps);
        var raised = ledger.Single(e => e.GetProperty("action").GetString() == "budget.raised");
        Assert.Equal("Ana's phone", raised.GetProperty("actor").GetString());
        Assert.True(raised.GetProperty("detail").GetProperty("tokens").GetInt64() > 1000);
        var after = await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/budget?sessionId={sessionId}");
        Assert.True(after.GetProperty("session").GetProperty("capTokens").GetInt64() > spent.GetProperty("session").GetProperty("usedTokens").GetInt64());
    }

    [Fact]
    public async Task BudgetRefused_TheCallIsDenied_AndTheAgentToldToStop()
    {
        var decided = new TaskCompletionSource<PermissionDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
        var fake = new FakeAgent
        {
            Script = async (session, prompt) =>
            {
                // The turn spends the whole cap (the agent reports it mid-turn), then asks to run something.
                await session.Sink!.OnEventAsync(new UsageReport(900, 200, 0, 0, 0.05m, false), CancellationToken.None);
                decided.TrySetResult(await session.AskToRunAsync("make deploy"));
                await session.EndTurnAsync();
            },
        };
        await using var world = await AgentWorld.FakeAsync(fake);
        await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/policy",
            new { budget = new { period = "month", project = new { costUsd = 0.05 } } }));
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        await world.StartSessionAsync("deploy");

        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal("budget", asked.Json.GetProperty("risk").GetString());
        Assert.Equal("budget", asked.Json.GetProperty("kind").GetString());
        Assert.Contains("project", asked.Str("title"));
        // It says what it holds: the call, not only the spend.
        Assert.Equal("call", asked.Json.GetProperty("input").GetProperty("holds").GetProperty("kind").GetString());
        Assert.Equal("Bash", asked.Json.GetProperty("input").GetProperty("holds").GetProperty("tool").GetString());
        await ApiAssert.OkJsonAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{asked.Str("approvalId")}/decision", new { decision = "deny" }));

        var decision = await decided.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(decision.Allow);
        Assert.Contains("budget is spent", decision.Message);
        var status = await world.Http.GetOkAsync($"/api/projects/{world.ProjectId}/budget");
        Assert.Equal("month", status.GetProperty("period").GetString());
        Assert.Equal(0.05m, status.GetProperty("project").GetProperty("usedCostUsd").GetDecimal());
    }

    /// <summary>
    /// A spent cap holds turns, not only tool calls: the next message, a new session's prompt and a backlog task's wait in
    /// their queues on "raise the budget?" and none reaches the agent; refused, they stay held (nothing lost); raised, they go.
    /// </summary>
    [Fact]
    public async Task ASpentBudget_HoldsNewTurnsAndNewSessions_UntilADeciderRaisesIt()
    {
        var fake = new FakeAgent
        {
            Script = async (session, prompt) =>
            {
                await session.Sink!.OnEventAsync(new UsageReport(900, 200, 0, 0, null, false), CancellationToken.None);
                await session.EndTurnAsync();
            },
        };
        await using var world = await AgentWorld.FakeAsync(fake);
        var olu = await world.Server.PairPersonAsync("Olu", Role.Operator);
        await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"/api/projects/{world.ProjectId}/policy",
            new { budget = new { period = "day", project = new { tokens = 1000 } } }));
        await using var events = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await world.StartSessionAsync("first");
        await events.WaitForAsync("turn.completed");

        var queued = await ApiAssert.OkJsonAsync(await olu.Http.PostAsJsonAsync($"/api/sessions/{sessionId}/messages", new { text = "second" }));
        Assert.Equal("second", queued.GetProperty("queued").GetProperty("text").GetString());
        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal("budget", asked.Json.GetProperty("kind").GetString());
        Assert.Equal("message", asked.Json.GetProperty("input").GetProperty("holds").GetProperty("kind").GetString());
        Assert.Equal("second", asked.Json.GetProperty("input").GetProperty("holds").GetProperty("text").GetString());
        await ApiAssert.ProblemAsync(await olu.Http.PostAsJsonAsync($"/api/approvals/{asked.Str("approvalId")}/decision", new { decision = "allow_once" }),
            HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");

        // A new session's prompt is held the same way: the session starts, its prompt waits.
        var other = await world.StartSessionAsync("third");
        var second = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("approvalId") != asked.Str("approvalId"));
        Assert.Equal("third", second.Json.GetProperty("input").GetProperty("holds").GetProperty("text").GetString());
        Assert.Equal(["first"], fake.Started[0].Sent);
        Assert.Empty(fake.Started[1].Sent);

        // Refused: what waits stays queued, held, nothing lost.
        await ApiAssert.OkJsonAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{asked.Str("approvalId")}/decision", new { decision = "deny" }));
        var held = await world.Http.GetOkAsync($"/api/sessions/{sessionId}/queue");
        Assert.True(held.GetProperty("held").GetBoolean());
        Assert.Equal("second", held.GetProperty("messages")[0].GetProperty("text").GetString());

        // Raised: the other session's prompt goes on; the first session's message goes once someone sends the queue on (it asks again).
        await ApiAssert.OkJsonAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{second.Str("approvalId")}/decision", new { decision = "allow_once" }));
        await fake.Started[1].SentAsync(1);
        Assert.Equal(["third"], fake.Started[1].Sent);
        Assert.Equal(["first"], fake.Started[0].Sent);
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray()
            .Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("budget.raised", ledger);
    }
}
