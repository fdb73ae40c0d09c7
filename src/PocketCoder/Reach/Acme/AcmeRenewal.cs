using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PocketCoder.Data;
using PocketCoder.Server;

namespace PocketCoder.Reach.Acme;

/// <summary>
/// Where certificates come from: the ACME directory, the CA to trust for its own https (a private ACME server), and the
/// name to certify (the hub's name for this machine, or its public URL's).
/// </summary>
/// <param name="PreviewName">On a hub, the preview origin's name (<c>preview.m1.hub.example.com</c>), certified beside
/// <paramref name="Name"/> with a certificate of its own (docs/reach.md, "Previews"); null: none.</param>
public sealed record AcmeSettings(Uri Directory, string? CaPem, string Name, string? PreviewName = null)
{
    /// <summary>Let's Encrypt's production directory: the default for a machine on a hub with no certificate of its own.</summary>
    public const string LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory";
}

/// <summary>
/// Keeps the certificate for this machine's public name (on a hub, or its own) issued and renewed by ACME, in <c>acme/</c> in the
/// data folder. Until the first certificate arrives a self-signed stand-in serves, so the server can start; a renewal
/// is due a third of the lifetime (at most 30 days) before expiry and swaps in without a restart. Failures are retried
/// with backoff and shown in health.
/// </summary>
public sealed partial class AcmeRenewal(PocketCoderOptions options, AlpnChallenges challenges, TimeProvider clock, IHostApplicationLifetime lifetime,
    ILogger<AcmeRenewal> logger)
    : BackgroundService
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromHours(12);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _problems = new(StringComparer.Ordinal);

    /// <summary>Why the last attempt for each name failed, or null when none did.</summary>
    public string? Problem => _problems.IsEmpty ? null : string.Join(' ', _problems.OrderBy(p => p.Key).Select(p => p.Value));

    /// <summary>Raised after each certificate is issued and serving (tests wait for it).</summary>
    public event Action<X509Certificate2>? Issued;

    public static string Folder(string dataDirectory) => Path.Combine(dataDirectory, "acme");

    /// <summary>Where the preview name's certificate and key are kept (beside the machine's, with the same account).</summary>
    public static string PreviewFolder(string dataDirectory) => Path.Combine(Folder(dataDirectory), "preview");

    /// <summary>The certificate to serve now: the one issued before, else a one-day self-signed stand-in for <paramref name="name"/>.</summary>
    /// <param name="folder">Where it is kept: <see cref="Folder"/> when null.</param>
    public static TlsCertificate Prepare(string dataDirectory, string name, TimeProvider clock, string? folder = null)
    {
        folder ??= Folder(dataDirectory);
        Directory.CreateDirectory(folder);
        var (certificate, key) = (Path.Combine(folder, "cert.pem"), Path.Combine(folder, "key.pem"));
        try
        {
            return TlsCertificate.Load(certificate, key, clock);
        }
        catch (InvalidDataException)
        {
            // None yet (or expired, or broken): a stand-in until ACME delivers.
            using var standInKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var now = clock.GetUtcNow();
            using var standIn = AcmeClient.CertificateRequestFor(name, standInKey).CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
            DataFolder.WritePrivateFile(key, standInKey.ExportPkcs8PrivateKeyPem());
            DataFolder.WritePrivateFile(certificate, standIn.ExportCertificatePem());
            return TlsCertificate.Load(certificate, key, clock);
        }
    }

    /// <summary>When the certificate should be replaced: now for a stand-in, else a third of its life (at most 30 days) before it ends.</summary>
    internal static DateTimeOffset RenewalDue(X509Certificate2 certificate)
    {
        if (certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
        {
            return DateTimeOffset.MinValue;
        }

        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        var lifetime = notAfter - new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        return notAfter - TimeSpan.FromTicks(Math.Min(TimeSpan.FromDays(30).Ticks, lifetime.Ticks / 3));
    }

    /// <summary>A name this server keeps certified, its certificate, and the folder its files are written to.</summary>
    private sealed record Target(string Name, TlsCertificate Certificate, string Folder);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Acme!;
        List<Target> targets = [new(settings.Name, options.Certificate!, Folder(options.DataDirectory))];
        if (settings.PreviewName is { } previewName && options.PreviewCertificate is { } preview)
        {
            targets.Add(new Target(previewName, preview, PreviewFolder(options.DataDirectory)));
        }

        using var http = new HttpClient(PinnedCa.Handler(settings.CaPem)) { Timeout = TimeSpan.FromSeconds(60) };
        // Polling the ACME server runs on real time: the injected clock schedules renewals only.
        var client = new AcmeClient(http, settings.Directory, AccountKey(), TimeProvider.System);
        var failures = 0;
        // The challenge is answered on this server's own listener, which starts after the background services: an order
        // placed before it listens fails its first validation and waits out a minute's backoff (seen on a first start).
        using (var listening = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStarted, stoppingToken))
        {
            await Task.Delay(Timeout.Infinite, listening.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            // The one due first; the others wait their turn (one name per order).
            var target = targets.MinBy(t => RenewalDue(t.Certificate.Certificate))!;
            try
            {
                var wait = RenewalDue(target.Certificate.Certificate) - clock.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait < MaxWait ? wait : MaxWait, clock, stoppingToken);
                    continue;
                }

                await RenewAsync(client, target, stoppingToken);
                _problems.TryRemove(target.Name, out _);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is AcmeException or HttpRequestException or IOException or InvalidDataException
                or OperationCanceledException or System.Text.Json.JsonException or CryptographicException)
            {
                _problems[target.Name] = $"Could not get a certificate for {target.Name} from {settings.Directory}: {exception.Message} (retrying)";
                LogFailed(logger, target.Name, exception.Message);
                var backoff = TimeSpan.FromMinutes(Math.Min(360, Math.Pow(2, failures++)));
                await Task.Delay(backoff, clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Orders a certificate for the target's name, writes it and its new key, and serves it from the next handshake.</summary>
    private async Task RenewAsync(AcmeClient client, Target target, CancellationToken cancellationToken)
    {
        var (chain, key) = await client.OrderAsync(target.Name, challenges, cancellationToken);
        Directory.CreateDirectory(target.Folder);
        DataFolder.WritePrivateFile(Path.Combine(target.Folder, "key.pem"), key);
        DataFolder.WritePrivateFile(Path.Combine(target.Folder, "cert.pem"), chain);
        target.Certificate.ReloadNow();
        LogIssued(logger, target.Name, target.Certificate.Certificate.NotAfter);
        Issued?.Invoke(target.Certificate.Certificate);
    }

    /// <summary>The ACME account's key, made once and kept (0600) so renewals use the same account.</summary>
    private ECDsa AccountKey()
    {
        var path = Path.Combine(Folder(options.DataDirectory), "account.pem");
        var key = ECDsa.Create();
        if (File.Exists(path))
        {
            key.ImportFromPem(File.ReadAllText(path));
            return key;
        }

        key.GenerateKey(ECCurve.NamedCurves.nistP256);
        DataFolder.WritePrivateFile(path, key.ExportPkcs8PrivateKeyPem());
        return key;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ACME issued a certificate for {Name}, valid until {NotAfter:u}")]
    private static partial void LogIssued(ILogger logger, string name, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ACME could not issue a certificate for {Name}: {Reason}")]
    private static partial void LogFailed(ILogger logger, string name, string reason);
}
