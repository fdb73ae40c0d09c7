using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PocketCoder.Tests.Reach;

/// <summary>A private CA, an intermediate and server certificates for 127.0.0.1 and localhost, written as PEM files.</summary>
public sealed class TestCertificates
{
    private readonly X509Certificate2 _intermediate;

    public TestCertificates()
    {
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=PocketCoder Test Root", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        Root = rootRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));

        var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var intermediateRequest = new CertificateRequest("CN=PocketCoder Test Intermediate", intermediateKey, HashAlgorithmName.SHA256);
        intermediateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var issued = intermediateRequest.Create(Root, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddMonths(6), [1, 2, 3, 4]);
        _intermediate = issued.CopyWithPrivateKey(intermediateKey);
    }

    public X509Certificate2 Root { get; }

    public X509Certificate2 Intermediate => _intermediate;

    /// <summary>
    /// Writes a new server certificate (then the intermediate) and its key to the two paths; returns its thumbprint.
    /// It names 127.0.0.1 and the given DNS names (localhost when none).
    /// </summary>
    public string WriteServerCertificate(string certificatePath, string keyPath, params string[] dnsNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={(dnsNames.Length > 0 ? dnsNames[0] : "localhost")}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames.Length > 0 ? dnsNames : ["localhost"])
        {
            names.AddDnsName(name);
        }

        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.Create(_intermediate, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddMonths(3), RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n" + _intermediate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return certificate.Thumbprint;
    }
}
