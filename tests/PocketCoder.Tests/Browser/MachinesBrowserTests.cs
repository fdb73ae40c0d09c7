using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// One inbox across machines (web/e2e/machines.mjs) in Debian's Chromium at 390x844: two servers (two data folders, two
/// ports on 127.0.0.1), each driving the REAL Claude Code on the one fake model, and one phone paired with A that adds B
/// from the app. A call on each in one inbox, each allowed on its own machine; revoked on B, the phone stays paired with A;
/// B stopped shows offline while A goes on. What each agent ran is then read from each repository.
/// </summary>
public sealed class MachinesBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task OneInbox_TwoMachines_EachCallDecidedOnItsOwn_RevokedOrStoppedOnlyThere()
    {
        var folder = TempPaths.NewDirectory("pc-machine-b");
        var homeB = TempPaths.NewDirectory("pc-home-b");
        var repositoryB = TempPaths.NewGitRepository();
        var stopFile = Path.Combine(folder, "stop-b");
        using var done = new CancellationTokenSource();
        TestServer? b = null;
        Task stopped = Task.CompletedTask;
        try
        {
            await BrowserScript.RunAsync(output, "machines.mjs",
                async (_, model, repository, _) =>
                {
                    // One call at a time (the script waits for each): A's, B's, each turn's end, the answer to the message sent
                    // to B, then A's second call.
                    model.Enqueue(
                        ScriptedReply.ToolUse("Bash", new { command = "echo a >> a.txt", description = "Write a" }),
                        ScriptedReply.ToolUse("Bash", new { command = "echo b >> b.txt", description = "Write b" }),
                        ScriptedReply.Text("Done."),
                        ScriptedReply.Text("Done."),
                        ScriptedReply.Text("You're welcome."),
                        ScriptedReply.ToolUse("Bash", new { command = "echo again >> again.txt", description = "Write again" }),
                        ScriptedReply.Text("Done."));
                    b = await TestServer.StartAsync(agents: ClaudeCli.Against(model, homeB), ownerHome: homeB);
                    var laptop = await b.PairAsync("laptop of B");
                    var project = await laptop.Http.PostOkAsync("/api/projects", new { path = repositoryB });
                    var codes = new[] { await b.PairingCodeAsync(), await b.PairingCodeAsync() };
                    await File.WriteAllTextAsync(Path.Combine(folder, "b.json"), JsonSerializer.Serialize(new
                    {
                        url = b.BaseUrl.ToString().TrimEnd('/'), codes, token = laptop.Token, projectId = project.GetProperty("id").GetString(), stopFile,
                    }));
                    stopped = StopWhenAskedAsync(b, stopFile, done.Token);
                },
                async repository =>
                {
                    Assert.Equal("a\n", await File.ReadAllTextAsync(Path.Combine(repository, "a.txt")));
                    Assert.Equal("again\n", await File.ReadAllTextAsync(Path.Combine(repository, "again.txt")));
                    Assert.Equal("b\n", await File.ReadAllTextAsync(Path.Combine(repositoryB, "b.txt")));
                    Assert.False(File.Exists(Path.Combine(repository, "b.txt")), "B's call ran on A");
                    await stopped;
                },
                "--machine-b", Path.Combine(folder, "b.json"));
        }
        finally
        {
            await done.CancelAsync();
            await Task.WhenAny(stopped);
            if (b is not null)
            {
                await b.DisposeAsync();
            }

            TempPaths.Delete(repositoryB);
            TempPaths.Delete(homeB);
            TempPaths.Delete(folder);
        }
    }

    /// <summary>Stops B when the script creates the file (a phone cannot stop a server; the test does, at the script's word).</summary>
    private static async Task StopWhenAskedAsync(TestServer server, string file, CancellationToken cancellationToken)
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(file)!, Path.GetFileName(file));
        watcher.Created += (_, _) => asked.TrySetResult();
        watcher.EnableRaisingEvents = true;
        if (File.Exists(file))
        {
            asked.TrySetResult();
        }

        try
        {
            await asked.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await server.StopAsync();
    }
}
