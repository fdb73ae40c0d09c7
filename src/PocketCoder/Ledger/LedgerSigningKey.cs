using System.Security.Cryptography;
using System.Text;

namespace PocketCoder.Ledger;

/// <summary>
/// The machine's key that signs ledger exports: ECDSA on P-256 with SHA-256 (the BCL's, over the platform's crypto
/// library), kept as PKCS#8 PEM in <see cref="FileName"/> in the data folder (0600) and made on first need.
/// </summary>
public sealed class LedgerSigningKey(string dataDirectory) : IDisposable
{
    public const string FileName = "ledger-signing.key";

    private readonly Lock _lock = new();
    private ECDsa? _key;
    private LedgerPublicKey? _public;

    public string FilePath { get; } = Path.Combine(dataDirectory, FileName);

    public LedgerPublicKey PublicKey
    {
        get
        {
            lock (_lock)
            {
                return _public ??= LedgerPublicKey.From(Key());
            }
        }
    }

    /// <summary>Signs a SHA-256 digest; the signature is DER (RFC 3279), what OpenSSL and most tools read.</summary>
    public byte[] SignHash(ReadOnlySpan<byte> sha256)
    {
        lock (_lock)
        {
            return Key().SignHash(sha256, DSASignatureFormat.Rfc3279DerSequence);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _key?.Dispose();
            _key = null;
        }
    }

    // Not a Lazy: a key file that could not be read once (being written by a concurrent first use) must be read again.
    private ECDsa Key() => _key ??= LoadOrCreate(FilePath);

    /// <summary>
    /// Reads the key, or makes it. Made exclusively (<see cref="FileMode.CreateNew"/>, 0600 from the first byte), like
    /// the pairing key: the server and a <c>ledger export</c> may both need it first, and one must not replace the key
    /// the other already signed with. A key that cannot be read is never replaced: it is the machine's identity to auditors.
    /// </summary>
    private static ECDsa LoadOrCreate(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (File.Exists(path))
            {
                if (TryRead(File.ReadAllText(path)) is { } existing)
                {
                    return existing;
                }

                if (attempt < 3)
                {
                    // Being written by a concurrent first use; read again.
                    Thread.Sleep(50);
                    continue;
                }

                throw new IOException($"The ledger signing key {path} is not an ECDSA P-256 private key in PEM. Restore it from a backup: " +
                    "exports it signed verify only against its fingerprint. Deleting it makes a new key, with a new fingerprint.");
            }

            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using (var file = new FileStream(path, options))
                {
                    file.Write(Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem() + "\n"));
                    file.Flush(flushToDisk: true);
                }

                return key;
            }
            catch (IOException) when (File.Exists(path) && attempt < 3)
            {
                // Someone else made it first: use theirs.
                key.Dispose();
            }
        }
    }

    private static ECDsa? TryRead(string pem)
    {
        if (!PemEncoding.TryFind(pem, out var fields) || pem[fields.Label] is not "PRIVATE KEY")
        {
            return null;
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportPkcs8PrivateKey(Convert.FromBase64String(pem[fields.Base64Data]), out _);
            if (LedgerPublicKey.IsP256(key))
            {
                return key;
            }
        }
        catch (Exception exception) when (exception is CryptographicException or FormatException)
        {
        }

        key.Dispose();
        return null;
    }
}

/// <summary>
/// A public key that signs ledger exports (ECDSA P-256), named by its fingerprint: <c>SHA256:</c> and the SHA-256 of its
/// SubjectPublicKeyInfo (DER) in base64 without padding, the way <c>ssh-keygen -l</c> names SSH keys.
/// </summary>
public sealed class LedgerPublicKey
{
    public const string Algorithm = "ECDSA P-256 SHA-256";
    public const string FingerprintPrefix = "SHA256:";
    private const string P256 = "1.2.840.10045.3.1.7";

    private LedgerPublicKey(byte[] subjectPublicKeyInfo)
    {
        SubjectPublicKeyInfo = subjectPublicKeyInfo;
        Fingerprint = FingerprintOf(subjectPublicKeyInfo);
    }

    /// <summary>The key as DER (what the fingerprint hashes); always the uncompressed form the BCL exports.</summary>
    public byte[] SubjectPublicKeyInfo { get; }

    public string Fingerprint { get; }

    public string Pem => PemEncoding.WriteString("PUBLIC KEY", SubjectPublicKeyInfo) + "\n";

    /// <exception cref="CryptographicException">Not a P-256 public key.</exception>
    public static LedgerPublicKey FromSubjectPublicKeyInfo(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out var read);
        return read == subjectPublicKeyInfo.Length ? From(key) : throw new CryptographicException("Bytes follow the public key.");
    }

    /// <summary>From a PEM <c>PUBLIC KEY</c> (what <c>pocketcoder ledger key</c> prints).</summary>
    /// <exception cref="CryptographicException">No P-256 public key in it.</exception>
    public static LedgerPublicKey FromPem(string pem)
    {
        if (!PemEncoding.TryFind(pem, out var fields) || pem[fields.Label] is not "PUBLIC KEY")
        {
            throw new CryptographicException("No PEM public key (-----BEGIN PUBLIC KEY-----) in it.");
        }

        try
        {
            return FromSubjectPublicKeyInfo(Convert.FromBase64String(pem[fields.Base64Data]));
        }
        catch (FormatException exception)
        {
            throw new CryptographicException(exception.Message, exception);
        }
    }

    /// <summary>A fingerprint as someone typed or pasted it: the <c>SHA256:</c> prefix and padding are optional. Null when it is not one.</summary>
    public static string? NormalizeFingerprint(string text)
    {
        var value = text.Trim();
        value = value.StartsWith(FingerprintPrefix, StringComparison.OrdinalIgnoreCase) ? value[FingerprintPrefix.Length..] : value;
        value = value.TrimEnd('=');
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        return value.Length == 43 && Convert.TryFromBase64String(value + "=", digest, out var written) && written == digest.Length
            ? FingerprintPrefix + value
            : null;
    }

    public bool VerifyHash(ReadOnlySpan<byte> sha256, ReadOnlySpan<byte> derSignature)
    {
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(SubjectPublicKeyInfo, out _);
        return key.VerifyHash(sha256, derSignature, DSASignatureFormat.Rfc3279DerSequence);
    }

    internal static LedgerPublicKey From(ECDsa key) =>
        IsP256(key) ? new LedgerPublicKey(key.ExportSubjectPublicKeyInfo()) : throw new CryptographicException("Not an ECDSA P-256 key.");

    internal static bool IsP256(ECDsa key)
    {
        var curve = key.ExportParameters(includePrivateParameters: false).Curve;
        return curve.IsNamed && (curve.Oid.Value == P256 || curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256" or "prime256v1");
    }

    private static string FingerprintOf(byte[] subjectPublicKeyInfo) =>
        FingerprintPrefix + Convert.ToBase64String(SHA256.HashData(subjectPublicKeyInfo)).TrimEnd('=');
}
