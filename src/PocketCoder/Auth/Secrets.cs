using System.Security.Cryptography;
using System.Text;

namespace PocketCoder.Auth;

/// <summary>Random secrets and the one way they are hashed for storage.</summary>
public static class Secrets
{
    // No 0/O, 1/I/L: a code read off a screen and typed on a phone must not be ambiguous.
    private const string CodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

    public static string NewToken() => "pc_" + Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>8 characters from a 31-letter alphabet (~40 bits), shown as XXXX-XXXX.</summary>
    public static string NewPairingCode()
    {
        var chars = new char[8];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = CodeAlphabet[RandomNumberGenerator.GetInt32(CodeAlphabet.Length)];
        }

        return $"{new string(chars, 0, 4)}-{new string(chars, 4, 4)}";
    }

    /// <summary>Codes are compared without case, dashes or spaces: people type them.</summary>
    public static string NormalizeCode(string code) =>
        new([.. code.Where(c => !char.IsWhiteSpace(c) && c != '-').Select(char.ToUpperInvariant)]);

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
