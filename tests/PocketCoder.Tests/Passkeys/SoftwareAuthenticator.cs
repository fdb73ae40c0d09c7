using System.Buffers.Binary;
using System.Buffers.Text;
using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PocketCoder.Tests.Passkeys;

/// <summary>
/// A passkey in a test: a P-256 key that answers <c>navigator.credentials.create</c> and <c>get</c> as a platform authenticator
/// would (authenticator data with the user-present and user-verified flags and a counter, clientDataJSON with the challenge
/// and origin, an ES256 signature over both), sent to the server's real routes as the app sends them.
/// </summary>
internal sealed class SoftwareAuthenticator(string origin) : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public byte[] CredentialId { get; } = RandomNumberGenerator.GetBytes(16);

    public string Id => Base64Url.EncodeToString(CredentialId);

    public string Origin { get; } = origin;

    public string RpId => new Uri(Origin).Host;

    /// <summary>What it says next as its counter (0: a synced passkey, which never counts).</summary>
    public uint Counter { get; set; }

    /// <summary>False: it says the person was present but not verified (no PIN, no fingerprint).</summary>
    public bool VerifiesUser { get; set; } = true;

    /// <summary>The body of <c>POST /api/passkeys</c> for a registration's options.</summary>
    public object Register(JsonElement options, string name, string? origin = null) => new
    {
        name,
        clientDataJSON = ClientData("webauthn.create", options.GetProperty("challenge").GetString()!, origin ?? Origin),
        attestationObject = Base64Url.EncodeToString(AttestationObject(options.GetProperty("rp").GetProperty("id").GetString()!)),
    };

    /// <summary>An assertion for a step-up's options, as a decision carries it.</summary>
    public object Assert(JsonElement options, string? origin = null, string? rpId = null) => Assert(options.GetProperty("challenge").GetString()!,
        origin ?? Origin, rpId ?? options.GetProperty("rpId").GetString()!);

    public object Assert(string challenge, string origin, string rpId)
    {
        Counter = Counter == 0 ? 0 : Counter + 1;
        var clientData = ClientData("webauthn.get", challenge, origin);
        var authData = AuthenticatorData(rpId, attested: null);
        var signed = authData.Concat(SHA256.HashData(Base64Url.DecodeFromChars(clientData))).ToArray();
        return new
        {
            credentialId = Id, clientDataJSON = clientData, authenticatorData = Base64Url.EncodeToString(authData),
            signature = Base64Url.EncodeToString(_key.SignData(signed, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)),
        };
    }

    private static string ClientData(string type, string challenge, string origin) => Base64Url.EncodeToString(
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object> { ["type"] = type, ["challenge"] = challenge, ["origin"] = origin, ["crossOrigin"] = false })));

    private byte[] AttestationObject(string rpId)
    {
        var writer = new CborWriter();
        writer.WriteStartMap(3);
        writer.WriteTextString("fmt");
        writer.WriteTextString("none");
        writer.WriteTextString("attStmt");
        writer.WriteStartMap(0);
        writer.WriteEndMap();
        writer.WriteTextString("authData");
        writer.WriteByteString(AuthenticatorData(rpId, CoseKey()));
        writer.WriteEndMap();
        return writer.Encode();
    }

    private byte[] CoseKey()
    {
        var point = _key.ExportParameters(false).Q;
        var writer = new CborWriter();
        writer.WriteStartMap(5);
        writer.WriteInt32(1);
        writer.WriteInt32(2);
        writer.WriteInt32(3);
        writer.WriteInt32(-7);
        writer.WriteInt32(-1);
        writer.WriteInt32(1);
        writer.WriteInt32(-2);
        writer.WriteByteString(point.X!);
        writer.WriteInt32(-3);
        writer.WriteByteString(point.Y!);
        writer.WriteEndMap();
        return writer.Encode();
    }

    /// <summary>rpIdHash, flags (UP, UV when it verifies, AT with a credential), counter, then the credential when registering.</summary>
    private byte[] AuthenticatorData(string rpId, byte[]? attested)
    {
        var data = new List<byte>(SHA256.HashData(Encoding.UTF8.GetBytes(rpId)));
        data.Add((byte)(0x01 | (VerifiesUser ? 0x04 : 0) | (attested is null ? 0 : 0x40)));
        var counter = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(counter, Counter);
        data.AddRange(counter);
        if (attested is not null)
        {
            data.AddRange(new byte[16]);
            data.Add(0);
            data.Add((byte)CredentialId.Length);
            data.AddRange(CredentialId);
            data.AddRange(attested);
        }

        return [.. data];
    }

    public void Dispose() => _key.Dispose();
}
