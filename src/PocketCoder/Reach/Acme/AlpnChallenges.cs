using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Connections;
using PocketCoder.Hub;

namespace PocketCoder.Reach.Acme;

/// <summary>
/// Answers TLS-ALPN-01 (RFC 8737): while an order is validated, a TLS connection for the name that offers only the
/// <c>acme-tls/1</c> protocol gets a self-signed certificate carrying the SHA-256 of the key authorization in a critical
/// acmeIdentifier extension, and is closed after the handshake. Kestrel connection middleware, ahead of the server's
/// own TLS; every other connection passes straight on (without even a peek while nothing is offered).
/// </summary>
public sealed class AlpnChallenges
{
    public const string Protocol = "acme-tls/1";
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, X509Certificate2> _offered = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Offers the challenge certificate for <paramref name="name"/> until disposed.</summary>
    public IDisposable Offer(string name, string keyAuthorization)
    {
        var certificate = Create(name, keyAuthorization);
        _offered[name] = certificate;
        return new Withdrawal(() =>
        {
            if (_offered.TryRemove(new KeyValuePair<string, X509Certificate2>(name, certificate)))
            {
                certificate.Dispose();
            }
        });
    }

    public async Task RespondAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (_offered.IsEmpty)
        {
            await next(connection);
            return;
        }

        var input = connection.Transport.Input;
        var hello = await ClientHello.PeekAsync(input, HelloTimeout, connection.ConnectionClosed);
        if (hello.Verdict == HelloVerdict.Complete && hello.Protocols is [Protocol] && hello.ServerName is { } name
            && _offered.TryGetValue(name, out var certificate))
        {
            input.AdvanceTo(hello.Received.Start);
            await using var stream = new PipeStream(connection.Transport);
            await using var tls = new SslStream(stream);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = certificate,
                ApplicationProtocols = [new SslApplicationProtocol(Protocol)],
            }, connection.ConnectionClosed);
            return;
        }

        if (hello.Received.Length > 0)
        {
            input.AdvanceTo(hello.Received.Start);
        }

        await next(connection);
    }

    /// <summary>The challenge certificate: the name, and the digest as a DER OCTET STRING under id-pe-acmeIdentifier.</summary>
    internal static X509Certificate2 Create(string name, string keyAuthorization)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = AcmeClient.CertificateRequestFor(name, key);
        byte[] digest = [0x04, 0x20, .. SHA256.HashData(Encoding.UTF8.GetBytes(keyAuthorization))];
        request.CertificateExtensions.Add(new X509Extension(new Oid("1.3.6.1.5.5.7.1.31"), digest, critical: true));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));
    }

    private sealed class Withdrawal(Action withdraw) : IDisposable
    {
        public void Dispose() => withdraw();
    }

    /// <summary>A connection's pipes as the stream SslStream wants.</summary>
    private sealed class PipeStream(IDuplexPipe pipe) : Stream
    {
        private readonly Stream _input = pipe.Input.AsStream();
        private readonly Stream _output = pipe.Output.AsStream();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _input.ReadAsync(buffer, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            _output.WriteAsync(buffer, cancellationToken);

        public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => _input.Read(buffer, offset, count);

        public override void Write(byte[] buffer, int offset, int count) => _output.Write(buffer, offset, count);

        public override void Flush() => _output.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _input.Dispose();
                _output.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
