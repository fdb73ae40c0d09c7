using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// A paused wait on the phone in Debian's Chromium (web/e2e/paused.mjs), with the REAL Claude Code CLI: the app says the
/// agent is paused to save memory, and the owner's "Allow once" resumes it and runs the command.
/// </summary>
public sealed class PausedBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_ShowsTheAgentPaused_AllowOnceResumesIt_TheCommandRuns()
    {
        await BrowserScript.RunAsync(output, "paused.mjs",
            (_, model, _, _) =>
            {
                model.Enqueue(
                    ScriptedReply.ToolUse("Bash", new { command = "echo ran >> paused.txt", description = "Write the file" }),
                    ScriptedReply.Text("Written after the pause."));
                return Task.CompletedTask;
            },
            async repository => Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(repository, "paused.txt"))),
            pauseWaitingAfter: TimeSpan.FromSeconds(1));
    }
}
