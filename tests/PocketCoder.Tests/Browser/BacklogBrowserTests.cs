using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The backlog and schedules in Debian's Chromium at 390x844 (web/e2e/tasks.mjs), with the REAL Claude Code CLI: a task
/// added from New session runs and shows done; a schedule shows its next time in its own zone, pauses, resumes, deletes;
/// a revoked device's waiting task and schedule show held, and Confirm puts them back.
/// </summary>
public sealed class BacklogBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_TaskAddedToTheBacklog_Runs_ScheduleShowsItsNextTime_ARevokedDevicesWorkShowsHeld()
    {
        FakeModelServer? model = null;
        await BrowserScript.RunAsync(output, "tasks.mjs",
            (fake, _, _) =>
            {
                model = fake;
                // The laptop's first task asks to run a command, and waits for a decision that never comes: the backlog waits behind it.
                fake.Enqueue(ScriptedReply.Text("Changelog tidied."), ScriptedReply.ToolUse("Bash", new { command = "npx eslint .", description = "Lint" }));
                return Task.CompletedTask;
            },
            _ =>
            {
                Assert.Single(model!.Requests, r => r.ConsumedScript && r.Contains("Tidy the changelog"));
                Assert.DoesNotContain(model.Requests, r => r.Contains("Check for outdated dependencies"));
                Assert.DoesNotContain(model.Requests, r => r.Contains("Update the README") || r.Contains("Nightly check"));
                return Task.CompletedTask;
            });
    }
}
