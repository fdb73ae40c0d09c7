using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Claude;

/// <summary>
/// A Claude subscription login (<c>.credentials.json</c>'s <c>claudeAiOauth</c>) held outside the sandbox (<see cref="HeldOAuthLogin"/>):
/// the sandboxed Claude gets a copy whose access and refresh tokens are placeholders and whose <c>expiresAt</c> lies far ahead, so
/// it never refreshes (it would send the placeholder to <c>platform.claude.com</c>, be refused, and empty its login).
/// </summary>
public sealed class ClaudeOAuthLogin : HeldOAuthLogin
{
    /// <summary>Claude Code's own token endpoint (read from 2.1's binary: <c>TOKEN_URL</c>).</summary>
    public static readonly Uri TokenUrl = new("https://platform.claude.com/v1/oauth/token");

    /// <summary>A test's fake OAuth endpoint in place of <see cref="TokenUrl"/> (a setting of the server's, never the agent's).</summary>
    public const string TokenUrlSetting = "POCKETCODER_CLAUDE_OAUTH_TOKEN_URL";

    /// <summary>Claude Code's OAuth client, as it sends it when it refreshes (where the login names none).</summary>
    private const string ClaudeCodeClient = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";

    /// <summary>What Claude 2.1 asks for when it refreshes.</summary>
    private const string ClaudeCodeScopes = "user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload user:plugins";

    /// <summary>The sandbox's <c>expiresAt</c>: 2100-01-01, so Claude never thinks its token near its end.</summary>
    public const long FarExpiresAt = 4_102_444_800_000;

    private static readonly ConcurrentDictionary<(string File, Uri TokenUrl), ClaudeOAuthLogin> Logins = new();

    internal ClaudeOAuthLogin(string file, Uri tokenUrl, TimeProvider time, HttpClient http, string access, string refresh)
        : base(file, tokenUrl, time, http)
    {
        // Made once from the first tokens seen, with a seed that is not the token: every session of this server holds the same
        // placeholders whatever refreshes happen meanwhile, so a Claude that reads its file again finds what its endpoint knows.
        AccessPlaceholder = Placeholders.For(access, "claudeAiOauth.accessToken:" + file);
        RefreshPlaceholder = refresh.Length == 0 ? "" : Placeholders.For(refresh, "claudeAiOauth.refreshToken:" + file);
    }

    public string AccessPlaceholder { get; }

    public string RefreshPlaceholder { get; }

    protected override string Name => "Claude's login";

    protected override string LoginCommand => "claude";

    /// <summary>The login of the owner's file <paramref name="file"/>, one per file while the server runs; null when it holds no subscription login.</summary>
    public static ClaudeOAuthLogin? Of(string file, Uri tokenUrl)
    {
        if (OwnTokens(Read(file)) is not { } tokens)
        {
            return null;
        }

        return Logins.GetOrAdd((Path.GetFullPath(file), tokenUrl),
            key => new ClaudeOAuthLogin(key.File, key.TokenUrl, TimeProvider.System, SharedHttp, tokens.Access, tokens.Refresh));
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

    /// <summary>As Claude refreshes: a JSON body with its client and scopes.</summary>
    protected override JsonObject RefreshBody(LoginTokens tokens) => new()
    {
        ["grant_type"] = "refresh_token",
        ["refresh_token"] = tokens.Refresh,
        ["client_id"] = tokens.Client ?? ClaudeCodeClient,
        ["scope"] = ClaudeCodeScopes,
    };

    protected override void Rotate(JsonObject owners, JsonObject answer)
    {
        var oauth = (JsonObject)owners["claudeAiOauth"]!;
        var expiresIn = answer["expires_in"] is JsonValue seconds && seconds.TryGetValue<double>(out var inSeconds) ? inSeconds : 3600;
        oauth["accessToken"] = Text(answer["access_token"]);
        if (Text(answer["refresh_token"]) is { } refresh)
        {
            oauth["refreshToken"] = refresh;
        }

        oauth["expiresAt"] = Time.GetUtcNow().AddSeconds(expiresIn).ToUnixTimeMilliseconds();
        if (Text(answer["scope"]) is { } scope)
        {
            oauth["scopes"] = new JsonArray([.. scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => JsonValue.Create(s))]);
        }
    }

    protected override LoginTokens? Tokens(JsonObject? file) => OwnTokens(file);

    private static LoginTokens? OwnTokens(JsonObject? file) =>
        file?["claudeAiOauth"] is JsonObject oauth && Text(oauth["accessToken"]) is { Length: > 0 } access
            ? new LoginTokens(access, Text(oauth["refreshToken"]) ?? "", ExpiresAt(oauth["expiresAt"]), Text(oauth["clientId"]))
            : null;

    /// <summary><c>expiresAt</c> in milliseconds, as a number or as text.</summary>
    private static DateTimeOffset? ExpiresAt(JsonNode? node) =>
        node is JsonValue expires && expires.TryGetValue<double>(out var at) ? DateTimeOffset.FromUnixTimeMilliseconds((long)at)
        : Text(node) is { } written && long.TryParse(written, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)
            ? DateTimeOffset.FromUnixTimeMilliseconds(parsed) : null;
}
