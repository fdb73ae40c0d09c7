using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// A session on a branch of its own in Debian's Chromium at 390x844 (web/e2e/worktree.mjs), with the REAL Claude Code CLI:
/// started from New session, its worktree bar shows the change, and "Merge into main" lands it in the project; a change made
/// behind the bar's back refuses the merge until the bar shows it.
/// </summary>
public sealed class WorktreeBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public Task PhoneApp_SessionOnABranch_MergedIntoMain() =>
        BrowserScript.RunAsync(output, "worktree.mjs",
            (model, _, _) =>
            {
                model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo 'from the branch' > shared.txt", description = "Write shared.txt" }),
                    ScriptedReply.Text("Written."));
                return Task.CompletedTask;
            },
            async repository => Assert.Equal("from the branch\nwritten later\n", await File.ReadAllTextAsync(Path.Combine(repository, "shared.txt"))));
}
