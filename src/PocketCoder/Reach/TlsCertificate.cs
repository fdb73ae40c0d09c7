using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PocketCoder.Reach;

/// <summary>
/// The certificate an <c>https://</c> listen address presents: PEM files the owner supplies (mkcert, certbot, a company
/// CA), the certificate file holding the server's certificate first and any intermediates after it, all of them sent to
/// the phone. The files are read again when either changes (checked at most every <see cref="RecheckInterval"/>, on a
/// new connection), so a renewed certificate is served without a restart; a renewal that cannot be read keeps the old
/// one and says why in <see cref="LastReloadProblem"/>.
/// </summary>
public sealed class TlsCertificate
{
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(30);

    private readonly string _certificatePath;
    private readonly string _keyPath;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private volatile Loaded _loaded;
    private DateTimeOffset _checkedAt;

    private TlsCertificate(string certificatePath, string keyPath, TimeProvider clock, Loaded loaded)
    {
        _certificatePath = certificatePath;
        _keyPath = keyPath;
        _clock = clock;
        _loaded = loaded;
        _checkedAt = clock.GetUtcNow();
    }

    /// <summary>The server's own certificate (the first in the file).</summary>
    public X509Certificate2 Certificate => Current().Context.TargetCertificate;

    /// <summary>What TLS presents: the certificate, its private key and the intermediates to send with it.</summary>
    public SslStreamCertificateContext Context => Current().Context;

    /// <summary>Why the last attempt to read renewed files failed; null once they were read.</summary>
    public string? LastReloadProblem { get; private set; }

    /// <exception cref="InvalidDataException">The files are missing, not PEM, do not match, or the certificate is not valid now.</exception>
    public static TlsCertificate Load(string certificatePath, string keyPath, TimeProvider clock) =>
        new(certificatePath, keyPath, clock, Read(certificatePath, keyPath, clock));

    /// <summary>Reads the files now, after this process wrote them (an ACME renewal); throws, keeping the old, if they are unusable.</summary>
    public void ReloadNow()
    {
        var loaded = Read(_certificatePath, _keyPath, _clock);
        lock (_gate)
        {
            _loaded = loaded;
            _checkedAt = _clock.GetUtcNow();
            LastReloadProblem = null;
        }
    }

    private Loaded Current()
    {
        var now = _clock.GetUtcNow();
        if (now - _checkedAt < RecheckInterval)
        {
            return _loaded;
        }

        lock (_gate)
        {
            if (now - _checkedAt >= RecheckInterval)
            {
                _checkedAt = now;
                if (Stamp(_certificatePath, _keyPath) != _loaded.Stamp)
                {
                    try
                    {
                        _loaded = Read(_certificatePath, _keyPath, _clock);
                        LastReloadProblem = null;
                    }
                    catch (InvalidDataException problem)
                    {
                        // Half-written renewal, or a bad one: the old certificate keeps serving until the files are right.
                        LastReloadProblem = problem.Message;
                    }
                }
            }

            return _loaded;
        }
    }

    private static Loaded Read(string certificatePath, string keyPath, TimeProvider clock)
    {
        var stamp = Stamp(certificatePath, keyPath);
        X509Certificate2 certificate;
        X509Certificate2Collection all = [];
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            all.ImportFromPemFile(certificatePath);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            // The framework says a mismatched key in terms of its own parameter ("(Parameter 'privateKey')").
            var reason = exception is ArgumentException { ParamName: "privateKey" } ? "The key is not this certificate's key." : exception.Message;
            throw new InvalidDataException(
                $"The certificate {certificatePath} with the key {keyPath} cannot be used: {reason} " +
                "Give PEM files: the certificate (then any intermediates) and its unencrypted private key.");
        }

        var now = clock.GetUtcNow();
        if (now < certificate.NotBefore.ToUniversalTime() || now > certificate.NotAfter.ToUniversalTime())
        {
            throw new InvalidDataException(
                $"The certificate {certificatePath} is valid from {certificate.NotBefore:u} to {certificate.NotAfter:u}, not now.");
        }

        X509Certificate2Collection intermediates = [.. all.Skip(1)];
        // offline: the chain is what the file says; nothing is fetched from the network during a handshake.
        return new Loaded(SslStreamCertificateContext.Create(certificate, intermediates, offline: true), stamp);
    }

    private static (DateTime, long, DateTime, long) Stamp(string certificatePath, string keyPath)
    {
        var certificate = new FileInfo(certificatePath);
        var key = new FileInfo(keyPath);
        return (certificate.Exists ? certificate.LastWriteTimeUtc : default, certificate.Exists ? certificate.Length : -1,
            key.Exists ? key.LastWriteTimeUtc : default, key.Exists ? key.Length : -1);
    }

    private sealed record Loaded(SslStreamCertificateContext Context, (DateTime, long, DateTime, long) Stamp);
}
