using System.Text.Json;
using FakeLlm;
using PocketCoder.Cli;
using PocketCoder.Tests.Browser;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Notifications;

/// <summary>
/// The app's service worker with a real push (web/e2e/notify.mjs is the push service): Debian's Chromium, the real server,
/// the REAL Claude Code CLI asking to run a command. Allow once from the notification decides; a second decision is a 409.
/// </summary>
public sealed class NotificationBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ServiceWorker_ShowsTheMachinesPush_AllowOnceFromTheNotificationDecides_BadgeOnEveryScreen()
    {
        var web = Path.Combine(ClaudeCli.RepositoryRoot(), "web");
        Assert.True(File.Exists("/usr/bin/chromium"), "/usr/bin/chromium is missing: scripts/test.sh installs Debian's chromium package.");
        await using var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        var repository = TempPaths.NewGitRepository();
        try
        {
            await using var server = await TestServer.StartAsync(agents: ClaudeCli.Against(model, home));
            var laptop = await server.PairAsync("laptop");
            const string command = "echo from-the-lock-screen > notified.txt";
            model.Enqueue(ScriptedReply.ToolUse("Bash", new { command, description = "Write notified.txt" }), ScriptedReply.Text("Done from the notification."));

            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            Assert.Equal(0, await CommandLine.RunAsync(["pair", "--json", "--data", server.DataDirectory], stdout, stderr));
            var code = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("code").GetString()!;

            var (exitCode, log) = await PhoneAppBrowserTests.RunNodeAsync(web,
                ["e2e/notify.mjs", "--url", server.BaseUrl.ToString(), "--code", code, "--repo", repository, "--command", command,
                    "--shots", Path.Combine(web, "test-results")],
                laptop.Token);
            output.WriteLine(log);
            Assert.True(exitCode == 0, $"The notification browser test failed:\n{log}");
            Assert.Contains("no script errors", log, StringComparison.Ordinal);
            Assert.Equal("from-the-lock-screen\n", await File.ReadAllTextAsync(Path.Combine(repository, "notified.txt")));
        }
        finally
        {
            TempPaths.Delete(repository);
            TempPaths.Delete(home);
        }
    }
}
