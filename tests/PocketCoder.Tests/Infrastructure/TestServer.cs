using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Agents.Processes;
using PocketCoder.Auth;
using PocketCoder.Reach;
using PocketCoder.Server;
using PocketCoder.Teams;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// The real PocketCoder server, started in-process on a free 127.0.0.1 port with its own data folder,
/// and talked to over real HTTP. With <c>POCKETCODER_TEST_SERVER=binary</c> (scripts/test-aot.sh) it is the native binary
/// (<see cref="PocketCoderCommand"/>) as its own process instead, wherever the test gives it nothing only an in-process
/// server can take (a clock moved by hand, a fake agent, a hub membership); reading such a server's services then throws
/// <see cref="InProcessOnlyException"/>.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication? _app;
    private readonly ServerProcess? _process;
    private readonly bool _ownsData;
    private bool _stopped;
    private PairedClient? _inviter;

    private TestServer(WebApplication? app, ServerProcess? process, Uri baseUrl, string dataDirectory, bool ownsData)
    {
        _app = app;
        _process = process;
        _ownsData = ownsData;
        DataDirectory = dataDirectory;
        BaseUrl = baseUrl;
        // No cookie jar: pairing sets a session cookie, and an "anonymous" client must stay anonymous.
        Anonymous = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Tests run against the native binary as its own process (scripts/test-aot.sh), not an in-process server.</summary>
    public static bool InBinary { get; } = Environment.GetEnvironmentVariable("POCKETCODER_TEST_SERVER") switch
    {
        null or "" or "in-process" => false,
        "binary" => PocketCoderCommand.Binary is not null
            ? true
            : throw new InvalidOperationException("POCKETCODER_TEST_SERVER=binary needs POCKETCODER_BINARY: the native binary to test"),
        var other => throw new InvalidOperationException($"POCKETCODER_TEST_SERVER is 'binary' or 'in-process', not '{other}'"),
    };

    public Uri BaseUrl { get; }

    public string DataDirectory { get; }

    public HttpClient Anonymous { get; }

    /// <summary>The server's process: this one, or the binary's.</summary>
    public int ProcessId => _process?.Pid ?? Environment.ProcessId;

    public IServiceProvider Services => _app?.Services ?? throw new InProcessOnlyException("it reads the server's services");

    public WebApplication App => _app ?? throw new InProcessOnlyException("it reads the server's services");

    /// <summary>
    /// The limit on running agents every test server starts with: the default comes from the machine's memory, and a test
    /// must not pass on one machine and put its sessions in line on a smaller one. Tests of the limit set their own.
    /// </summary>
    public const int TestAgentLimit = 64;

    /// <summary>The hosts every test server's owner lists for push (<c>--push-host</c>): the tests' push services and machines.</summary>
    public static readonly IReadOnlyList<string> TestPushHosts = ["127.0.0.1"];

    /// <summary>The bridges' least time between two calls in one chat (ChatOutboxTests prove a platform's own is kept).</summary>
    public static readonly TimeSpan TestChatInterval = TimeSpan.FromMilliseconds(100);

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
        FakeAgent? fakeAgent = null,
        IReadOnlyDictionary<string, string>? networkHosts = null,
        TlsCertificate? previewCertificate = null,
        IReadOnlyList<string>? pushHosts = null,
        IReadOnlyDictionary<string, string?>? registeredAgentEnvironment = null)
    {
        var ownsData = dataDirectory is null;
        // Tests' push services and other machines are on loopback, which a push may reach only where the owner listed it.
        pushHosts ??= TestPushHosts;
        if (InBinary)
        {
            // What the command line cannot say, only an in-process server can be given: such a test runs as it always does.
            var agentSettings = BinaryAgentSettings(agents ?? DefaultAgents);
            string?[] inProcessOnly =
            [
                agentSettings is not null ? null : "agent commands of its own",
                clock is null ? null : "a clock", heartbeat is null ? null : "a heartbeat",
                subscriberBuffer == 1024 ? null : "a subscriber buffer", logs is null ? null : "captured logs",
                liveApiDocument ? "the live API document" : null, listen == "http://127.0.0.1:0" ? null : "an address to listen on",
                certificate is null && previewCertificate is null ? null : "a certificate", hub is null ? null : "a hub", acme is null ? null : "ACME",
                bubblewrap is null ? null : "a bubblewrap", fakeAgent is null ? null : "a fake agent",
                registeredAgentEnvironment is null ? null : "registered agents' variables",
            ];
            var given = string.Join(", ", inProcessOnly.OfType<string>());
            NoteStart(given.Length == 0 ? "binary" : $"in-process: {given}");
            if (given.Length == 0)
            {
                return await StartBinaryAsync(dataDirectory, agentSettings!, publicUrl, pauseWaitingAfter, ownerHome, networkHosts, pushHosts);
            }
        }

        dataDirectory ??= TempPaths.NewDirectory("pc-data");
        // The terminals' shells start in a HOME of their own: the start-up files of whoever runs the tests stay out.
        var terminalHome = Directory.CreateDirectory(Path.Combine(dataDirectory, "terminal-home")).FullName;
        var options = new PocketCoderOptions
        {
            DataDirectory = dataDirectory,
            Listen = listen,
            PublicUrl = publicUrl ?? hub?.PublicUrl,
            Certificate = certificate ?? (acme is not null ? PocketCoder.Reach.Acme.AcmeRenewal.Prepare(dataDirectory, acme.Name, TimeProvider.System) : null),
            PreviewCertificate = previewCertificate ?? (acme?.PreviewName is { } previewName
                ? PocketCoder.Reach.Acme.AcmeRenewal.Prepare(dataDirectory, previewName, TimeProvider.System, PocketCoder.Reach.Acme.AcmeRenewal.PreviewFolder(dataDirectory))
                : null),
            Hub = hub,
            Acme = acme,
            AgentCommands = agents ?? DefaultAgents,
            HeartbeatInterval = heartbeat ?? TimeSpan.FromSeconds(15),
            SubscriberBuffer = subscriberBuffer,
            ConsoleLogging = false,
            LogSink = logs,
            LiveApiDocument = liveApiDocument,
            TerminalEnvironment = new Dictionary<string, string?> { ["HOME"] = terminalHome },
            PauseWaitingAfter = pauseWaitingAfter ?? TimeSpan.FromMinutes(5),
            MaxRunningAgents = TestAgentLimit,
            // A fake chat platform has no rate limit: Telegram's 3 s between a group's messages made its tests minutes long.
            ChatInterval = TestChatInterval,
            Bubblewrap = bubblewrap,
            NetworkHosts = networkHosts ?? new Dictionary<string, string>(),
            PushHosts = pushHosts,
            // The home a phone browses for a project's folder: never the home of whoever runs the tests.
            OwnerHome = ownerHome ?? Directory.CreateDirectory(Path.Combine(dataDirectory, "owner-home")).FullName,
            RegisteredAgentEnvironment = registeredAgentEnvironment ?? new Dictionary<string, string?>(),
        };
        // A fake agent is the only agent there is: no real one is started by mistake.
        var app = PocketCoderServer.Build(options, clock,
            fakeAgent is null ? null : services => services.AddSingleton(new PocketCoder.Agents.AgentRegistry([fakeAgent])));
        await app.StartAsync();
        return new TestServer(app, null, new Uri(PocketCoderServer.BoundUrl(app, options)), dataDirectory, ownsData);
    }

    private static async Task<TestServer> StartBinaryAsync(string? dataDirectory, Dictionary<string, string?> agentSettings,
        string? publicUrl, TimeSpan? pauseWaitingAfter, string? ownerHome, IReadOnlyDictionary<string, string>? networkHosts, IReadOnlyList<string> pushHosts)
    {
        var ownsData = dataDirectory is null;
        dataDirectory ??= TempPaths.NewDirectory("pc-data");
        var environment = new Dictionary<string, string?>
        {
            // The home a phone browses and the terminals' shells start in: never the home of whoever runs the tests.
            ["HOME"] = ownerHome ?? Directory.CreateDirectory(Path.Combine(dataDirectory, "owner-home")).FullName,
            ["POCKETCODER_PUBLIC_URL"] = publicUrl,
            ["POCKETCODER_NETWORK_HOSTS"] = networkHosts is null ? null : string.Join(',', networkHosts.Select(h => $"{h.Key}={h.Value}")),
            ["POCKETCODER_PUSH_HOSTS"] = string.Join(',', pushHosts),
            ["POCKETCODER_PAUSE_WAITING_SECONDS"] = ((int)(pauseWaitingAfter ?? TimeSpan.FromMinutes(5)).TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["POCKETCODER_MAX_AGENTS"] = TestAgentLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        // The agents' settings over the server's own: it runs with their environment, as an owner's server would.
        foreach (var (name, value) in agentSettings)
        {
            environment[name] = value;
        }

        var process = await ServerProcess.StartAsync(dataDirectory, environment);
        return new TestServer(null, process, process.BaseUrl, dataDirectory, ownsData);
    }

    private static readonly Lock StartLog = new();

    /// <summary>
    /// Which servers the binary run started as the binary and which in-process, and why: a line each in
    /// <c>POCKETCODER_TEST_SERVER_LOG</c> when set (scripts/test-aot.sh sums them up).
    /// </summary>
    private static void NoteStart(string how)
    {
        if (Environment.GetEnvironmentVariable("POCKETCODER_TEST_SERVER_LOG") is { Length: > 0 } log)
        {
            lock (StartLog)
            {
                File.AppendAllText(log, how + "\n");
            }
        }
    }

    // Nothing installed unless a test says so: health and errors must say what is missing.
    private static Dictionary<string, AgentCommand> DefaultAgents =>
        new() { ["claude-code"] = new AgentCommand("/nonexistent/claude", new Dictionary<string, string?>()) };

    // The variable `serve` takes each built-in agent's executable from (Server/ServeSettings.cs).
    private static readonly Dictionary<string, string> AgentPathVariables = new()
    {
        ["claude-code"] = "POCKETCODER_CLAUDE_PATH", ["codex"] = "POCKETCODER_CODEX_PATH", ["opencode"] = "POCKETCODER_OPENCODE_PATH",
        ["gemini"] = "POCKETCODER_GEMINI_PATH", ["copilot"] = "POCKETCODER_COPILOT_PATH", ["qwen"] = "POCKETCODER_QWEN_PATH",
        ["pi"] = "POCKETCODER_PI_PATH", ["kilo"] = "POCKETCODER_KILO_PATH",
    };

    /// <summary>
    /// The binary's environment for these agent commands: each one's executable (a built-in one not given is not installed;
    /// in-process it is left out), and their environments, which the agents inherit from the server's.
    /// Null when the command line cannot say it: another agent's id, or two agents wanting one variable differently.
    /// </summary>
    private static Dictionary<string, string?>? BinaryAgentSettings(IReadOnlyDictionary<string, AgentCommand> agents)
    {
        var settings = AgentPathVariables.ToDictionary(p => p.Value, p => (string?)$"/nonexistent/{p.Key}");
        var environment = new Dictionary<string, string?>();
        foreach (var (id, command) in agents)
        {
            if (!AgentPathVariables.TryGetValue(id, out var variable))
            {
                return null;
            }

            settings[variable] = command.Command;
            foreach (var (name, value) in command.Environment)
            {
                if (environment.TryGetValue(name, out var earlier) && earlier != value)
                {
                    return null;
                }

                environment[name] = value;
            }
        }

        foreach (var (name, value) in environment)
        {
            settings[name] = value;
        }

        return settings;
    }

    /// <summary>Adds a person with the role (as an owner's invite does) and pairs their first device.</summary>
    /// <remarks>On the binary the owner invites them through the API, as the app does, from a device of the harness's own
    /// (paired once per server, named "test harness"): the only way in from outside the process.</remarks>
    public async Task<PairedClient> PairPersonAsync(string name, Role role, string? deviceName = null)
    {
        deviceName ??= $"{name}'s phone";
        if (_process is null)
        {
            var person = Services.GetRequiredService<People>().Add(name, role, Actor.System);
            return await PairWithCodeAsync(Services.GetRequiredService<Devices>().CreatePairingCode(person.Id).Code, deviceName);
        }

        return await PairWithCodeAsync(await InviteCodeAsync("/api/people", new { name, role = role.ToWire() }), deviceName);
    }

    /// <summary>Pairs one more device of a person already invited (an invite from the People screen).</summary>
    public async Task<PairedClient> PairDeviceOfAsync(string personId, string deviceName)
    {
        if (_process is null)
        {
            return await PairWithCodeAsync(Services.GetRequiredService<Devices>().CreatePairingCode(personId).Code, deviceName);
        }

        return await PairWithCodeAsync(await InviteCodeAsync($"/api/people/{personId}/invites", new { }), deviceName);
    }

    /// <summary>An invite's pairing code, asked for by the owner's harness device (<c>POST /api/people</c> or an invite).</summary>
    private async Task<string> InviteCodeAsync(string path, object body)
    {
        _inviter ??= await PairAsync("test harness");
        var invite = await _inviter.Http.PostAsJsonAsync(path, body);
        Assert.True(invite.IsSuccessStatusCode, $"POST {path}: {(int)invite.StatusCode} {await invite.Content.ReadAsStringAsync()}");
        return (await invite.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString()!;
    }

    /// <summary>Pairs a new device of the machine's owner the way a phone does (a code as <c>pocketcoder pair</c> makes it)
    /// and returns a client that sends its token.</summary>
    public async Task<PairedClient> PairAsync(string deviceName = "test phone") => await PairWithCodeAsync(await PairingCodeAsync(), deviceName);

    /// <summary>A one-time code for a device of the machine's owner, as <c>pocketcoder pair</c> makes it.</summary>
    public async Task<string> PairingCodeAsync() =>
        _process is null ? Services.GetRequiredService<Devices>().CreatePairingCode(null).Code : await _process.PairingCodeAsync();

    /// <summary>Pairs a new device of the machine's owner as the app on another machine does: with that app's origin.</summary>
    public async Task<PairedClient> PairFromAsync(string appOrigin, string deviceName = "phone from another machine") =>
        await PairWithCodeAsync(await PairingCodeAsync(), deviceName, appOrigin);

    private async Task<PairedClient> PairWithCodeAsync(string code, string deviceName, string? appOrigin = null)
    {
        using var pair = new HttpRequestMessage(HttpMethod.Post, "/api/pair") { Content = JsonContent.Create(new { code, deviceName }) };
        if (appOrigin is not null)
        {
            pair.Headers.TryAddWithoutValidation("Origin", appOrigin);
        }

        var response = await Anonymous.SendAsync(pair);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var token = body.GetProperty("token").GetString()!;
        var client = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new PairedClient(client, body.GetProperty("deviceId").GetString()!, token);
    }

    /// <summary>One value from the server's database file, read as another process would: works with the binary too.</summary>
    public string? ReadDatabase(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection(
            $"Data Source={Path.Combine(DataDirectory, PocketCoder.Data.Database.FileName)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command.ExecuteScalar()?.ToString();
    }

    /// <summary>Stops the server as Ctrl+C would (agents stopped, state saved); the data folder stays.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        if (_process is not null)
        {
            await _process.StopAsync();
            await _process.DisposeAsync();
            return;
        }

        await _app!.StopAsync();
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

/// <summary>
/// A test that needs the in-process server, run where the server is the native binary (<see cref="TestServer.InBinary"/>):
/// scripts/test-aot.sh counts these apart from failures by the message's first words.
/// </summary>
public sealed class InProcessOnlyException(string why) : Exception($"{Marker} {why}")
{
    public const string Marker = "In-process only:";
}
