using System.Text.Json;
using FakeLlm;
using PocketCoder.Cli;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The app's second pass in Debian's Chromium at 390x844 (web/e2e/second-pass.mjs), with the REAL Claude Code CLI: tap
/// targets measured on every screen, "Always allow" previewed, a rule changed with a preview, Back from a deep link,
/// archive, the approval timeout, remove project, compressed files.
/// </summary>
public sealed class SecondPassBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PhoneApp_SecondPass_EveryScreenTappable_EndThings_RulesPreviewed_BackStaysInside()
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
            const string command = "echo one > one.txt";
            model.Enqueue(ScriptedReply.ToolUse("Bash", new { command, description = "Write one.txt" }), ScriptedReply.Text("Wrote one.txt."));

            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            Assert.Equal(0, await CommandLine.RunAsync(["pair", "--json", "--data", server.DataDirectory], stdout, stderr));
            var code = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("code").GetString()!;

            var (exitCode, log) = await PhoneAppBrowserTests.RunNodeAsync(web,
                ["e2e/second-pass.mjs", "--url", server.BaseUrl.ToString(), "--code", code, "--repo", repository, "--command", command,
                    "--shots", Path.Combine(web, "test-results")],
                laptop.Token);
            output.WriteLine(log);
            Assert.True(exitCode == 0, $"The second-pass browser test failed:\n{log}");
            Assert.Contains("no script errors", log, StringComparison.Ordinal);
            Assert.Equal("one\n", await File.ReadAllTextAsync(Path.Combine(repository, "one.txt")));
        }
        finally
        {
            TempPaths.Delete(repository);
            TempPaths.Delete(home);
        }
    }
}
