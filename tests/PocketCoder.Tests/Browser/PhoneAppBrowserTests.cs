using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Cli;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// The phone app in Debian's Chromium at 390x844, against the real server running the REAL Claude Code CLI on
/// the fake model: pair, add a project, start a session, allow, deny, go offline and back, reload offline.
/// The browser side is web/e2e/run.mjs (playwright-core); screenshots land in web/test-results/.
/// </summary>
public sealed class PhoneAppBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task PhoneApp_RealBrowserRealAgent_PairApproveDenyOfflineAndBack()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/test.sh installs Debian's chromium package.");
        var web = Path.Combine(ClaudeCli.RepositoryRoot(), "web");
        Assert.True(Directory.Exists(Path.Combine(web, "node_modules", "playwright-core")), "web/node_modules is missing: build without -p:SkipWebBuild=true.");

        await using var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        var repository = TempPaths.NewGitRepository();
        try
        {
            await using var server = await TestServer.StartAsync(agents: ClaudeCli.Against(model, home));
            var laptop = await server.PairAsync("laptop");
            var hello = Path.Combine(repository, "hello.txt");
            model.Enqueue(
                // Turn 1: write a file (asks in the default mode), then say so.
                ScriptedReply.ToolUse("Write", new { file_path = hello, content = "Hello from the phone\n" }),
                ScriptedReply.Text("Created hello.txt."),
                // Turn 2 (typed in the composer): a command that the phone denies.
                ScriptedReply.ToolUse("Bash", new { command = "rm hello.txt", description = "Delete hello.txt" }),
                ScriptedReply.Text("Understood: I left hello.txt in place."),
                // Turn 3 (sent by the laptop while the phone is offline).
                ScriptedReply.Text("Yes, hello.txt is still there."));

            var code = await BrowserScript.PairingCodeAsync(server.DataDirectory);
            var shots = Path.Combine(web, "test-results");

            var (exitCode, log) = await RunNodeAsync(web,
                ["e2e/run.mjs", "--url", server.BaseUrl.ToString(), "--code", code, "--repo", repository, "--shots", shots],
                laptop.Token);

            output.WriteLine(log);
            Assert.True(exitCode == 0, $"The browser test failed (screenshots in {shots}):\n{log}");
            Assert.Contains("no script errors", log, StringComparison.Ordinal);
            Assert.Equal("Hello from the phone\n", await File.ReadAllTextAsync(hello));
        }
        finally
        {
            TempPaths.Delete(repository);
            TempPaths.Delete(home);
        }
    }

    /// <param name="onLine">Sees each line the script prints as it comes: the script asks the test to act on the machine
    /// (kill a process) by printing a line, and waits on the phone for what follows.</param>
    internal static async Task<(int ExitCode, string Log)> RunNodeAsync(string workingDirectory, string[] arguments, string laptopToken,
        Action<string>? onLine = null)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // A token on the command line would show in `ps`; the environment does not.
        start.Environment["POCKETCODER_LAPTOP_TOKEN"] = laptopToken;
        using var process = Process.Start(start)!;
        var log = new StringBuilder();
        var lines = new object();
        void Append(string? line)
        {
            if (line is not null)
            {
                lock (lines)
                {
                    log.AppendLine(line);
                }
            }
        }

        process.OutputDataReceived += (_, e) =>
        {
            Append(e.Data);
            if (e.Data is { } line && onLine is not null)
            {
                try
                {
                    onLine(line);
                }
                catch (Exception exception)
                {
                    // Thrown on the output reader's thread it would end the test run: the log says it, the script times out.
                    Append($"the test could not act on \"{line}\": {exception}");
                }
            }
        };
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Append("TIMEOUT: the browser test ran over 8 minutes");
            return (-1, log.ToString());
        }

        return (process.ExitCode, log.ToString());
    }
}
