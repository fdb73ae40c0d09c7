using System.Net;
using System.Net.Http.Json;
using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Gate;

/// <summary>What "always allow" would add is shown before it is tapped; a rule is previewed against real questions, and changed in place.</summary>
public sealed class RuleEditingTests
{
    [Fact]
    public async Task AlwaysAllowRule_Shown_Preview_MatchesPastQuestions_ChangeKeepsTheIdAndTheLedgerBoth()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(
            ScriptedReply.ToolUse("Bash", new { command = "echo one > one.txt", description = "one" }),
            ScriptedReply.ToolUse("Bash", new { command = "npm test", description = "test" }),
            ScriptedReply.Text("Both refused."));
        var sessionId = await world.StartSessionAsync("do two things");
        await using var events = await world.EventsAsync(sessionId);

        var first = await events.WaitForAsync("approval.requested");
        Assert.Equal("echo one > one.txt", first.Str("rulePattern"));
        Assert.Equal("echo one > one.txt", (await world.Http.GetOkAsync($"/api/approvals/{first.Str("approvalId")}")).GetProperty("rulePattern").GetString());
        await ApiAssert.OkJsonAsync(await world.DecideAsync(first.Str("approvalId")!, "deny"));
        var second = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("approvalId") != first.Str("approvalId"));
        await ApiAssert.OkJsonAsync(await world.DecideAsync(second.Str("approvalId")!, "deny"));
        await events.WaitForAsync("turn.completed");

        var rules = $"/api/projects/{world.ProjectId}/rules";
        var echo = await world.Http.PostOkAsync($"{rules}/preview", new { tool = "shell", pattern = "echo *", action = "allow" });
        Assert.Equal(2, echo.GetProperty("checked").GetInt32());
        Assert.Equal(1, echo.GetProperty("matched").GetInt32());
        Assert.Equal("echo one > one.txt", echo.GetProperty("examples")[0].GetProperty("subject").GetString());
        Assert.Equal(2, (await world.Http.PostOkAsync($"{rules}/preview", new { tool = "Bash", pattern = "*", action = "ask" })).GetProperty("matched").GetInt32());
        Assert.Equal(0, (await world.Http.PostOkAsync($"{rules}/preview", new { tool = "edit", pattern = "*", action = "deny" })).GetProperty("matched").GetInt32());

        var rule = await world.Http.PostOkAsync(rules, new { tool = "shell", pattern = "echo *", action = "allow" });
        var id = rule.GetProperty("id").GetString();
        var changed = await ApiAssert.OkJsonAsync(await world.Http.PutAsJsonAsync($"{rules}/{id}", new { tool = "shell", pattern = "npm test", action = "deny" }));
        Assert.Equal(id, changed.GetProperty("id").GetString());
        Assert.Equal("deny", changed.GetProperty("action").GetString());
        var listed = Assert.Single((await world.Http.GetOkAsync(rules)).EnumerateArray());
        Assert.Equal("npm test", listed.GetProperty("pattern").GetString());
        var entry = Assert.Single((await world.Http.GetOkAsync("/api/ledger?limit=500")).GetProperty("entries").EnumerateArray(),
            e => e.GetProperty("action").GetString() == "rule.changed");
        Assert.Equal("echo *", entry.GetProperty("detail").GetProperty("from").GetProperty("pattern").GetString());
        Assert.Equal("npm test", entry.GetProperty("detail").GetProperty("to").GetProperty("pattern").GetString());

        await ApiAssert.ProblemAsync(await world.Http.PutAsJsonAsync($"{rules}/nope", new { tool = "shell", pattern = "x", action = "deny" }), HttpStatusCode.NotFound, "RULE_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.PutAsJsonAsync($"{rules}/{id}", new { tool = "rm -rf", pattern = "x", action = "deny" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"{rules}/preview", new { tool = "shell", action = "deny" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
    }
}
