using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Hub;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reach;

/// <summary>
/// A hub and a machine on loopback: the phone opens https://m1.hub.test (its connection made to the hub's port), the
/// hub routes it by SNI over the machine's dial-back, and TLS ends in the machine's Kestrel with the machine's
/// certificate. What the hub can see is counted in bytes; it holds no key for the machine's name.
/// </summary>
public sealed class HubTests : IAsyncLifetime
{
    private readonly string _files = TempPaths.NewDirectory("pc-hub");
    private readonly TestCertificates _certificates = new();
    private readonly CapturedLogs _hubLogs = new();
    private WebApplication _hub = null!;
    private HubOptions _hubOptions = null!;
    private string _machineThumbprint = "";
    private string _hubThumbprint = "";

    private int HubPort => new Uri(_hub.Urls.First()).Port;

    private string HubData => Path.Combine(_files, "hub-data");

    private Tunnels Tunnels => _hub.Services.GetRequiredService<Tunnels>();

    private HubMetrics Metrics => _hub.Services.GetRequiredService<HubMetrics>();

    public async Task InitializeAsync()
    {
        _hubThumbprint = _certificates.WriteServerCertificate(File("hub.pem"), File("hub.key"), "hub.test");
        _machineThumbprint = _certificates.WriteServerCertificate(File("m1.pem"), File("m1.key"), "m1.hub.test");
        var hubCertificate = TlsCertificate.Load(File("hub.pem"), File("hub.key"), TimeProvider.System);
        _hubOptions = new HubOptions
        {
            Domain = "hub.test",
            Listen = "https://127.0.0.1:0",
            DataDirectory = HubData,
            Certificate = () => hubCertificate.Context,
            ConsoleLogging = false,
            LogSink = _hubLogs,
            HelloTimeout = TimeSpan.FromSeconds(2),
            SignInTimeout = TimeSpan.FromSeconds(2),
            // A link that stops answering is ended within 1 + 3 s (and a bit): the tests that wait for it stay short.
            KeepAliveInterval = TimeSpan.FromSeconds(1),
            KeepAliveTimeout = TimeSpan.FromSeconds(3),
        };
        _hub = HubServer.Build(_hubOptions);
        await _hub.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        TempPaths.Delete(_files);
    }

    [Fact]
    public async Task Phone_ReachesTheMachineThroughTheHub_TlsEndsOnTheMachine_PairsAndStreams()
    {
        await using var machine = await StartMachineAsync();
        Assert.Equal($"https://m1.hub.test:{HubPort}", machine.Services.GetRequiredService<PocketCoder.Server.PocketCoderOptions>().PublicUrl);

        var seen = new List<string>();
        using var phone = Phone(seen);
        var health = await phone.GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        // The phone's TLS session is with the machine: its certificate, not the hub's.
        Assert.Equal([_machineThumbprint], seen.Distinct());
        Assert.DoesNotContain("Not connected to the hub", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Pairing works through the hub (the cookie is Secure), and the paired phone is let in.
        var code = machine.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        var paired = await phone.PostAsJsonAsync("/api/pair", new { code, deviceName = "phone via hub" });
        Assert.Equal(HttpStatusCode.OK, paired.StatusCode);
        var cookie = Assert.Single(paired.Headers.GetValues("Set-Cookie"));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        using var projects = new HttpRequestMessage(HttpMethod.Get, "/api/projects");
        projects.Headers.Add("Cookie", cookie.Split(';')[0]);
        Assert.Equal(HttpStatusCode.OK, (await phone.SendAsync(projects)).StatusCode);

        // A long-lived stream through the tunnel: SSE heartbeats arrive one by one.
        using var events = new HttpRequestMessage(HttpMethod.Get, "/api/events?tail=true");
        events.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var stream = await phone.SendAsync(events, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        var heartbeats = 0;
        while (heartbeats < 2 && await reader.ReadLineAsync() is { } line)
        {
            heartbeats += line.StartsWith(':') ? 1 : 0;
        }

        Assert.Equal(2, heartbeats);
        Assert.True(Metrics.BytesToMachines > 0 && Metrics.BytesToPhones > 0);
        // The hub logged the machine, never what went through it.
        Assert.DoesNotContain(_hubLogs.Entries, e => e.Message.Contains("phone via hub", StringComparison.Ordinal));
    }

    /// <summary>
    /// Reach an owner can see and cut (#68): a phone through the hub is listed as coming through it, with its stream; a
    /// lockdown from the owner's desk cuts that stream at once, the phone is refused after, and the desk goes on.
    /// </summary>
    [Fact]
    public async Task Lockdown_APhoneThroughTheHub_ListedAsSuch_ItsStreamCutAtOnce_RefusedAfter_TheDeskGoesOn()
    {
        await using var machine = await StartMachineAsync();
        using var phone = Phone([]);
        var code = machine.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        var paired = await phone.PostAsJsonAsync("/api/pair", new { code, deviceName = "phone via hub" });
        var cookie = Assert.Single(paired.Headers.GetValues("Set-Cookie")).Split(';')[0];
        using var events = new HttpRequestMessage(HttpMethod.Get, "/api/events?tail=true") { Version = HttpVersion.Version11 };
        events.Headers.Add("Cookie", cookie);
        using var stream = await phone.SendAsync(events, HttpCompletionOption.ResponseHeadersRead);
        var reading = DrainAsync(await stream.Content.ReadAsStreamAsync());

        var desk = await machine.PairAsync("owner's desk");
        var connected = (await desk.Http.GetOkAsync("/api/connections")).GetProperty("connected").EnumerateArray().ToList();
        Assert.Contains(connected, c => c.GetProperty("deviceName").GetString() == "phone via hub" && c.GetProperty("via").GetString() == "hub"
            && c.GetProperty("openStreams").GetInt32() == 1);
        Assert.Contains(connected, c => c.GetProperty("deviceId").GetString() == desk.DeviceId && c.GetProperty("via").GetString() == "direct");

        Assert.Equal(HttpStatusCode.OK, (await desk.Http.PostAsync("/api/lockdown", null)).StatusCode);
        await reading.WaitAsync(TimeSpan.FromSeconds(5));
        using var after = new HttpRequestMessage(HttpMethod.Get, "/api/projects");
        after.Headers.Add("Cookie", cookie);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.SendAsync(after)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await desk.Http.GetAsync("/api/projects")).StatusCode);
        await ApiAssert.ProblemAsync(await phone.PostAsJsonAsync("/api/pair", new { code = "whatever", deviceName = "again" }), (HttpStatusCode)423, "LOCKED_DOWN");
    }

    /// <summary>
    /// A machine stops at once with phones' event streams open through the hub, as it does with direct connections:
    /// each dial-back ends when Kestrel is done with its connection, as a socket would be shut down, rather than waiting
    /// for the phone (which waits for the machine) until the host's shutdown timeout (30 s) gives up.
    /// </summary>
    [Fact]
    public async Task MachineStops_AtOnce_WithEventStreamsOpenThroughTheHub()
    {
        var machine = await StartMachineAsync();
        var phones = new List<HttpClient>();
        var streams = new List<HttpResponseMessage>();
        var reading = new List<Task>();
        try
        {
            var code = machine.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
            using var pairing = Phone([]);
            var paired = await pairing.PostAsJsonAsync("/api/pair", new { code, deviceName = "phone via hub" });
            var cookie = Assert.Single(paired.Headers.GetValues("Set-Cookie")).Split(';')[0];
            for (var i = 0; i < 4; i++)
            {
                // Each on its own client, so each is its own connection (and dial-back), HTTP/1.1 as a phone's EventSource.
                var phone = Phone([]);
                phones.Add(phone);
                using var events = new HttpRequestMessage(HttpMethod.Get, "/api/events?tail=true") { Version = HttpVersion.Version11 };
                events.Headers.Add("Cookie", cookie);
                var stream = await phone.SendAsync(events, HttpCompletionOption.ResponseHeadersRead);
                streams.Add(stream);
                Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
                // Read as a phone's EventSource does, to the stream's end.
                reading.Add(DrainAsync(await stream.Content.ReadAsStreamAsync()));
            }

            await machine.StopAsync().WaitAsync(TimeSpan.FromSeconds(15));
            // And each phone sees its stream end (so it reconnects), not hang.
            await Task.WhenAll(reading).WaitAsync(TimeSpan.FromSeconds(15));
        }
        finally
        {
            streams.ForEach(stream => stream.Dispose());
            phones.ForEach(phone => phone.Dispose());
            await machine.DisposeAsync();
        }
    }

    /// <summary>
    /// The issue's end-to-end check, with the hub in a process of its own (the published entry point, as an operator
    /// runs it) so that what it holds can be searched: Chromium pairs through it in a secure context, runs a gated
    /// session of the real Claude Code CLI on the fake model, allows the write on the approval card, and works offline
    /// from its service worker. Then neither the hub's memory nor its log holds the session's text, while its memory
    /// does hold the machine's name (the search finds what is there).
    /// </summary>
    [Fact]
    public async Task Chromium_ThroughAHubProcess_SecureContext_GatedSessionApproved_OfflineShell_HubHoldsNoPlaintext()
    {
        var web = Path.Combine(ClaudeCli.RepositoryRoot(), "web");
        Assert.True(Directory.Exists(Path.Combine(web, "node_modules", "playwright-core")), "web/node_modules is missing: build without -p:SkipWebBuild=true.");
        const string name = "probe7c3e";
        _certificates.WriteServerCertificate(File("probe.pem"), File("probe.key"), $"{name}.hub.test");
        var hubData = File("hub-process");
        var token = new MachineRegistry(hubData).Issue(name);
        var port = ReadyProcess.FreePort();
        await using var hub = await ReadyProcess.StartHubAsync(port, File("hub.pem"), File("hub.key"), hubData, []);
        await using var model = await FakeLlm.FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        var repository = TempPaths.NewGitRepository();
        try
        {
            var candidate = new HubMembership($"https://127.0.0.1:{port}", token, "pending", _certificates.Root.ExportCertificatePem());
            var membership = candidate with { PublicUrl = await candidate.WelcomeAsync(CancellationToken.None) };
            await using var machine = await TestServer.StartAsync(agents: ClaudeCli.Against(model, home),
                certificate: TlsCertificate.Load(File("probe.pem"), File("probe.key"), TimeProvider.System), hub: membership);
            // Joining opened the link once; serve's own link is the second.
            await hub.WaitForLineAsync($"Machine {name} connected from", occurrence: 2);

            var marker = "plaintext-" + Guid.NewGuid().ToString("N");
            var note = Path.Combine(repository, "note.txt");
            model.Enqueue(FakeLlm.ScriptedReply.ToolUse("Write", new { file_path = note, content = marker + "\n" }), FakeLlm.ScriptedReply.Text($"Wrote {marker}."));

            // The link exactly as `pocketcoder pair` prints it on the machine: the hub's name for it.
            var (exit, output, error) = await CliAsync("pair", "--json", "--data", machine.DataDirectory);
            Assert.True(exit == 0, error);
            var link = System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("link").GetString()!;
            Assert.StartsWith($"https://{name}.hub.test:{port}/#pair=", link, StringComparison.Ordinal);

            using var certificate = X509Certificate2.CreateFromPemFile(File("probe.pem"), File("probe.key"));
            var spki = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
            var (code, log) = await PocketCoder.Tests.Browser.PhoneAppBrowserTests.RunNodeAsync(web,
                ["e2e/hub.mjs", "--link", link, "--spki", spki, "--shots", Path.Combine(web, "test-results"),
                 "--repo", repository, "--prompt", $"Write the note {marker}", "--reply", marker], laptopToken: "");
            Assert.True(code == 0, log);
            Assert.Contains("a gated session through the hub", log, StringComparison.Ordinal);
            Assert.Contains("service worker is active", log, StringComparison.Ordinal);
            Assert.Equal(marker + "\n", await System.IO.File.ReadAllTextAsync(note));

            var found = ProcessMemory.Find(hub.Process.Id,
                [System.Text.Encoding.UTF8.GetBytes(marker), System.Text.Encoding.Unicode.GetBytes(marker), System.Text.Encoding.Unicode.GetBytes(name)]);
            Assert.True(found.Contains(2), "the search did not find the machine's name in the hub's memory: it cannot be trusted to find anything");
            Assert.False(found.Contains(0) || found.Contains(1), "the hub's memory holds the session's text");
            Assert.DoesNotContain(marker, hub.Output, StringComparison.Ordinal);
        }
        finally
        {
            TempPaths.Delete(repository);
            TempPaths.Delete(home);
        }
    }

    [Fact]
    public async Task TunnelDropped100TimesMidStream_PhoneResumesByLastEventId_NothingLostOrDoubled()
    {
        await using var machine = await StartMachineAsync();
        var phone = await machine.PairAsync("phone");
        var repository = TempPaths.NewGitRepository();
        try
        {
            var services = machine.Services;
            var project = services.GetRequiredService<PocketCoder.Projects.ProjectStore>().Add(repository, "drops", PocketCoder.Auth.Actor.System).Id;
            var sessions = services.GetRequiredService<PocketCoder.Sessions.SessionStore>();
            var session = services.GetRequiredService<PocketCoder.Data.Database>().Write(write => sessions.Create(write, project, "claude-code", null, "ask", "drops").Id);
            var start = sessions.Get(session).LastSeq;
            const int total = 1_500;
            var log = services.GetRequiredService<PocketCoder.Realtime.EventLog>();
            var writer = Task.Run(async () =>
            {
                for (var n = 1; n <= total; n++)
                {
                    log.Append(session, new PocketCoder.Realtime.MessageDeltaEvent($"delta {n}"));
                    if (n % 10 == 0)
                    {
                        await Task.Yield();
                    }
                }
            });

            // The phone reads through the hub and loses its connection (a reset, mid-stream) after a few events, 100 times.
            var received = new List<long>();
            var random = new Random(42);
            var drops = 0;
            while (received.Count < total)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                using var http = Phone([], connect: socket);
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{session}/events");
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", phone.Token);
                request.Headers.Add("Last-Event-ID", (received.Count > 0 ? received[^1] : start).ToString(System.Globalization.CultureInfo.InvariantCulture));
                var dropAfter = drops < 100 ? random.Next(1, 25) : int.MaxValue;
                var seen = 0;
                try
                {
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                    while (received.Count < total && await reader.ReadLineAsync() is { } line)
                    {
                        if (line.StartsWith("id: ", StringComparison.Ordinal))
                        {
                            received.Add(long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture));
                            if (++seen == dropAfter)
                            {
                                // A reset, not a goodbye: the connection is simply gone, as when a phone loses its network.
                                socket.LingerState = new LingerOption(true, 0);
                                socket.Close();
                                drops++;
                                break;
                            }
                        }
                    }
                }
                catch (Exception exception) when (exception is HttpRequestException or IOException)
                {
                    // The drop, seen from the reader's side.
                }
            }

            await writer;
            Assert.Equal(100, drops);
            Assert.Equal(Enumerable.Range(1, total).Select(n => start + n), received);
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    [Fact]
    public async Task ThousandIdleConnections_CappedPerAddress_ClosedAtTheHelloDeadline_PhonesGetThroughAfter()
    {
        await using var machine = await StartMachineAsync();
        var idle = new List<Socket>();
        try
        {
            var resetAtConnect = 0;
            for (var i = 0; i < 1_000; i++)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                idle.Add(socket);
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, HubPort);
                }
                catch (SocketException)
                {
                    // Turned away so fast that the connect itself saw the reset.
                    resetAtConnect++;
                }
            }

            // All from loopback, one address: up to its cap are held, the rest turned away at once.
            await Task.WhenAll(idle.Where(socket => socket.Connected).Select(async socket =>
            {
                var buffer = new byte[1];
                try
                {
                    // Each one held is closed at the ClientHello deadline; the others were closed at once.
                    Assert.Equal(0, await socket.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(30)));
                }
                catch (SocketException)
                {
                }
            }));
            Assert.True(Metrics.Refusals(Refusal.Hello) >= _hubOptions.MaxConnectionsPerAddress, Metrics.ToText());
            Assert.True(Metrics.Refusals(Refusal.Limit) + Metrics.Refusals(Refusal.Hello) + resetAtConnect >= 1_000, Metrics.ToText());
            Assert.Equal(HttpStatusCode.OK, (await Phone([]).GetAsync("/api/health")).StatusCode);
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task ConnectionsNamingTheHub_ThatNeverSignIn_AreClosedAtTheDeadline_AndCounted_TheMachinesLinkStays()
    {
        await using var machine = await StartMachineAsync();
        var hello = await ClientHelloTests.CaptureAsync("hub.test");

        // What a stranger can open to the hub's own name (or no name) and then leave there: a handshake half done, TLS with
        // no request, the start of a request to the machines' link endpoint, a request refused for its token and kept alive.
        var halfOpen = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await halfOpen.ConnectAsync(IPAddress.Loopback, HubPort);
        await halfOpen.SendAsync(hello);
        Stream[] held =
        [
            new NetworkStream(halfOpen, ownsSocket: true),
            await TlsToTheHubAsync("hub.test", ""),
            await TlsToTheHubAsync("127.0.0.1", ""),
            await TlsToTheHubAsync("hub.test", "GET /hub/v1/connect HTTP/1.1\r\nHost: hub.test\r\nUpgrade: websocket\r\n"),
            await TlsToTheHubAsync("hub.test", "GET /hub/v1/connect HTTP/1.1\r\nHost: hub.test\r\nAuthorization: Bearer m1.wrong\r\n\r\n"),
        ];
        try
        {
            // Each is closed at the deadline (2 s here), not at Kestrel's keep-alive (130 s) nor never.
            await Task.WhenAll(held.Select(UntilClosedAsync)).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(held.Length, Metrics.Refusals(Refusal.SignInTimeout));
            Assert.Equal(0, Metrics.Unauthenticated);

            // The machine's own link, past the same deadline long ago, signed in: it stays, and phones reach it.
            Assert.Equal(1, Metrics.MachinesConnected);
            Assert.Equal(HttpStatusCode.OK, (await Phone([]).GetAsync("/api/health")).StatusCode);
        }
        finally
        {
            foreach (var stream in held)
            {
                await stream.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Issue #36: a second machine joined with m1's token took about half of m1's phones. Now the same machine coming back
    /// past its own dead link gets in (once the hub's keep-alive has ended that link), while a rival with the same name and
    /// token is refused for as long as the first link answers, with a reason that reaches its `hub join` and its health.
    /// </summary>
    [Fact]
    public async Task SecondLink_PastADeadLinkGetsIn_BesideALiveOneIsRefusedSayingWhy_PhonesStayWithTheFirst()
    {
        var token = new MachineRegistry(HubData).Issue("m1");
        var membership = new HubMembership(HubUrl, token, $"https://m1.hub.test:{HubPort}", _certificates.Root.ExportCertificatePem());

        // The machine's old link as the hub sees it after the machine's network changed: open, and silent. It sends no
        // pings of its own and nothing reads it, so the hub's pings go unanswered.
        using var stale = new System.Net.WebSockets.ClientWebSocket();
        stale.Options.KeepAliveInterval = TimeSpan.Zero;
        stale.Options.SetRequestHeader("Authorization", "Bearer " + token);
        stale.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        var first = WhenAttached("m1");
        await stale.ConnectAsync(new Uri($"wss://127.0.0.1:{HubPort}{HubProtocol.ConnectPath}"), CancellationToken.None);
        await first.WaitAsync(TimeSpan.FromSeconds(30));

        // The machine on its new network: let in once the hub has ended the old link, and phones reach it.
        var back = WhenAttached("m1");
        await using var machine = await TestServer.StartAsync(
            certificate: TlsCertificate.Load(File("m1.pem"), File("m1.key"), TimeProvider.System), hub: membership);
        await back.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, Metrics.MachinesConnected);
        var seen = new List<string>();
        Assert.Equal(HttpStatusCode.OK, (await Phone(seen).GetAsync("/api/health")).StatusCode);

        // A second machine with the same token (a copied data folder): `hub join` there is refused, saying why …
        System.IO.File.WriteAllText(File("ca.pem"), _certificates.Root.ExportCertificatePem());
        var (exit, _, error) = await CliAsync("hub", "join", HubUrl, "--token", token, "--ca", File("ca.pem"), "--data", File("rival-data"));
        Assert.True(exit == 1, error);
        Assert.Contains("'m1' is already linked", error, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(HubMembership.PathIn(File("rival-data"))));

        // … and its server, started anyway with its own certificate for the name, is refused at each try; its health says
        // why (its tries come one after another: at the second refusal it has taken in the first).
        var refused = WhenSecondLinkRefused("m1", times: 2);
        _certificates.WriteServerCertificate(File("rival.pem"), File("rival.key"), "m1.hub.test");
        await using var rival = await TestServer.StartAsync(
            certificate: TlsCertificate.Load(File("rival.pem"), File("rival.key"), TimeProvider.System), hub: membership);
        await refused.WaitAsync(TimeSpan.FromSeconds(45));
        Assert.Contains("is already linked", await rival.Anonymous.GetStringAsync("/api/health"), StringComparison.Ordinal);
        Assert.Contains(_hubLogs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning
            && e.Message.Contains("second link for machine m1", StringComparison.Ordinal));

        // Meanwhile every phone, each on a connection of its own, reaches the first machine: its certificate, never the rival's.
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await Phone(seen).GetAsync("/api/health")).StatusCode);
        }

        Assert.Equal([_machineThumbprint], seen.Distinct());
        Assert.Equal(1, Metrics.MachinesConnected);
    }

    /// <summary>
    /// A phone that arrives as its machine's link goes away (the machine stopping): the hub has asked for a dial-back that
    /// will never come. The phone is refused when the link ends, as for a machine not connected, not held for the
    /// dial-back timeout (10 s in which the phone app could tell neither that the machine is up nor that it is offline).
    /// </summary>
    [Fact]
    public async Task LinkEndsWhileAPhoneWaitsForTheDialBack_ThePhoneIsRefusedThen_NotAtTheTimeout()
    {
        var token = new MachineRegistry(HubData).Issue("m1");
        using var link = new System.Net.WebSockets.ClientWebSocket();
        link.Options.SetRequestHeader("Authorization", "Bearer " + token);
        link.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        var attached = WhenAttached("m1");
        await link.ConnectAsync(new Uri($"wss://127.0.0.1:{HubPort}{HubProtocol.ConnectPath}"), CancellationToken.None);
        await attached.WaitAsync(TimeSpan.FromSeconds(30));

        // The phone's handshake waits in the hub while the hub asks the machine, over its link, to dial back.
        var phone = TlsToTheHubAsync("m1.hub.test", "GET /api/health HTTP/1.1\r\nHost: m1.hub.test\r\n\r\n");
        var buffer = new byte[HubProtocol.MaxControlMessageBytes];
        HubMessage? message;
        do
        {
            var received = await link.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            message = System.Text.Json.JsonSerializer.Deserialize(buffer.AsSpan(0, received.Count), HubJson.Default.HubMessage);
        }
        while (message?.Type != HubMessage.Open);

        // The machine goes, its link with it (a stopping server's link is disposed, not closed politely).
        link.Abort();
        var failed = await Record.ExceptionAsync(() => phone.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(failed is IOException or System.Security.Authentication.AuthenticationException, $"the phone's connection: {failed}");
        Assert.Equal(1, Metrics.Refusals(Refusal.Offline));
        Assert.Equal(0, Metrics.Refusals(Refusal.DialBackTimeout));
    }

    [Fact]
    public async Task HubUnreachable_HealthSaysSo()
    {
        var token = new MachineRegistry(HubData).Issue("m1");
        var candidate = new HubMembership(HubUrl, token, "pending", _certificates.Root.ExportCertificatePem());
        var membership = candidate with { PublicUrl = await candidate.WelcomeAsync(CancellationToken.None) };
        await _hub.StopAsync();
        await using var machine = await TestServer.StartAsync(
            certificate: TlsCertificate.Load(File("m1.pem"), File("m1.key"), TimeProvider.System), hub: membership);
        var health = await machine.Anonymous.GetStringAsync("/api/health");
        Assert.Contains($"Not connected to the hub https://127.0.0.1:{new Uri(membership.Hub).Port}", health, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Join_WithAWrongToken_IsRefused_AndTheRemovedMachineCannotConnect()
    {
        var token = new MachineRegistry(HubData).Issue("m1");
        var wrong = new HubMembership(HubUrl, token[..^2] + "xx", "pending", _certificates.Root.ExportCertificatePem());
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => wrong.WelcomeAsync(CancellationToken.None));

        // A hub presenting a certificate the pinned CA did not issue is not trusted, token or not.
        var otherCa = new TestCertificates();
        var unpinned = new HubMembership(HubUrl, token, "pending", otherCa.Root.ExportCertificatePem());
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => unpinned.WelcomeAsync(CancellationToken.None));

        Assert.True(new MachineRegistry(HubData).Remove("m1"));
        var removed = new HubMembership(HubUrl, token, "pending", _certificates.Root.ExportCertificatePem());
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => removed.WelcomeAsync(CancellationToken.None));
    }

    [Fact]
    public async Task HostileConnections_AreClosed_AndCounted_WithoutHarmToTheMachine()
    {
        await using var machine = await StartMachineAsync();

        // Plain HTTP on the TLS port, an unknown machine, a name outside the hub's domain, and a slow sender.
        Assert.Equal(0, await ReadAfterSendingAsync("GET / HTTP/1.1\r\nHost: m1.hub.test\r\n\r\n"u8.ToArray()));
        await Assert.ThrowsAnyAsync<Exception>(() => Phone([], "nobody").GetAsync("/api/health"));
        await Assert.ThrowsAnyAsync<Exception>(() => Phone([], "m1.elsewhere.test", check: false).GetAsync("/api/health"));
        Assert.Equal(0, await ReadAfterSendingAsync([22, 3, 1]));

        Assert.Equal(2, Metrics.Refusals(Refusal.Hello));
        Assert.Equal(1, Metrics.Refusals(Refusal.Offline));
        Assert.Equal(1, Metrics.Refusals(Refusal.UnknownName));
        Assert.Contains("pocketcoder_hub_refused_total{reason=\"hello\"} 2", Metrics.ToText(), StringComparison.Ordinal);

        // The machine still answers.
        Assert.Equal(HttpStatusCode.OK, (await Phone([]).GetAsync("/api/health")).StatusCode);
    }

    [Fact]
    public async Task HubRestart_TheMachineReconnects_AndPhonesGetThroughAgain()
    {
        await using var machine = await StartMachineAsync();
        Assert.Equal(HttpStatusCode.OK, (await Phone([]).GetAsync("/api/health")).StatusCode);

        // The hub goes away and comes back on the same port.
        var port = HubPort;
        await _hub.StopAsync();
        await _hub.DisposeAsync();
        var hubCertificate = TlsCertificate.Load(File("hub.pem"), File("hub.key"), TimeProvider.System);
        _hub = HubServer.Build(new HubOptions
        {
            Domain = "hub.test",
            Listen = $"https://127.0.0.1:{port}",
            DataDirectory = HubData,
            Certificate = () => hubCertificate.Context,
            ConsoleLogging = false,
        });
        var back = WhenAttached("m1");
        await _hub.StartAsync();
        await back.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await Phone([]).GetAsync("/api/health")).StatusCode);
    }

    [Fact]
    public async Task Cli_HubAddMachineAndJoin_WritePrivateFiles_AndServeThenUsesAcme()
    {
        var machineData = Path.Combine(_files, "machine-data");
        var (exit, output, error) = await CliAsync("hub", "add-machine", "Laptop_1", "--data", HubData);
        Assert.Equal(2, exit);
        Assert.Contains("not a machine name", error, StringComparison.Ordinal);

        (exit, output, _) = await CliAsync("hub", "add-machine", "laptop-1", "--data", HubData);
        Assert.Equal(0, exit);
        var token = output.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("laptop-1.", StringComparison.Ordinal));
        System.IO.File.WriteAllText(File("ca.pem"), _certificates.Root.ExportCertificatePem());

        (exit, _, error) = await CliAsync("hub", "join", HubUrl, "--token", token + "x", "--ca", File("ca.pem"), "--data", machineData);
        Assert.Equal(1, exit);
        Assert.Contains("did not accept this machine", error, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(HubMembership.PathIn(machineData)));

        (exit, output, error) = await CliAsync("hub", "join", HubUrl, "--token", token, "--ca", File("ca.pem"), "--data", machineData);
        Assert.True(exit == 0, error);
        Assert.Contains($"https://laptop-1.hub.test:{HubPort}", output, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, System.IO.File.GetUnixFileMode(HubMembership.PathIn(machineData)));

        // Joined with no certificate of its own, serve gets one from ACME (Let's Encrypt unless told), a stand-in serving meanwhile.
        var options = PocketCoder.Server.ServeSettings.Load(machineData, new Dictionary<string, string?>(), new System.Collections.Hashtable())
            .ToOptions(machineData);
        Assert.Equal(PocketCoder.Reach.Acme.AcmeSettings.LetsEncrypt, options.Acme!.Directory.ToString());
        Assert.Equal($"CN=laptop-1.hub.test", options.Certificate!.Certificate.Subject);

        (exit, _, _) = await CliAsync("hub", "leave", "--data", machineData);
        Assert.Equal(0, exit);
        Assert.False(System.IO.File.Exists(HubMembership.PathIn(machineData)));
    }

    [Fact]
    public async Task Cli_HubJoin_TakesItsTokenFromAFileStandardInputOrTheEnvironment_NeverFromTheProcessList()
    {
        var token = new MachineRegistry(HubData).Issue("laptop-2");
        System.IO.File.WriteAllText(File("ca.pem"), _certificates.Root.ExportCertificatePem());
        System.IO.File.WriteAllText(File("token"), token + "\n");

        var (exit, _, error) = await CliAsync("hub", "join", HubUrl, "--token-file", File("token"), "--ca", File("ca.pem"), "--data", File("from-file"));
        Assert.True(exit == 0, error);
        Assert.Equal("", error);
        Assert.Equal(token, HubMembership.Load(File("from-file"))!.Token);

        // Standard input (asked for with `--token -`, or not a terminal) and the environment, each in a process of its own
        // whose command line (what every user of the machine can read) is read while it runs.
        (string[] Arguments, string Input, string? Environment)[] ways =
        [
            (["--token", "-"], token + "\n", null),
            ([], token + "\n", null),
            ([], "", token),
        ];
        foreach (var (arguments, input, environment) in ways)
        {
            var data = File($"joined-{Guid.NewGuid():N}");
            var (code, commandLine, output) = await JoinProcessAsync(data, arguments, input, environment);
            Assert.True(code == 0, output);
            Assert.Contains("hub join", commandLine, StringComparison.Ordinal);
            Assert.DoesNotContain(token, commandLine, StringComparison.Ordinal);
            Assert.Equal(token, HubMembership.Load(data)!.Token);
        }

        // On the command line it still works, with a warning that everyone on the machine can read it there.
        (exit, _, error) = await CliAsync("hub", "join", HubUrl, "--token", token, "--ca", File("ca.pem"), "--data", File("from-argument"));
        Assert.Equal(0, exit);
        Assert.Contains("visible to every user of this machine", error, StringComparison.Ordinal);

        // No token anywhere: refused, naming the ways to give one.
        var (none, _, said) = await JoinProcessAsync(File("no-token"), [], "", null);
        Assert.Equal(2, none);
        Assert.Contains("--token-file", said, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(HubMembership.PathIn(File("no-token"))));
    }

    /// <summary>
    /// <c>pocketcoder hub join</c> as a process of its own; its command line is read from /proc before anything is written
    /// to its standard input (then closed), so while it is running.
    /// </summary>
    private async Task<(int Exit, string CommandLine, string Output)> JoinProcessAsync(string data, string[] arguments, string input, string? environment)
    {
        var start = PocketCoderCommand.Info(["hub", "join", HubUrl, "--ca", File("ca.pem"), "--data", data, .. arguments]);
        start.RedirectStandardInput = true;

        start.Environment.Remove("POCKETCODER_HUB_TOKEN");
        if (environment is not null)
        {
            start.Environment["POCKETCODER_HUB_TOKEN"] = environment;
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var commandLine = (await System.IO.File.ReadAllTextAsync($"/proc/{process.Id}/cmdline")).Replace('\0', ' ');
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, commandLine, await output + await error);
    }

    private static async Task<(int Exit, string Output, string Error)> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await PocketCoder.Cli.CommandLine.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private string HubUrl => $"https://127.0.0.1:{HubPort}";

    private string File(string name) => Path.Combine(_files, name);

    /// <summary>Joins m1 the way `hub join` does and starts it with its certificate; returns once its link is up.</summary>
    private async Task<TestServer> StartMachineAsync()
    {
        var token = new MachineRegistry(HubData).Issue("m1");
        var candidate = new HubMembership(HubUrl, token, "pending", _certificates.Root.ExportCertificatePem());
        var membership = candidate with { PublicUrl = await candidate.WelcomeAsync(CancellationToken.None) };
        var attached = WhenAttached("m1");
        var machine = await TestServer.StartAsync(
            certificate: TlsCertificate.Load(File("m1.pem"), File("m1.key"), TimeProvider.System), hub: membership,
            heartbeat: TimeSpan.FromMilliseconds(200));
        await attached.WaitAsync(TimeSpan.FromSeconds(30));
        return machine;
    }

    private Task WhenAttached(string machine)
    {
        var attached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Tunnels.Attached += name =>
        {
            if (name == machine)
            {
                attached.TrySetResult();
            }
        };
        return attached.Task;
    }

    private Task WhenSecondLinkRefused(string machine, int times)
    {
        var refused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var count = 0;
        Tunnels.SecondLinkRefused += name =>
        {
            if (name == machine && Interlocked.Increment(ref count) == times)
            {
                refused.TrySetResult();
            }
        };
        return refused.Task;
    }

    /// <summary>A TLS connection to the hub's port naming <paramref name="host"/>, and then <paramref name="request"/> sent.</summary>
    private async Task<Stream> TlsToTheHubAsync(string host, string request)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, HubPort);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = host,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        await tls.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        await tls.FlushAsync();
        return tls;
    }

    /// <summary>Reads (and drops) what the hub sends until it closes the connection.</summary>
    private static async Task DrainAsync(Stream stream)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (IOException)
        {
            // Ended by a reset rather than the response's end: ended all the same.
        }
    }

    private static async Task UntilClosedAsync(Stream stream)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (IOException)
        {
            // Reset: closed too.
        }
    }

    private HttpClient Phone(List<string> seen, string machine = "m1", bool check = true, Socket? connect = null) =>
        HubPhone.Create(_certificates, HubPort, seen, machine, check, connect);

    /// <summary>Sends raw bytes to the hub's port and returns how many it answered with before closing.</summary>
    private async Task<int> ReadAfterSendingAsync(byte[] bytes)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, HubPort);
        await socket.SendAsync(bytes);
        var buffer = new byte[1024];
        var total = 0;
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(30))) > 0)
            {
                total += read;
            }
        }
        catch (SocketException)
        {
            // Reset: closed, which is the point.
        }

        return total;
    }
}
