using PocketCoder.Agents.Processes;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Cli;
using PocketCoder.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// One browser script of web/e2e against a real server driving the REAL Claude Code CLI on the fake model: the phone
/// pairs with a code from `pocketcoder pair --json`, a second device ("laptop") is paired for the script's API calls.
/// </summary>
internal static class BrowserScript
{
    /// <param name="script">The file under web/e2e.</param>
    /// <param name="arrange">Scripts the model for a repository (the project the phone will add); the third argument is the agents' HOME.</param>
    /// <param name="verify">Checks the repository afterwards.</param>
    /// <param name="arguments">More arguments for the script (after --url, --code, --repo and --shots).</param>
    public static Task RunAsync(ITestOutputHelper output, string script, Func<FakeModelServer, string, string, Task> arrange, Func<string, Task> verify,
        params string[] arguments) =>
        RunAsync(output, script, (_, model, repository, home) => arrange(model, repository, home), verify, arguments);

    /// <param name="arrange">Also given the running server (its data folder, its services), for set-up the phone does not do.</param>
    public static Task RunAsync(ITestOutputHelper output, string script, Func<TestServer, FakeModelServer, string, string, Task> arrange,
        Func<string, Task> verify, params string[] arguments) => RunAsync(output, script, arrange, verify, null, arguments);

    /// <param name="pauseWaitingAfter">The server's pause threshold (its default when null).</param>
    public static Task RunAsync(ITestOutputHelper output, string script, Func<TestServer, FakeModelServer, string, string, Task> arrange,
        Func<string, Task> verify, TimeSpan? pauseWaitingAfter, params string[] arguments) =>
        RunAsync(output, script, arrange, verify, pauseWaitingAfter, bubblewrap: null, arguments);

    /// <param name="bubblewrap">The bubblewrap the server sandboxes agents with (bwrap from PATH when null).</param>
    public static Task RunAsync(ITestOutputHelper output, string script, Func<TestServer, FakeModelServer, string, string, Task> arrange,
        Func<string, Task> verify, TimeSpan? pauseWaitingAfter, string? bubblewrap, params string[] arguments) =>
        RunAsync(output, script, arrange, verify, pauseWaitingAfter, bubblewrap, networkHosts: null, arguments);

    /// <param name="networkHosts">Names the sandboxes' proxy connects to at the address given (the test's own servers).</param>
    public static Task RunAsync(ITestOutputHelper output, string script, Func<TestServer, FakeModelServer, string, string, Task> arrange,
        Func<string, Task> verify, TimeSpan? pauseWaitingAfter, string? bubblewrap, IReadOnlyDictionary<string, string>? networkHosts,
        params string[] arguments) =>
        RunAsync(output, script, arrange, verify, pauseWaitingAfter, bubblewrap, networkHosts, moreAgents: null, arguments);

    /// <param name="moreAgents">Agent commands beside the real Claude Code's (e.g. agents this machine lacks, as a new user's has).</param>
    public static async Task RunAsync(ITestOutputHelper output, string script, Func<TestServer, FakeModelServer, string, string, Task> arrange,
        Func<string, Task> verify, TimeSpan? pauseWaitingAfter, string? bubblewrap, IReadOnlyDictionary<string, string>? networkHosts,
        IReadOnlyDictionary<string, AgentCommand>? moreAgents, params string[] arguments)
    {
        var web = Path.Combine(ClaudeCli.RepositoryRoot(), "web");
        Assert.True(File.Exists("/usr/bin/chromium"), "/usr/bin/chromium is missing: scripts/test.sh installs Debian's chromium package.");
        Assert.True(Directory.Exists(Path.Combine(web, "node_modules", "playwright-core")), "web/node_modules is missing: build without -p:SkipWebBuild=true.");
        await using var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        var repository = TempPaths.NewGitRepository();
        try
        {
            // One home for the agents and the owner, as on a real machine: the phone browses it to pick a project's folder.
            var agents = new Dictionary<string, AgentCommand>(ClaudeCli.Against(model, home));
            foreach (var (id, command) in moreAgents ?? new Dictionary<string, AgentCommand>())
            {
                agents[id] = command;
            }

            await using var server = await TestServer.StartAsync(agents: agents, pauseWaitingAfter: pauseWaitingAfter,
                bubblewrap: bubblewrap, ownerHome: home, networkHosts: networkHosts);
            var laptop = await server.PairAsync("laptop");
            await arrange(server, model, repository, home);
            var code = await PairingCodeAsync(server.DataDirectory);
            var shots = Path.Combine(web, "test-results");
            var (exitCode, log) = await PhoneAppBrowserTests.RunNodeAsync(web,
                [$"e2e/{script}", "--url", server.BaseUrl.ToString(), "--code", code, "--repo", repository, "--shots", shots, .. arguments],
                laptop.Token);
            output.WriteLine(log);
            Assert.True(exitCode == 0, $"{script} failed (screenshots in {shots}):\n{log}");
            Assert.Contains("no script errors", log, StringComparison.Ordinal);
            await verify(repository);
        }
        finally
        {
            TempPaths.Delete(repository);
            TempPaths.Delete(home);
        }
    }

    /// <summary>The code exactly as a user gets it: from `pocketcoder pair --json`.</summary>
    public static async Task<string> PairingCodeAsync(string dataDirectory)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CommandLine.RunAsync(["pair", "--json", "--data", dataDirectory], stdout, stderr);
        Assert.True(exit == 0, stderr.ToString());
        return JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("code").GetString()!;
    }
}
