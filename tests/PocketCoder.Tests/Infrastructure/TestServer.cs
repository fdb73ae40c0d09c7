using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents.Processes;
using PocketCoder.Auth;
using PocketCoder.Reach;
using PocketCoder.Server;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// The real PocketCoder server, started in-process on a free 127.0.0.1 port with its own data folder,
/// and talked to over real HTTP.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsData;
    private bool _stopped;

    private TestServer(WebApplication app, string dataDirectory, bool ownsData)
    {
        _app = app;
        _ownsData = ownsData;
        DataDirectory = dataDirectory;
        BaseUrl = new Uri(PocketCoderServer.BoundUrl(app, app.Services.GetRequiredService<PocketCoderOptions>()));
        // No cookie jar: pairing sets a session cookie, and an "anonymous" client must stay anonymous.
        Anonymous = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri BaseUrl { get; }

    public string DataDirectory { get; }

    public HttpClient Anonymous { get; }

    public IServiceProvider Services => _app.Services;

    public WebApplication App => _app;

    /// <param name="dataDirectory">Reuse a data folder (a restart); a fresh temp folder when null, deleted on dispose.</param>
    public static async Task<TestServer> StartAsync(
        string? dataDirectory = null,
        IReadOnlyDictionary<string, AgentCommand>? agents = null,
        TimeProvider? clock = null,
        TimeSpan? heartbeat = null,
        int subscriberBuffer = 1024,
        CapturedLogs? logs = null,
        bool liveApiDocument = false,
        string listen = "http://127.0.0.1:0",
        string? publicUrl = null,
        TlsCertificate? certificate = null,
        PocketCoder.Reach.Hub.HubMembership? hub = null,
        PocketCoder.Reach.Acme.AcmeSettings? acme = null,
        TimeSpan? pauseWaitingAfter = null,
        string? bubblewrap = null,
        string? ownerHome = null,
        FakeAgent? fakeAgent = null)
    {
        var ownsData = dataDirectory is null;
        dataDirectory ??= TempPaths.NewDirectory("pc-data");
        // The terminals' shells start in a HOME of their own: the start-up files of whoever runs the tests stay out.
        var terminalHome = Directory.CreateDirectory(Path.Combine(dataDirectory, "terminal-home")).FullName;
        var options = new PocketCoderOptions
        {
            DataDirectory = dataDirectory,
            Listen = listen,
            PublicUrl = publicUrl ?? hub?.PublicUrl,
            Certificate = certificate ?? (acme is not null ? PocketCoder.Reach.Acme.AcmeRenewal.Prepare(dataDirectory, acme.Name, TimeProvider.System) : null),
            Hub = hub,
            Acme = acme,
            AgentCommands = agents ?? new Dictionary<string, AgentCommand>
            {
                // Nothing installed unless a test says so: health and errors must say what is missing.
                ["claude-code"] = new AgentCommand("/nonexistent/claude", new Dictionary<string, string?>()),
            },
            HeartbeatInterval = heartbeat ?? TimeSpan.FromSeconds(15),
            SubscriberBuffer = subscriberBuffer,
            ConsoleLogging = false,
            LogSink = logs,
            LiveApiDocument = liveApiDocument,
            TerminalEnvironment = new Dictionary<string, string?> { ["HOME"] = terminalHome },
            PauseWaitingAfter = pauseWaitingAfter ?? TimeSpan.FromMinutes(5),
            Bubblewrap = bubblewrap,
            // The home a phone browses for a project's folder: never the home of whoever runs the tests.
            OwnerHome = ownerHome ?? Directory.CreateDirectory(Path.Combine(dataDirectory, "owner-home")).FullName,
        };
        // A fake agent is the only agent there is: no real one is started by mistake.
        var app = PocketCoderServer.Build(options, clock,
            fakeAgent is null ? null : services => services.AddSingleton(new PocketCoder.Agents.AgentRegistry([fakeAgent])));
        await app.StartAsync();
        return new TestServer(app, dataDirectory, ownsData);
    }

    /// <summary>Adds a person with the role (as an owner's invite does) and pairs their first device.</summary>
    public async Task<PairedClient> PairPersonAsync(string name, Role role, string? deviceName = null)
    {
        var person = Services.GetRequiredService<People>().Add(name, role, Actor.System);
        return await PairAsync(deviceName ?? $"{name}'s phone", person.Id);
    }

    /// <summary>Pairs a new device the way a phone does and returns a client that sends its token.</summary>
    /// <param name="personId">Whose device (an invite); null: the machine's first owner's, as <c>pocketcoder pair</c> makes it.</param>
    public async Task<PairedClient> PairAsync(string deviceName = "test phone", string? personId = null)
    {
        var code = Services.GetRequiredService<Devices>().CreatePairingCode(personId).Code;
        var response = await Anonymous.PostAsJsonAsync("/api/pair", new { code, deviceName });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var token = body.GetProperty("token").GetString()!;
        var client = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new PairedClient(client, body.GetProperty("deviceId").GetString()!, token);
    }

    /// <summary>Stops the server as Ctrl+C would (agents stopped, state saved); the data folder stays.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Anonymous.Dispose();
        if (_ownsData)
        {
            TempPaths.Delete(DataDirectory);
        }
    }
}

public sealed record PairedClient(HttpClient Http, string DeviceId, string Token);
