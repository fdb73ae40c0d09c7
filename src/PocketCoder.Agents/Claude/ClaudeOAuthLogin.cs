using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Claude;

/// <summary>
/// A Claude subscription login (<c>.credentials.json</c>'s <c>claudeAiOauth</c>) held outside the sandbox (docs/security.md,
/// "Secrets"): the sandboxed Claude gets a copy whose access and refresh tokens are placeholders and whose <c>expiresAt</c> lies
/// far ahead, so it never refreshes (it would send the placeholder to <c>platform.claude.com</c>, be refused, and empty its
/// login). The server reads the real access token from the owner's own file for each model request, refreshes it itself at the
/// token endpoint when it nears its end, and writes the rotated tokens back to that file: one login, which the owner's terminal
/// Claude and the server both keep current, never two copies whose refresh tokens outdate each other.
/// </summary>
public sealed class ClaudeOAuthLogin : ILiveSecret
{
    /// <summary>Claude Code's own token endpoint (read from 2.1's binary: <c>TOKEN_URL</c>).</summary>
    public static readonly Uri TokenUrl = new("https://platform.claude.com/v1/oauth/token");

    /// <summary>A test's fake OAuth endpoint in place of <see cref="TokenUrl"/> (a setting of the server's, never the agent's).</summary>
    public const string TokenUrlSetting = "POCKETCODER_CLAUDE_OAUTH_TOKEN_URL";

    /// <summary>Claude Code's OAuth client, as it sends it when it refreshes (where the login names none).</summary>
    private const string ClaudeCodeClient = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";

    /// <summary>What Claude 2.1 asks for when it refreshes.</summary>
    private const string ClaudeCodeScopes = "user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload user:plugins";

    /// <summary>Refreshed this long before it ends: Claude itself refreshes within five minutes of <c>expiresAt</c>.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromMinutes(5);

    /// <summary>The sandbox's <c>expiresAt</c>: 2100-01-01, so Claude never thinks its token near its end.</summary>
    public const long FarExpiresAt = 4_102_444_800_000;

    private const long MaxFile = 1024 * 1024;

    private static readonly ConcurrentDictionary<(string File, Uri TokenUrl), ClaudeOAuthLogin> Logins = new();

    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly TimeProvider _time;
    private readonly HttpClient _http;

    internal ClaudeOAuthLogin(string file, Uri tokenUrl, TimeProvider time, HttpClient http, string access, string refresh)
    {
        (File, Endpoint, _time, _http) = (file, tokenUrl, time, http);
        // Made once from the first tokens seen, with a seed that is not the token: every session of this server holds the same
        // placeholders whatever refreshes happen meanwhile, so a Claude that reads its file again finds what its endpoint knows.
        AccessPlaceholder = Placeholders.For(access, "claudeAiOauth.accessToken:" + file);
        RefreshPlaceholder = refresh.Length == 0 ? "" : Placeholders.For(refresh, "claudeAiOauth.refreshToken:" + file);
    }

    /// <summary>The owner's <c>.credentials.json</c>: where the real login is, read and written by the server only.</summary>
    public string File { get; }

    /// <summary>Where it is refreshed.</summary>
    public Uri Endpoint { get; }

    public string AccessPlaceholder { get; }

    public string RefreshPlaceholder { get; }

    /// <summary>The login of the owner's file <paramref name="file"/>, one per file while the server runs; null when it holds no subscription login.</summary>
    public static ClaudeOAuthLogin? Of(string file, Uri tokenUrl)
    {
        if (Tokens(Read(file)) is not { } tokens)
        {
            return null;
        }

        return Logins.GetOrAdd((Path.GetFullPath(file), tokenUrl),
            key => new ClaudeOAuthLogin(key.File, key.TokenUrl, TimeProvider.System, Http, tokens.Access, tokens.Refresh));
    }

    /// <summary>The secret the model endpoint puts in: the access token, read afresh (and refreshed) for each request.</summary>
    public HeldSecret Secret(string real) => new HeldSecret("claudeAiOauth.accessToken (.credentials.json)", real, AccessPlaceholder) { Live = this };

    /// <summary>
    /// What the sandboxed Claude's <c>.credentials.json</c> holds: the owner's file with its tokens placeholders and its
    /// <c>expiresAt</c> <see cref="FarExpiresAt"/>; the rest (scopes, subscription) as it is. Null when the owner's file has no login.
    /// </summary>
    public string? SandboxCopy(out string? realAccess)
    {
        realAccess = null;
        if (Read(File) is not { } owners || Tokens(owners) is not { } tokens || owners["claudeAiOauth"] is not JsonObject oauth)
        {
            return null;
        }

        realAccess = tokens.Access;
        oauth["accessToken"] = AccessPlaceholder;
        if (tokens.Refresh.Length > 0)
        {
            oauth["refreshToken"] = RefreshPlaceholder;
        }

        oauth["expiresAt"] = FarExpiresAt;
        oauth.Remove("refreshTokenExpiresAt");
        return owners.ToJsonString();
    }

    /// <summary>The real access token now: the owner's file's, refreshed first when it ends within <see cref="Margin"/>.</summary>
    public async Task<string> CurrentAsync(CancellationToken cancellationToken)
    {
        var tokens = Tokens(Read(File)) ?? throw new LiveSecretException($"Claude's login is gone from {File}: log in again with `claude`.");
        if (!NearsItsEnd(tokens) || tokens.Refresh.Length == 0)
        {
            return tokens.Access;
        }

        // The refresh is not the request's to cut short: the provider rotates the refresh token as it answers, so a refresh given
        // up between its send and its answer (a request that dribbled its head until its time ran out) would leave the owner's file
        // holding a spent token (an attacker review's finding). The request only stops waiting for it.
        return await RefreshOnceAsync(tokens).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> RefreshOnceAsync(LoginTokens tokens)
    {
        await _refreshing.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            // Another request (or the owner's own claude) may have refreshed it while this one waited.
            tokens = Tokens(Read(File)) ?? tokens;
            return NearsItsEnd(tokens) ? await RefreshAsync(tokens, CancellationToken.None).ConfigureAwait(false) : tokens.Access;
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private bool NearsItsEnd(LoginTokens tokens) =>
        tokens.ExpiresAt is not { } expiresAt || DateTimeOffset.FromUnixTimeMilliseconds(expiresAt) - _time.GetUtcNow() < Margin;

    /// <summary>
    /// Refreshes the login as Claude does (a JSON body, its client and scopes) and writes the rotated tokens into the owner's file,
    /// unless the owner's claude refreshed it meanwhile (its refresh token no longer the one sent): then that one stands. Where the
    /// refresh fails, the token it has serves while it lasts.
    /// </summary>
    private async Task<string> RefreshAsync(LoginTokens tokens, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = tokens.Refresh,
            ["client_id"] = tokens.Client ?? ClaudeCodeClient,
            ["scope"] = ClaudeCodeScopes,
        };
        JsonObject answer;
        try
        {
            using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await _http.PostAsync(Endpoint, content, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            answer = response.IsSuccessStatusCode && JsonNode.Parse(text) is JsonObject parsed && parsed["access_token"]?.GetValueKind() == JsonValueKind.String
                ? parsed
                : throw new LiveSecretException($"refreshing Claude's login at {Endpoint.Host} was answered {(int)response.StatusCode}");
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or TaskCanceledException or LiveSecretException)
        {
            if (tokens.ExpiresAt is { } expiresAt && DateTimeOffset.FromUnixTimeMilliseconds(expiresAt) > _time.GetUtcNow())
            {
                return tokens.Access;
            }

            throw exception as LiveSecretException ?? new LiveSecretException($"refreshing Claude's login at {Endpoint.Host} failed: {exception.Message}", exception);
        }

        var access = answer["access_token"]!.GetValue<string>();
        var refresh = answer["refresh_token"]?.GetValueKind() == JsonValueKind.String ? answer["refresh_token"]!.GetValue<string>() : tokens.Refresh;
        var expiresIn = answer["expires_in"]?.GetValueKind() == JsonValueKind.Number ? answer["expires_in"]!.GetValue<double>() : 3600;
        if (Read(File) is not { } owners || owners["claudeAiOauth"] is not JsonObject oauth || Tokens(owners) is not { } now
            || now.Refresh != tokens.Refresh)
        {
            return Tokens(Read(File))?.Access ?? access;
        }

        oauth["accessToken"] = access;
        oauth["refreshToken"] = refresh;
        oauth["expiresAt"] = _time.GetUtcNow().AddSeconds(expiresIn).ToUnixTimeMilliseconds();
        if (answer["scope"]?.GetValueKind() == JsonValueKind.String)
        {
            oauth["scopes"] = new JsonArray([.. answer["scope"]!.GetValue<string>().Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => JsonValue.Create(s))]);
        }

        AgentHome.WritePrivate(File, owners.ToJsonString());
        return access;
    }

    private sealed record LoginTokens(string Access, string Refresh, long? ExpiresAt, string? Client);

    private static LoginTokens? Tokens(JsonObject? file) =>
        file?["claudeAiOauth"] is JsonObject oauth && Text(oauth["accessToken"]) is { Length: > 0 } access
            ? new LoginTokens(access, Text(oauth["refreshToken"]) ?? "",
                oauth["expiresAt"] is JsonValue expires && expires.TryGetValue<double>(out var at) ? (long)at
                    : Text(oauth["expiresAt"]) is { } written && long.TryParse(written, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : null,
                Text(oauth["clientId"]))
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
