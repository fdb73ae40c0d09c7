using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace PocketCoder.Reach;

/// <summary>
/// Trusting one private CA instead of the system's (a private hub, a private ACME server): the server's certificate must
/// chain to it, with the intermediates the server sent, and name the host; nothing else is trusted.
/// </summary>
public static class PinnedCa
{
    /// <summary>A handler that trusts only <paramref name="caPem"/>, or the system's CAs when it is null.</summary>
    public static SocketsHttpHandler Handler(string? caPem)
    {
        var handler = new SocketsHttpHandler();
        if (caPem is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = Validator(caPem);
        }

        return handler;
    }

    private static RemoteCertificateValidationCallback Validator(string caPem)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(caPem);
        return (_, presented, sent, errors) =>
        {
            if (presented is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
                || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (sent is not null)
            {
                chain.ChainPolicy.ExtraStore.AddRange(sent.ChainPolicy.ExtraStore);
            }

            return chain.Build(presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData()));
        };
    }
}
