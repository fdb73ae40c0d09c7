using System.Globalization;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes.Network;

namespace PocketCoder.Agents.Claude;

/// <summary>
/// A Claude subscription login (<c>.credentials.json</c>'s <c>claudeAiOauth</c>) held outside the sandbox (<see cref="HeldOAuthLogin"/>):
/// the sandboxed Claude gets a copy whose access and refresh tokens are placeholders and whose <c>expiresAt</c> lies far ahead, so
/// it never refreshes (it would send the placeholder to <c>platform.claude.com</c>, be refused, and empty its login).
/// </summary>
public sealed class ClaudeOAuthLogin : HeldOAuthLogin
{
    /// <summary>Claude Code's own token endpoint (read from 2.1's binary: <c>TOKEN_URL</c>), or a test's fake one.</summary>
    public static readonly OAuthTokenEndpoint TokenEndpoint = new(new Uri("https://platform.claude.com/v1/oauth/token"), "POCKETCODER_CLAUDE_OAUTH_TOKEN_URL");

    /// <summary>Claude Code's OAuth client, as it sends it when it refreshes (where the login names none).</summary>
    private const string ClaudeCodeClient = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";

    /// <summary>What Claude 2.1 asks for when it refreshes.</summary>
    private const string ClaudeCodeScopes = "user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload user:plugins";

    private static readonly LoginLayout Layout = new(".credentials.json", "claudeAiOauth", "accessToken", "refreshToken");

    internal ClaudeOAuthLogin(string file, Uri tokenUrl, TimeProvider time, HttpClient http, string access, string refresh)
        : base(file, tokenUrl, time, http, Layout, Placeholders.For(access, Layout.Seed(Layout.Access, file)), refresh)
    {
    }

    protected override string Name => "Claude's login";

    protected override string LoginCommand => "claude";

    /// <summary>The login of the owner's file <paramref name="file"/>, one per file while the server runs; null when it holds no subscription login.</summary>
    public static ClaudeOAuthLogin? Of(string file, Uri tokenUrl) => Held(file, tokenUrl, OwnTokens,
        (path, url, tokens) => new ClaudeOAuthLogin(path, url, TimeProvider.System, SharedHttp, tokens.Access, tokens.Refresh));

    /// <summary>Claude's <c>expiresAt</c> <see cref="HeldOAuthLogin.FarFuture"/>; the rest (scopes, subscription) as it is.</summary>
    protected override void FinishCopy(JsonObject owners, JsonObject login)
    {
        login["expiresAt"] = FarFuture.ToUnixTimeMilliseconds();
        login.Remove("refreshTokenExpiresAt");
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
