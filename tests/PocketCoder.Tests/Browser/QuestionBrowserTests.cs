using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// An agent's question on the phone in Debian's Chromium at 390x844 (web/e2e/question.mjs), with the REAL Claude Code CLI:
/// answered with its options from the card, and the model receives exactly those answers.
/// </summary>
public sealed class QuestionBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_AnswersAClaudeQuestion_ModelReceivesTheChosenOptions()
    {
        FakeModelServer? model = null;
        await BrowserScript.RunAsync(output, "question.mjs",
            (fake, _, _) =>
            {
                model = fake;
                fake.Enqueue(EndToEnd.QuestionTests.TwoQuestions(), ScriptedReply.Text("Postgres with metrics and tracing it is."));
                return Task.CompletedTask;
            },
            _ =>
            {
                var result = model!.Requests.Last(r => r.ConsumedScript).LastToolResults().Single();
                Assert.Contains("Postgres", result.Content, StringComparison.Ordinal);
                Assert.Contains("Metrics, Tracing", result.Content, StringComparison.Ordinal);
                Assert.DoesNotContain("SQLite", result.Content, StringComparison.Ordinal);
                return Task.CompletedTask;
            });
    }
}
