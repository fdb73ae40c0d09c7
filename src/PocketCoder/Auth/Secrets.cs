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

    /// <summary>For device tokens: 256 random bits need no key or salt to be safe as a plain SHA-256.</summary>
    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>
    /// For pairing codes: ~40 bits would fall to a plain hash in minutes for anyone who can read the database, so they
    /// are hashed with a key that lives in its own 0600 file beside it.
    /// </summary>
    public static string HashPairingCode(byte[] key, string code) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(NormalizeCode(code))));

    /// <summary>
    /// A 32-byte key of the data folder (the pairing key; the VAPID key), created once (0600, exclusively, so the server
    /// and a concurrent <c>pocketcoder pair</c> agree on one key) and read thereafter.
    /// </summary>
    /// <param name="create">Makes a new key; 32 random bytes when null.</param>
    public static byte[] LoadOrCreateKey(string path, Func<byte[]>? create = null)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (File.Exists(path))
            {
                var existing = File.ReadAllBytes(path);
                if (existing.Length == 32)
                {
                    return existing;
                }

                // Being written by a concurrent first use; read again.
                Thread.Sleep(50);
                continue;
            }

            var key = create?.Invoke() ?? RandomNumberGenerator.GetBytes(32);
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using var file = new FileStream(path, options);
                file.Write(key);
                return key;
            }
            catch (IOException) when (File.Exists(path))
            {
                // Someone else created it first: use theirs.
            }
        }

        throw new IOException($"The key {path} is not 32 bytes: delete it (pairing codes, or push subscriptions, will need to be made again).");
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
