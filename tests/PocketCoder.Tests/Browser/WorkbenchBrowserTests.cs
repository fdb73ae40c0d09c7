using FakeLlm;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The app's second pass, part two, in Debian's Chromium at 390x844 (web/e2e/workbench.mjs) with the REAL Claude Code
/// CLI: dictation, All sessions with search, a file highlighted and edited with a conflict, git history, discard.
/// </summary>
public sealed class WorkbenchBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public Task PhoneApp_Dictate_Search_EditWithConflict_History_Discard() =>
        BrowserScript.RunAsync(output, "workbench.mjs",
            (model, repository) =>
            {
                model.Enqueue(ScriptedReply.Text("On it."));
                Directory.CreateDirectory(Path.Combine(repository, "src"));
                File.WriteAllText(Path.Combine(repository, "src", "app.ts"), "export const answer = 41;\n");
                WorkspaceGit(repository, "add", ".");
                WorkspaceGit(repository, "-c", "user.email=test@example.invalid", "-c", "user.name=Test", "commit", "-q", "-m", "add app");
            },
            async repository =>
            {
                // Discarded: the file is back as committed, the scratch file is gone.
                Assert.Equal("export const answer = 41;\n", await File.ReadAllTextAsync(Path.Combine(repository, "src", "app.ts")));
                Assert.False(File.Exists(Path.Combine(repository, "scratch.txt")));
            });

    private static void WorkspaceGit(string repository, params string[] arguments) => PocketCoder.Tests.Workspace.WorkspaceWorld.Git(repository, arguments);
}
