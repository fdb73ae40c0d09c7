using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Hub;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;
using PocketCoder.Tests.Infrastructure;
using PocketCoder.Tests.Reach;
using Xunit.Abstractions;

namespace PocketCoder.Tests.Browser;

/// <summary>
/// One inbox across machines (web/e2e/machines.mjs) in Debian's Chromium at 390x844: two servers (two data folders, two
/// ports on 127.0.0.1), each driving the REAL Claude Code on the one fake model, and one phone paired with A that adds B
/// from the app. A call on each in one inbox, each allowed on its own machine; revoked on B, the phone stays paired with A;
/// B stopped shows offline while A goes on. What each agent ran is then read from each repository. B is reached directly,
/// or through a real `pocketcoder hub serve` process by its hub name (TLS ending on B), where B stopped leaves the hub up.
/// </summary>
public sealed class MachinesBrowserTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OneInbox_TwoMachines_EachCallDecidedOnItsOwn_RevokedOrStoppedOnlyThere(bool behindHub)
    {
        var folder = TempPaths.NewDirectory("pc-machine-b");
        var homeB = TempPaths.NewDirectory("pc-home-b");
        var repositoryB = TempPaths.NewGitRepository();
        var stopFile = Path.Combine(folder, "stop-b");
        using var done = new CancellationTokenSource();
        HubForB? hub = null;
        TestServer? b = null;
        Task stopped = Task.CompletedTask;
        try
        {
            hub = behindHub ? await HubForB.StartAsync(folder) : null;
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
                    b = hub is null
                        ? await TestServer.StartAsync(agents: ClaudeCli.Against(model, homeB), ownerHome: homeB)
                        : await hub.StartMachineAsync(ClaudeCli.Against(model, homeB), homeB);
                    var laptop = await b.PairAsync("laptop of B");
                    var project = await laptop.Http.PostOkAsync("/api/projects", new { path = repositoryB });
                    var codes = new[] { await b.PairingCodeAsync(), await b.PairingCodeAsync() };
                    await File.WriteAllTextAsync(Path.Combine(folder, "b.json"), JsonSerializer.Serialize(new
                    {
                        url = hub?.Url ?? b.BaseUrl.ToString().TrimEnd('/'), codes, token = laptop.Token, projectId = project.GetProperty("id").GetString(),
                        stopFile, hub = hub is null ? null : new { spki = hub.Spki, ca = hub.CaPem },
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

            if (hub is not null)
            {
                await hub.DisposeAsync();
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

    /// <summary>
    /// A `pocketcoder hub serve` process on loopback for hub.test, with machine B a member of it, as
    /// Reach/HubTests.Chromium_ThroughAHubProcess_… runs one: B holds its own certificate for its hub name, the phone's
    /// Chromium pins that certificate's public key and maps the name to the hub's port.
    /// </summary>
    private sealed class HubForB : IAsyncDisposable
    {
        private const string Name = "desktopb";
        private readonly TestCertificates _certificates = new();
        private readonly string _folder;
        private ReadyProcess _process = null!;
        private int _port;

        private HubForB(string folder) => _folder = folder;

        /// <summary>B's address as phones reach it: its name under the hub's domain, at the hub's port.</summary>
        public string Url => $"https://{Name}.hub.test:{_port}";

        /// <summary>The SHA-256 of B's certificate's public key (base64), as Chromium's pin takes it.</summary>
        public string Spki { get; private set; } = "";

        /// <summary>The test's root certificate (PEM), which this script's own calls through the hub trust.</summary>
        public string CaPem => _certificates.Root.ExportCertificatePem();

        public static async Task<HubForB> StartAsync(string folder)
        {
            var hub = new HubForB(folder);
            hub._certificates.WriteServerCertificate(hub.File("hub.pem"), hub.File("hub.key"), "hub.test");
            hub._certificates.WriteServerCertificate(hub.File("b.pem"), hub.File("b.key"), $"{Name}.hub.test");
            using var certificate = X509Certificate2.CreateFromPemFile(hub.File("b.pem"), hub.File("b.key"));
            hub.Spki = Convert.ToBase64String(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
            hub._port = ReadyProcess.FreePort();
            hub._process = await ReadyProcess.StartHubAsync(hub._port, hub.File("hub.pem"), hub.File("hub.key"), hub.File("hub-data"), []);
            return hub;
        }

        /// <summary>Joins B to the hub the way `hub join` does and starts it with its certificate; returns once its link is up.</summary>
        public async Task<TestServer> StartMachineAsync(IReadOnlyDictionary<string, PocketCoder.Agents.Processes.AgentCommand> agents, string home)
        {
            var token = new MachineRegistry(File("hub-data")).Issue(Name);
            var candidate = new HubMembership($"https://127.0.0.1:{_port}", token, "pending", CaPem);
            var membership = candidate with { PublicUrl = await candidate.WelcomeAsync(CancellationToken.None) };
            Assert.Equal(Url, membership.PublicUrl);
            var machine = await TestServer.StartAsync(agents: agents, ownerHome: home,
                certificate: TlsCertificate.Load(File("b.pem"), File("b.key"), TimeProvider.System), hub: membership);
            // Joining opened the link once; serve's own link is the second.
            await _process.WaitForLineAsync($"Machine {Name} connected from", occurrence: 2);
            return machine;
        }

        public ValueTask DisposeAsync() => _process.DisposeAsync();

        private string File(string name) => Path.Combine(_folder, name);
    }
}
