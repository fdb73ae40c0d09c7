using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Hub;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reach;

/// <summary>
/// Two hub instances sharing one PostgreSQL database (a private server of the test's own), on loopback ports A and B;
/// each advertises its own address. A runs in the test; B is a process of its own (`pocketcoder hub serve --postgres`),
/// so that it can be killed outright. The machine links to B; a phone may arrive at either.
/// </summary>
public sealed class HubClusterTests : IAsyncLifetime
{
    private readonly string _files = TempPaths.NewDirectory("pc-cluster");
    private readonly TestCertificates _certificates = new();
    private readonly List<string> _repositories = [];
    // Null until set up (a set-up that failed part way disposes what it started).
    private TestPostgres _postgres = null!;
    private WebApplication _a = null!;
    private ReadyProcess _b = null!;
    private int _portA;
    private int _portB;

    public async Task InitializeAsync()
    {
        try
        {
            _postgres = await TestPostgres.StartAsync();
            _certificates.WriteServerCertificate(File("hub.pem"), File("hub.key"), "hub.test");
            _certificates.WriteServerCertificate(File("m1.pem"), File("m1.key"), "m1.hub.test");
            (_a, _portA) = await ReadyProcess.OnFreePortAsync(StartHubAsync);
            // The connection string (with its password) through the environment, as the docs advise, not the command line.
            (_b, _portB) = await ReadyProcess.OnFreePortAsync(port => ReadyProcess.StartHubAsync(port, File("hub.pem"), File("hub.key"),
                File($"hub-b-{port}"), ["--advertise", $"127.0.0.1:{port}"],
                new Dictionary<string, string> { ["POCKETCODER_HUB_POSTGRES"] = _postgres.ConnectionString }));
        }
        catch
        {
            // xUnit does not dispose a class whose set-up failed: what was started (PostgreSQL above all) is stopped here.
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_b is not null)
        {
            await _b.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        TempPaths.Delete(_files);
        _repositories.ForEach(TempPaths.Delete);
    }

    [Fact]
    public async Task PhoneAtA_MachineLinkedToB_Works_BGoes_MachineMovesToA_BothPhonesGoOnWithNoGap()
    {
        // The operator issues the token on any instance: the registry is the shared one.
        var (exit, output, error) = await CliAsync("hub", "add-machine", "m1", "--postgres", _postgres.ConnectionString, "--data", File("cli"));
        Assert.True(exit == 0, error);
        var token = output.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("m1.", StringComparison.Ordinal));
        (exit, output, _) = await CliAsync("hub", "machines", "--postgres", _postgres.ConnectionString, "--data", File("cli"));
        Assert.Equal("m1", output.Trim());

        await using var machine = await StartMachineAsync(token);
        var phone = await machine.PairAsync("phone");

        // At A, which holds no link to m1: A asks B, B asks the machine to dial back to A, and A splices.
        using var viaA = Phone(_portA, phone.Token);
        Assert.Equal(HttpStatusCode.OK, (await viaA.GetAsync("/api/health")).StatusCode);
        Assert.True(Metrics(_a).StreamsTotal > 0, "the phone at A was spliced at A");
        Assert.Contains("pocketcoder_hub_streams_total 0", await Phone(_portB, "", machine: "hub.test").GetStringAsync("/metrics"), StringComparison.Ordinal);

        var (session, appendBatch) = StartSession(machine);
        await using var streamA = await SseClient.ConnectAsync(viaA, $"/api/sessions/{session.Id}/events", session.Start.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var viaB = Phone(_portB, phone.Token);
        await using var streamB = await SseClient.ConnectAsync(viaB, $"/api/sessions/{session.Id}/events", session.Start.ToString(System.Globalization.CultureInfo.InvariantCulture));
        appendBatch(1, 50);
        var seenA = await ReadIdsAsync(streamA, 50);
        var seenB = await ReadIdsAsync(streamB, 50);

        // B dies (killed: no goodbye to the database or anyone). The machine's next tries are the instances B's welcome
        // named; A takes the machine over from B's record.
        var movedToA = WhenAttached(_a, "m1");
        _b.Process.Kill();
        await movedToA.WaitAsync(TimeSpan.FromSeconds(60));
        await streamB.WaitForEndAsync();

        appendBatch(51, 100);
        // The stream spliced at A never broke; the one at B resumes at A from its last event id.
        seenA.AddRange(await ReadIdsAsync(streamA, 50));
        using var resumed = Phone(_portA, phone.Token);
        await using var streamB2 = await SseClient.ConnectAsync(resumed, $"/api/sessions/{session.Id}/events",
            seenB[^1].ToString(System.Globalization.CultureInfo.InvariantCulture));
        seenB.AddRange(await ReadIdsAsync(streamB2, 50));

        var expected = Enumerable.Range(1, 100).Select(n => session.Start + n).ToList();
        Assert.Equal(expected, seenA);
        Assert.Equal(expected, seenB);
    }

    [Fact]
    public async Task MachineLinkedNowhere_IsRefusedAtOnce_AndAnInstanceNeedsItsAddress()
    {
        var token = new MachineRegistry(HubServer.OpenPostgres(_postgres.ConnectionString)).Issue("m1");
        Assert.NotNull(new MachineRegistry(HubServer.OpenPostgres(_postgres.ConnectionString)).Authenticate(token));

        // Known to the registry, linked to no instance: refused as offline, not left waiting for a dial-back.
        await Assert.ThrowsAnyAsync<Exception>(() => Phone(_portA, "").GetAsync("/api/health"));
        Assert.Equal(1, Metrics(_a).Refusals(Refusal.Offline));
        Assert.Equal(0, Metrics(_a).Refusals(Refusal.DialBackTimeout));

        var (exit, _, error) = await CliAsync("hub", "serve", "--domain", "hub.test", "--cert", File("hub.pem"), "--key", File("hub.key"),
            "--listen", "https://127.0.0.1:0", "--postgres", _postgres.ConnectionString, "--data", File("cli"));
        Assert.Equal(2, exit);
        Assert.Contains("--advertise", error, StringComparison.Ordinal);
    }

    private async Task<WebApplication> StartHubAsync(int port)
    {
        var certificate = TlsCertificate.Load(File("hub.pem"), File("hub.key"), TimeProvider.System);
        var hub = HubServer.Build(new HubOptions
        {
            Domain = "hub.test",
            Listen = $"https://127.0.0.1:{port}",
            DataDirectory = File($"hub-{port}"),
            Certificate = () => certificate.Context,
            ConsoleLogging = false,
            Postgres = _postgres.ConnectionString,
            Advertise = $"127.0.0.1:{port}",
        });
        await hub.StartAsync();
        return hub;
    }

    /// <summary>m1, joined through B and linked to it.</summary>
    private async Task<TestServer> StartMachineAsync(string token)
    {
        var candidate = new HubMembership($"https://127.0.0.1:{_portB}", token, "pending", _certificates.Root.ExportCertificatePem());
        var membership = candidate with { PublicUrl = await candidate.WelcomeAsync(CancellationToken.None) };
        var machine = await TestServer.StartAsync(
            certificate: TlsCertificate.Load(File("m1.pem"), File("m1.key"), TimeProvider.System), hub: membership,
            heartbeat: TimeSpan.FromMilliseconds(200));
        // Joining opened the link once; serve's own link is the second.
        await _b.WaitForLineAsync("Machine m1 connected from", occurrence: 2);
        return machine;
    }

    /// <summary>A session and a way to append numbered deltas to it; Start is its last event id before them.</summary>
    private ((string Id, long Start), Action<int, int>) StartSession(TestServer machine)
    {
        var services = machine.Services;
        var repository = TempPaths.NewGitRepository();
        _repositories.Add(repository);
        var project = services.GetRequiredService<PocketCoder.Projects.ProjectStore>().Add(repository, "cluster", PocketCoder.Auth.Actor.System).Id;
        var sessions = services.GetRequiredService<PocketCoder.Sessions.SessionStore>();
        var session = services.GetRequiredService<PocketCoder.Data.Database>().Write(write => sessions.Create(write, project, "claude-code", null, "ask", "cluster").Id);
        var log = services.GetRequiredService<PocketCoder.Realtime.EventLog>();
        return ((session, sessions.Get(session).LastSeq), (from, to) =>
        {
            for (var n = from; n <= to; n++)
            {
                log.Append(session, new PocketCoder.Realtime.MessageDeltaEvent($"delta {n}"));
            }
        });
    }

    private static async Task<List<long>> ReadIdsAsync(SseClient stream, int count)
    {
        var ids = new List<long>();
        while (ids.Count < count)
        {
            ids.Add((await stream.NextAsync(TimeSpan.FromSeconds(30))).Id);
        }

        return ids;
    }

    private HttpClient Phone(int hubPort, string token, string machine = "m1")
    {
        var phone = HubPhone.Create(_certificates, hubPort, [], machine);
        if (token.Length > 0)
        {
            phone.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return phone;
    }

    private static HubMetrics Metrics(WebApplication hub) => hub.Services.GetRequiredService<HubMetrics>();

    private static Task WhenAttached(WebApplication hub, string machine)
    {
        var attached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Services.GetRequiredService<Tunnels>().Attached += name =>
        {
            if (name == machine)
            {
                attached.TrySetResult();
            }
        };
        return attached.Task;
    }

    private static async Task<(int Exit, string Output, string Error)> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await PocketCoder.Cli.CommandLine.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private string File(string name) => Path.Combine(_files, name);
}
