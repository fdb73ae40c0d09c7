using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Auth;
using PocketCoder.Cli;
using PocketCoder.Reach;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reach;

/// <summary>
/// <c>serve --listen https://… --cert --key</c>: the owner's certificate, intermediates included, renewed files served
/// without a restart; and the address phones use (<c>--public-url</c>) in the pairing link and the allowed hosts.
/// </summary>
public sealed class HttpsTests : IDisposable
{
    private readonly string _files = TempPaths.NewDirectory("pc-tls");
    private readonly TestCertificates _certificates = new();

    private string CertificatePath => Path.Combine(_files, "cert.pem");

    private string KeyPath => Path.Combine(_files, "key.pem");

    public void Dispose() => TempPaths.Delete(_files);

    [Fact]
    public async Task Https_PresentsTheOwnersCertificateAndIntermediate_PairingCookieIsHostPrefixed_ThePlainNameIsNotRead()
    {
        var thumbprint = _certificates.WriteServerCertificate(CertificatePath, KeyPath);
        await using var server = await TestServer.StartAsync(
            listen: "https://127.0.0.1:0", certificate: TlsCertificate.Load(CertificatePath, KeyPath, TimeProvider.System));
        Assert.Equal("https", server.BaseUrl.Scheme);

        var seen = new Seen();
        using var http = Client(server.BaseUrl, seen);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/health")).StatusCode);
        Assert.Equal(thumbprint, seen.Thumbprint);
        Assert.Contains(_certificates.Intermediate.Thumbprint, seen.SentWithIt);

        var code = server.Services.GetRequiredService<Devices>().CreatePairingCode().Code;
        var paired = await http.PostAsJsonAsync("/api/pair", new { code, deviceName = "phone" });
        Assert.Equal(HttpStatusCode.OK, paired.StatusCode);
        var cookie = AssertHostPrefixed(Assert.Single(paired.Headers.GetValues("Set-Cookie")));
        Assert.Equal(HttpStatusCode.OK, await WithCookieAsync(http, cookie));

        // The plain name, as a sibling machine on a hub's domain can set it (Domain=hub.example), is not read over https,
        // even holding a valid token.
        var token = cookie[(cookie.IndexOf('=', StringComparison.Ordinal) + 1)..];
        Assert.Equal(HttpStatusCode.Unauthorized, await WithCookieAsync(http, $"pocketcoder_session={token}"));
    }

    [Fact]
    public async Task PublicUrlOnHttps_BehindAProxyEndingTls_PairingCookieIsHostPrefixed_PlainHttpKeepsThePlainCookie()
    {
        await using var server = await TestServer.StartAsync(publicUrl: "https://box.example.net");
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = server.BaseUrl };
        var devices = server.Services.GetRequiredService<Devices>();

        // Through the proxy: the browser is on https://box.example.net, this server sees plain http with that name.
        using var viaProxy = new HttpRequestMessage(HttpMethod.Post, "/api/pair")
        {
            Headers = { Host = "box.example.net" },
            Content = JsonContent.Create(new { code = devices.CreatePairingCode().Code, deviceName = "phone" }),
        };
        var cookie = AssertHostPrefixed(Assert.Single((await http.SendAsync(viaProxy)).Headers.GetValues("Set-Cookie")));
        Assert.Equal(HttpStatusCode.OK, await WithCookieAsync(http, cookie, "box.example.net"));

        // Straight to the LAN address over plain http (the README's LAN set-up): the plain cookie, not Secure (a browser
        // keeps no Secure cookie from http), and it is what is read there.
        var lan = await http.PostAsJsonAsync("/api/pair", new { code = devices.CreatePairingCode().Code, deviceName = "laptop" });
        var attributes = Assert.Single(lan.Headers.GetValues("Set-Cookie")).Split(';', StringSplitOptions.TrimEntries);
        Assert.StartsWith("pocketcoder_session=", attributes[0], StringComparison.Ordinal);
        Assert.DoesNotContain(attributes, a => a.Equals("secure", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(HttpStatusCode.OK, await WithCookieAsync(http, attributes[0]));
    }

    /// <summary>A <c>__Host-</c> cookie as the prefix demands it (Secure, Path=/, no Domain), HttpOnly and SameSite=Strict; its name=value.</summary>
    private static string AssertHostPrefixed(string setCookie)
    {
        var attributes = setCookie.Split(';', StringSplitOptions.TrimEntries);
        Assert.StartsWith("__Host-pocketcoder_session=", attributes[0], StringComparison.Ordinal);
        foreach (var required in new[] { "secure", "path=/", "httponly", "samesite=strict" })
        {
            Assert.Contains(attributes, a => a.Equals(required, StringComparison.OrdinalIgnoreCase));
        }

        Assert.DoesNotContain(attributes, a => a.StartsWith("domain", StringComparison.OrdinalIgnoreCase));
        return attributes[0];
    }

    private static async Task<HttpStatusCode> WithCookieAsync(HttpClient http, string cookie, string? host = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/projects");
        request.Headers.Add("Cookie", cookie);
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        return (await http.SendAsync(request)).StatusCode;
    }

    [Fact]
    public async Task Https_RenewedFiles_ServedAfterTheRecheckWithoutRestart_BrokenRenewalKeepsTheOld()
    {
        var first = _certificates.WriteServerCertificate(CertificatePath, KeyPath);
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var certificate = TlsCertificate.Load(CertificatePath, KeyPath, clock);
        await using var server = await TestServer.StartAsync(listen: "https://127.0.0.1:0", certificate: certificate);

        // Renewed on disk, but not yet looked at again: the loaded one still serves.
        var second = _certificates.WriteServerCertificate(CertificatePath, KeyPath);
        Assert.Equal(first, await ThumbprintServedAsync(server.BaseUrl));

        clock.Advance(TlsCertificate.RecheckInterval);
        Assert.Equal(second, await ThumbprintServedAsync(server.BaseUrl));

        // A half-written renewal: the last good certificate keeps serving, and the reason is kept.
        await File.WriteAllTextAsync(KeyPath, "-----BEGIN PRIVATE KEY-----\ntruncated");
        clock.Advance(TlsCertificate.RecheckInterval);
        Assert.Equal(second, await ThumbprintServedAsync(server.BaseUrl));
        Assert.Contains(KeyPath, certificate.LastReloadProblem, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FilesThatCannotServe_RefusedNamingTheFile()
    {
        _certificates.WriteServerCertificate(CertificatePath, KeyPath);
        var otherKey = Path.Combine(_files, "other-key.pem");
        _certificates.WriteServerCertificate(Path.Combine(_files, "other.pem"), otherKey);

        var mismatch = Assert.Throws<InvalidDataException>(() => TlsCertificate.Load(CertificatePath, otherKey, TimeProvider.System));
        Assert.Contains(CertificatePath, mismatch.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<InvalidDataException>(() => TlsCertificate.Load(Path.Combine(_files, "nope.pem"), KeyPath, TimeProvider.System));
        Assert.Contains("nope.pem", missing.Message, StringComparison.Ordinal);
        var expired = Assert.Throws<InvalidDataException>(() =>
            TlsCertificate.Load(CertificatePath, KeyPath, new ManualClock(DateTimeOffset.UtcNow.AddYears(2))));
        Assert.Contains("not now", expired.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_CertificateThisMachineDoesNotTrust_SaysSo_NotThatTheServerIsNotRunning()
    {
        _certificates.WriteServerCertificate(CertificatePath, KeyPath);
        await using var server = await TestServer.StartAsync(
            listen: "https://127.0.0.1:0", certificate: TlsCertificate.Load(CertificatePath, KeyPath, TimeProvider.System));
        // The terminal's client, as `pocketcoder status` makes it: the machine's own trust store, which lacks this CA.
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        var error = new StringWriter();

        Assert.Null(await ServerClient.SendAsync(http, () => http.GetAsync("/api/health"), error));

        Assert.Contains("https with it could not be established", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("certificate", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("not running", error.ToString(), StringComparison.Ordinal);

        // Where nothing listens, that is what it says.
        using var nobody = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ReadyProcess.FreePort()}/") };
        var notRunning = new StringWriter();
        Assert.Null(await ServerClient.SendAsync(nobody, () => nobody.GetAsync("/api/health"), notRunning));
        Assert.Contains("PocketCoder is not running at", notRunning.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pair_LinkNamesThePortTheServerReallyListensOn()
    {
        await using var server = await TestServer.StartAsync();
        Assert.NotEqual(7420, server.BaseUrl.Port);

        var link = await PairingLinkAsync(server.DataDirectory);

        Assert.StartsWith($"http://127.0.0.1:{server.BaseUrl.Port}/#pair=", link, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PublicUrl_InThePairingLink_AndItsNameIsServed()
    {
        await using var server = await TestServer.StartAsync(publicUrl: "https://box.example.net:8443");

        Assert.StartsWith("https://box.example.net:8443/#pair=", await PairingLinkAsync(server.DataDirectory), StringComparison.Ordinal);

        // The reverse proxy forwards the public name: it is not a DNS-rebinding host.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/health") { Headers = { Host = "box.example.net:8443" } };
        Assert.Equal(HttpStatusCode.OK, (await server.Anonymous.SendAsync(request)).StatusCode);
        using var other = new HttpRequestMessage(HttpMethod.Get, "/api/health") { Headers = { Host = "evil.example:8443" } };
        Assert.Equal(HttpStatusCode.MisdirectedRequest, (await server.Anonymous.SendAsync(other)).StatusCode);
    }

    [Theory]
    [InlineData("box.lan:7420")]
    [InlineData("ftp://box.lan")]
    public async Task Pair_UrlThatIsNotAnAddress_RefusedBeforeACodeIsMade(string url)
    {
        var data = TempPaths.NewDirectory("pc-pair");
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            Assert.Equal(2, await CommandLine.RunAsync(["pair", "--data", data, "--url", url], output, error));
            Assert.Contains(url, error.ToString(), StringComparison.Ordinal);
            Assert.Equal("", output.ToString());
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }

    private static async Task<string> PairingLinkAsync(string dataDirectory)
    {
        using var output = new StringWriter();
        Assert.Equal(0, await CommandLine.RunAsync(["pair", "--data", dataDirectory], output, TextWriter.Null));
        return output.ToString().Split('\n').Single(line => line.StartsWith("Or open ", StringComparison.Ordinal))["Or open ".Length..].Trim();
    }

    private static async Task<string?> ThumbprintServedAsync(Uri url)
    {
        var seen = new Seen();
        using var http = Client(url, seen);
        (await http.GetAsync("/api/health")).EnsureSuccessStatusCode();
        return seen.Thumbprint;
    }

    /// <summary>A fresh connection each time (a new handler), accepting any certificate and recording what was presented.</summary>
    private static HttpClient Client(Uri url, Seen seen) => new(new SocketsHttpHandler
    {
        UseCookies = false,
        SslOptions =
        {
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                seen.Thumbprint = (certificate as X509Certificate2)?.Thumbprint;
                seen.SentWithIt = chain?.ChainPolicy.ExtraStore.Select(c => c.Thumbprint).ToList() ?? [];
                return true;
            },
        },
    })
    { BaseAddress = url };

    private sealed class Seen
    {
        public string? Thumbprint { get; set; }

        public List<string> SentWithIt { get; set; } = [];
    }
}
