using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// Rewind and fork walked on the phone (web/e2e/rewind.mjs) in Debian's Chromium at 390x844 and 360x640, with the REAL Claude
/// Code CLI sandboxed as by default: the confirmation lists what is put back, deleted and kept (a file made by hand between
/// the turns), the rewound session keeps the title and says what happened, Undo brings the files back, and a fork leaves
/// the project's files as they are.
/// </summary>
public sealed class RewindBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_RewindUndoAndFork_TheOwnersFileKept() =>
        await BrowserScript.RunAsync(output, "rewind.mjs",
            (model, repository, _) =>
            {
                // What the project held before the first turn: a rewind to before it puts this back.
                File.WriteAllText(Path.Combine(repository, "agent.txt"), "zero\n");
                model.Enqueue(
                    ScriptedReply.ToolUse("Bash", new { command = "echo one > agent.txt", description = "Write agent.txt" }),
                    ScriptedReply.Text("Turn one done."),
                    ScriptedReply.ToolUse("Bash", new { command = "echo two > agent.txt && echo later > later.txt", description = "Write two files" }),
                    ScriptedReply.Text("Turn two done."));
                return Task.CompletedTask;
            },
            async repository =>
            {
                // After the undo and the fork: the project's files as the second turn left them, the owner's own file untouched.
                Assert.Equal("two\n", await File.ReadAllTextAsync(Path.Combine(repository, "agent.txt")));
                Assert.Equal("later\n", await File.ReadAllTextAsync(Path.Combine(repository, "later.txt")));
                Assert.Equal("made by hand\n", await File.ReadAllTextAsync(Path.Combine(repository, "mine.txt")));
            });
}
