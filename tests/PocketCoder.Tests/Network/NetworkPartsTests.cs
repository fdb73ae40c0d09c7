using System.Net;
using System.Text;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Agents.Processes.Network;
using PocketCoder.Approvals;
using PocketCoder.Network;

namespace PocketCoder.Tests.Network;

/// <summary>
/// The sandbox's network, part by part: how a proxy request is read (strictly), what a rule's host pattern covers, where each agent's
/// model is, what a sandbox listens on inside, and how the sandbox's socket table is read.
/// </summary>
[Trait("Category", "Unit")]
public sealed class NetworkPartsTests
{
    [Theory]
    [InlineData("files.example.org:443", "files.example.org:443", true)]
    [InlineData("files.example.org:443", "files.example.org:80", false)]
    [InlineData("files.example.org", "files.example.org:8443", true)] // no port: any
    [InlineData("files.example.org:*", "files.example.org:22", true)]
    [InlineData("*.example.org", "files.example.org:443", true)]
    [InlineData("*.example.org", "a.b.example.org:443", true)]
    [InlineData("*.example.org", "example.org:443", false)] // the domain itself is named on its own
    [InlineData("*.example.org", "evilexample.org:443", false)]
    [InlineData("*.example.org", "example.org.evil.test:443", false)]
    [InlineData("FILES.Example.ORG.", "files.example.org:443", true)]
    [InlineData("[::1]:443", "[::1]:443", true)]
    [InlineData("10.0.0.5:5432", "10.0.0.5:5432", true)]
    [InlineData("*", "anything.test:1", true)]
    public void HostPattern_Matches(string pattern, string target, bool matches) => Assert.Equal(matches, HostPattern.Matches(pattern, target));

    [Theory]
    [InlineData("example.org", true)]
    [InlineData("*.example.org:443", true)]
    [InlineData("[2001:db8::1]:443", true)]
    [InlineData("example.org:99999", false)]
    [InlineData("ex ample.org", false)]
    [InlineData("user@example.org", false)]
    [InlineData("*example.org", false)]
    [InlineData("example.org/path", false)]
    [InlineData("::1", false)] // an IPv6 address goes in brackets
    public void HostPattern_IsValid(string pattern, bool valid) => Assert.Equal(valid, HostPattern.IsValid(pattern));

    [Fact]
    public void NetworkRule_CoversTheConnectionsItNames_ByKindWord()
    {
        var rule = new Rule("r", "p", "network", "*.example.org:443", RuleActions.Allow, DateTimeOffset.UnixEpoch, null);
        Assert.True(Policy.RuleMatches(rule, Connection("files.example.org:443"), null));
        Assert.False(Policy.RuleMatches(rule, Connection("files.example.org:22"), null));
        // A shell rule never covers a connection, nor a network rule a command naming the host.
        Assert.False(Policy.RuleMatches(rule with { Tool = "shell", Pattern = "*" }, Connection("files.example.org:443"), null));
        var command = new PermissionRequest("c", "Bash", ToolKind.Execute, "curl", JsonDocument.Parse("{}").RootElement, "files.example.org:443", null, null);
        Assert.False(Policy.RuleMatches(rule, command, null));
    }

    [Fact]
    public void TrustedMode_DoesNotCoverAConnection_ARuleDoes()
    {
        var connection = Connection("files.example.org:443");
        Assert.Equal(Outcome.Ask, Policy.Evaluate(connection, "trusted", [], new HashSet<string>(), "/tmp/p").Outcome);
        Assert.Equal(Outcome.Allow, Policy.Evaluate(connection, "trusted",
            [new Rule("r", "p", "network", "files.example.org", RuleActions.Allow, DateTimeOffset.UnixEpoch, null)], new HashSet<string>(), "/tmp/p").Outcome);
        // "Allow for this session" was given for this host and port only (the tool names them).
        Assert.Equal(Outcome.Allow, Policy.Evaluate(connection, "default", [], new HashSet<string> { "network:files.example.org:443" }, "/tmp/p").Outcome);
        Assert.Equal(Outcome.Ask, Policy.Evaluate(Connection("other.example.org:443"), "default", [], new HashSet<string> { "network:files.example.org:443" }, "/tmp/p").Outcome);
        Assert.Equal(RiskClasses.Network, Policy.RiskOf(connection, "/tmp/p"));
    }

    [Theory]
    [InlineData("CONNECT files.example.org:443 HTTP/1.1\r\nHost: files.example.org:443\r\n\r\n", "files.example.org:443", null)]
    [InlineData("GET http://files.example.org/a/b?c=1 HTTP/1.1\r\nHost: files.example.org\r\n\r\n", "files.example.org:80", "/a/b?c=1")]
    [InlineData("POST http://10.0.0.5:8080 HTTP/1.1\r\n\r\n", "10.0.0.5:8080", "/")]
    [InlineData("CONNECT [::1]:22 HTTP/1.1\r\n\r\n", "[::1]:22", null)]
    public void ProxyRequest_ReadsTheTarget(string head, string target, string? path)
    {
        var request = ProxyRequest.Parse(Encoding.Latin1.GetBytes(head), out var problem);
        Assert.True(request is not null, problem);
        Assert.Equal(target, request.Target.ToString());
        Assert.Equal(path, request.Path);
    }

    [Theory]
    [InlineData("CONNECT user@files.example.org:443 HTTP/1.1\r\n\r\n")] // user info
    [InlineData("CONNECT files.example.org HTTP/1.1\r\n\r\n")] // no port
    [InlineData("CONNECT files.example.org:0 HTTP/1.1\r\n\r\n")]
    [InlineData("GET /a HTTP/1.1\r\nHost: files.example.org\r\n\r\n")] // meant for a server, not a proxy
    [InlineData("GET https://files.example.org/ HTTP/1.1\r\n\r\n")] // https goes through CONNECT
    [InlineData("GET http://files.example.org%2eevil.test/ HTTP/1.1\r\n\r\n")]
    [InlineData("CONNECT  files.example.org:443 HTTP/1.1\r\n\r\n")]
    [InlineData("CONNECT files.example.org:443 HTTP/2\r\n\r\n")]
    [InlineData("GET http://a.test/ HTTP/1.1\r\nBad Header: x\r\n\r\n")]
    public void ProxyRequest_AnythingNotReadExactly_Refused(string head) => Assert.Null(ProxyRequest.Parse(Encoding.Latin1.GetBytes(head), out _));

    [Fact]
    public void ProxyRequest_PlainHttp_GoesOnInOriginForm_WithoutTheProxysHeaders_AndCloses()
    {
        var request = ProxyRequest.Parse("GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n"u8, out _)!;
        Assert.Equal("GET /x HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\nConnection: close\r\n\r\n", Encoding.Latin1.GetString(request.ForwardedHead()));
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
            Encoding.Latin1.GetString(ProxyRequest.ClosingResponseHead("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n"u8)));
        Assert.True(ProxyRequest.IsInterim("HTTP/1.1 100 Continue\r\n\r\n"u8));
        Assert.False(ProxyRequest.IsInterim("HTTP/1.1 101 Switching Protocols\r\n\r\n"u8));
    }

    [Fact]
    public void Layout_RelaysAModelOnLoopback_AndTheProxyAvoidsItsPort()
    {
        var layout = new EgressLayout([new NetworkEndpoint("127.0.0.1", 3128), new NetworkEndpoint("localhost", 9000), new NetworkEndpoint("api.anthropic.com", 443)]);
        Assert.Equal(3129, layout.ProxyPort);
        Assert.Equal(["127.0.0.1:3128", "127.0.0.1:9000", "[::1]:9000"], layout.Relays.Select(r => r.Listen.ToString()).ToArray());
        Assert.Equal(["127.0.0.1:3129", "127.0.0.1:3128", "127.0.0.1:9000", "[::1]:9000"], layout.Listeners.Select(l => l.ToString()).ToArray());
        Assert.Contains(("HTTPS_PROXY", (string?)"http://127.0.0.1:3129"), layout.Environment);
        Assert.Contains(("NO_PROXY", (string?)"localhost,127.0.0.1,::1"), layout.Environment);
    }

    [Fact]
    public void ModelHosts_ABaseUrlReplacesTheProvider_ReadWhereEachAgentReadsIt()
    {
        var folder = Directory.CreateTempSubdirectory("pc-hosts-").FullName;
        try
        {
            string? None(string _) => null;
            Assert.Equal(["api.anthropic.com:443", "platform.claude.com:443"], ModelHosts.Claude(None, folder).Select(e => e.ToString()).ToArray());
            Assert.Equal(["127.0.0.1:8080"], ModelHosts.Claude(n => n == "ANTHROPIC_BASE_URL" ? "http://127.0.0.1:8080/" : null, folder).Select(e => e.ToString()).ToArray());
            File.WriteAllText(Path.Combine(folder, "settings.json"), """{"env":{"ANTHROPIC_BASE_URL":"https://gateway.example.org/anthropic"}}""");
            Assert.Equal(["gateway.example.org:443"], ModelHosts.Claude(None, folder).Select(e => e.ToString()).ToArray());

            File.WriteAllText(Path.Combine(folder, "config.toml"), "model_provider = \"mine\"\n[model_providers.mine]\nbase_url = \"http://10.0.0.9:11434/v1\"\n");
            Assert.Equal(["10.0.0.9:11434"], ModelHosts.Codex(None, folder).Select(e => e.ToString()).ToArray());
            File.WriteAllText(Path.Combine(folder, "config.toml"), "model = \"gpt\"\n");
            Assert.Contains("chatgpt.com:443", ModelHosts.Codex(None, folder).Select(e => e.ToString()));

            Assert.Equal(["gw.example.org:8443"], ModelHosts.Copilot(n => n == "COPILOT_PROVIDER_BASE_URL" ? "https://gw.example.org:8443/v1" : null).Select(e => e.ToString()).ToArray());
            File.WriteAllText(Path.Combine(folder, ".env"), "GOOGLE_GEMINI_BASE_URL=\"http://127.0.0.1:7000\"\n");
            Assert.Equal(["127.0.0.1:7000"], ModelHosts.Gemini(None, folder).Select(e => e.ToString()).ToArray());

            // pi: its models.json providers by baseUrl, and a built-in provider by the one it is set to.
            File.WriteAllText(Path.Combine(folder, "models.json"), """{"providers":{"mine":{"baseUrl":"http://10.0.0.7:8000/v1"}}}""");
            Assert.Equal(["10.0.0.7:8000"], ModelHosts.Pi(None, folder).Select(e => e.ToString()).ToArray());
            File.WriteAllText(Path.Combine(folder, "settings.json"), """{"defaultProvider":"openai-codex"}""");
            Assert.Equal(["10.0.0.7:8000", "chatgpt.com:443", "auth.openai.com:443"], ModelHosts.Pi(None, folder).Select(e => e.ToString()).ToArray());

            // Kilo Code: OpenCode's reading under its names (KILO_CONFIG, its own model catalog).
            var kilo = PocketCoder.Agents.OpenCode.OpenCodeFlavor.Kilo;
            File.WriteAllText(Path.Combine(folder, "kilo-test.json"), """{"provider":{"fake":{"options":{"baseURL":"http://127.0.0.1:9100/v1"}}}}""");
            Assert.Equal(["127.0.0.1:9100", "models.dev:443"],
                ModelHosts.OpenCode(n => n == "KILO_CONFIG" ? Path.Combine(folder, "kilo-test.json") : null, kilo, folder, folder).Select(e => e.ToString()).ToArray());
            Assert.DoesNotContain("127.0.0.1:9100",
                ModelHosts.OpenCode(n => n == "OPENCODE_CONFIG" ? Path.Combine(folder, "kilo-test.json") : null, kilo, folder, folder).Select(e => e.ToString()));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void AllowedFetches_TheHostsAFetchNamed_AreAskedAboutForAWhile()
    {
        var clock = new Infrastructure.ManualClock(DateTimeOffset.UnixEpoch);
        var fetches = new AllowedFetches(clock);
        fetches.Allowed("s", JsonDocument.Parse("""{"url":"https://docs.example.org/page","prompt":"see also http://www.other.test:8080/x"}""").RootElement);
        Assert.True(fetches.Names("s", new NetworkEndpoint("docs.example.org", 443)));
        Assert.True(fetches.Names("s", new NetworkEndpoint("other.test", 8080))); // its www. twin
        Assert.False(fetches.Names("s", new NetworkEndpoint("docs.example.org", 80)));
        Assert.False(fetches.Names("other session", new NetworkEndpoint("docs.example.org", 443)));
        clock.Advance(AllowedFetches.Window + TimeSpan.FromSeconds(1));
        Assert.False(fetches.Names("s", new NetworkEndpoint("docs.example.org", 443)));
    }

    [Fact]
    public void UnixSockets_ThePathsOfBoundSockets_NotAbstractOrUnboundOnes()
    {
        string[] table =
        [
            "Num       RefCount Protocol Flags    Type St Inode Path",
            "0000000000000000: 00000002 00000000 00010000 0001 01 2001 /run/dbus/system_bus_socket",
            "0000000000000000: 00000002 00000000 00010000 0001 01 2002 @/tmp/.X11-unix/X0",
            "0000000000000000: 00000003 00000000 00000000 0001 03 2003",
            "0000000000000000: 00000002 00000000 00010000 0001 01 2004 /var/tmp/with space.sock",
        ];
        Assert.Equal(["/run/dbus/system_bus_socket", "/var/tmp/with space.sock"], UnixSockets.Parse(table));
    }

    [Theory]
    [InlineData("127.0.0.1", 3128, "0100007F:0C38")]
    [InlineData("::1", 443, "00000000000000000000000001000000:01BB")]
    public void SandboxPeers_WritesAnEndpointAsTheKernelsTcpTable(string address, int port, string hex) =>
        Assert.Equal(hex, SandboxPeers.Hex(new IPEndPoint(IPAddress.Parse(address), port)));

    /// <summary>
    /// An allowed host that does not answer is unreachable (the timeline's <c>failed</c>, "could not connect"), told apart from
    /// a name that leads to this machine, which the gate refuses.
    /// </summary>
    [Fact]
    public async Task ConnectAsync_AnAllowedHostThatDoesNotAnswer_IsUnreachable_NotRefused()
    {
        var nobody = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        nobody.Start();
        var port = ((IPEndPoint)nobody.LocalEndpoint).Port;
        nobody.Stop();
        // Only ConnectAsync is called: the parts that decide a connection are never reached.
        var gate = new EgressGate([], null, new EgressWaits(TimeProvider.System), null!, new AllowedFetches(TimeProvider.System),
            new HostResolver(new Dictionary<string, string> { ["dead.example.test"] = "127.0.0.1" }), TimeProvider.System);

        var dead = await Assert.ThrowsAsync<EgressRefusedException>(() => gate.ConnectAsync(new NetworkEndpoint("dead.example.test", port), false, CancellationToken.None));
        var here = await Assert.ThrowsAsync<EgressRefusedException>(() => gate.ConnectAsync(new NetworkEndpoint("127.0.0.1", port), false, CancellationToken.None));

        Assert.True(dead.Unreachable, dead.Message);
        Assert.Contains("did not answer", dead.Message, StringComparison.Ordinal);
        Assert.False(here.Unreachable, here.Message);
    }

    private static PermissionRequest Connection(string target) =>
        new("n", $"network:{target}", ToolKind.Network, $"Connect to {target}", JsonDocument.Parse("{}").RootElement, target, null, null);
}
