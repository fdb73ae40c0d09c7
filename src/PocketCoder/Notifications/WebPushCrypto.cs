using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace PocketCoder.Notifications;

/// <summary>
/// Web Push message encryption (RFC 8291, the <c>aes128gcm</c> content coding of RFC 8188), on the BCL alone: no
/// push library is available here, and the whole of it is an ECDH, two HKDFs and one AES-GCM. The push service only
/// ever sees the result; the browser holding the subscription's private key is the only one that can read it.
/// </summary>
public static class WebPushCrypto
{
    /// <summary>One record of 4096 bytes, as browsers expect: the payload must fit in it.</summary>
    public const int RecordSize = 4096;

    /// <summary>salt (16) + record size (4) + key id length (1) + the sender's public key (65).</summary>
    public const int HeaderLength = 86;

    private const int TagLength = 16;

    /// <summary>The most plaintext one message can carry: the record less its tag and the padding delimiter.</summary>
    public const int MaxPlaintext = RecordSize - TagLength - 1;

    private static readonly byte[] KeyInfoLabel = Encoding.ASCII.GetBytes("WebPush: info\0");
    private static readonly byte[] ContentKeyInfo = Encoding.ASCII.GetBytes("Content-Encoding: aes128gcm\0");
    private static readonly byte[] NonceInfo = Encoding.ASCII.GetBytes("Content-Encoding: nonce\0");

    /// <summary>Encrypts <paramref name="plaintext"/> to a browser's subscription keys with a fresh key pair and salt.</summary>
    /// <param name="userAgentPublicKey">The subscription's <c>p256dh</c>: an uncompressed P-256 point (65 bytes).</param>
    /// <param name="authSecret">The subscription's <c>auth</c> (16 bytes).</param>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, byte[] userAgentPublicKey, byte[] authSecret)
    {
        using var sender = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        return Encrypt(plaintext, userAgentPublicKey, authSecret, RandomNumberGenerator.GetBytes(16), sender);
    }

    /// <summary>The same with the salt and the sender's key given: how RFC 8291's worked example is reproduced byte for byte.</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, byte[] userAgentPublicKey, byte[] authSecret, byte[] salt, ECDiffieHellman sender)
    {
        if (plaintext.Length > MaxPlaintext)
        {
            throw new ArgumentException($"A push message carries at most {MaxPlaintext} bytes; this one has {plaintext.Length}.", nameof(plaintext));
        }

        using var receiver = ImportPublicKey(userAgentPublicKey);
        var senderPublic = PublicKeyBytes(sender);
        var (key, nonce) = DeriveKeyAndNonce(sender.DeriveRawSecretAgreement(receiver.PublicKey), authSecret, salt, userAgentPublicKey, senderPublic);

        var body = new byte[HeaderLength + plaintext.Length + 1 + TagLength];
        salt.CopyTo(body, 0);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(16, 4), RecordSize);
        body[20] = (byte)senderPublic.Length;
        senderPublic.CopyTo(body, 21);

        // One record, so it is the last: the plaintext is followed by the delimiter 0x02 and no padding.
        byte[] padded = [.. plaintext, 2];
        using var aes = new AesGcm(key, TagLength);
        aes.Encrypt(nonce, padded, body.AsSpan(HeaderLength, padded.Length), body.AsSpan(HeaderLength + padded.Length, TagLength));
        return body;
    }

    /// <summary>
    /// What a browser does with a message (RFC 8291 §3.4 read backwards): for the tests' push service and for checking a
    /// message round-trips. Throws <see cref="CryptographicException"/> when it was not encrypted to these keys.
    /// </summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> body, ECDiffieHellman receiver, byte[] authSecret)
    {
        if (body.Length < HeaderLength + TagLength + 1 || body[20] != 65)
        {
            throw new CryptographicException("Not an aes128gcm message with a P-256 key id.");
        }

        var salt = body[..16].ToArray();
        var senderPublic = body.Slice(21, 65).ToArray();
        using var sender = ImportPublicKey(senderPublic);
        var receiverPublic = PublicKeyBytes(receiver);
        var (key, nonce) = DeriveKeyAndNonce(receiver.DeriveRawSecretAgreement(sender.PublicKey), authSecret, salt, receiverPublic, senderPublic);

        var cipher = body[HeaderLength..];
        var padded = new byte[cipher.Length - TagLength];
        using var aes = new AesGcm(key, TagLength);
        aes.Decrypt(nonce, cipher[..^TagLength], cipher[^TagLength..], padded);
        var end = Array.LastIndexOf(padded, (byte)2);
        if (end < 0 || padded.AsSpan(end + 1).ContainsAnyExcept((byte)0))
        {
            throw new CryptographicException("The record has no last-record delimiter.");
        }

        return padded[..end];
    }

    /// <summary>An uncompressed P-256 point (0x04 || X || Y), as browsers give <c>p256dh</c> and VAPID wants <c>k</c>.</summary>
    public static byte[] PublicKeyBytes(ECAlgorithm key)
    {
        var point = key.ExportParameters(false).Q;
        return [4, .. point.X!, .. point.Y!];
    }

    /// <summary>Reads an uncompressed P-256 point; throws <see cref="CryptographicException"/> for anything else, a point off the curve included.</summary>
    public static ECDiffieHellman ImportPublicKey(byte[] point)
    {
        if (point.Length != 65 || point[0] != 4)
        {
            throw new CryptographicException("A P-256 public key is 65 bytes, starting 0x04.");
        }

        return ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point[1..33], Y = point[33..] },
        });
    }

    private static (byte[] Key, byte[] Nonce) DeriveKeyAndNonce(byte[] sharedSecret, byte[] authSecret, byte[] salt, byte[] receiverPublic, byte[] senderPublic)
    {
        // RFC 8291 §3.3: the auth secret and both public keys go into the input keying material...
        byte[] keyInfo = [.. KeyInfoLabel, .. receiverPublic, .. senderPublic];
        var inputKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, sharedSecret, 32, authSecret, keyInfo);

        // ...and RFC 8188 §2.2 derives the content key and nonce from it with the message's salt.
        var pseudoRandomKey = HKDF.Extract(HashAlgorithmName.SHA256, inputKey, salt);
        return (HKDF.Expand(HashAlgorithmName.SHA256, pseudoRandomKey, 16, ContentKeyInfo),
            HKDF.Expand(HashAlgorithmName.SHA256, pseudoRandomKey, 12, NonceInfo));
    }
}
