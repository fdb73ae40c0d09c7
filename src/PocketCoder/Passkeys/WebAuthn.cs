using System.Buffers.Binary;
using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text.Json;

namespace PocketCoder.Passkeys;

/// <summary>A credential as its registration proved it: its id, its P-256 key (SubjectPublicKeyInfo) and its counter.</summary>
public sealed record RegisteredKey(byte[] CredentialId, byte[] PublicKey, uint SignCount);

/// <summary>What a ceremony must match: the challenge handed out, the origin it was handed to, and that origin's host (the rp id).</summary>
public sealed record Expected(string Challenge, string Origin, string RpId);

/// <summary>Why a ceremony proves nothing (said to the caller as it is: it names no secret).</summary>
public sealed class WebAuthnException(string message) : Exception(message);

/// <summary>
/// The two WebAuthn checks this server makes, ES256 only (docs/security.md, "Passkeys and step-up", says why not a library):
/// a registration (<c>navigator.credentials.create</c>, attestation "none": the key is trusted as the person's because they
/// registered it from a device of theirs, not because of who made the authenticator) and an assertion
/// (<c>navigator.credentials.get</c>). Both require the user-verified flag: a passkey proves a person was there, not a device.
/// </summary>
public static class WebAuthn
{
    /// <summary>COSE's ES256 (ECDSA P-256 with SHA-256): the one algorithm offered in <c>pubKeyCredParams</c>.</summary>
    public const int Es256 = -7;

    private const byte UserPresent = 0x01;
    private const byte UserVerified = 0x04;
    private const byte AttestedCredentialData = 0x40;

    /// <exception cref="WebAuthnException">The registration does not verify.</exception>
    public static RegisteredKey VerifyRegistration(byte[] clientDataJson, byte[] attestationObject, Expected expected)
    {
        CheckClientData(clientDataJson, "webauthn.create", expected);
        var authData = AuthenticatorDataOf(attestationObject);
        var (flags, counter) = CheckAuthenticatorData(authData, expected.RpId);
        if ((flags & AttestedCredentialData) == 0 || authData.Length < 55)
        {
            throw new WebAuthnException("The authenticator data carries no credential.");
        }

        var idLength = BinaryPrimitives.ReadUInt16BigEndian(authData.AsSpan(53, 2));
        if (idLength is 0 or > 1023 || authData.Length < 55 + idLength)
        {
            throw new WebAuthnException("The credential id is missing or too long.");
        }

        var credentialId = authData.AsSpan(55, idLength).ToArray();
        var publicKey = Es256KeyOf(authData.AsMemory(55 + idLength));
        return new RegisteredKey(credentialId, publicKey, counter);
    }

    /// <summary>Checks an assertion by the key registered; answers the authenticator's new counter.</summary>
    /// <param name="storedCount">The counter last seen: a counting authenticator must have moved past it (else it was cloned).</param>
    /// <exception cref="WebAuthnException">The assertion does not verify.</exception>
    public static uint VerifyAssertion(byte[] clientDataJson, byte[] authenticatorData, byte[] signature, byte[] publicKey, uint storedCount,
        Expected expected)
    {
        CheckClientData(clientDataJson, "webauthn.get", expected);
        var (_, counter) = CheckAuthenticatorData(authenticatorData, expected.RpId);
        using var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(publicKey, out _);
        }
        catch (CryptographicException)
        {
            throw new WebAuthnException("The registered key cannot be read.");
        }

        var signed = new byte[authenticatorData.Length + 32];
        authenticatorData.CopyTo(signed, 0);
        SHA256.HashData(clientDataJson, signed.AsSpan(authenticatorData.Length));
        if (!key.VerifyData(signed, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
        {
            throw new WebAuthnException("The signature does not verify with this passkey.");
        }

        // Synced passkeys always say 0; an authenticator that counts must only go up.
        if ((counter != 0 || storedCount != 0) && counter <= storedCount)
        {
            throw new WebAuthnException("The authenticator's counter went back: it may have been copied.");
        }

        return counter;
    }

    /// <summary>The challenge a clientDataJSON names (to find what it answers), or null when it names none.</summary>
    public static string? ChallengeOf(byte[] clientDataJson)
    {
        try
        {
            using var document = JsonDocument.Parse(clientDataJson);
            return document.RootElement.ValueKind == JsonValueKind.Object ? Text(document.RootElement, "challenge") : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void CheckClientData(byte[] clientDataJson, string type, Expected expected)
    {
        string? seenType, challenge, origin;
        bool crossOrigin;
        try
        {
            using var document = JsonDocument.Parse(clientDataJson);
            var root = document.RootElement;
            seenType = Text(root, "type");
            challenge = Text(root, "challenge");
            origin = Text(root, "origin");
            crossOrigin = root.TryGetProperty("crossOrigin", out var cross) && cross.ValueKind == JsonValueKind.True;
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException)
        {
            throw new WebAuthnException("clientDataJSON is not a JSON object.");
        }

        if (seenType != type)
        {
            throw new WebAuthnException($"clientDataJSON's type is '{seenType}', not '{type}'.");
        }

        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(challenge ?? ""), System.Text.Encoding.UTF8.GetBytes(expected.Challenge)))
        {
            throw new WebAuthnException("clientDataJSON carries another challenge.");
        }

        if (origin != expected.Origin || crossOrigin)
        {
            throw new WebAuthnException($"The passkey was used on {origin}, not on {expected.Origin}.");
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static (byte Flags, uint Counter) CheckAuthenticatorData(byte[] authData, string rpId)
    {
        if (authData.Length < 37)
        {
            throw new WebAuthnException("The authenticator data is too short.");
        }

        if (!CryptographicOperations.FixedTimeEquals(authData.AsSpan(0, 32), SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(rpId))))
        {
            throw new WebAuthnException($"The passkey signed for another site than {rpId}.");
        }

        var flags = authData[32];
        if ((flags & UserPresent) == 0 || (flags & UserVerified) == 0)
        {
            throw new WebAuthnException("The authenticator did not verify the person (a PIN, a fingerprint or a face): that is what a passkey proves here.");
        }

        return (flags, BinaryPrimitives.ReadUInt32BigEndian(authData.AsSpan(33, 4)));
    }

    /// <summary>The <c>authData</c> of an attestation object (its statement is not checked: attestation "none" was asked).</summary>
    private static byte[] AuthenticatorDataOf(byte[] attestationObject)
    {
        try
        {
            var reader = new CborReader(attestationObject);
            var entries = reader.ReadStartMap() ?? throw new WebAuthnException("The attestation object's map has no length.");
            byte[]? authData = null;
            for (var i = 0; i < entries; i++)
            {
                if (reader.ReadTextString() == "authData")
                {
                    authData = reader.ReadByteString();
                }
                else
                {
                    reader.SkipValue();
                }
            }

            return authData ?? throw new WebAuthnException("The attestation object has no authData.");
        }
        catch (Exception exception) when (exception is CborContentException or InvalidOperationException)
        {
            throw new WebAuthnException("The attestation object is not the CBOR map WebAuthn makes.");
        }
    }

    /// <summary>A COSE EC2 key (kty 2, alg -7, crv 1: P-256) as SubjectPublicKeyInfo, checked to be a point on the curve.</summary>
    private static byte[] Es256KeyOf(ReadOnlyMemory<byte> coseKey)
    {
        long? kty = null, alg = null, crv = null;
        byte[]? x = null, y = null;
        try
        {
            var reader = new CborReader(coseKey, CborConformanceMode.Lax, allowMultipleRootLevelValues: true);
            var entries = reader.ReadStartMap() ?? throw new WebAuthnException("The credential's key has no length.");
            for (var i = 0; i < entries; i++)
            {
                switch (reader.ReadInt64())
                {
                    case 1: kty = reader.ReadInt64(); break;
                    case 3: alg = reader.ReadInt64(); break;
                    case -1: crv = reader.ReadInt64(); break;
                    case -2: x = reader.ReadByteString(); break;
                    case -3: y = reader.ReadByteString(); break;
                    default: reader.SkipValue(); break;
                }
            }
        }
        catch (Exception exception) when (exception is CborContentException or InvalidOperationException or OverflowException)
        {
            throw new WebAuthnException("The credential's key is not a COSE key.");
        }

        if (kty != 2 || alg != Es256 || crv != 1 || x is not { Length: 32 } || y is not { Length: 32 })
        {
            throw new WebAuthnException("Only ES256 passkeys (P-256) are taken here.");
        }

        try
        {
            using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
            return key.ExportSubjectPublicKeyInfo();
        }
        catch (CryptographicException)
        {
            throw new WebAuthnException("The credential's key is not a point on P-256.");
        }
    }
}
