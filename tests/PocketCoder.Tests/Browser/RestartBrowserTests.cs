using System.Text.RegularExpressions;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// A restart as the phone sees it (web/e2e/restart.mjs), with the REAL Claude Code CLI: a session cut off while a call
/// waited on its approval shows the call as interrupted, and Resume brings the agent back with a marker that says so.
/// </summary>
public sealed partial class RestartBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_RestartMidCall_InterruptedThenResumed()
    {
        var web = Path.Combine(ClaudeCli.RepositoryRoot(), "web");
        Assert.True(File.Exists("/usr/bin/chromium"), "/usr/bin/chromium is missing: scripts/test.sh installs Debian's chromium package.");
        await using var model = await FakeModelServer.StartAsync();
        model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo one > one.txt", description = "Write one.txt" }));
        var home = TempPaths.NewDirectory("pc-home");
        var repository = TempPaths.NewGitRepository();
        var profile = TempPaths.NewDirectory("pc-chromium");
        var data = TempPaths.NewDirectory("pc-data");
        var shots = Path.Combine(web, "test-results");
        try
        {
            string sessionId;
            await using (var server = await TestServer.StartAsync(data, ClaudeCli.Against(model, home)))
            {
                var laptop = await server.PairAsync("laptop");
                var code = await BrowserScript.PairingCodeAsync(server.DataDirectory);
                var (exit, log) = await PhoneAppBrowserTests.RunNodeAsync(web,
                    ["e2e/restart.mjs", "--phase", "before", "--url", server.BaseUrl.ToString(), "--code", code, "--repo", repository,
                        "--profile", profile, "--shots", shots], laptop.Token);
                output.WriteLine(log);
                Assert.True(exit == 0, $"restart.mjs (before) failed:\n{log}");
                sessionId = SessionLine().Match(log).Groups[1].Value;
                Assert.NotEmpty(sessionId);
            }

            await using (var server = await TestServer.StartAsync(data, ClaudeCli.Against(model, home)))
            {
                var laptop = await server.PairAsync("laptop again");
                var (exit, log) = await PhoneAppBrowserTests.RunNodeAsync(web,
                    ["e2e/restart.mjs", "--phase", "after", "--url", server.BaseUrl.ToString(), "--session", sessionId, "--profile", profile,
                        "--shots", shots], laptop.Token);
                output.WriteLine(log);
                Assert.True(exit == 0, $"restart.mjs (after) failed:\n{log}");
                Assert.Contains("no script errors", log, StringComparison.Ordinal);
            }

            // The call cut off never ran.
            Assert.False(File.Exists(Path.Combine(repository, "one.txt")));
        }
        finally
        {
            TempPaths.Delete(profile);
            TempPaths.Delete(repository);
            TempPaths.Delete(home);
            TempPaths.Delete(data);
        }
    }

    [GeneratedRegex(@"^session: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex SessionLine();
}
