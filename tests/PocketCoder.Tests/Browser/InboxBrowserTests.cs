using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The inbox on the phone in Debian's Chromium (web/e2e/inbox.mjs), with the REAL Claude Code CLI: five sessions' calls in
/// one list, what needs this person first; a swipe allows a plain call, a risky one needs its button, two similar calls
/// allowed together are two decisions; at 390x844 and at 360x640. What ran is then read from the repository.
/// </summary>
public sealed class InboxBrowserTests(ITestOutputHelper output)
{
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
                    ScriptedReply.ToolUse("Bash", new { command = "echo four >> four.txt", description = "Write four" }),
                    ScriptedReply.ToolUse("Write", new { file_path = Path.Combine(repository, "five.txt"), content = "five\n" }),
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

                // The Write waits for a second person's allow; nothing was installed.
                Assert.False(File.Exists(Path.Combine(repository, "five.txt")), "a two-person Write ran on one person's allow");
            });
    }
}
