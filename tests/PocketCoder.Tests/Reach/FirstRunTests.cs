using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using PocketCoder.Agents.Processes;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reach;

/// <summary>
/// A first run that reaches the phone (issue #37, item 10): <c>serve</c>, <c>pair</c> and <c>doctor</c> print an address a
/// phone can open (this machine's LAN addresses, the public URL, the hub's, Tailscale's), say when the server listens on
/// loopback only and how to listen on the LAN, that without https the app neither installs nor notifies, and the one
/// next step to https. The CLI runs as its own process, as a user runs it; Tailscale is a fake <c>tailscale</c> named by
/// POCKETCODER_TAILSCALE that answers <c>status --json</c> and <c>serve status --json</c> (no Tailscale here: what the real
/// one prints is taken from its documented JSON, and <c>tailscale serve</c> itself is never run).
/// </summary>
public sealed class FirstRunTests : IDisposable
{
    private const string TailnetName = "box.tail1234.ts.net";
    private readonly string _data = TempPaths.NewDirectory("pc-firstrun");
    private readonly string _bin = TempPaths.NewDirectory("pc-firstrun-bin");

    public void Dispose()
    {
        TempPaths.Delete(_data);
        TempPaths.Delete(_bin);
    }

    // ---- pair --------------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("192.168.1.20", true)]
    [InlineData("10.0.0.5", true)]
    [InlineData("172.20.3.4", true)]
    [InlineData("100.100.1.1", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("203.0.113.7", false)]
    [InlineData("8.8.8.8", false)]
    public void LanAddress_OnlyPrivateNetworks_APublicAddressNeverGetsAPlainHttpPairingLink(string address, bool offered)
    {
        IPAddress[] lan = [IPAddress.Parse(address)];
        var http = PhoneRoute.Choose(new Uri("http://0.0.0.0:7420"), null, null, null, lan);
        var https = PhoneRoute.Choose(new Uri("https://0.0.0.0:7420"), null, null, null, lan);

        Assert.Equal(offered ? [$"http://{address}:7420"] : [], http.Addresses);
        Assert.Equal(offered, !http.Advice.Any(a => a.Contains("addresses are public", StringComparison.Ordinal)));
        Assert.Equal([$"https://{address}:7420"], https.Addresses);
    }

    [Fact]
    public async Task Pair_ServerOnLoopbackOnly_SaysAPhoneCannotOpenIt_HowToListenOnTheLan_AndTheHttpsStep()
    {
        var (exit, output, _) = await PocketCoderAsync(NoTailscale, "pair", "--data", _data);

        Assert.Equal(0, exit);
        Assert.Contains("Or open http://127.0.0.1:7420/#pair=", output, StringComparison.Ordinal);
        Assert.Contains("listens only on this machine (127.0.0.1): a phone cannot open", output, StringComparison.Ordinal);
        Assert.Contains($"To listen on the LAN: {PocketCoderCommand.Says("serve")} --listen http://0.0.0.0:7420", output, StringComparison.Ordinal);
        Assert.Contains(PhoneRoute.WithoutHttps, output, StringComparison.Ordinal);
        Assert.Contains("Next, for https:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pair_ServerOnEveryInterface_LinksToThisMachinesLanAddress_NotToZeroZeroZeroZero()
    {
        new ServerAddress("http://0.0.0.0:8123", "http://0.0.0.0:8123").Write(_data);

        var (exit, output, _) = await PocketCoderAsync(NoTailscale, "pair", "--data", _data);

        Assert.Equal(0, exit);
        Assert.DoesNotContain("0.0.0.0:8123/#pair", output, StringComparison.Ordinal);
        var all = PhoneRoute.LanAddresses();
        var lan = all.Where(PhoneRoute.IsPrivate).ToList();
        if (lan.Count == 0)
        {
            Assert.Contains(all.Count == 0 ? "no network address a phone could open" : "addresses are public", output, StringComparison.Ordinal);
            Assert.Contains("Or open http://127.0.0.1:8123/#pair=", output, StringComparison.Ordinal);
            return;
        }

        Assert.Contains($"Or open http://{lan[0]}:8123/#pair=", output, StringComparison.Ordinal);
        Assert.Contains(PhoneRoute.WithoutHttps, output, StringComparison.Ordinal);
        Assert.DoesNotContain("listens only on this machine", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pair_HttpsPublicUrl_LinksThere_WithNoHttpsWarning()
    {
        new ServerAddress("http://127.0.0.1:7420", "https://pc.example.com").Write(_data);

        var (exit, output, _) = await PocketCoderAsync(NoTailscale, "pair", "--data", _data);

        Assert.Equal(0, exit);
        Assert.Contains("Or open https://pc.example.com/#pair=", output, StringComparison.Ordinal);
        Assert.DoesNotContain(PhoneRoute.WithoutHttps, output, StringComparison.Ordinal);
        Assert.DoesNotContain("listens only on this machine", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pair_TailscaleConnected_OffersTailscaleServe_AsTheHttpsStep()
    {
        var (exit, output, _) = await PocketCoderAsync(FakeTailscale(servesPort: null), "pair", "--data", _data);

        Assert.Equal(0, exit);
        Assert.Contains($"Next, for https: run `tailscale serve --bg 7420`, then restart `{PocketCoderCommand.Says("serve")}`: it takes https://{TailnetName}",
            output, StringComparison.Ordinal);
    }

    // ---- serve -------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Serve_OnEveryInterface_PrintsTheLanAddressPhonesOpen_AndThatPlainHttpNeitherInstallsNorNotifies()
    {
        var port = FreePort();
        var output = await ServeUntilReadyAsync(NoTailscale, $"http://0.0.0.0:{port}");

        var all = PhoneRoute.LanAddresses();
        var lan = all.Where(PhoneRoute.IsPrivate).ToList();
        if (lan.Count == 0)
        {
            Assert.Contains(all.Count == 0 ? "no network address a phone could open" : "addresses are public", output, StringComparison.Ordinal);
            return;
        }

        Assert.Contains($"Phones open: http://{lan[0]}:{port}", output, StringComparison.Ordinal);
        Assert.Contains(PhoneRoute.WithoutHttps, output, StringComparison.Ordinal);
        Assert.Contains("Next, for https:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_OnLoopback_SaysSo_AndHowToListenOnTheLan()
    {
        var port = FreePort();
        var output = await ServeUntilReadyAsync(NoTailscale, $"http://127.0.0.1:{port}");

        Assert.DoesNotContain("Phones open:", output, StringComparison.Ordinal);
        Assert.Contains("listens only on this machine (127.0.0.1)", output, StringComparison.Ordinal);
        Assert.Contains($"{PocketCoderCommand.Says("serve")} --listen http://0.0.0.0:{port}", output, StringComparison.Ordinal);
        Assert.Contains(PhoneRoute.WithoutHttps, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_NoPhonePairedYet_PrintsACodeAndItsLinkItself_ThatPairs_AndOnceOneIsJustThePairCommand()
    {
        var port = FreePort();
        var output = await ServeUntilReadyAsync(NoTailscale, $"http://127.0.0.1:{port}");

        Assert.Contains("No phone is paired yet", output, StringComparison.Ordinal);
        var code = System.Text.RegularExpressions.Regex.Match(output, @"Pairing code: (\S+)").Groups[1].Value;
        Assert.Contains($"Or open http://127.0.0.1:{port}/#pair={code}", output, StringComparison.Ordinal);
        Assert.Contains($"or another one, run `{PocketCoderCommand.Says("pair")}", output, StringComparison.Ordinal);

        // The code is good: a phone redeems it (here straight in the data folder the stopped server used).
        using (var database = new global::PocketCoder.Data.Database(_data))
        {
            var devices = new global::PocketCoder.Auth.Devices(database, new global::PocketCoder.Ledger.LedgerStore(database, TimeProvider.System), TimeProvider.System);
            Assert.NotNull(devices.Redeem(code, "phone"));
        }

        var again = await ServeUntilReadyAsync(NoTailscale, $"http://127.0.0.1:{FreePort()}");
        Assert.DoesNotContain("Pairing code:", again, StringComparison.Ordinal);
        Assert.Contains($"To pair a phone, run `{PocketCoderCommand.Says("pair")}", again, StringComparison.Ordinal);
    }

    /// <summary>A machine locked down (#68) starts, and says so rather than make a code its lockdown refuses.</summary>
    [Fact]
    public async Task Serve_LockedDown_StartsAndSaysNothingPairsUntilLifted_NoCode()
    {
        using (var database = new global::PocketCoder.Data.Database(_data))
        {
            database.Migrate();
            database.Write(write => write.Execute("INSERT INTO lockdown (id, locked_at, locked_by) VALUES (1, '2026-11-29T12:00:00.0000000Z', 'desk')"));
        }

        var output = await ServeUntilReadyAsync(NoTailscale, $"http://127.0.0.1:{FreePort()}");
        Assert.Contains("Locked down since 2026-11-29 12:00 UTC by desk: no phone pairs until", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Pairing code:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_TailscaleServingItsPort_TakesTheTsNetNameAsItsPublicUrl_AndPairLinksThere()
    {
        var port = FreePort();
        var tailscale = FakeTailscale(servesPort: port);
        var output = await ServeUntilReadyAsync(tailscale, $"http://127.0.0.1:{port}");

        Assert.Contains($"reached at https://{TailnetName}", output, StringComparison.Ordinal);
        Assert.Contains($"Phones open: https://{TailnetName} (Tailscale", output, StringComparison.Ordinal);
        Assert.DoesNotContain(PhoneRoute.WithoutHttps, output, StringComparison.Ordinal);

        // The server recorded it: pair's link goes there.
        var (exit, pair, _) = await PocketCoderAsync(tailscale, "pair", "--data", _data);
        Assert.Equal(0, exit);
        Assert.Contains($"Or open https://{TailnetName}/#pair=", pair, StringComparison.Ordinal);
    }

    // ---- doctor ------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Doctor_LoopbackWithoutTailscale_SaysThisMachineOnly_WhyPushNeedsHttps_AndTheNextStep()
    {
        var (_, output, _) = await PocketCoderAsync(NoTailscale, "doctor", "--data", _data);

        Assert.Contains("-    reach: this machine only: serve listens on 127.0.0.1, which a phone cannot open", output, StringComparison.Ordinal);
        Assert.Contains("-    tailscale: not installed", output, StringComparison.Ordinal);
        Assert.Contains("-    push: not possible yet: browsers let only an https page install the app and receive notifications", output, StringComparison.Ordinal);
        Assert.Contains("Next, for https: take one of the routes in docs/reach.md", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_TailscaleServingThePort_RouteIsTailscale_AndPushCanWork()
    {
        var (_, output, _) = await PocketCoderAsync(FakeTailscale(servesPort: 7420), "doctor", "--data", _data);

        Assert.Contains($"ok   reach: Tailscale serves this machine as https://{TailnetName}", output, StringComparison.Ordinal);
        Assert.Contains($"ok   tailscale: connected as https://{TailnetName}, serving this port", output, StringComparison.Ordinal);
        Assert.Contains("ok   push: phones open an https address", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_JoinedToAHub_RouteIsTheHub()
    {
        File.WriteAllText(Path.Combine(_data, "hub.json"),
            """{"hub":"https://hub.example.com","token":"t","publicUrl":"https://m1.hub.example.com"}""");
        Assert.NotNull(HubMembership.Load(_data));

        var (_, output, _) = await PocketCoderAsync(NoTailscale, "doctor", "--data", _data);

        Assert.Contains("ok   reach: through the hub: phones open https://m1.hub.example.com", output, StringComparison.Ordinal);
        Assert.Contains("ok   push: phones open an https address", output, StringComparison.Ordinal);
    }

    // ---- the route itself, with Tailscale behind its runner ----------------------------------------------------------

    [Fact]
    public async Task Tailscale_ReadsItsNameAndWhatServeProxies_ThroughTheRunner()
    {
        var runner = new ScriptedRunner(StatusJson(running: true), ServeJson(7420));
        var state = await new Tailscale(runner, "tailscale").StatusAsync(CancellationToken.None);

        Assert.NotNull(state);
        Assert.Equal($"https://{TailnetName}", state.HttpsUrl);
        Assert.True(state.Serves(7420));
        Assert.False(state.Serves(7421));
        Assert.Equal(["status --json", "serve status --json"], runner.Calls);
    }

    [Theory]
    [InlineData(":8443", "/")]
    [InlineData(":443", "/pocketcoder")]
    public async Task Tailscale_ProxyOnAnotherPortOrPath_IsNotThisMachinesAddress(string site, string path)
    {
        var serve = """{"Web":{""" + $"\"{TailnetName}{site}\"" + """:{"Handlers":{""" + $"\"{path}\"" + """:{"Proxy":"http://127.0.0.1:7420"}}}}}""";
        var state = await new Tailscale(new ScriptedRunner(StatusJson(running: true), serve), "tailscale").StatusAsync(CancellationToken.None);

        // Pairing links name https://NAME/: a proxy reached at another port or path would put the code in someone else's page.
        Assert.False(state!.Serves(7420));
    }

    [Fact]
    public async Task Tailscale_NotInstalled_IsNull_AndLoggedOut_HasNoName()
    {
        Assert.Null(await new Tailscale(new ScriptedRunner((string?)null), "tailscale").StatusAsync(CancellationToken.None));
        var stopped = await new Tailscale(new ScriptedRunner(StatusJson(running: false)), "tailscale").StatusAsync(CancellationToken.None);
        Assert.NotNull(stopped);
        Assert.Null(stopped.HttpsUrl);
        Assert.Contains("tailscale up", PhoneRoute.NextStepForHttps(7420, stopped), StringComparison.Ordinal);
    }

    [Fact]
    public void Route_ChoosesPublicUrl_ThenHub_ThenTailscale_ThenLan_ThenLoopback()
    {
        IPAddress[] lan = [IPAddress.Parse("192.168.1.20")];
        var tailnet = new TailscaleState(TailnetName, true, ["http://127.0.0.1:7420"]);
        var hub = new HubMembership("https://hub.example.com", "t", "https://m1.hub.example.com");
        var loopback = new Uri("http://127.0.0.1:7420");

        Assert.Equal(RouteKind.PublicUrl, PhoneRoute.Choose(loopback, "https://pc.example.com", null, tailnet, lan).Kind);
        Assert.Equal(RouteKind.Hub, PhoneRoute.Choose(loopback, hub.PublicUrl, hub, tailnet, lan).Kind);
        Assert.Equal(RouteKind.Tailscale, PhoneRoute.Choose(loopback, null, null, tailnet, lan).Kind);
        var onLan = PhoneRoute.Choose(new Uri("http://0.0.0.0:7420"), null, null, null, lan);
        Assert.Equal(RouteKind.Lan, onLan.Kind);
        Assert.Equal(["http://192.168.1.20:7420"], onLan.Addresses);
        Assert.False(onLan.Https);
        Assert.Equal(RouteKind.LoopbackOnly, PhoneRoute.Choose(loopback, null, null, null, lan).Kind);
    }

    // ---- helpers -----------------------------------------------------------------------------------------------------

    /// <summary>A Tailscale that is not there (even on a machine that has one).</summary>
    private static Dictionary<string, string> NoTailscale => new() { [Tailscale.ProgramVariable] = "/nonexistent/tailscale" };

    /// <summary>A fake <c>tailscale</c>: connected as <see cref="TailnetName"/>, serving <paramref name="servesPort"/> (none when null).</summary>
    private Dictionary<string, string> FakeTailscale(int? servesPort)
    {
        var script = Path.Combine(_bin, "tailscale");
        var status = StatusJson(running: true);
        var serve = servesPort is { } port ? ServeJson(port) : "{}";
        File.WriteAllText(script, $"""
            #!/bin/sh
            if [ "$1" = status ]; then cat <<'EOF'
            {status}
            EOF
            elif [ "$1" = serve ]; then cat <<'EOF'
            {serve}
            EOF
            else exit 2; fi
            """);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return new() { [Tailscale.ProgramVariable] = script };
    }

    private static string StatusJson(bool running) =>
        running
            ? $$"""{"Version":"1.80.0","BackendState":"Running","Self":{"HostName":"box","DNSName":"{{TailnetName}}.","TailscaleIPs":["100.101.102.103"]},"MagicDNSSuffix":"tail1234.ts.net"}"""
            : """{"Version":"1.80.0","BackendState":"Stopped","Self":{"HostName":"box","DNSName":""}}""";

    private static string ServeJson(int port) =>
        """{"TCP":{"443":{"HTTPS":true}},"Web":{""" + $"\"{TailnetName}:443\"" + """:{"Handlers":{"/":{"Proxy":"http://127.0.0.1:""" + port +
        "\"}}}}}";

    private sealed class ScriptedRunner(params string?[] answers) : IProgramRunner
    {
        private int _next;

        public List<string> Calls { get; } = [];

        public Task<ProcessResult?> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        {
            Calls.Add(string.Join(' ', arguments));
            var answer = _next < answers.Length ? answers[_next++] : null;
            return Task.FromResult(answer is null ? null : new ProcessResult(0, answer, "", false, false));
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static ProcessStartInfo Start(IReadOnlyDictionary<string, string> environment, string[] arguments)
    {
        var info = PocketCoderCommand.Info(arguments);

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return info;
    }

    /// <summary>The built CLI as its own process: its exit code and what it printed.</summary>
    private static async Task<(int Exit, string Output, string Error)> PocketCoderAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        using var process = Process.Start(Start(environment, arguments))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>Runs serve until it prints its last start-up line (how to pair), then stops it: what it printed.</summary>
    private async Task<string> ServeUntilReadyAsync(IReadOnlyDictionary<string, string> environment, string listen)
    {
        using var process = Process.Start(Start(environment, ["serve", "--listen", listen, "--data", _data]))!;
        var printed = new System.Text.StringBuilder();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            while (await process.StandardOutput.ReadLineAsync(limit.Token) is { } line)
            {
                printed.AppendLine(line);
                // Its last line: how to pair, or (locked down) that nothing pairs.
                if (line.StartsWith("To pair a phone", StringComparison.Ordinal) || line.StartsWith("Locked down since", StringComparison.Ordinal))
                {
                    return printed.ToString();
                }
            }

            Assert.Fail($"serve stopped before it was ready:\n{printed}\n{await error}");
            return "";
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
        }
    }
}
