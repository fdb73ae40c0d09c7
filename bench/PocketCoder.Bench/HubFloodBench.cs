using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using PocketCoder.Hub;
using PocketCoder.Reach.Hub;

namespace PocketCoder.Bench;

/// <summary>
/// The outside review's flood (issue #36) against the published <c>pocketcoder hub serve</c> in its own process, with its
/// default caps: first what one connection that has proved nothing costs it, by kind; then the flood itself, every
/// kind in turn, 2,000 from one address (as in the review) and the rest from 50 each of many more, with a phone's
/// connection for a linked machine after each thousand. What is read: the connections the hub holds (its gauge), its
/// memory, its refusals by reason, and whether each phone reached its machine (the machine was asked to dial back).
/// </summary>
public sealed class HubFloodBench(bool quick, string pocketcoderDirectory) : IAsyncDisposable
{
    private readonly string _files = Temp.Directory("pcbench-flood");
    private readonly List<FloodConnection> _flood = [];
    private readonly HttpClient _probe = new(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } });
    private OsProcess? _hub;
    private BenchMachine? _machine;
    private int _port;
    private byte[] _helloForTheHub = [];
    private byte[] _helloWithoutName = [];
    private int _addresses;

    public async Task<List<Row>> RunAsync()
    {
        var executable = Path.Combine(pocketcoderDirectory, "pocketcoder");
        if (!File.Exists(executable))
        {
            return [new Row("Hub under a flood", "not measured", "", "", "", $"n/a ({executable} not published)")];
        }

        var (certificate, key, root) = HubBench.Certificates(_files);
        var data = Path.Combine(_files, "hub");
        var token = new MachineRegistry(data).Issue("m1");
        _port = OsProcess.FreeLoopbackUrl().Port;
        var url = new Uri($"https://127.0.0.1:{_port}");
        _hub = OsProcess.Start(executable,
            ["hub", "serve", "--domain", "hub.bench", "--cert", certificate, "--key", key, "--listen", url.ToString().TrimEnd('/'), "--data", data], url);
        _probe.BaseAddress = url;
        await UntilAsync(async () => (await _probe.GetAsync("/metrics")).IsSuccessStatusCode, TimeSpan.FromSeconds(30));
        _machine = await BenchMachine.LinkAsync(new HubMembership(url.ToString().TrimEnd('/'), token, "pending", root));
        _helloForTheHub = await CaptureHelloAsync("hub.bench");
        _helloWithoutName = await CaptureHelloAsync("127.0.0.1");

        var each = quick ? 200 : 500;
        var costs = new List<double>();
        foreach (var kind in new[] { Kind.Silent, Kind.HelloForTheHub, Kind.LinkRequestNeverEnding })
        {
            costs.Add(await CostPerConnectionAsync(kind, each));
        }

        var rows = new List<Row>
        {
            new($"Hub memory per connection that has proved nothing (hub in its own process; {each} at once from {each / 50} addresses, read 2 s after)",
                $"silent {Stats.F(costs[0], 1)} / ClientHello for the hub, handshake left half way {Stats.F(costs[1], 1)} / " +
                $"TLS done, a request to the link endpoint never finished {Stats.F(costs[2], 1)} KiB each",
                "", "", "measured", ""),
        };
        rows.Add(await FloodAsync(quick ? 4_000 : 14_000));
        return rows;
    }

    private async Task<double> CostPerConnectionAsync(Kind kind, int count)
    {
        await Task.Delay(TimeSpan.FromSeconds(3));
        var before = _hub!.RssMiB();
        var addresses = count / 50;
        for (var i = 0; i < count; i++)
        {
            _flood.Add(await FloodConnection.OpenAsync(Address(_addresses + (i % addresses)), _port, kind, Hello(kind)));
        }

        _addresses += addresses;
        // Well inside the hub's 10 s deadlines: nothing it holds has been closed yet.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var after = _hub.RssMiB();
        var held = await GaugeAsync() - 1;
        CloseFlood();
        await UntilAsync(async () => await GaugeAsync() == 1, TimeSpan.FromSeconds(30));
        return held == count ? (after - before) * 1024 / count : double.NaN;
    }

    private async Task<Row> FloodAsync(int total)
    {
        await Task.Delay(TimeSpan.FromSeconds(3));
        var before = _hub!.RssMiB();
        var (maxHeld, maxRss) = (0L, before);
        var phoneTimes = new List<double>();
        var phones = new List<BenchPhone>();
        var cpu = _hub.CpuSeconds();
        var opening = Stopwatch.StartNew();
        try
        {
            for (var i = 0; i < total; i++)
            {
                // The first 2,000 from one address, as in the review; then 50 from each of the next addresses.
                var from = i < 2_000 ? Address(_addresses) : Address(_addresses + 1 + ((i - 2_000) / 50));
                var kind = (Kind)(i % 4);
                _flood.Add(await FloodConnection.OpenAsync(from, _port, kind, Hello(kind)));
                if ((i + 1) % 1_000 == 0)
                {
                    var streams = _machine!.Streams;
                    var asked = Stopwatch.StartNew();
                    phones.Add(await BenchPhone.OpenAsync(_port, "m1.hub.bench", 50 * (4_000 + phones.Count)));
                    if (await UntilAsync(() => Task.FromResult(_machine.Streams > streams), TimeSpan.FromSeconds(10)))
                    {
                        phoneTimes.Add(asked.Elapsed.TotalMilliseconds);
                    }

                    maxHeld = Math.Max(maxHeld, await GaugeAsync());
                    maxRss = Math.Max(maxRss, _hub.RssMiB());
                }
            }

            opening.Stop();
            var metrics = await _probe.GetStringAsync("/metrics");
            var held = maxHeld <= 1_000;
            var through = phoneTimes.Count == phones.Count;
            return new Row(
                $"Hub under the review's flood: {total:N0} connections of four kinds held open (2,000 from one address, the rest 50 " +
                $"each from {(total - 2_000) / 50} more), a phone's connection for its machine after each 1,000",
                $"held at most {maxHeld:N0}; RSS {Stats.F(before, 1)} MiB before, at most {Stats.F(maxRss, 1)} MiB; " +
                $"refused: limit {Refused(metrics, "limit"):N0}, " +
                $"overall_limit {Refused(metrics, "overall_limit"):N0}; phones through {phoneTimes.Count}/{phones.Count}, " +
                $"median {Stats.F(phoneTimes.Count > 0 ? Stats.Percentile(phoneTimes, 50) : double.NaN, 1)} ms to the machine's dial-back",
                $"opening took {Stats.F(opening.Elapsed.TotalSeconds, 1)} s and {Stats.F(_hub.CpuSeconds() - cpu, 1)} s of hub CPU", "",
                "held <= 1,000 (the cap), every phone through",
                held && through ? "met" : "MISSED");
        }
        finally
        {
            phones.ForEach(phone => phone.Dispose());
            CloseFlood();
        }
    }

    private byte[]? Hello(Kind kind) => kind switch
    {
        Kind.Silent => [],
        Kind.HelloForTheHub => _helloForTheHub,
        Kind.HelloWithoutName => _helloWithoutName,
        _ => null,
    };

    // 127.10.0.1 and up, 250 to a /24: clear of the phones' (BenchPhone's, 127.0.x.y).
    private static IPAddress Address(int index) => new([127, (byte)(10 + (index / 250 / 250)), (byte)(index / 250 % 250), (byte)(1 + (index % 250))]);

    private void CloseFlood()
    {
        _flood.ForEach(connection => connection.Dispose());
        _flood.Clear();
    }

    /// <summary>The connections the hub holds that have proved nothing: the one asking (a stranger's, to the hub) among them.</summary>
    private async Task<long> GaugeAsync() =>
        long.Parse((await _probe.GetStringAsync("/metrics")).Split('\n')
            .First(l => l.StartsWith("pocketcoder_hub_connections_unauthenticated ", StringComparison.Ordinal)).Split(' ')[1],
            System.Globalization.CultureInfo.InvariantCulture);

    private static long Refused(string metrics, string reason) =>
        long.Parse(metrics.Split('\n')
            .First(l => l.StartsWith($"pocketcoder_hub_refused_total{{reason=\"{reason}\"}} ", StringComparison.Ordinal)).Split(' ')[1],
            System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                if (await condition())
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(5);
        }

        return false;
    }

    /// <summary>What .NET's TLS client sends first for <paramref name="host"/>: a listener of our own takes it and answers nothing.</summary>
    private static async Task<byte[]> CaptureHelloAsync(string host)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        using var server = await listener.AcceptSocketAsync();
        using var tls = new SslStream(client.GetStream());
        _ = tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = host })
            .ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        var buffer = new byte[16 * 1024];
        return buffer[..await server.ReceiveAsync(buffer)];
    }

    public async ValueTask DisposeAsync()
    {
        CloseFlood();
        if (_machine is not null)
        {
            await _machine.DisposeAsync();
        }

        if (_hub is not null)
        {
            await _hub.DisposeAsync();
        }

        _probe.Dispose();
        Temp.Delete(_files);
    }

    private enum Kind
    {
        Silent,
        HelloForTheHub,
        HelloWithoutName,
        LinkRequestNeverEnding,
    }

    /// <summary>One connection of the flood; disposed of as soon as the hub closes it, so that the driver's descriptors last.</summary>
    private sealed class FloodConnection : IDisposable
    {
        private readonly Socket _socket;
        private SslStream? _tls;

        private FloodConnection(Socket socket) => _socket = socket;

        public static async Task<FloodConnection> OpenAsync(IPAddress from, int port, Kind kind, byte[]? hello)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(from, 0));
            var connection = new FloodConnection(socket);
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, port);
                if (kind == Kind.LinkRequestNeverEnding)
                {
                    connection._tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
                    await connection._tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = "hub.bench",
                        RemoteCertificateValidationCallback = (_, _, _, _) => true,
                    });
                    await connection._tls.WriteAsync("GET /hub/v1/connect HTTP/1.1\r\nHost: hub.bench\r\nUpgrade: websocket\r\n"u8.ToArray());
                    await connection._tls.FlushAsync();
                }
                else if (hello is { Length: > 0 })
                {
                    await socket.SendAsync(hello);
                }
            }
            catch (Exception exception) when (exception is SocketException or IOException or System.Security.Authentication.AuthenticationException)
            {
                connection.Dispose();
                return connection;
            }

            _ = connection.DisposeWhenClosedAsync();
            return connection;
        }

        private async Task DisposeWhenClosedAsync()
        {
            var buffer = new byte[1024];
            try
            {
                while ((_tls is null ? await _socket.ReceiveAsync(buffer) : await _tls.ReadAsync(buffer)) > 0)
                {
                }
            }
            catch (Exception exception) when (exception is SocketException or IOException or ObjectDisposedException)
            {
            }

            Dispose();
        }

        public void Dispose()
        {
            _tls?.Dispose();
            _socket.Dispose();
        }
    }
}
