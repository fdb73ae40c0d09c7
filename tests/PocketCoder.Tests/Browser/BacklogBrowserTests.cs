using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The backlog and schedules in Debian's Chromium at 390x844 (web/e2e/tasks.mjs), with the REAL Claude Code CLI: a task
/// added from New session runs and shows done; a schedule shows its next time in its own zone, pauses, resumes, deletes.
/// </summary>
public sealed class BacklogBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_TaskAddedToTheBacklog_Runs_ScheduleShowsItsNextTime()
    {
        FakeModelServer? model = null;
        await BrowserScript.RunAsync(output, "tasks.mjs",
            (fake, _, _) =>
            {
                model = fake;
                fake.Enqueue(ScriptedReply.Text("Changelog tidied."));
                return Task.CompletedTask;
            },
            _ =>
            {
                Assert.Single(model!.Requests, r => r.ConsumedScript && r.Contains("Tidy the changelog"));
                Assert.DoesNotContain(model.Requests, r => r.Contains("Check for outdated dependencies"));
                return Task.CompletedTask;
            });
    }
}
