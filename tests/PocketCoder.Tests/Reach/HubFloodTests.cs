using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Hub;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reach;

/// <summary>
/// The outside review's flood (issue #36): one address held 2,000 idle connections to the hub's own name, and about
/// 20,000 made the hub run out of memory and stay down. Here it is scaled to a 2-core test machine: 3,000 connections
/// of every kind that has proved nothing (silent, a ClientHello naming the hub or no name left half way through the
/// handshake, a TLS connection to the machines' link endpoint that never signs in), first from one address, then from
/// twenty, against a hub whose overall cap is scaled down with it. Its deadlines are long here, so that what the test
/// sees is the caps: what the deadlines do is <see cref="HubTests"/>' to show.
/// </summary>
public sealed class HubFloodTests : IAsyncLifetime
{
    private const int OverallCap = 500;
    private readonly string _files = TempPaths.NewDirectory("pc-flood");
    private readonly TestCertificates _certificates = new();
    private readonly List<FloodConnection> _flood = [];
    private WebApplication _hub = null!;
    private HubOptions _options = null!;
    private byte[] _helloForTheHub = null!;
    private byte[] _helloWithoutName = null!;

    private int HubPort => new Uri(_hub.Urls.First()).Port;

    private HubMetrics Metrics => _hub.Services.GetRequiredService<HubMetrics>();

    public async Task InitializeAsync()
    {
        _certificates.WriteServerCertificate(File("hub.pem"), File("hub.key"), "hub.test");
        _certificates.WriteServerCertificate(File("m1.pem"), File("m1.key"), "m1.hub.test");
        var certificate = TlsCertificate.Load(File("hub.pem"), File("hub.key"), TimeProvider.System);
        _options = new HubOptions
        {
            Domain = "hub.test",
            Listen = "https://127.0.0.1:0",
            DataDirectory = File("hub-data"),
            Certificate = () => certificate.Context,
            ConsoleLogging = false,
            HelloTimeout = TimeSpan.FromMinutes(2),
            SignInTimeout = TimeSpan.FromMinutes(2),
            MaxUnauthenticatedConnections = OverallCap,
        };
        _hub = HubServer.Build(_options);
        await _hub.StartAsync();
        _helloForTheHub = await ClientHelloTests.CaptureAsync("hub.test");
        _helloWithoutName = await ClientHelloTests.CaptureAsync("127.0.0.1");
    }

    public async Task DisposeAsync()
    {
        _flood.ForEach(connection => connection.Dispose());
        await _hub.DisposeAsync();
        TempPaths.Delete(_files);
    }

    [Fact]
    public async Task Flood_OfEveryUnauthenticatedKind_HeldToTheCaps_TheRestClosedAtOnceAndCounted_APairedPhoneGetsThrough()
    {
        await using var machine = await StartMachineAsync();
        var phone = await machine.PairAsync("phone");

        // One address opens 2,000: it keeps as many as its cap, every other one is turned away as it arrives.
        var perAddress = _options.MaxConnectionsPerAddress;
        await OpenAsync(IPAddress.Parse("127.0.0.2"), 2_000);
        await UntilClosedAsync(2_000 - perAddress);
        Assert.Equal(perAddress, _flood.Count(c => !c.Closed.IsCompleted));
        Assert.Equal(perAddress, Metrics.Unauthenticated);
        Assert.Equal(2_000 - perAddress, Metrics.Refusals(Refusal.Limit));
        await AssertPhoneGetsThroughAsync(phone);

        // Twenty more addresses open 50 each, all within their own cap: together past the overall cap, the oldest give way.
        for (var address = 1; address <= 20; address++)
        {
            await OpenAsync(IPAddress.Parse($"127.0.1.{address}"), 50);
        }

        var evicted = perAddress + 1_000 - OverallCap;
        await UntilClosedAsync(2_000 - perAddress + evicted);
        Assert.Equal(OverallCap, _flood.Count(c => !c.Closed.IsCompleted));
        Assert.Equal(OverallCap, Metrics.Unauthenticated);
        Assert.Equal(evicted, Metrics.Refusals(Refusal.OverallLimit));
        Assert.Contains($"pocketcoder_hub_refused_total{{reason=\"overall_limit\"}} {evicted}", Metrics.ToText(), StringComparison.Ordinal);

        // During the flood the paired phone reaches its machine (its connection is new, its ClientHello comes at once) …
        await AssertPhoneGetsThroughAsync(phone);

        // … and after it, the hub is up and serves it still.
        _flood.ForEach(connection => connection.Dispose());
        await AssertPhoneGetsThroughAsync(phone);
        Assert.Equal(1, Metrics.MachinesConnected);
    }

    private async Task AssertPhoneGetsThroughAsync(PairedClient phone)
    {
        using var http = HubPhone.Create(_certificates, HubPort, []);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sessions");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", phone.Token);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
    }

    /// <summary>Opens connections from one address, one after another, the four kinds in turn.</summary>
    private async Task OpenAsync(IPAddress from, int count)
    {
        for (var i = 0; i < count; i++)
        {
            _flood.Add(await FloodConnection.OpenAsync(from, HubPort, (i % 4) switch
            {
                0 => [],
                1 => _helloForTheHub,
                2 => _helloWithoutName,
                _ => null,
            }));
        }
    }

    private async Task UntilClosedAsync(int count)
    {
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var closed = 0;
        foreach (var connection in _flood)
        {
            _ = connection.Closed.ContinueWith(_ =>
            {
                if (Interlocked.Increment(ref closed) >= count)
                {
                    enough.TrySetResult();
                }
            }, TaskScheduler.Default);
        }

        // Far below the hub's deadlines here: what closes by then was turned away, not timed out.
        await enough.Task.WaitAsync(TimeSpan.FromSeconds(45));
    }

    private async Task<TestServer> StartMachineAsync()
    {
        var token = new MachineRegistry(File("hub-data")).Issue("m1");
        var membership = new HubMembership($"https://127.0.0.1:{HubPort}", token, $"https://m1.hub.test:{HubPort}", _certificates.Root.ExportCertificatePem());
        var attached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hub.Services.GetRequiredService<Tunnels>().Attached += _ => attached.TrySetResult();
        var machine = await TestServer.StartAsync(
            certificate: TlsCertificate.Load(File("m1.pem"), File("m1.key"), TimeProvider.System), hub: membership);
        await attached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return machine;
    }

    private string File(string name) => Path.Combine(_files, name);

    /// <summary>
    /// One connection of the flood, from <c>from</c>: silent (no bytes), a ClientHello sent and the handshake left there
    /// (the hub answers it and waits), or (null) a whole TLS handshake with the hub's name and then the start of a request
    /// to the machines' link endpoint that never ends. <see cref="Closed"/> completes when the hub has closed it.
    /// </summary>
    private sealed class FloodConnection : IDisposable
    {
        private readonly Socket _socket;
        private SslStream? _tls;

        private FloodConnection(Socket socket) => _socket = socket;

        public Task Closed { get; private set; } = Task.CompletedTask;

        public static async Task<FloodConnection> OpenAsync(IPAddress from, int port, byte[]? hello)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(from, 0));
            var connection = new FloodConnection(socket);
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, port);
                if (hello is null)
                {
                    connection._tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
                    await connection._tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = "hub.test",
                        RemoteCertificateValidationCallback = (_, _, _, _) => true,
                    });
                    await connection._tls.WriteAsync("GET /hub/v1/connect HTTP/1.1\r\nHost: hub.test\r\nUpgrade: websocket\r\n"u8.ToArray());
                    await connection._tls.FlushAsync();
                }
                else if (hello.Length > 0)
                {
                    await socket.SendAsync(hello);
                }
            }
            catch (Exception exception) when (exception is SocketException or IOException or System.Security.Authentication.AuthenticationException)
            {
                // Turned away before it got this far.
                return connection;
            }

            connection.Closed = connection.UntilClosedAsync();
            return connection;
        }

        /// <summary>Reads (and drops) whatever the hub sends until it closes the connection.</summary>
        private async Task UntilClosedAsync()
        {
            var buffer = new byte[4096];
            try
            {
                while ((_tls is null ? await _socket.ReceiveAsync(buffer) : await _tls.ReadAsync(buffer)) > 0)
                {
                }
            }
            catch (Exception exception) when (exception is SocketException or IOException or ObjectDisposedException)
            {
                // Reset: closed too.
            }
        }

        public void Dispose()
        {
            _tls?.Dispose();
            _socket.Dispose();
        }
    }
}
