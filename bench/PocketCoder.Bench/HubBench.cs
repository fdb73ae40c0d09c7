using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents.Processes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Hub;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;
using PocketCoder.Realtime;
using PocketCoder.Server;

namespace PocketCoder.Bench;

/// <summary>
/// The hub's cost, measured against a direct https connection to the same machine in the same run: request latency and
/// SSE throughput. Hub and machine run in this process on loopback; the phone's connection to m1.hub.bench is made to
/// the hub's port, exactly as the tests do.
/// </summary>
public sealed class HubBench(bool quick, string? pocketcoderDirectory) : IAsyncDisposable
{
    private readonly string _files = Temp.Directory("pcbench-hub");
    private WebApplication _hub = null!;
    private WebApplication _machine = null!;
    private string _token = null!;
    private string _certificate = null!;
    private string _key = null!;
    private string _root = null!;

    public async Task<List<Row>> RunAsync()
    {
        await StartAsync();
        var rows = new List<Row>();
        using var direct = Client(new Uri(PocketCoderServer.BoundUrl(_machine, _machine.Services.GetRequiredService<PocketCoderOptions>())), connectTo: null);
        var hubPort = new Uri(_hub.Urls.First()).Port;
        using var relayed = Client(new Uri($"https://m1.hub.bench:{hubPort}"), connectTo: hubPort);

        // Direct and relayed alternate in rounds, so that drift on a shared 2-core machine (the hub, the machine and the
        // client all run here) falls on both alike; latency pools every round's samples, SSE takes the median round.
        var rounds = quick ? 1 : 5;
        var requests = quick ? 300 : 600;
        var (directTimes, relayedTimes) = (new List<double>(), new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            directTimes.AddRange(await LatencyAsync(direct, requests));
            relayedTimes.AddRange(await LatencyAsync(relayed, requests));
        }

        var addedP50 = Stats.Percentile(relayedTimes, 50) - Stats.Percentile(directTimes, 50);
        var addedP99 = Stats.Percentile(relayedTimes, 99) - Stats.Percentile(directTimes, 99);
        rows.Add(new Row($"Hub: GET /api/health over https, p50 / p99 ({rounds * requests:N0} sequential in {rounds} alternating rounds, kept alive)",
            $"{Stats.F(Stats.Percentile(relayedTimes, 50), 2)} / {Stats.F(Stats.Percentile(relayedTimes, 99), 2)} ms through the hub",
            $"{Stats.F(Stats.Percentile(directTimes, 50), 2)} / {Stats.F(Stats.Percentile(directTimes, 99), 2)} ms direct",
            $"+{Stats.F(addedP50, 2)} / +{Stats.F(addedP99, 2)} ms", "p99 added < 2 ms", addedP99 < 2 ? "met" : "MISSED"));

        var events = quick ? 2_000 : 20_000;
        var (directRates, relayedRates) = (new List<double>(), new List<double>());
        var (directCpu, relayedCpu) = (new List<double>(), new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            var (rate, cpu) = await SseRateAsync(direct, events);
            directRates.Add(rate);
            directCpu.Add(cpu);
            (rate, cpu) = await SseRateAsync(relayed, events);
            relayedRates.Add(rate);
            relayedCpu.Add(cpu);
        }

        var (directRate, relayedRate) = (Stats.Percentile(directRates, 50), Stats.Percentile(relayedRates, 50));
        rows.Add(new Row($"Hub: SSE events/s to one phone ({events:N0} events as fast as they are appended; median of {rounds} alternating rounds)",
            $"{Stats.F(relayedRate, 0)} /s through the hub (rounds {string.Join(", ", relayedRates.Select(r => Stats.F(r, 0)))})",
            $"{Stats.F(directRate, 0)} /s direct (rounds {string.Join(", ", directRates.Select(r => Stats.F(r, 0)))})",
            $"{Stats.F(relayedRate / directRate * 100, 0)} %", ">= 80 % of direct", relayedRate >= 0.8 * directRate ? "met" : "MISSED"));
        // Hub, machine and phone share this process: the hub's part (with the machine's second TLS on its dial-back) is what
        // the relayed rounds cost over the direct ones, per MB the phone received.
        var (directCpuPerMb, relayedCpuPerMb) = (Stats.Percentile(directCpu, 50), Stats.Percentile(relayedCpu, 50));
        rows.Add(new Row("Hub: CPU per MB of SSE the phone received (process CPU, user + system; median round)",
            $"{Stats.F(relayedCpuPerMb, 1)} ms/MB through the hub", $"{Stats.F(directCpuPerMb, 1)} ms/MB direct (machine and phone)",
            $"hub and dial-back +{Stats.F(relayedCpuPerMb - directCpuPerMb, 1)} ms/MB", "report", ""));
        if (pocketcoderDirectory is not null)
        {
            rows.AddRange(await HubProcessAsync(quick, pocketcoderDirectory));
        }

        return rows;
    }

    /// <summary>
    /// The published <c>pocketcoder hub serve</c> as its own process, its VmRSS read after each step has settled for a
    /// few seconds: idle; with machines' control links open (each signed in and welcomed), the first ones and then more
    /// (the first also pay one-off costs: code paths warmed, pools and GC regions grown; the next ones show what one more
    /// machine costs); then with phone connections spliced to machines' dial-backs (open streams), likewise in two
    /// steps; then as many streams as the capacity step asks, to see that one instance on this machine holds them.
    /// </summary>
    private async Task<List<Row>> HubProcessAsync(bool quick, string pocketcoderDirectory)
    {
        var executable = Path.Combine(pocketcoderDirectory, "pocketcoder");
        if (!File.Exists(executable))
        {
            return [new Row("Hub: memory per idle machine and per open stream", "not measured", "", "", "< 64 KiB per idle machine",
                $"n/a ({executable} not published)")];
        }

        var (firstMachines, moreMachines) = quick ? (50, 100) : (200, 400);
        var (firstStreams, moreStreams, capacity) = quick ? (100, 200, 1_000) : (200, 800, 5_000);
        // Streams per machine are capped (256): the streams are spread over this many of the machines.
        const int streamMachines = 25;
        var data = Path.Combine(_files, "hub-process");
        var registry = new MachineRegistry(data);
        var tokens = Enumerable.Range(0, firstMachines + moreMachines).Select(i => registry.Issue($"m{i}")).ToList();
        var port = OsProcess.FreeLoopbackUrl().Port;
        var url = new Uri($"https://127.0.0.1:{port}");
        await using var hub = OsProcess.Start(executable,
            ["hub", "serve", "--domain", "hub.bench", "--cert", _certificate, "--key", _key, "--listen", url.ToString().TrimEnd('/'), "--data", data], url);
        using var probe = Client(url, null);
        var deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                (await probe.GetAsync("/metrics")).EnsureSuccessStatusCode();
                break;
            }
            catch (HttpRequestException) when (Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(20);
            }
        }

        var machines = new List<BenchMachine>();
        var phones = new List<BenchPhone>();
        async Task<double> SettledRssAsync()
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            return hub.RssMiB();
        }

        async Task LinkAsync(IEnumerable<string> joining)
        {
            foreach (var token in joining)
            {
                machines.Add(await BenchMachine.LinkAsync(new HubMembership(url.ToString().TrimEnd('/'), token, "pending", _root)));
            }
        }

        // Batches of 50: the machines' dial-backs all come from 127.0.0.1, and until its ClientHello is read each one counts
        // against that address's cap (64), like any stranger's connection.
        async Task OpenStreamsAsync(int total)
        {
            while (phones.Count < total)
            {
                var batch = Enumerable.Range(phones.Count, Math.Min(50, total - phones.Count))
                    .Select(i => BenchPhone.OpenAsync(port, $"m{i % streamMachines}.hub.bench", i)).ToList();
                phones.AddRange(await Task.WhenAll(batch));
                var waitUntil = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
                while (machines.Sum(m => m.Streams) < phones.Count && Stopwatch.GetTimestamp() < waitUntil)
                {
                    await Task.Delay(5);
                }
            }
        }

        try
        {
            var idle = await SettledRssAsync();
            await LinkAsync(tokens.Take(firstMachines));
            var withFirst = await SettledRssAsync();
            await LinkAsync(tokens.Skip(firstMachines));
            var withAll = await SettledRssAsync();
            var firstEach = (withFirst - idle) * 1024 / firstMachines;
            var moreEach = (withAll - withFirst) * 1024 / moreMachines;
            var rows = new List<Row>
            {
                new($"Hub: memory per idle machine (hub in its own process): the first {firstMachines} links / the next {moreMachines}",
                    $"{Stats.F(firstEach, 1)} / {Stats.F(moreEach, 1)} KiB each",
                    $"hub idle {Stats.F(idle, 1)} MiB; {Stats.F(withFirst, 1)} MiB; {Stats.F(withAll, 1)} MiB", "",
                    "< 64 KiB per idle machine", moreEach < 64 ? "met (one more machine)" : "MISSED"),
            };

            await OpenStreamsAsync(firstStreams);
            var withFirstStreams = await SettledRssAsync();
            await OpenStreamsAsync(firstStreams + moreStreams);
            var withMoreStreams = await SettledRssAsync();
            rows.Add(new Row(
                $"Hub: memory per open stream (a phone's connection spliced to its machine's dial-back): the first {firstStreams} / the next {moreStreams}",
                $"{Stats.F((withFirstStreams - withAll) * 1024 / firstStreams, 1)} / {Stats.F((withMoreStreams - withFirstStreams) * 1024 / moreStreams, 1)} KiB each",
                $"{Stats.F(withAll, 1)} MiB; {Stats.F(withFirstStreams, 1)} MiB; {Stats.F(withMoreStreams, 1)} MiB", "", "measured", ""));

            var cpuBefore = hub.CpuSeconds();
            var opening = Stopwatch.StartNew();
            await OpenStreamsAsync(capacity);
            opening.Stop();
            var atCapacity = await SettledRssAsync();
            var metrics = await probe.GetStringAsync("/metrics");
            rows.Add(new Row(
                $"Hub: connections one instance holds on {Environment.ProcessorCount} cores ({capacity:N0} open streams over {streamMachines} machines, {machines.Count} machine links)",
                $"{StreamsOpen(metrics):N0} streams open, {(StreamsOpen(metrics) * 2) + machines.Count:N0} connections",
                $"RSS {Stats.F(atCapacity, 1)} MiB; opening the last {capacity - firstStreams - moreStreams:N0} took {Stats.F(opening.Elapsed.TotalSeconds, 1)} s, " +
                $"{Stats.F(hub.CpuSeconds() - cpuBefore, 1)} s of hub CPU", "", "measured",
                StreamsOpen(metrics) == capacity ? "all held" : "NOT ALL HELD"));
            return rows;
        }
        finally
        {
            foreach (var phone in phones)
            {
                phone.Dispose();
            }

            foreach (var machine in machines)
            {
                await machine.DisposeAsync();
            }
        }
    }

    private static long StreamsOpen(string metrics) =>
        long.Parse(metrics.Split('\n').First(l => l.StartsWith("pocketcoder_hub_streams_open ", StringComparison.Ordinal)).Split(' ')[1],
            System.Globalization.CultureInfo.InvariantCulture);

    private async Task StartAsync()
    {
        var (certificate, key, root) = Certificates(_files);
        (_certificate, _key, _root) = (certificate, key, root);
        var hubCertificate = TlsCertificate.Load(certificate, key, TimeProvider.System);
        _hub = HubServer.Build(new HubOptions
        {
            Domain = "hub.bench",
            Listen = "https://127.0.0.1:0",
            DataDirectory = Path.Combine(_files, "hub"),
            Certificate = () => hubCertificate.Context,
            ConsoleLogging = false,
        });
        await _hub.StartAsync();
        var hubUrl = $"https://127.0.0.1:{new Uri(_hub.Urls.First()).Port}";
        var token = new MachineRegistry(Path.Combine(_files, "hub")).Issue("m1");
        var candidate = new HubMembership(hubUrl, token, "pending", root);
        var membership = candidate with { PublicUrl = await candidate.WelcomeAsync(CancellationToken.None) };

        var attached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hub.Services.GetRequiredService<Tunnels>().Attached += _ => attached.TrySetResult();
        _machine = PocketCoderServer.Build(new PocketCoderOptions
        {
            DataDirectory = Path.Combine(_files, "machine"),
            Listen = "https://127.0.0.1:0",
            PublicUrl = membership.PublicUrl,
            Certificate = TlsCertificate.Load(certificate, key, TimeProvider.System),
            Hub = membership,
            ConsoleLogging = false,
            AgentCommands = new Dictionary<string, AgentCommand>(),
        });
        await _machine.StartAsync();
        await attached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var code = _machine.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        using var pairing = Client(new Uri(PocketCoderServer.BoundUrl(_machine, _machine.Services.GetRequiredService<PocketCoderOptions>())), null);
        var paired = await pairing.PostAsJsonAsync("/api/pair", new { code, deviceName = "bench" });
        _token = (await paired.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }

    private static async Task<List<double>> LatencyAsync(HttpClient client, int requests)
    {
        for (var i = 0; i < 50; i++)
        {
            (await client.GetAsync("/api/health")).EnsureSuccessStatusCode();
        }

        var times = new List<double>(requests);
        for (var i = 0; i < requests; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync("/api/health");
            await response.Content.ReadAsByteArrayAsync();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return times;
    }

    /// <summary>Appends events to a fresh session while one reader takes them over SSE; events per second as received.</summary>
    /// <returns>Events per second at the phone, and the process's CPU time per MB the phone received.</returns>
    private async Task<(double Rate, double CpuMsPerMb)> SseRateAsync(HttpClient client, int events)
    {
        var services = _machine.Services;
        var project = services.GetRequiredService<Projects.ProjectStore>().Add(await Temp.GitRepositoryAsync(), "bench", Actor.System).Id;
        var sessionId = services.GetRequiredService<Database>().Write(write =>
            services.GetRequiredService<Sessions.SessionStore>().Create(write, project, "claude-code", null, "ask", "bench").Id);
        var after = services.GetRequiredService<Sessions.SessionStore>().Get(sessionId).LastSeq;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/events?after={after}");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8, false, 64 * 1024);
        var log = services.GetRequiredService<PocketCoder.Realtime.EventLog>();
        var text = new string('x', 120);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var start = Stopwatch.GetTimestamp();
        var append = Task.Run(() =>
        {
            for (var n = 0; n < events; n++)
            {
                log.Append(sessionId, new MessageDeltaEvent(text));
            }
        });
        var received = 0;
        long bytes = 0;
        while (received < events && await reader.ReadLineAsync() is { } line)
        {
            received += line.StartsWith("data: ", StringComparison.Ordinal) ? 1 : 0;
            bytes += line.Length + 1;
        }

        await append;
        var rate = received / Stopwatch.GetElapsedTime(start).TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds;
        return (rate, cpu / (bytes / 1048576.0));
    }

    private HttpClient Client(Uri baseAddress, int? connectTo)
    {
        var handler = new SocketsHttpHandler
        {
            UseCookies = false,
            // The bench's own CA; what is measured is the relay, not certificate checks.
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        };
        if (connectTo is { } port)
        {
            handler.ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            };
        }

        var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        if (_token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }

        return client;
    }

    /// <summary>A CA and one certificate for the hub, the machine and 127.0.0.1, as PEM files in the folder; returns the CA as PEM.</summary>
    internal static (string Certificate, string Key, string Root) Certificates(string folder)
    {
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=PocketCoder Bench Root", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var root = rootRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=hub.bench", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("hub.bench");
        names.AddDnsName("m1.hub.bench");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var leaf = request.Create(root, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), RandomNumberGenerator.GetBytes(8));
        var certificate = Path.Combine(folder, "cert.pem");
        var keyPath = Path.Combine(folder, "key.pem");
        File.WriteAllText(certificate, leaf.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificate, keyPath, root.ExportCertificatePem());
    }

    public async ValueTask DisposeAsync()
    {
        await _machine.DisposeAsync();
        await _hub.DisposeAsync();
        Temp.Delete(_files);
    }
}

/// <summary>
/// A machine for the hub's memory measurements: its control link, and for each <c>open</c> a dial-back held open (the
/// hub's half of a stream). It never answers the phone's TLS: the bytes are the hub's cost, not the machine's.
/// </summary>
internal sealed class BenchMachine : IAsyncDisposable
{
    private readonly HubMembership _membership;
    private readonly System.Net.WebSockets.ClientWebSocket _link;
    private readonly List<IDisposable> _dialBacks = [];
    private readonly Task _reading;
    private int _streams;

    private BenchMachine(HubMembership membership, System.Net.WebSockets.ClientWebSocket link)
    {
        _membership = membership;
        _link = link;
        _reading = ReadAsync();
    }

    public int Streams => Volatile.Read(ref _streams);

    public static async Task<BenchMachine> LinkAsync(HubMembership membership) =>
        new(membership, await membership.ConnectAsync(HubProtocol.ConnectPath, CancellationToken.None));

    private async Task ReadAsync()
    {
        var buffer = new byte[HubProtocol.MaxControlMessageBytes];
        try
        {
            while (true)
            {
                var received = await _link.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                {
                    return;
                }

                var message = JsonSerializer.Deserialize(buffer.AsSpan(0, received.Count), HubJson.Default.HubMessage);
                if (message is { Type: HubMessage.Open, Stream: { } stream })
                {
                    _ = DialBackAsync(stream);
                }
            }
        }
        catch (Exception exception) when (exception is System.Net.WebSockets.WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private async Task DialBackAsync(string stream)
    {
        var socket = await _membership.ConnectAsync(HubProtocol.StreamPath + stream, CancellationToken.None);
        lock (_dialBacks)
        {
            _dialBacks.Add(socket);
        }

        Interlocked.Increment(ref _streams);
        // Read on (the phone's ClientHello, then nothing): reading is what answers the hub's keep-alive pings.
        var buffer = new byte[4096];
        try
        {
            while ((await socket.ReceiveAsync(buffer, CancellationToken.None)).MessageType != System.Net.WebSockets.WebSocketMessageType.Close)
            {
            }
        }
        catch (Exception exception) when (exception is System.Net.WebSockets.WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _link.Abort();
        _link.Dispose();
        await _reading;
        lock (_dialBacks)
        {
            _dialBacks.ForEach(d => d.Dispose());
        }
    }
}

/// <summary>
/// A phone for the hub's memory measurements: a TCP connection from its own loopback address (127.0.0.2 and up, 50 phones
/// each: the hub caps connections per address) whose TLS ClientHello names a machine; the handshake never completes.
/// </summary>
internal sealed class BenchPhone : IDisposable
{
    private readonly Socket _socket;
    private readonly System.Net.Security.SslStream _tls;

    private BenchPhone(Socket socket, System.Net.Security.SslStream tls)
    {
        _socket = socket;
        _tls = tls;
    }

    public static async Task<BenchPhone> OpenAsync(int hubPort, string name, int index)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(new IPAddress([127, 0, (byte)(index / 50 / 250), (byte)(2 + (index / 50 % 250))]), 0));
        await socket.ConnectAsync(IPAddress.Loopback, hubPort);
        var tls = new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: true));
        // Sends the ClientHello; the answer would come from the machine, which stays silent. Ended by Dispose.
        _ = tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = name })
            .ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        return new BenchPhone(socket, tls);
    }

    public void Dispose()
    {
        _tls.Dispose();
        _socket.Dispose();
    }
}
