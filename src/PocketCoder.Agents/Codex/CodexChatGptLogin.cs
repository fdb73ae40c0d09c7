using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// Codex's ChatGPT login (<c>auth.json</c>'s <c>tokens</c>) held outside the sandbox, as Claude's subscription login is
/// (docs/security.md, "Secrets"): the sandboxed Codex gets a copy whose tokens are placeholders of their shape (the access token a
/// JWT whose claims are the real one's with <c>exp</c> in 2100, so Codex never refreshes it; the id token's claims as they are; both
/// signatures placeholders, the refresh token one), and its ChatGPT traffic goes through PocketCoder's model endpoint, which puts the
/// real access token in. The server reads the real login from the owner's own <c>auth.json</c> for each request, refreshes it at
/// the token endpoint when it nears its end, and writes the rotated tokens back there, where the owner's terminal Codex reads them
/// (<see cref="HeldOAuthLogin"/>).
/// </summary>
public sealed class CodexChatGptLogin : HeldOAuthLogin
{
    /// <summary>Codex's own token endpoint (0.169: <c>REFRESH_TOKEN_URL</c>), or a test's fake one.</summary>
    public static readonly OAuthTokenEndpoint TokenEndpoint = new(new Uri("https://auth.openai.com/oauth/token"), "POCKETCODER_CODEX_OAUTH_TOKEN_URL");

    /// <summary>Codex's OAuth client, as it sends it when it refreshes.</summary>
    private const string CodexClient = "app_EMoamEEZ73f0CkXaXp7hrann";

    /// <summary>Codex refreshes a token that is no JWT once its <c>last_refresh</c> is this old.</summary>
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromDays(8);

    private static readonly LoginLayout Layout = new("auth.json", "tokens", "access_token", "refresh_token");

    internal CodexChatGptLogin(string file, Uri tokenUrl, TimeProvider time, HttpClient http, string access, string refresh)
        : base(file, tokenUrl, time, http, Layout, Jwt(access, Layout.Seed(Layout.Access, file), FarFuture.ToUnixTimeSeconds()), refresh)
    {
    }

    protected override string Name => "Codex's ChatGPT login";

    protected override string LoginCommand => "codex login";

    /// <summary>The login of the owner's file <paramref name="file"/>, one per file while the server runs; null when it holds no ChatGPT login.</summary>
    public static CodexChatGptLogin? Of(string file, Uri tokenUrl) => Held(file, tokenUrl, OwnTokens,
        (path, url, tokens) => new CodexChatGptLogin(path, url, TimeProvider.System, SharedHttp, tokens.Access, tokens.Refresh));

    /// <summary>
    /// Codex's copy: the id token's claims kept (Codex reads its account and plan there) under a placeholder signature,
    /// <c>last_refresh</c> in 2100 and no API key.
    /// </summary>
    protected override void FinishCopy(JsonObject owners, JsonObject login)
    {
        if (Text(login["id_token"]) is { Length: > 0 } id)
        {
            login["id_token"] = Jwt(id, Layout.Seed("id_token", File), null);
        }

        owners["last_refresh"] = FarFuture.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        // A key the login exchanged its id token for is the owner's too, and the session needs none: its model is the login's.
        owners.Remove("OPENAI_API_KEY");
        owners["auth_mode"] = "chatgpt";
    }

    /// <summary>As Codex refreshes: a JSON body with its client.</summary>
    protected override JsonObject RefreshBody(LoginTokens tokens) =>
        new() { ["client_id"] = CodexClient, ["grant_type"] = "refresh_token", ["refresh_token"] = tokens.Refresh };

    protected override void Rotate(JsonObject owners, JsonObject answer)
    {
        var written = (JsonObject)owners["tokens"]!;
        foreach (var name in new[] { "access_token", "refresh_token", "id_token" })
        {
            if (Text(answer[name]) is { Length: > 0 } rotated)
            {
                written[name] = rotated;
            }
        }

        owners["last_refresh"] = Time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A JWT's placeholder: its header kept, its claims kept (with <c>exp</c> set to <paramref name="expires"/> where given), its
    /// signature replaced by one of the same shape; a value that is no JWT gets a placeholder of its shape.
    /// </summary>
    internal static string Jwt(string jwt, string seed, long? expires)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3 || parts.Any(part => part.Length == 0) || Claims(parts[1]) is not { } claims)
        {
            return Placeholders.For(jwt, seed);
        }

        if (expires is { } exp)
        {
            claims["exp"] = exp;
            parts[1] = Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        }

        // Led by a capital, the signature has no "public prefix" for the placeholder to keep: every character of it is replaced.
        parts[2] = Placeholders.For("A" + parts[2], seed + ":signature")[1..];
        return string.Join('.', parts);
    }

    private static DateTimeOffset? Expiry(string jwt) =>
        jwt.Split('.') is [_, var payload, _] && Claims(payload)?["exp"] is JsonValue exp && exp.TryGetValue<double>(out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds((long)seconds) : null;

    private static JsonObject? Claims(string payload)
    {
        try
        {
            var padded = payload.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - padded.Length % 4) % 4);
            return JsonNode.Parse(Convert.FromBase64String(padded)) as JsonObject;
        }
        catch (Exception exception) when (exception is FormatException or JsonException)
        {
            return null;
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    protected override LoginTokens? Tokens(JsonObject? file) => OwnTokens(file);

    /// <summary>
    /// A ChatGPT login's tokens, or null. Held whatever else the file holds: <c>codex login</c> may save an API key it exchanged
    /// beside the tokens, and such a file copied in whole would hand the sandbox the refresh token (an attacker review's finding).
    /// It ends as Codex decides: at the access token's <c>exp</c>, else <see cref="RefreshInterval"/> after <c>last_refresh</c>.
    /// </summary>
    private static LoginTokens? OwnTokens(JsonObject? file) =>
        file?["tokens"] is JsonObject tokens && Text(tokens["access_token"]) is { Length: > 0 } access
            && Text(file["auth_mode"]) is null or "chatgpt"
            ? new LoginTokens(access, Text(tokens["refresh_token"]) ?? "", Expiry(access)
                ?? (DateTimeOffset.TryParse(Text(file["last_refresh"]), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var last)
                    ? last + RefreshInterval : null))
            : null;
}
