using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Cli;
using PocketCoder.Teams;
using PocketCoder.Tests.Bridges;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reach;

/// <summary>
/// Reach an owner can see and cut (#68, docs/security.md "Reach you can see and cut"): who is connected now, by how they came,
/// and <c>pocketcoder lockdown</c>, which cuts every remote device, watch link and chat identity at once, stops pairing, and
/// keeps the terminal that asked; only the machine's own terminal lifts it.
/// </summary>
public sealed class LockdownTests
{
    private const long Alice = 111;

    [Fact]
    public async Task Lockdown_CutsEveryStreamWatchLinkAndChatIdentityAtOnce_NothingPairsUntilLiftedHere_TheTerminalGoesOn()
    {
        var telegram = await FakeTelegram.StartAsync();
        await using var _ = telegram;
        await using var world = await AgentWorld.StartAsync("claude-code", ClaudeCli.Against, prepareData: (data, _, _) => telegram.Configure(data));
        var devices = world.Server.Services.GetRequiredService<Devices>();

        // A chat identity, a second phone and a viewer's phone with their streams open, and a watch link opened.
        telegram.Write(Alice, Alice, "alice", $"/pair {devices.CreatePairingCode().Code}");
        await telegram.MessageAsync(Alice, "Linked");
        var phone = await world.Server.PairAsync("second phone");
        var viewer = await world.Server.PairPersonAsync("Vic", Role.Viewer);
        world.Model.Enqueue(ScriptedReply.Text("Hello."));
        var session = await world.StartSessionAsync("Say hello.");
        var watchCookie = await OpenWatchLinkAsync(world, session);
        using var watchClient = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = world.Server.BaseUrl };
        SseClient[] streams =
        [
            await SseClient.ConnectAsync(phone.Http, "/api/events?tail=true"),
            await SseClient.ConnectAsync(viewer.Http, "/api/events?tail=true"),
            await SseClient.ConnectAsync(WithCookie(watchClient, watchCookie), $"/api/sessions/{session}/events"),
        ];
        var unused = devices.CreatePairingCode().Code;
        // The second phone's token used from another address too (a copied cookie), a terminal a phone opened, and the terminal's
        // token before the lockdown (a shell could read it from the data folder).
        using var copied = FromAddress(world.Server.BaseUrl, "127.0.0.2", phone.Token);
        streams = [.. streams, await SseClient.ConnectAsync(copied, "/api/events?tail=true")];
        await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/terminal", new { cols = 80, rows = 24 });
        var terminals = world.Server.Services.GetRequiredService<PocketCoder.Workspace.Terminal.Terminals>();
        Assert.True(await terminals.ExistsAsync(PocketCoder.Workspace.Terminal.Terminals.SessionName(world.ProjectId), CancellationToken.None));
        Assert.Equal(0, (await CliAsync(world, "status")).Exit);
        var oldTerminalToken = (await File.ReadAllTextAsync(Path.Combine(world.Server.DataDirectory, ServerClient.TokenFileName))).Trim();

        // Who is connected now: an owner's question (addresses included), each by how it came.
        await ApiAssert.ProblemAsync(await viewer.Http.GetAsync("/api/connections"), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        var connected = (await world.Http.GetOkAsync("/api/connections")).GetProperty("connected").EnumerateArray().ToList();
        Assert.Contains(connected, c => c.GetProperty("deviceId").GetString() == phone.DeviceId && c.GetProperty("via").GetString() == "direct"
            && c.GetProperty("openStreams").GetInt32() == 1 && c.GetProperty("from").GetString() == "127.0.0.1");
        Assert.Contains(connected, c => c.GetProperty("deviceId").GetString() == viewer.DeviceId && c.GetProperty("personName").GetString() == "Vic");
        Assert.Contains(connected, c => c.GetProperty("via").GetString() == "watch" && c.GetProperty("openStreams").GetInt32() == 1);
        Assert.Contains(connected, c => c.GetProperty("deviceId").GetString() == phone.DeviceId && c.GetProperty("from").GetString() == "127.0.0.2");
        Assert.Contains(connected, c => c.GetProperty("via").GetString() == "chat:telegram" && c.GetProperty("deviceName").GetString() == "Telegram @alice");
        await ApiAssert.ProblemAsync(await viewer.Http.PostAsync("/api/lockdown", null), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");

        var (exit, said, _) = await CliAsync(world, "lockdown");
        var answered = Stopwatch.StartNew();
        Assert.True(exit == 0, said);
        // The owner's phone, the second phone, Vic's, Alice's chat identity and the old terminal (and whatever else the world paired).
        Assert.Matches(@"Locked down: [5-9] device\(s\) revoked, 1 watch link\(s\) ended, \d+ pairing code\(s\) voided, every terminal ended", said);
        // Every stream is cut as the lockdown answers (measured: milliseconds; the bound is for a loaded machine).
        await Task.WhenAll(streams.Select(s => s.WaitForEndAsync(TimeSpan.FromSeconds(5))));
        var cut = answered.Elapsed;

        // And each is refused afterwards: the phones (the owner's own too: only the terminal that asked goes on), the watch
        // link, the chat identity, the code made before, and any new one.
        using var oldTerminal = FromAddress(world.Server.BaseUrl, "127.0.0.1", oldTerminalToken);
        foreach (var http in new[] { phone.Http, viewer.Http, world.Http, oldTerminal })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/projects")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookie(watchClient, watchCookie).GetAsync($"/api/sessions/{session}/events/page")).StatusCode);
        Assert.False(await terminals.ExistsAsync(PocketCoder.Workspace.Terminal.Terminals.SessionName(world.ProjectId), CancellationToken.None));
        Assert.NotNull(devices.List().Single(d => d.Name == "Telegram @alice").RevokedAt);
        telegram.Write(Alice, Alice, "alice", $"/pair {unused}");
        await telegram.MessageAsync(Alice, "This machine is locked down");
        await ApiAssert.ProblemAsync(await world.Server.Anonymous.PostAsJsonAsync("/api/pair", new { code = unused, deviceName = "thief" }),
            (HttpStatusCode)423, "LOCKED_DOWN");
        var (pairExit, _, pairError) = await CliAsync(world, "pair");
        Assert.Equal(1, pairExit);
        Assert.Contains("lockdown --lift", pairError, StringComparison.Ordinal);

        // The terminal goes on, and says so.
        var (statusExit, status, _) = await CliAsync(world, "status");
        Assert.Equal(0, statusExit);
        Assert.Contains("LOCKED DOWN", status, StringComparison.Ordinal);
        var (_, doctor, _) = await CliAsync(world, "doctor");
        Assert.Contains("reach: LOCKED DOWN", doctor, StringComparison.Ordinal);

        // Lifted here (the data folder), devices pair again; both acts are in the ledger.
        var (liftExit, lifted, _) = await CliAsync(world, "lockdown", "--lift");
        Assert.Equal(0, liftExit);
        Assert.Contains("Lockdown lifted", lifted, StringComparison.Ordinal);
        var again = await world.Server.PairAsync("owner's phone, paired again");
        var ledger = (await again.Http.GetOkAsync("/api/ledger?limit=500")).GetProperty("entries").EnumerateArray()
            .Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("reach.lockdown", ledger);
        Assert.Contains("reach.lockdown_lifted", ledger);
        Assert.True(cut < TimeSpan.FromSeconds(5), $"streams ended {cut.TotalMilliseconds:0} ms after the answer");
        foreach (var stream in streams)
        {
            await stream.DisposeAsync();
        }
    }

    /// <summary>
    /// The owner's phone is stolen while the server is down: <c>pocketcoder lockdown</c> finds nothing listening and locks the data
    /// folder itself, so the server starts locked. Every old token, the watch link and the unused pairing code are refused from
    /// its first request; the terminal goes on with a device of its own; lifted, a phone pairs again.
    /// </summary>
    [Fact]
    public async Task Lockdown_WithTheServerStopped_LocksTheDataFolder_AndTheServerStartsLocked()
    {
        await using var world = await AgentWorld.FakeAsync(new FakeAgent());
        var phone = await world.Server.PairAsync("stolen phone");
        var session = await world.StartSessionAsync("Say hello.");
        var watchCookie = await OpenWatchLinkAsync(world, session);
        var unused = world.Server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;

        var (exit, said, error) = (0, "", "");
        await world.RestartServerAsync(async () => (exit, said, error) = await CliAsync(world, "lockdown"));

        Assert.True(exit == 0, error);
        Assert.Matches(@"not running at .*: locked down in its data folder instead\. [3-9] device\(s\) revoked, 1 watch link\(s\) ended, [1-9]\d* pairing code", said);
        foreach (var token in new[] { phone.Token, world.Phone.Token })
        {
            using var http = FromAddress(world.Server.BaseUrl, "127.0.0.1", token);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/projects")).StatusCode);
        }

        using var watchClient = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = world.Server.BaseUrl };
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookie(watchClient, watchCookie).GetAsync($"/api/sessions/{session}/events/page")).StatusCode);
        await ApiAssert.ProblemAsync(await world.Server.Anonymous.PostAsJsonAsync("/api/pair", new { code = unused, deviceName = "thief" }),
            (HttpStatusCode)423, "LOCKED_DOWN");
        var (statusExit, status, _) = await CliAsync(world, "status");
        Assert.Equal(0, statusExit);
        Assert.Contains("LOCKED DOWN", status, StringComparison.Ordinal);

        Assert.Equal(0, (await CliAsync(world, "lockdown", "--lift")).Exit);
        var again = await world.Server.PairAsync("the owner's new phone");
        var locked = (await again.Http.GetOkAsync("/api/ledger?limit=500")).GetProperty("entries").EnumerateArray()
            .Single(e => e.GetProperty("action").GetString() == "reach.lockdown");
        Assert.True(locked.GetProperty("detail").GetProperty("offline").GetBoolean());
    }

    /// <summary>The terminal's verbs, as the owner at the machine runs them (its own device, from the data folder).</summary>
    private static async Task<(int Exit, string Output, string Error)> CliAsync(AgentWorld world, params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        // pair, doctor and --lift work on the data folder alone; the others ask the running server.
        string[] url = args[0] is "pair" or "doctor" || args.Contains("--lift") ? [] : ["--url", world.Server.BaseUrl.ToString()];
        var exit = await CommandLine.RunAsync([.. args, "--data", world.Server.DataDirectory, .. url], output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private static async Task<string> OpenWatchLinkAsync(AgentWorld world, string session)
    {
        var url = (await world.Http.PostOkAsync($"/api/sessions/{session}/watch-links", new { })).GetProperty("url").GetString()!;
        var opened = await world.Server.Anonymous.PostAsJsonAsync("/api/watch/open", new { token = url["/watch#".Length..] });
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        return Assert.Single(opened.Headers.GetValues("Set-Cookie")).Split(';')[0];
    }

    /// <summary>A client whose connections leave from <paramref name="address"/> (a loopback address of its own), as a bearer.</summary>
    private static HttpClient FromAddress(Uri server, string address, string token)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        var client = new HttpClient(handler) { BaseAddress = server };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static HttpClient WithCookie(HttpClient client, string cookie)
    {
        client.DefaultRequestHeaders.Remove("Cookie");
        client.DefaultRequestHeaders.Add("Cookie", cookie);
        return client;
    }
}
