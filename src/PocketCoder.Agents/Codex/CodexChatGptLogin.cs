using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// Codex's ChatGPT login (<c>auth.json</c>'s <c>tokens</c>) held outside the sandbox, as Claude's subscription login is
/// (docs/security.md, "Secrets"): the sandboxed Codex gets a copy whose tokens are placeholders of their shape (the access token a
/// JWT whose claims are the real one's with <c>exp</c> in 2100, so Codex never refreshes it; the id token's claims as they are; both
/// signatures placeholders, the refresh token one), and its ChatGPT traffic goes through PocketCoder's model endpoint, which puts the
/// real access token in. The server reads the real login from the owner's own <c>auth.json</c> for each request, refreshes it at
/// the token endpoint when it nears its end, and writes the rotated tokens back there, where the owner's terminal Codex reads them.
/// </summary>
public sealed class CodexChatGptLogin : ILiveSecret
{
    /// <summary>Codex's own token endpoint (0.169: <c>REFRESH_TOKEN_URL</c>).</summary>
    public static readonly Uri TokenUrl = new("https://auth.openai.com/oauth/token");

    /// <summary>A test's fake OAuth endpoint in place of <see cref="TokenUrl"/> (a setting of the server's, never the agent's).</summary>
    public const string TokenUrlSetting = "POCKETCODER_CODEX_OAUTH_TOKEN_URL";

    /// <summary>Codex's OAuth client, as it sends it when it refreshes.</summary>
    private const string CodexClient = "app_EMoamEEZ73f0CkXaXp7hrann";

    /// <summary>Refreshed this long before its access token ends.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromMinutes(5);

    /// <summary>Codex refreshes a token that is no JWT once its <c>last_refresh</c> is this old.</summary>
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromDays(8);

    /// <summary>The sandbox's access token's <c>exp</c> (2100-01-01) and <c>last_refresh</c>: Codex never thinks it near its end.</summary>
    public const long FarExpires = 4_102_444_800;

    private const long MaxFile = 1024 * 1024;

    private static readonly ConcurrentDictionary<(string File, Uri TokenUrl), CodexChatGptLogin> Logins = new();

    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly TimeProvider _time;
    private readonly HttpClient _http;

    internal CodexChatGptLogin(string file, Uri tokenUrl, TimeProvider time, HttpClient http, string access, string refresh)
    {
        (File, Endpoint, _time, _http) = (file, tokenUrl, time, http);
        // Made once from the first tokens seen, with seeds that are not the tokens: every session of this server run holds the same
        // placeholders whatever refreshes happen meanwhile.
        AccessPlaceholder = Jwt(access, "tokens.access_token:" + file, FarExpires);
        RefreshPlaceholder = refresh.Length == 0 ? "" : Placeholders.For(refresh, "tokens.refresh_token:" + file);
    }

    /// <summary>The owner's <c>auth.json</c>: where the real login is, read and written by the server only.</summary>
    public string File { get; }

    /// <summary>Where it is refreshed.</summary>
    public Uri Endpoint { get; }

    public string AccessPlaceholder { get; }

    public string RefreshPlaceholder { get; }

    /// <summary>The login of the owner's file <paramref name="file"/>, one per file while the server runs; null when it holds no ChatGPT login.</summary>
    public static CodexChatGptLogin? Of(string file, Uri tokenUrl)
    {
        if (Tokens(Read(file)) is not { } tokens)
        {
            return null;
        }

        return Logins.GetOrAdd((Path.GetFullPath(file), tokenUrl),
            key => new CodexChatGptLogin(key.File, key.TokenUrl, TimeProvider.System, Http, tokens.Access, tokens.Refresh));
    }

    /// <summary>The secret the model endpoint puts in: the access token, read afresh (and refreshed) for each request.</summary>
    public HeldSecret Secret(string real) => new HeldSecret("tokens.access_token (auth.json)", real, AccessPlaceholder) { Live = this };

    /// <summary>
    /// What the sandboxed Codex's <c>auth.json</c> holds: the owner's with its tokens placeholders (the id token's claims kept: Codex
    /// reads its account and plan there) and <c>last_refresh</c> in 2100. Null when the owner's file has no ChatGPT login.
    /// </summary>
    public string? SandboxCopy(out string? realAccess)
    {
        realAccess = null;
        if (Read(File) is not { } owners || Tokens(owners) is not { } tokens || owners["tokens"] is not JsonObject held)
        {
            return null;
        }

        realAccess = tokens.Access;
        held["access_token"] = AccessPlaceholder;
        if (tokens.Refresh.Length > 0)
        {
            held["refresh_token"] = RefreshPlaceholder;
        }

        if (Text(held["id_token"]) is { Length: > 0 } id)
        {
            held["id_token"] = Jwt(id, "tokens.id_token:" + File, null);
        }

        owners["last_refresh"] = DateTimeOffset.FromUnixTimeSeconds(FarExpires).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return owners.ToJsonString();
    }

    /// <summary>The real access token now: the owner's file's, refreshed first when it ends within <see cref="Margin"/>.</summary>
    public async Task<string> CurrentAsync(CancellationToken cancellationToken)
    {
        var tokens = Tokens(Read(File)) ?? throw new LiveSecretException($"Codex's ChatGPT login is gone from {File}: log in again with `codex login`.");
        if (!NearsItsEnd(tokens) || tokens.Refresh.Length == 0)
        {
            return tokens.Access;
        }

        // Not the request's to cut short: the provider rotates the refresh token as it answers (ClaudeOAuthLogin says why).
        return await RefreshOnceAsync(tokens).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> RefreshOnceAsync(LoginTokens tokens)
    {
        await _refreshing.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            // Another request (or the owner's own codex) may have refreshed it while this one waited.
            tokens = Tokens(Read(File)) ?? tokens;
            return NearsItsEnd(tokens) ? await RefreshAsync(tokens).ConfigureAwait(false) : tokens.Access;
        }
        finally
        {
            _refreshing.Release();
        }
    }

    /// <summary>As Codex decides: by the access token's <c>exp</c> (here with a margin), else by the age of <c>last_refresh</c>.</summary>
    private bool NearsItsEnd(LoginTokens tokens)
    {
        var now = _time.GetUtcNow();
        return Expiry(tokens.Access) is { } expires ? expires - now < Margin
            : tokens.LastRefresh is not { } last || now - last > RefreshInterval - Margin;
    }

    /// <summary>
    /// Refreshes the login as Codex does (a JSON body with its client) and writes the rotated tokens into the owner's file, unless
    /// the owner's codex refreshed it meanwhile (its refresh token no longer the one sent): then that one stands. Where the refresh
    /// fails, the token it has serves while it lasts.
    /// </summary>
    private async Task<string> RefreshAsync(LoginTokens tokens)
    {
        var body = new JsonObject { ["client_id"] = CodexClient, ["grant_type"] = "refresh_token", ["refresh_token"] = tokens.Refresh };
        JsonObject answer;
        try
        {
            using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await _http.PostAsync(Endpoint, content, CancellationToken.None).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(CancellationToken.None).ConfigureAwait(false);
            answer = response.IsSuccessStatusCode && JsonNode.Parse(text) is JsonObject parsed && Text(parsed["access_token"]) is { Length: > 0 }
                ? parsed
                : throw new LiveSecretException($"refreshing Codex's ChatGPT login at {Endpoint.Host} was answered {(int)response.StatusCode}");
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or TaskCanceledException or LiveSecretException)
        {
            if (Expiry(tokens.Access) is { } expires && expires > _time.GetUtcNow())
            {
                return tokens.Access;
            }

            throw exception as LiveSecretException ?? new LiveSecretException($"refreshing Codex's ChatGPT login at {Endpoint.Host} failed: {exception.Message}", exception);
        }

        var access = Text(answer["access_token"])!;
        if (Read(File) is not { } owners || owners["tokens"] is not JsonObject written || Tokens(owners) is not { } now || now.Refresh != tokens.Refresh)
        {
            return Tokens(Read(File))?.Access ?? access;
        }

        written["access_token"] = access;
        foreach (var name in new[] { "refresh_token", "id_token" })
        {
            if (Text(answer[name]) is { Length: > 0 } rotated)
            {
                written[name] = rotated;
            }
        }

        owners["last_refresh"] = _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        AgentHome.WritePrivate(File, owners.ToJsonString());
        return access;
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

    private sealed record LoginTokens(string Access, string Refresh, DateTimeOffset? LastRefresh);

    /// <summary>A ChatGPT login's tokens (no key saved by <c>codex login --with-api-key</c>, no other mode), or null.</summary>
    private static LoginTokens? Tokens(JsonObject? file) =>
        file?["tokens"] is JsonObject tokens && Text(tokens["access_token"]) is { Length: > 0 } access
            && Text(file["OPENAI_API_KEY"]) is null or "" && Text(file["auth_mode"]) is null or "chatgpt"
            ? new LoginTokens(access, Text(tokens["refresh_token"]) ?? "",
                DateTimeOffset.TryParse(Text(file["last_refresh"]), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var last) ? last : null)
            : null;

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static JsonObject? Read(string file)
    {
        try
        {
            var info = new FileInfo(file);
            return info.Exists && info.Length < MaxFile ? JsonNode.Parse(System.IO.File.ReadAllText(file)) as JsonObject : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
