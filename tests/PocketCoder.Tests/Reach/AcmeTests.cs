using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Hub;
using PocketCoder.Reach;
using PocketCoder.Reach.Acme;
using PocketCoder.Reach.Hub;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Reach;

/// <summary>
/// ACME against Debian's pebble, offline: pebble's fake DNS (pebble-challtestsrv) sends m1.hub.test to loopback, where
/// the hub routes the TLS-ALPN-01 validation by SNI to the machine, which answers it itself: the certificate for the
/// machine's hub name is issued to the machine, and its key never leaves it.
/// </summary>
public sealed class AcmeTests : IAsyncLifetime
{
    private readonly string _files = TempPaths.NewDirectory("pc-acme");
    private readonly TestCertificates _certificates = new();
    private readonly List<ReadyProcess> _processes = [];
    private WebApplication _hub = null!;
    private int _pebbleManagementPort;
    private AcmeSettings _acme = null!;
    private int _dns;

    private int HubPort => new Uri(_hub.Urls.First()).Port;

    private string File(string name) => Path.Combine(_files, name);

    public async Task InitializeAsync()
    {
        _certificates.WriteServerCertificate(File("hub.pem"), File("hub.key"), "hub.test");
        var hubCertificate = TlsCertificate.Load(File("hub.pem"), File("hub.key"), TimeProvider.System);
        _hub = HubServer.Build(new HubOptions
        {
            Domain = "hub.test",
            Listen = "https://127.0.0.1:0",
            DataDirectory = File("hub-data"),
            Certificate = () => hubCertificate.Context,
            ConsoleLogging = false,
        });
        await _hub.StartAsync();

        // pebble's own https (its API) uses a certificate from the test CA; the client trusts that CA for it.
        _certificates.WriteServerCertificate(File("pebble.pem"), File("pebble.key"), "localhost");
        _dns = FreePort();
        await StartAsync("pebble-challtestsrv", ["-dns01", $"127.0.0.1:{_dns}", "-http01", "", "-https01", "", "-tlsalpn01", "",
            "-management", $"127.0.0.1:{FreePort()}", "-defaultIPv6", ""], "Starting management server", []);
        _acme = await StartPebbleAsync(tlsPort: HubPort, name: "m1.hub.test");
    }

    /// <summary>A pebble whose TLS-ALPN-01 validations connect to <paramref name="tlsPort"/> (443 in real life).</summary>
    private async Task<AcmeSettings> StartPebbleAsync(int tlsPort, string name)
    {
        var (api, management) = (FreePort(), FreePort());
        _pebbleManagementPort = management;
        var config = File($"pebble-{api}.json");
        await System.IO.File.WriteAllTextAsync(config, $$"""
            {"pebble": {"listenAddress": "127.0.0.1:{{api}}", "managementListenAddress": "127.0.0.1:{{management}}",
              "certificate": "{{File("pebble.pem")}}", "privateKey": "{{File("pebble.key")}}",
              "httpPort": {{FreePort()}}, "tlsPort": {{tlsPort}}, "ocspResponderURL": "", "externalAccountBindingRequired": false} }
            """);
        await StartAsync("pebble", ["-config", config, "-dnsserver", $"127.0.0.1:{_dns}"], "ACME directory available",
            // No random sleeps before validation, no randomly refused nonces: a deterministic pebble.
            new Dictionary<string, string> { ["PEBBLE_VA_NOSLEEP"] = "1", ["PEBBLE_WFE_NONCEREJECT"] = "0" });
        return new AcmeSettings(new Uri($"https://127.0.0.1:{api}/dir"), _certificates.Root.ExportCertificatePem(), name);
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        await _hub.DisposeAsync();
        TempPaths.Delete(_files);
    }

    [Fact]
    public async Task JoinedMachine_GetsItsHubNameCertifiedThroughTheHub_AndServesIt()
    {
        await using var machine = await StartMachineAsync(prepare: null);
        var issued = await WhenIssuedAsync(machine);
        Assert.Contains("m1.hub.test", issued.GetNameInfo(X509NameType.DnsName, false), StringComparison.Ordinal);
        Assert.NotEqual(issued.Subject, issued.Issuer);

        // A phone through the hub now gets the issued certificate, which chains to pebble's root.
        var root = await PebbleRootAsync();
        var presented = await PresentedAsync();
        Assert.Equal(issued.Thumbprint, presented.Thumbprint);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ExtraStore.AddRange(LoadChain(machine.DataDirectory));
        Assert.True(chain.Build(presented), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));

        // The key is the machine's, private in its data folder.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite,
            System.IO.File.GetUnixFileMode(Path.Combine(AcmeRenewal.Folder(machine.DataDirectory), "key.pem")));
        Assert.Null(machine.Services.GetRequiredService<AcmeRenewal>().Problem);
    }

    /// <summary>On a hub the preview origin's name is certified too, with a certificate of its own, each name presenting its own.</summary>
    [Fact]
    public async Task JoinedMachine_GetsItsPreviewNameCertifiedToo_EachNamePresentsItsOwn()
    {
        await using var machine = await StartMachineAsync(prepare: null, previewName: "preview.m1.hub.test");
        var issued = await WhenIssuedAsync(machine, count: 2);
        var preview = Assert.Single(issued, c => c.GetNameInfo(X509NameType.DnsName, false) == "preview.m1.hub.test");
        var app = Assert.Single(issued, c => c.GetNameInfo(X509NameType.DnsName, false) == "m1.hub.test");

        Assert.Equal(preview.Thumbprint, (await PresentedAsync(name: "preview.m1.hub.test")).Thumbprint);
        Assert.Equal(app.Thumbprint, (await PresentedAsync()).Thumbprint);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite,
            System.IO.File.GetUnixFileMode(Path.Combine(AcmeRenewal.PreviewFolder(machine.DataDirectory), "key.pem")));
        Assert.Null(machine.Services.GetRequiredService<AcmeRenewal>().Problem);
    }

    [Fact]
    public async Task CertificateNearItsEnd_IsRenewedAtStart_WithoutARestartLater()
    {
        // An earlier CA-issued certificate (not a stand-in) with two hours left of a day: inside the renewal window.
        await using var machine = await StartMachineAsync(prepare: data =>
        {
            var folder = AcmeRenewal.Folder(data);
            Directory.CreateDirectory(folder);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=m1.hub.test", key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("m1.hub.test");
            request.CertificateExtensions.Add(names.Build());
            using var old = request.Create(_certificates.Intermediate, _certificates.Intermediate.NotBefore.AddMinutes(1), DateTimeOffset.UtcNow.AddHours(2), [7, 7, 7]);
            System.IO.File.WriteAllText(Path.Combine(folder, "cert.pem"), old.ExportCertificatePem());
            System.IO.File.WriteAllText(Path.Combine(folder, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        });
        var before = (await PresentedAsync()).Thumbprint;
        var renewed = await WhenIssuedAsync(machine);
        Assert.NotEqual(before, renewed.Thumbprint);
        Assert.Equal(renewed.Thumbprint, (await PresentedAsync()).Thumbprint);
        Assert.True(AcmeRenewal.RenewalDue(renewed) > DateTimeOffset.UtcNow.AddDays(1));
    }

    [Fact]
    public async Task ChallengeNotAnsweredByTheMachine_IsRefusedByTheAcmeServer_WithItsReason()
    {
        await using var machine = await StartMachineAsync(prepare: null);
        await WhenIssuedAsync(machine);

        // Another client orders the same name but answers the challenge where the machine cannot see it: pebble's
        // validation reaches the machine, which presents no acme-tls/1 answer, and the order fails, saying why.
        using var http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var client = new AcmeClient(http, _acme.Directory, key, TimeProvider.System);
        var refused = await Assert.ThrowsAsync<AcmeException>(() => client.OrderAsync("m1.hub.test", new AlpnChallenges(), CancellationToken.None));
        Assert.Contains("invalid", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MachineServingHttpsItself_GetsItsPublicNameCertified_NoHub()
    {
        var port = FreePort();
        var acme = await StartPebbleAsync(tlsPort: port, name: "direct.test");
        await using var machine = await TestServer.StartAsync(listen: $"https://127.0.0.1:{port}", publicUrl: $"https://direct.test:{port}", acme: acme);
        var issued = await WhenIssuedAsync(machine);
        Assert.Contains("direct.test", issued.GetNameInfo(X509NameType.DnsName, false), StringComparison.Ordinal);
        Assert.Equal(issued.Thumbprint, (await PresentedAsync(port, "direct.test")).Thumbprint);
    }

    private async Task<TestServer> StartMachineAsync(Action<string>? prepare, string? previewName = null)
    {
        var token = new MachineRegistry(File("hub-data")).Issue("m1");
        var candidate = new HubMembership($"https://127.0.0.1:{HubPort}", token, "pending", _certificates.Root.ExportCertificatePem());
        var membership = candidate with { PublicUrl = await candidate.WelcomeAsync(CancellationToken.None) };
        var data = TempPaths.NewDirectory("pc-data");
        prepare?.Invoke(data);
        var attached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hub.Services.GetRequiredService<Tunnels>().Attached += _ => attached.TrySetResult();
        var machine = await TestServer.StartAsync(dataDirectory: data, hub: membership, acme: _acme with { PreviewName = previewName });
        await attached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return machine;
    }

    private static async Task<X509Certificate2> WhenIssuedAsync(TestServer machine) => (await WhenIssuedAsync(machine, count: 1))[0];

    private static async Task<List<X509Certificate2>> WhenIssuedAsync(TestServer machine, int count)
    {
        var issued = new TaskCompletionSource<List<X509Certificate2>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var renewal = machine.Services.GetRequiredService<AcmeRenewal>();
        var all = new List<X509Certificate2>();
        renewal.Issued += certificate =>
        {
            lock (all)
            {
                all.Add(certificate);
                if (all.Count == count)
                {
                    issued.TrySetResult([.. all]);
                }
            }
        };
        try
        {
            return await issued.Task.WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"No certificate was issued: {renewal.Problem}");
        }
    }

    /// <summary>What a phone opening https://m1.hub.test through the hub (or another name at another port) is shown.</summary>
    private async Task<X509Certificate2> PresentedAsync(int? port = null, string name = "m1.hub.test")
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port ?? HubPort);
        await using var tls = new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = name,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return new X509Certificate2(tls.RemoteCertificate!);
    }

    private async Task<X509Certificate2> PebbleRootAsync()
    {
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } });
        var pem = await http.GetStringAsync($"https://127.0.0.1:{_pebbleManagementPort}/roots/0");
        return X509Certificate2.CreateFromPem(pem);
    }

    private static X509Certificate2Collection LoadChain(string dataDirectory)
    {
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(Path.Combine(AcmeRenewal.Folder(dataDirectory), "cert.pem"));
        return all;
    }

    private async Task StartAsync(string program, string[] arguments, string readyLine, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = _files };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        _processes.Add(await ReadyProcess.StartAsync(start, readyLine));
    }

    private static int FreePort() => ReadyProcess.FreePort();
}
