using FakeLlm;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Workspace.Worktrees;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// A session on a branch of its own in Debian's Chromium at 390x844 and 360x640 (web/e2e/worktree.mjs), with the REAL
/// Claude Code CLI: started from New session, it says it is being prepared while its worktree is made (held here until
/// the script has looked), then its worktree bar shows the change, and "Merge into main" lands it in the project; a change
/// made behind the bar's back refuses the merge until the bar shows it.
/// </summary>
public sealed class WorktreeBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_SessionOnABranch_MergedIntoMain()
    {
        // The script creates this file once it has seen the session preparing: only then is the worktree made.
        var releaseFolder = TempPaths.NewDirectory("pc-release");
        var release = Path.Combine(releaseFolder, "release");
        try
        {
            await BrowserScript.RunAsync(output, "worktree.mjs",
                (server, model, _, _) =>
                {
                    server.Services.GetRequiredService<SessionWorktrees>().BeforePhase = (phase, cancellationToken) =>
                        phase == PreparationPhases.Branch ? FileCreatedAsync(release, cancellationToken) : Task.CompletedTask;
                    model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo 'from the branch' > shared.txt", description = "Write shared.txt" }),
                        ScriptedReply.Text("Written."));
                    return Task.CompletedTask;
                },
                async repository => Assert.Equal("from the branch\nwritten later\n", await File.ReadAllTextAsync(Path.Combine(repository, "shared.txt"))),
                "--release", release);
        }
        finally
        {
            TempPaths.Delete(releaseFolder);
        }
    }

    /// <summary>Completes when <paramref name="path"/> exists (watched, not polled), or after two minutes (the script failed).</summary>
    private static async Task FileCreatedAsync(string path, CancellationToken cancellationToken)
    {
        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path));
        watcher.Created += (_, _) => created.TrySetResult();
        watcher.EnableRaisingEvents = true;
        if (File.Exists(path))
        {
            return;
        }

        try
        {
            await created.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
        }
        catch (TimeoutException)
        {
            // The script failed before releasing it: let the preparation go on so the server stops cleanly.
        }
    }
}
