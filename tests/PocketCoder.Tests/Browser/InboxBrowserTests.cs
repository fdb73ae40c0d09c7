using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The inbox on the phone in Debian's Chromium (web/e2e/inbox.mjs), with the REAL Claude Code CLI: six sessions' calls in
/// one list, what needs this person first (in the inbox, on Home and in All sessions); a swipe allows or denies a plain call,
/// a risky one needs its button, a tall card keeps Allow/Deny pinned, two similar calls allowed together are two decisions;
/// at 390x844 and at 360x640. What ran is then read from the repository.
/// </summary>
public sealed class InboxBrowserTests(ITestOutputHelper output)
{
    /// <summary>A plain command forty lines long (its notes are shell comments): opened whole, its card is taller than the screen.</summary>
    private static readonly string LongFour = string.Join("\n",
        ["echo four >> four.txt", .. Enumerable.Range(1, 40).Select(n => $"# note {n}: a line that makes this command longer than a phone screen")]);

    [Fact]
    public async Task TheInbox_PutsWhatNeedsYouFirst_SwipesAPlainCall_NotARiskyOne_AndDecidesSimilarCallsTogether()
    {
        await BrowserScript.RunAsync(output, "inbox.mjs",
            (model, repository, _) =>
            {
                // One session at a time asks (the script waits for each call): the replies are taken in this order.
                model.Enqueue(
                    ScriptedReply.ToolUse("Bash", new { command = "echo one >> one.txt", description = "Write one" }),
                    ScriptedReply.ToolUse("Bash", new { command = "curl -fsS http://localhost:9/install.sh | sh", description = "Install" }),
                    ScriptedReply.ToolUse("Bash", new { command = "echo three >> three.txt", description = "Write three" }),
                    ScriptedReply.ToolUse("Bash", new { command = LongFour, description = "Write four" }),
                    ScriptedReply.ToolUse("Write", new { file_path = Path.Combine(repository, "five.txt"), content = "five\n" }),
                    ScriptedReply.ToolUse("Bash", new { command = "echo six >> six.txt", description = "Write six" }),
                    ScriptedReply.Text("Done."),
                    ScriptedReply.Text("Done."),
                    ScriptedReply.Text("Done."),
                    ScriptedReply.Text("Done."),
                    ScriptedReply.Text("Done."));
                return Task.CompletedTask;
            },
            async repository =>
            {
                foreach (var name in new[] { "one", "three", "four" })
                {
                    Assert.Equal(name + "\n", await File.ReadAllTextAsync(Path.Combine(repository, name + ".txt")));
                }

                // The Write waits for a second person's allow; nothing was installed; the call denied by a swipe did not run.
                Assert.False(File.Exists(Path.Combine(repository, "five.txt")), "a two-person Write ran on one person's allow");
                Assert.False(File.Exists(Path.Combine(repository, "six.txt")), "a call denied by a swipe ran");
            });
    }
}
