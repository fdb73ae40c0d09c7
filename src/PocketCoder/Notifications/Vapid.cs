using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PocketCoder.Auth;

namespace PocketCoder.Notifications;

/// <summary>
/// This server's VAPID identity (RFC 8292): one P-256 key, created on first use and kept in the data folder (0600), whose
/// public half every subscription is bound to. Each push carries a short-lived ES256 token for the push service's origin;
/// a browser's push service refuses a message signed by any other key, so a leaked endpoint alone cannot be used to push.
/// </summary>
/// <param name="subject">Who push services contact about this sender: a <c>mailto:</c> or <c>https:</c> URL.</param>
public sealed class Vapid(string dataDirectory, string subject, TimeProvider clock) : IDisposable
{
    public const string KeyFileName = "vapid.key";

    /// <summary>Push services accept up to 24 hours; tokens are made for 12 and reused for one.</summary>
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(12);

    private static readonly TimeSpan TokenReuse = TimeSpan.FromHours(1);

    // Made on first use, not with the server's services: a first start generated the key (OpenSSL loaded and configured
    // for it) before the server listened; now the push warm-up, once it answers, or a phone subscribing makes it.
    private readonly Lazy<ECDsa> _key = new(() => ECDsa.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        D = Secrets.LoadOrCreateKey(Path.Combine(dataDirectory, KeyFileName), NewPrivateKey),
    }));

    private readonly ConcurrentDictionary<string, (string Header, DateTimeOffset MadeAt)> _tokens = new(StringComparer.Ordinal);

    /// <summary>The application server key a browser subscribes with (<c>applicationServerKey</c>), base64url.</summary>
    public string PublicKey => System.Buffers.Text.Base64Url.EncodeToString(WebPushCrypto.PublicKeyBytes(_key.Value));

    /// <summary>The <c>Authorization</c> header for a push to <paramref name="endpoint"/>: <c>vapid t=JWT, k=public key</c>.</summary>
    public string AuthorizationFor(Uri endpoint)
    {
        var audience = endpoint.GetLeftPart(UriPartial.Authority);
        var now = clock.GetUtcNow();
        if (_tokens.TryGetValue(audience, out var cached) && now - cached.MadeAt < TokenReuse)
        {
            return cached.Header;
        }

        var header = $"vapid t={Token(audience, now + TokenLifetime)}, k={PublicKey}";
        _tokens[audience] = (header, now);
        return header;
    }

    private string Token(string audience, DateTimeOffset expires)
    {
        var head = System.Buffers.Text.Base64Url.EncodeToString("""{"typ":"JWT","alg":"ES256"}"""u8);
        var claims = System.Buffers.Text.Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(
            new VapidClaims(audience, expires.ToUnixTimeSeconds(), subject), NotificationJson.Default.VapidClaims));
        var signed = $"{head}.{claims}";
        // ES256 is the raw r || s pair (IEEE P1363), which is what SignData gives by default.
        var signature = _key.Value.SignData(Encoding.ASCII.GetBytes(signed), HashAlgorithmName.SHA256);
        return $"{signed}.{System.Buffers.Text.Base64Url.EncodeToString(signature)}";
    }

    private static byte[] NewPrivateKey()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var d = key.ExportParameters(true).D!;
        return d.Length == 32 ? d : [.. new byte[32 - d.Length], .. d];
    }

    public void Dispose()
    {
        if (_key.IsValueCreated)
        {
            _key.Value.Dispose();
        }
    }
}

public sealed record VapidClaims(
    [property: System.Text.Json.Serialization.JsonPropertyName("aud")] string Audience,
    [property: System.Text.Json.Serialization.JsonPropertyName("exp")] long Expires,
    [property: System.Text.Json.Serialization.JsonPropertyName("sub")] string Subject);

/// <summary>Reading the base64url fields browsers send (writing them is the BCL's <c>Base64Url.EncodeToString</c>).</summary>
public static class Base64UrlText
{
    /// <summary>Null when <paramref name="text"/> is not base64url (padding is tolerated: some browsers' polyfills add it).</summary>
    public static byte[]? TryDecode(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        try
        {
            return System.Buffers.Text.Base64Url.DecodeFromChars(text.TrimEnd('='));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
