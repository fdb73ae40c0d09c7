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
        var streams = new[]
        {
            await SseClient.ConnectAsync(phone.Http, "/api/events?tail=true"),
            await SseClient.ConnectAsync(viewer.Http, "/api/events?tail=true"),
            await SseClient.ConnectAsync(WithCookie(watchClient, watchCookie), $"/api/sessions/{session}/events"),
        };
        var unused = devices.CreatePairingCode().Code;

        // Who is connected now: an owner's question (addresses included), each by how it came.
        await ApiAssert.ProblemAsync(await viewer.Http.GetAsync("/api/connections"), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        var connected = (await world.Http.GetOkAsync("/api/connections")).GetProperty("connected").EnumerateArray().ToList();
        Assert.Contains(connected, c => c.GetProperty("deviceId").GetString() == phone.DeviceId && c.GetProperty("via").GetString() == "direct"
            && c.GetProperty("openStreams").GetInt32() == 1 && c.GetProperty("from").GetString() == "127.0.0.1");
        Assert.Contains(connected, c => c.GetProperty("deviceId").GetString() == viewer.DeviceId && c.GetProperty("personName").GetString() == "Vic");
        Assert.Contains(connected, c => c.GetProperty("via").GetString() == "watch" && c.GetProperty("openStreams").GetInt32() == 1);
        Assert.Contains(connected, c => c.GetProperty("via").GetString() == "chat:telegram" && c.GetProperty("deviceName").GetString() == "Telegram @alice");
        await ApiAssert.ProblemAsync(await viewer.Http.PostAsync("/api/lockdown", null), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");

        var (exit, said, _) = await CliAsync(world, "lockdown");
        var answered = Stopwatch.StartNew();
        Assert.True(exit == 0, said);
        // The owner's phone, the second phone, Vic's and Alice's chat identity (and whatever else the world paired).
        Assert.Matches(@"Locked down: [4-9] device\(s\) revoked, 1 watch link\(s\) ended", said);
        // Every stream is cut as the lockdown answers (measured: milliseconds; the bound is for a loaded machine).
        await Task.WhenAll(streams.Select(s => s.WaitForEndAsync(TimeSpan.FromSeconds(5))));
        var cut = answered.Elapsed;

        // And each is refused afterwards: the phones (the owner's own too: only the terminal that asked goes on), the watch
        // link, the chat identity, the code made before, and any new one.
        foreach (var http in new[] { phone.Http, viewer.Http, world.Http })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/projects")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookie(watchClient, watchCookie).GetAsync($"/api/sessions/{session}/events/page")).StatusCode);
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

    private static HttpClient WithCookie(HttpClient client, string cookie)
    {
        client.DefaultRequestHeaders.Remove("Cookie");
        client.DefaultRequestHeaders.Add("Cookie", cookie);
        return client;
    }
}
