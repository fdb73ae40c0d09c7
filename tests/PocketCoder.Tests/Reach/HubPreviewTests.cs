using System.Net;
using System.Net.Http.Json;
using FakeLlm;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Hub;
using PocketCoder.Reach;
using PocketCoder.Reach.Hub;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reach;

/// <summary>
/// Previews through the hub (docs/reach.md, "Previews"): a phone that reaches the machine only through the hub opens a
/// session's preview through the same hub, on a name of its own (<c>preview.m1.hub.test</c>), whose TLS ends on the machine
/// with the preview name's own certificate, under the rules of a direct preview: the one-time code, the grant's cookie, the
/// isolation headers, none of the app's cookies or API. The REAL Claude Code CLI, sandboxed, starts the dev server.
/// </summary>
public sealed class HubPreviewTests : IAsyncLifetime
{
    private const int DevPort = 5173;
    private const string PreviewHost = "preview.m1.hub.test";
    private readonly string _files = TempPaths.NewDirectory("pc-hubpreview");
    private readonly TestCertificates _certificates = new();
    private readonly CapturedLogs _hubLogs = new();
    private WebApplication _hub = null!;

    private int HubPort => new Uri(_hub.Urls.First()).Port;

    private string HubData => Path.Combine(_files, "hub-data");

    public async Task InitializeAsync()
    {
        _certificates.WriteServerCertificate(File("hub.pem"), File("hub.key"), "hub.test");
        var hubCertificate = TlsCertificate.Load(File("hub.pem"), File("hub.key"), TimeProvider.System);
        _hub = HubServer.Build(new HubOptions
        {
            Domain = "hub.test",
            Listen = "https://127.0.0.1:0",
            DataDirectory = HubData,
            Certificate = () => hubCertificate.Context,
            ConsoleLogging = false,
            LogSink = _hubLogs,
        });
        await _hub.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        TempPaths.Delete(_files);
    }

    [Fact]
    public async Task Preview_ThroughTheHub_OnANameOfItsOwn_ItsOwnCertificate_TheSameGrantAndIsolationAsDirect()
    {
        var machineThumbprint = _certificates.WriteServerCertificate(File("m1.pem"), File("m1.key"), "m1.hub.test");
        var previewThumbprint = _certificates.WriteServerCertificate(File("preview.pem"), File("preview.key"), PreviewHost);
        await using var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        var repository = TempPaths.NewGitRepository();
        try
        {
            await System.IO.File.WriteAllTextAsync(Path.Combine(repository, "devserver.js"), Browser.PreviewBrowserTests.DevServer);
            model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "node devserver.js", run_in_background = true, description = "Start the dev server" }),
                ScriptedReply.Text("The dev server runs on port 5173."));
            await using var machine = await StartMachineAsync(ClaudeCli.Against(model, home), home);
            var laptop = await machine.PairAsync("laptop");

            // The phone reaches the machine only through the hub, with the app's cookie.
            var seen = new List<string>();
            using var phone = HubPhone.Create(_certificates, HubPort, seen);
            var code = machine.Services.GetRequiredService<PocketCoder.Auth.Devices>().CreatePairingCode().Code;
            var paired = await phone.PostAsJsonAsync("/api/pair", new { code, deviceName = "phone via hub" });
            var appCookie = Assert.Single(paired.Headers.GetValues("Set-Cookie")).Split(';')[0];
            Assert.StartsWith("__Host-pocketcoder_session=", appCookie, StringComparison.Ordinal);
            var sessionId = await RunDevServerAsync(laptop, repository);

            // Opened from the phone through the hub: the link names the hub's preview host on the hub's port.
            using var open = new HttpRequestMessage(HttpMethod.Post, $"/api/sessions/{sessionId}/previews") { Content = JsonContent.Create(new { port = DevPort }) };
            open.Headers.Add("Cookie", appCookie);
            open.Headers.Add("Origin", $"https://m1.hub.test:{HubPort}");
            var opened = await ApiAssert.OkJsonAsync(await phone.SendAsync(open));
            var url = new Uri(opened.GetProperty("url").GetString()!);
            Assert.Equal($"https://{PreviewHost}:{HubPort}", url.GetLeftPart(UriPartial.Authority));
            Assert.Equal(machineThumbprint, Assert.Single(seen.Distinct()));

            var previewSeen = new List<string>();
            using var preview = HubPhone.Create(_certificates, HubPort, previewSeen, PreviewHost);
            var previewCookie = await ExchangeAsync(preview, url, appCookie);
            // TLS for the preview's name ends on the machine too, with that name's own certificate.
            Assert.Equal(previewThumbprint, Assert.Single(previewSeen.Distinct()));
            await AssertIsolatedAsync(preview, previewCookie, appCookie, phone);

            // Closed from the phone: the preview's cookie opens nothing more.
            using var close = new HttpRequestMessage(HttpMethod.Delete, $"/api/previews/{opened.GetProperty("preview").GetProperty("id").GetString()}");
            close.Headers.Add("Cookie", appCookie);
            close.Headers.Add("Origin", $"https://m1.hub.test:{HubPort}");
            Assert.Equal(HttpStatusCode.NoContent, (await phone.SendAsync(close)).StatusCode);
            Assert.Equal("PREVIEW_NOT_OPEN", await ErrorOfAsync(await SendAsync(preview, "/", previewCookie)));
            // The hub passed ciphertext only, and logged none of the page.
            Assert.DoesNotContain(_hubLogs.Entries, e => e.Message.Contains("Built by the agent", StringComparison.Ordinal));
        }
        finally
        {
            TempPaths.Delete(repository);
            TempPaths.Delete(home);
        }
    }

    /// <summary>
    /// The phone app in Chromium through the hub (web/e2e/preview.mjs with the machine's names mapped to the hub on loopback and
    /// both certificates' keys pinned, as a phone's DNS and CA would have them): the session's dev server is listed, opens in a
    /// new tab on https://preview.m1.hub.test on the hub's port in a secure context, its websocket message arrives through the
    /// hub, and the preview origin's isolation checks pass there as they do direct; it closes from the phone and ends with the
    /// session.
    /// </summary>
    [Fact]
    public async Task Chromium_OpensThePreviewThroughTheHub_OnItsOwnName_IsolationChecksPassThere()
    {
        var web = Path.Combine(ClaudeCli.RepositoryRoot(), "web");
        Assert.True(Directory.Exists(Path.Combine(web, "node_modules", "playwright-core")), "web/node_modules is missing: build without -p:SkipWebBuild=true.");
        _certificates.WriteServerCertificate(File("m1.pem"), File("m1.key"), "m1.hub.test");
        _certificates.WriteServerCertificate(File("preview.pem"), File("preview.key"), PreviewHost);
        await using var model = await FakeModelServer.StartAsync();
        var home = TempPaths.NewDirectory("pc-home");
        var repository = TempPaths.NewGitRepository();
        try
        {
            await System.IO.File.WriteAllTextAsync(Path.Combine(repository, "devserver.js"), Browser.PreviewBrowserTests.DevServer);
            model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "node devserver.js", run_in_background = true, description = "Start the dev server" }),
                ScriptedReply.Text("The dev server runs on port 5173."));
            await using var machine = await StartMachineAsync(ClaudeCli.Against(model, home), home);
            var code = await Browser.BrowserScript.PairingCodeAsync(machine.DataDirectory);
            var shots = Path.Combine(web, "test-results");
            var (exit, log) = await Browser.PhoneAppBrowserTests.RunNodeAsync(web,
                ["e2e/preview.mjs", "--url", $"https://m1.hub.test:{HubPort}", "--code", code, "--repo", repository, "--shots", shots,
                 "--port", DevPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--spki", $"{Pin("m1")},{Pin("preview")}"], laptopToken: "");
            Assert.True(exit == 0, $"preview.mjs through the hub failed (screenshots in {shots}):\n{log}");
            Assert.Contains($"the preview opens in a new tab on https://{PreviewHost}:{HubPort}", log, StringComparison.Ordinal);
            Assert.Contains("no script errors", log, StringComparison.Ordinal);
            Assert.DoesNotContain(_hubLogs.Entries, e => e.Message.Contains("hot reload", StringComparison.Ordinal));
        }
        finally
        {
            TempPaths.Delete(repository);
            TempPaths.Delete(home);
        }
    }

    [Fact]
    public async Task PreviewNames_OnlyAMachinesOwn_AreRouted_AndTheMachineAnswersThePreviewNameOnlyThroughTheHub()
    {
        Assert.Equal("m1", HubProtocol.MachineOf("preview.m1"));
        Assert.Equal("m1", HubProtocol.MachineOf("m1"));
        Assert.Equal("preview", HubProtocol.MachineOf("preview"));
        Assert.Null(HubProtocol.MachineOf("x.preview.m1"));
        Assert.Null(HubProtocol.MachineOf("other.m1"));

        var both = _certificates.WriteServerCertificate(File("both.pem"), File("both.key"), "m1.hub.test", PreviewHost);
        await using var machine = await StartMachineAsync(null, null, certificate: "both");
        // The owner's own certificate naming both: the preview name is served with it, and holds no preview without a grant.
        var seen = new List<string>();
        using var preview = HubPhone.Create(_certificates, HubPort, seen, PreviewHost);
        var refused = await preview.GetAsync("/api/health");
        Assert.Equal("PREVIEW_NOT_OPEN", await ErrorOfAsync(refused));
        Assert.Equal(both, Assert.Single(seen.Distinct()));
        Assert.Equal("PREVIEW_CODE_INVALID", await ErrorOfAsync(await preview.GetAsync("/__pocketcoder/exchange?code=guessed")));

        Assert.DoesNotContain("previews cannot open through the hub", await machine.Anonymous.GetStringAsync("/api/health"), StringComparison.Ordinal);

        // The preview name on the machine's own listener is no name of the app's (the DNS-rebinding guard).
        using var direct = new HttpRequestMessage(HttpMethod.Get, new Uri(machine.BaseUrl, "/api/health"));
        direct.Headers.Host = PreviewHost;
        var misdirected = await machine.Anonymous.SendAsync(direct);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, misdirected.StatusCode);

        // Another machine's preview, or a name deeper than a preview's, is not routed to m1.
        using var other = HubPhone.Create(_certificates, HubPort, [], "preview.m2.hub.test", check: false);
        await Assert.ThrowsAsync<HttpRequestException>(() => other.GetAsync("/"));
        using var deeper = HubPhone.Create(_certificates, HubPort, [], "x.preview.m1.hub.test", check: false);
        await Assert.ThrowsAsync<HttpRequestException>(() => deeper.GetAsync("/"));
    }

    [Fact]
    public async Task OwnCertificateWithoutThePreviewName_HealthSaysPreviewsCannotOpenThroughTheHub()
    {
        _certificates.WriteServerCertificate(File("m1.pem"), File("m1.key"), "m1.hub.test");
        await using var machine = await StartMachineAsync(null, null, certificate: "m1", previewCertificate: false);
        Assert.Contains($"The certificate does not name {PreviewHost}: previews cannot open through the hub",
            await machine.Anonymous.GetStringAsync("/api/health"), StringComparison.Ordinal);
    }

    /// <summary>Starts the session whose allowed command starts the dev server in its sandbox; returns once the port is listed.</summary>
    private static async Task<string> RunDevServerAsync(PairedClient laptop, string repository)
    {
        var project = await laptop.Http.PostOkAsync("/api/projects", new { path = repository, name = "site" });
        var sessionId = (await laptop.Http.PostOkAsync($"/api/projects/{project.GetProperty("id").GetString()}/sessions",
            new { agent = "claude-code", prompt = "Start the dev server" })).GetProperty("id").GetString()!;
        await using var events = await SseClient.ConnectAsync(laptop.Http, $"/api/sessions/{sessionId}/events");
        var asked = await events.WaitForAsync("approval.requested");
        await ApiAssert.OkJsonAsync(await laptop.Http.PostAsJsonAsync($"/api/approvals/{asked.Str("approvalId")}/decision", new { decision = "allow_once" }));
        await events.WaitForAsync("turn.completed");
        using var timeout = new CancellationTokenSource(SseClient.DefaultWait);
        // A server starting in the background says nothing when it listens: the ports are asked again until it does.
        while (!(await laptop.Http.GetOkAsync($"/api/sessions/{sessionId}/ports")).GetProperty("ports").EnumerateArray()
                   .Any(p => p.GetProperty("port").GetInt32() == DevPort))
        {
            await Task.Delay(200, timeout.Token);
        }

        return sessionId;
    }

    /// <summary>Trades the link's one-time code for the grant's cookie, as the browser does on opening it; returns that cookie.</summary>
    private static async Task<string> ExchangeAsync(HttpClient preview, Uri url, string appCookie)
    {
        using var exchange = new HttpRequestMessage(HttpMethod.Get, url.PathAndQuery);
        exchange.Headers.Add("Cookie", appCookie);
        var traded = await preview.SendAsync(exchange);
        Assert.Equal(HttpStatusCode.Redirect, traded.StatusCode);
        var setCookie = Assert.Single(traded.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("__Host-pocketcoder_preview=", setCookie, StringComparison.Ordinal);
        Assert.Contains("; Secure", setCookie, StringComparison.Ordinal);
        Assert.Contains("HttpOnly", setCookie, StringComparison.Ordinal);
        Assert.DoesNotContain("Domain", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("storage", Assert.Single(traded.Headers.GetValues("Clear-Site-Data")), StringComparison.Ordinal);
        // Once only.
        Assert.Equal("PREVIEW_CODE_INVALID", await ErrorOfAsync(await preview.GetAsync(url.PathAndQuery)));
        return setCookie.Split(';')[0];
    }

    /// <summary>The preview origin serves the dev server and nothing of the app's; the app takes nothing from it.</summary>
    private async Task AssertIsolatedAsync(HttpClient preview, string previewCookie, string appCookie, HttpClient phone)
    {
        var page = await SendAsync(preview, "/", $"{previewCookie}; {appCookie}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Built by the agent", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", string.Join(' ', page.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        Assert.Equal("no-referrer", Assert.Single(page.Headers.GetValues("Referrer-Policy")));

        // The dev server never sees PocketCoder's cookies; the page's own pass.
        var cookies = await SendAsync(preview, "/cookies", $"{previewCookie}; theme=dark; {appCookie}");
        Assert.Equal("theme=dark", await cookies.Content.ReadAsStringAsync());

        // The app's API is not on the preview's name, with the app's cookie or the preview's: the dev server answers, or nobody.
        Assert.Equal("PREVIEW_NOT_OPEN", await ErrorOfAsync(await SendAsync(preview, "/api/sessions", appCookie)));
        var relayed = await SendAsync(preview, "/api/sessions", $"{previewCookie}; {appCookie}");
        Assert.Contains("Built by the agent", await relayed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var worker = new HttpRequestMessage(HttpMethod.Get, "/sw.js");
        worker.Headers.Add("Cookie", previewCookie);
        worker.Headers.Add("Service-Worker", "script");
        Assert.Equal("PREVIEW_NO_SERVICE_WORKER", await ErrorOfAsync(await preview.SendAsync(worker)));

        // The preview's cookie is no credential of the app's, and the app refuses what the preview's page sends it (same site,
        // another origin) with the app's cookie.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(phone, "/api/sessions", previewCookie)).StatusCode);
        using var fromPreview = new HttpRequestMessage(HttpMethod.Get, "/api/sessions");
        fromPreview.Headers.Add("Cookie", appCookie);
        fromPreview.Headers.Add("Sec-Fetch-Site", "same-site");
        await ApiAssert.ProblemAsync(await phone.SendAsync(fromPreview), HttpStatusCode.Forbidden, "CROSS_SITE_REQUEST");
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", cookie);
        return await client.SendAsync(request);
    }

    private static async Task<string?> ErrorOfAsync(HttpResponseMessage response)
    {
        await response.Content.ReadAsStringAsync();
        return response.Headers.TryGetValues("X-PocketCoder-Error", out var code) ? string.Join(',', code) : $"(status {(int)response.StatusCode})";
    }

    /// <summary>Joins m1 as `hub join` does and starts it (its certificate, and the preview name's unless one names both).</summary>
    private async Task<TestServer> StartMachineAsync(IReadOnlyDictionary<string, PocketCoder.Agents.Processes.AgentCommand>? agents, string? home,
        string certificate = "m1", bool previewCertificate = true)
    {
        var token = new MachineRegistry(HubData).Issue("m1");
        var candidate = new HubMembership($"https://127.0.0.1:{HubPort}", token, "pending", _certificates.Root.ExportCertificatePem());
        var membership = candidate with { PublicUrl = await candidate.WelcomeAsync(CancellationToken.None) };
        var attached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hub.Services.GetRequiredService<Tunnels>().Attached += name => attached.TrySetResult();
        var machine = await TestServer.StartAsync(agents: agents, ownerHome: home, hub: membership,
            certificate: TlsCertificate.Load(File($"{certificate}.pem"), File($"{certificate}.key"), TimeProvider.System),
            previewCertificate: certificate == "m1" && previewCertificate ? TlsCertificate.Load(File("preview.pem"), File("preview.key"), TimeProvider.System) : null);
        await attached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return machine;
    }

    /// <summary>The base64 SHA-256 of a certificate's public key, as Chromium's pin list takes it.</summary>
    private string Pin(string certificate)
    {
        using var loaded = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(File($"{certificate}.pem"), File($"{certificate}.key"));
        return Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(loaded.PublicKey.ExportSubjectPublicKeyInfo()));
    }

    private string File(string name) => Path.Combine(_files, name);
}
