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
    internal static ScriptedReply TwoQuestions() => ScriptedReply.ToolUse("AskUserQuestion", new { questions = TwoQuestionsAsked });

    /// <summary>One single-choice and one multi-choice question, with described options (other tests add to them).</summary>
    internal static readonly object[] TwoQuestionsAsked =
        [
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
        ];

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

    [Fact]
    public async Task Terminal_ListsTheQuestionWithItsOptions_AnswersIt_ModelReceivesTheAnswers()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(TwoQuestions(), ScriptedReply.Text("Answered from the terminal."));
        var sessionId = await world.StartSessionAsync("Set up the service");
        await using var events = await world.EventsAsync(sessionId);
        var id = (await events.WaitForAsync("approval.requested")).Str("approvalId")!;
        string[] target = ["--data", world.Server.DataDirectory, "--url", world.Server.BaseUrl.ToString()];

        var listed = new StringWriter();
        Assert.Equal(0, await PocketCoder.Cli.CommandLine.RunAsync(["approvals", .. target], listed, new StringWriter()));
        Assert.Contains("Question 1 of 2 — Database:", listed.ToString(), StringComparison.Ordinal);
        Assert.Contains("3. Docs — A README section", listed.ToString(), StringComparison.Ordinal);
        Assert.Contains($"{PocketCoder.Cli.SelfCommand.For("answer")} {id}", listed.ToString(), StringComparison.Ordinal);

        // A reply that is not an option, or two for a one-option question, sends nothing; approve cannot answer it.
        var error = new StringWriter();
        Assert.Equal(2, await PocketCoder.Cli.CommandLine.RunAsync(["answer", id, "--reply", "3", "--reply", "1", .. target], new StringWriter(), error));
        Assert.Contains("3 is not an option", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, await PocketCoder.Cli.CommandLine.RunAsync(["answer", id, "--reply", "1,2", "--reply", "1", .. target], new StringWriter(), new StringWriter()));
        Assert.Equal(1, await PocketCoder.Cli.CommandLine.RunAsync(["approve", id, .. target], new StringWriter(), new StringWriter()));
        Assert.Equal("pending", (await world.Http.GetOkAsync($"/api/approvals/{id}")).GetProperty("status").GetString());

        var output = new StringWriter();
        Assert.Equal(0, await PocketCoder.Cli.CommandLine.RunAsync(["answer", id, "--reply", "2", "--reply", "1,2 and keep it small", .. target], output, new StringWriter()));
        Assert.Contains($"answered: {id}", output.ToString(), StringComparison.Ordinal);
        var resolved = await events.WaitForAsync("approval.resolved");
        Assert.StartsWith("terminal on", resolved.Str("decidedBy"), StringComparison.Ordinal);
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Answered from the terminal.");
        var result = world.Model.Requests.Last(r => r.ConsumedScript).LastToolResults().Single();
        Assert.Contains("SQLite", result.Content, StringComparison.Ordinal);
        Assert.Contains("Metrics, Tracing, and keep it small", result.Content, StringComparison.Ordinal);

        error = new StringWriter();
        Assert.Equal(1, await PocketCoder.Cli.CommandLine.RunAsync(["answer", id, "--reply", "1", "--reply", "1", .. target], new StringWriter(), error));
        Assert.Contains("already answered", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Codex_RequestUserInput_AnsweredFromTheApi_ModelReceivesTheAnswers_ADismissIsAnError()
    {
        await using var world = await AgentWorld.CodexAsync();
        // An allow-everything rule in trusted mode does not answer it.
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/rules", new { tool = "*", pattern = "*", action = "allow" });
        world.Model.Enqueue(ScriptedReply.ToolUse("request_user_input", new
        {
            questions = new object[]
            {
                new
                {
                    id = "db", header = "Database", question = "Which database should the service use?",
                    options = new object[] { new { label = "Postgres", description = "The team's usual" }, new { label = "SQLite", description = "One file" } },
                },
                new
                {
                    id = "name", header = "Name", question = "What should it be called?",
                    options = new object[] { new { label = "api", description = "Short" }, new { label = "backend", description = "Plain" } },
                },
            },
        }), ScriptedReply.Text("SQLite and heron it is."));
        var sessionId = await world.StartSessionAsync("Set up the service", mode: "trusted");
        await using var events = await world.EventsAsync(sessionId);

        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal("question", asked.Str("kind"));
        Assert.Equal("request_user_input", asked.Str("tool"));
        Assert.Equal("Which database should the service use? (and 1 more)", asked.Str("title"));
        var id = asked.Str("approvalId")!;
        await ApiAssert.ProblemAsync(await world.DecideAsync(id, "allow_once"), HttpStatusCode.UnprocessableEntity, "QUESTION_NEEDS_ANSWERS");
        await ApiAssert.OkJsonAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{id}/answer", new
        {
            answers = new object[] { new { selected = new[] { "SQLite" } }, new { other = "heron" } },
        }));

        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "SQLite and heron it is.");
        var result = world.Model.Requests.Last(r => r.ConsumedScript).LastToolResults().Single();
        Assert.False(result.IsError, result.Content);
        Assert.Contains("SQLite", result.Content, StringComparison.Ordinal);
        Assert.Contains("heron", result.Content, StringComparison.Ordinal);
        Assert.DoesNotContain("Postgres", result.Content, StringComparison.Ordinal);
        await events.WaitForAsync("turn.completed");

        // Dismissed (a deny): no answers, and the model reads that the owner dismissed it and why; the turn goes on.
        world.Model.Enqueue(ScriptedReply.ToolUse("request_user_input", new
        {
            questions = new object[] { new { id = "color", header = "Color", question = "Which color?", options = new object[] { new { label = "red", description = "Warm" } } } },
        }), ScriptedReply.Text("No answer, going on."));
        await world.SendAsync(sessionId, "One more");
        var second = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("approvalId") != id);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(second.Str("approvalId")!, "deny", "not now"));
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "No answer, going on.");
        var dismissed = world.Model.Requests.Last(r => r.ConsumedScript);
        Assert.Equal("{\"answers\":{}}", dismissed.LastToolResults().Single().Content);
        Assert.Contains("The owner dismissed your question: not now", dismissed.Body.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenCode_QuestionTool_AnsweredFromTheApi_OptionsAndOwnWordsReachTheModel_ADismissEndsTheTurn()
    {
        await using var world = await AgentWorld.OpenCodeAsync();
        world.Model.Enqueue(ScriptedReply.ToolUse("question", new
        {
            questions = new object[]
            {
                new
                {
                    question = "Which extras do you want?", header = "Extras", multiple = true,
                    options = new object[] { new { label = "Metrics", description = "Prometheus" }, new { label = "Tracing", description = "OpenTelemetry" } },
                },
            },
        }), ScriptedReply.Text("Metrics and tracing, small."));
        var sessionId = await world.StartSessionAsync("Set up the service", mode: "trusted");
        await using var events = await world.EventsAsync(sessionId);

        var asked = await events.WaitForAsync("approval.requested");
        Assert.Equal("question", asked.Str("kind"));
        Assert.Equal("Which extras do you want?", asked.Str("title"));
        var id = asked.Str("approvalId")!;
        await ApiAssert.ProblemAsync(await world.DecideAsync(id, "allow_once"), HttpStatusCode.UnprocessableEntity, "QUESTION_NEEDS_ANSWERS");
        await ApiAssert.OkJsonAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{id}/answer",
            new { answers = new[] { new { selected = new[] { "Metrics", "Tracing" }, other = "keep it small" } } }));
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Metrics and tracing, small.");
        var result = world.Model.Requests.Last(r => r.ConsumedScript).LastToolResults().Single().Content;
        Assert.Contains("Metrics", result, StringComparison.Ordinal);
        Assert.Contains("Tracing", result, StringComparison.Ordinal);
        Assert.Contains("keep it small", result, StringComparison.Ordinal);
        await events.WaitForAsync("turn.completed");

        world.Model.Enqueue(ScriptedReply.ToolUse("question", new
        {
            questions = new object[] { new { question = "Which color?", header = "Color", options = new object[] { new { label = "red", description = "Warm" } } } },
        }));
        await world.SendAsync(sessionId, "One more");
        var second = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Str("approvalId") != id);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(second.Str("approvalId")!, "deny"));
        // OpenCode ends the turn on a dismissed question, as on a rejected permission; the tool says why.
        var dismissed = await events.WaitForAsync(e => e.Event == "tool.result" && e.Id > second.Id);
        Assert.Contains("dismissed", dismissed.Data, StringComparison.Ordinal);
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > second.Id);
    }
}
