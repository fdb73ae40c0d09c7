using System.Net.Http.Json;
using System.Net;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Claude Code's clarifying questions (its AskUserQuestion tool) with the REAL Claude Code CLI: a question is its own
/// kind of card, answered (never allowed or denied) from the API, and the model receives exactly the chosen answers.
/// </summary>
public sealed class QuestionTests
{
    internal static ScriptedReply TwoQuestions() => ScriptedReply.ToolUse("AskUserQuestion", new
    {
        questions = new object[]
        {
            new
            {
                question = "Which database should the service use?", header = "Database", multiSelect = false,
                options = new object[] { new { label = "Postgres", description = "The team's usual" }, new { label = "SQLite", description = "One file" } },
            },
            new
            {
                question = "Which extras do you want?", header = "Extras", multiSelect = true,
                options = new object[]
                {
                    new { label = "Metrics", description = "Prometheus" }, new { label = "Tracing", description = "OpenTelemetry" },
                    new { label = "Docs", description = "A README section" },
                },
            },
        },
    });

    [Fact]
    public async Task TwoQuestions_OneMultiSelect_ModelReceivesExactlyTheAnswers_SecondAnswerIs409_TrustedModeAndRulesDoNotAnswer()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        // An allow-everything rule and a trusted session: neither may answer a question for the owner.
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/rules", new { tool = "*", pattern = "*", action = "allow" });
        world.Model.Enqueue(TwoQuestions(), ScriptedReply.Text("Postgres with metrics and tracing it is."));
        var sessionId = await world.StartSessionAsync("Set up the service", mode: "trusted");
        await using var events = await world.EventsAsync(sessionId);

        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal("question", asked.Str("kind"));
        Assert.Equal("AskUserQuestion", asked.Str("tool"));
        Assert.Equal("Which database should the service use? (and 1 more)", asked.Str("title"));
        var id = asked.Str("approvalId")!;

        // Not something to allow: a plain allow (or a grant) is refused, and bad answers say what is wrong.
        await ApiAssert.ProblemAsync(await world.DecideAsync(id, "allow_once"), HttpStatusCode.UnprocessableEntity, "QUESTION_NEEDS_ANSWERS");
        await ApiAssert.ProblemAsync(await world.DecideAsync(id, "allow_session"), HttpStatusCode.UnprocessableEntity, "QUESTION_NEEDS_ANSWERS");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{id}/answer", new { answers = new[] { new { selected = new[] { "Postgres" } } } }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{id}/answer", new
        {
            answers = new object[] { new { selected = new[] { "Postgres", "SQLite" } }, new { selected = new[] { "Metrics" } } },
        }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{id}/answer", new
        {
            answers = new object[] { new { selected = new[] { "MySQL" } }, new { selected = new[] { "Metrics" } } },
        }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        Assert.Equal("pending", (await world.Http.GetOkAsync($"/api/approvals/{id}")).GetProperty("status").GetString());

        // The answer: one option, then two options and the owner's own words.
        var answered = await world.Http.PostAsJsonAsync($"/api/approvals/{id}/answer", new
        {
            answers = new object[]
            {
                new { selected = new[] { "Postgres" } },
                new { selected = new[] { "Metrics", "Tracing" }, other = "and keep it small" },
            },
        });
        Assert.Equal("decided", (await ApiAssert.OkJsonAsync(answered)).GetProperty("status").GetString());
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{id}/answer", new
        {
            answers = new object[] { new { selected = new[] { "SQLite" } }, new { selected = new[] { "Docs" } } },
        }), HttpStatusCode.Conflict, "APPROVAL_ALREADY_DECIDED");

        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Postgres with metrics and tracing it is.");
        var result = world.Model.Requests.Last(r => r.ConsumedScript).LastToolResults().Single();
        Assert.False(result.IsError, result.Content);
        Assert.Contains("Postgres", result.Content, StringComparison.Ordinal);
        Assert.Contains("Metrics, Tracing, and keep it small", result.Content, StringComparison.Ordinal);
        Assert.DoesNotContain("SQLite", result.Content, StringComparison.Ordinal);

        // In the ledger, with the answers, under the phone that answered.
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=200")).GetProperty("entries").EnumerateArray();
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "approval.decided" && e.GetProperty("subject").GetString() == id
            && e.GetProperty("detail").ToString().Contains("Metrics, Tracing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FreeTextAnswer_AndANonQuestionCannotBeAnswered()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(ScriptedReply.ToolUse("AskUserQuestion", new
        {
            questions = new object[]
            {
                new
                {
                    question = "What should the service be called?", header = "Name", multiSelect = false,
                    options = new object[] { new { label = "api", description = "Short" }, new { label = "backend", description = "Plain" } },
                },
            },
        }), ScriptedReply.Text("Calling it heron."), ScriptedReply.ToolUse("Bash", new { command = "touch x", description = "Touch" }), ScriptedReply.Text("Done."));
        var sessionId = await world.StartSessionAsync("Name the service");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{asked.Str("approvalId")}/answer",
            new { answers = new[] { new { other = "heron" } } }));
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Calling it heron.");
        Assert.Contains("heron", world.Model.Requests.Last(r => r.ConsumedScript).LastToolResults().Single().Content, StringComparison.Ordinal);
        await events.WaitForAsync("turn.completed");

        await world.SendAsync(sessionId, "Touch x");
        var command = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("tool") == "Bash");
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{command.Str("approvalId")}/answer",
            new { answers = new[] { new { other = "yes" } } }), HttpStatusCode.Conflict, "NOT_A_QUESTION");
        await ApiAssert.OkJsonAsync(await world.DecideAsync(command.Str("approvalId")!, "deny"));
    }
}
