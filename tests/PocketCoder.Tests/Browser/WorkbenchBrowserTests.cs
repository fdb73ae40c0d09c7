using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The app's second pass, part two, in Debian's Chromium at 390x844 (web/e2e/workbench.mjs) with the REAL Claude Code
/// CLI: dictation, an image attached (checked to reach the fake model as an image block), All sessions with search, a file highlighted and edited with a conflict, git history, discard.
/// </summary>
public sealed class WorkbenchBrowserTests(ITestOutputHelper output)
{
    // The same 2x1 PNG as web/e2e/workbench.mjs attaches.
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAADUlEQVR4nGP4zwAE/wEHAAH/4iOeWQAAAABJRU5ErkJggg==");

    [Fact]
    public async Task PhoneApp_Dictate_Attach_ReviewTurn_Search_EditWithConflict_History_Discard()
    {
        FakeModelServer? model = null;
        await BrowserScript.RunAsync(output, "workbench.mjs",
            (fake, repository, _) =>
            {
                model = fake;
                fake.Enqueue(ScriptedReply.Text("On it."), ScriptedReply.Text("A red and a blue pixel."),
                    ScriptedReply.ToolUse("Bash", new { command = "printf '# Rewritten\\n' > README.md", description = "Rewrite the readme" }),
                    ScriptedReply.Text("Rewrote it."), ScriptedReply.Text("Keeping both."));
                Directory.CreateDirectory(Path.Combine(repository, "src"));
                File.WriteAllText(Path.Combine(repository, "src", "app.ts"), "export const answer = 41;\n");
                WorkspaceGit(repository, "add", ".");
                WorkspaceGit(repository, "-c", "user.email=test@example.invalid", "-c", "user.name=Test", "commit", "-q", "-m", "add app");
                return Task.CompletedTask;
            },
            async repository =>
            {
                // Discarded: the files are back as committed (the agent's README too), the scratch file is gone.
                Assert.Equal("export const answer = 41;\n", await File.ReadAllTextAsync(Path.Combine(repository, "src", "app.ts")));
                Assert.Equal("# test project\n", await File.ReadAllTextAsync(Path.Combine(repository, "README.md")));
                Assert.False(File.Exists(Path.Combine(repository, "scratch.txt")));

                // The phone's attachment reached the model as Claude's image block, byte for byte.
                var asked = model!.Requests.Last(r => r.ConsumedScript && r.LastUserText().Contains("What is in this screenshot?", StringComparison.Ordinal));
                var image = Assert.Single(asked.UserImages());
                Assert.Equal("image/png", image.MediaType);
                Assert.Equal(Png, Convert.FromBase64String(image.Base64));
            });
    }

    private static void WorkspaceGit(string repository, params string[] arguments) => PocketCoder.Tests.Workspace.WorkspaceWorld.Git(repository, arguments);
}
