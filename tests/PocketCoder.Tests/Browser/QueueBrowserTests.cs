using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The session queue in Debian's Chromium at 390x844 (web/e2e/queue.mjs), with the REAL Claude Code CLI: messages sent
/// while a command waits for approval show as queued, are edited and removed, and the edited one runs after the turn.
/// </summary>
public sealed class QueueBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_MessagesDuringATurn_Queued_Edited_Removed_ThenRun()
    {
        FakeModelServer? model = null;
        await BrowserScript.RunAsync(output, "queue.mjs",
            (fake, _, _) =>
            {
                model = fake;
                fake.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo built > build.txt", description = "Build" }),
                    ScriptedReply.Text("Build done."), ScriptedReply.Text("Queued one answered."));
                return Task.CompletedTask;
            },
            repository =>
            {
                Assert.DoesNotContain(model!.Requests, r => r.Contains("first queued"));
                Assert.Contains(model.Requests, r => r.ConsumedScript && r.Contains("second, edited"));
                return Task.CompletedTask;
            });
    }
}
