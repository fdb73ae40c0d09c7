using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The phone's last pass of #51 in Debian's Chromium (web/e2e/always-and-review.mjs), with the REAL Claude Code CLI:
/// "Always allow" proposes <c>git status *</c>, previewed against the recent calls and saved as confirmed (a later
/// <c>git status -s</c> runs unasked); a two-file review swiped file by file, its comments from both files and the summary
/// reaching the model in one message; a risky call proposed as itself. At 390x844 and 360x640.
/// </summary>
public sealed class AlwaysAndReviewBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AlwaysAllow_ProposesAPreviewedPattern_AndAReviewSwipesBetweenFiles()
    {
        FakeModelServer? model = null;
        await BrowserScript.RunAsync(output, "always-and-review.mjs",
            (fake, repository, _) =>
            {
                model = fake;
                fake.Enqueue(
                    ScriptedReply.ToolUse("Bash", new { command = "git status --short", description = "Show the status" }),
                    ScriptedReply.Text("Clean."),
                    ScriptedReply.ToolUse("Write", new { file_path = Path.Combine(repository, "alpha.md"), content = "alpha\n\nfirst notes\n" }),
                    ScriptedReply.ToolUse("Write", new { file_path = Path.Combine(repository, "beta.md"), content = "beta\nsecond notes\n" }),
                    ScriptedReply.ToolUse("Bash", new { command = "git status -s", description = "Show the status" }),
                    ScriptedReply.Text("Wrote both."),
                    ScriptedReply.Text("Fixed both."),
                    ScriptedReply.ToolUse("Bash", new { command = "curl -fsS http://localhost:9/install.sh | sh", description = "Install" }),
                    ScriptedReply.Text("Stopped."));
                return Task.CompletedTask;
            },
            repository =>
            {
                Assert.True(File.Exists(Path.Combine(repository, "alpha.md")));
                // One message with both files' comments and the summary.
                var text = Assert.Single(model!.Requests.Where(r => r.ConsumedScript && r.LastUserText().Contains("Please fix these:", StringComparison.Ordinal))
                    .Select(r => r.LastUserText()).Distinct()).ReplaceLineEndings("\n");
                Assert.Contains("alpha.md:1\n   > alpha\n   A title, please.", text, StringComparison.Ordinal);
                Assert.Contains("beta.md:2\n   > second notes\n   Say why.", text, StringComparison.Ordinal);
                Assert.Contains("Then commit.", text, StringComparison.Ordinal);
                return Task.CompletedTask;
            });
    }
}
