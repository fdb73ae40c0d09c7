using System.Security.Cryptography;
using System.Text;
using PocketCoder.Notifications;

namespace PocketCoder.Tests.Notifications;

[Trait("Category", "Unit")]
public sealed class WebPushCryptoTests
{
    // RFC 8291, Appendix A: every input fixed, so the message is known byte for byte.
    private const string Plaintext = "When I grow up, I want to be a watermelon";
    private const string ReceiverPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    private const string ReceiverPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    private const string SenderPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    private const string SenderPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    private const string AuthSecret = "BTBZMqHH6r4Tts7J_aSIgg";
    private const string Salt = "DGv6ra1nlYgDCS1FRnbzlw";
    private const string Message =
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    [Fact]
    public void Rfc8291Example_EncryptsToTheExactBytes()
    {
        using var sender = Key(SenderPrivate, SenderPublic);
        var body = WebPushCrypto.Encrypt(Encoding.UTF8.GetBytes(Plaintext), Bytes(ReceiverPublic), Bytes(AuthSecret), Bytes(Salt), sender);
        Assert.Equal(Message, System.Buffers.Text.Base64Url.EncodeToString(body));
    }

    [Fact]
    public void Rfc8291Example_DecryptsAsABrowserWould()
    {
        using var receiver = Key(ReceiverPrivate, ReceiverPublic);
        Assert.Equal(Plaintext, Encoding.UTF8.GetString(WebPushCrypto.Decrypt(Bytes(Message), receiver, Bytes(AuthSecret))));
    }

    [Fact]
    public void FreshMessages_RoundTrip_DifferEachTime_AndRefuseTamperingOrTheWrongKeys()
    {
        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var auth = RandomNumberGenerator.GetBytes(16);
        var text = Encoding.UTF8.GetBytes("{\"title\":\"Run `npm test`?\"}");
        var first = WebPushCrypto.Encrypt(text, WebPushCrypto.PublicKeyBytes(browser), auth);
        var second = WebPushCrypto.Encrypt(text, WebPushCrypto.PublicKeyBytes(browser), auth);

        Assert.Equal(text, WebPushCrypto.Decrypt(first, browser, auth));
        Assert.NotEqual(first, second);
        Assert.Equal(WebPushCrypto.HeaderLength + text.Length + 1 + 16, first.Length);

        first[^3] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => WebPushCrypto.Decrypt(first, browser, auth));
        Assert.ThrowsAny<CryptographicException>(() => WebPushCrypto.Decrypt(second, browser, RandomNumberGenerator.GetBytes(16)));
        using var stranger = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        Assert.ThrowsAny<CryptographicException>(() => WebPushCrypto.Decrypt(second, stranger, auth));
    }

    [Fact]
    public void TooLongForOneRecord_Refused()
    {
        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var auth = RandomNumberGenerator.GetBytes(16);
        Assert.Equal(4096, WebPushCrypto.Encrypt(new byte[WebPushCrypto.MaxPlaintext], WebPushCrypto.PublicKeyBytes(browser), auth).Length - WebPushCrypto.HeaderLength);
        Assert.Throws<ArgumentException>(() => WebPushCrypto.Encrypt(new byte[WebPushCrypto.MaxPlaintext + 1], WebPushCrypto.PublicKeyBytes(browser), auth));
    }

    [Fact]
    public void NotAPointOnTheCurve_Refused()
    {
        var point = Bytes(ReceiverPublic);
        point[40] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => WebPushCrypto.ImportPublicKey(point));
        Assert.ThrowsAny<CryptographicException>(() => WebPushCrypto.ImportPublicKey(point[..33]));
    }

    private static byte[] Bytes(string base64Url) => Base64UrlText.TryDecode(base64Url)!;

    private static ECDiffieHellman Key(string privateKey, string publicKey)
    {
        var q = Bytes(publicKey);
        return ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            D = Bytes(privateKey),
            Q = new ECPoint { X = q[1..33], Y = q[33..] },
        });
    }
}
