using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FakeLlm;

/// <summary>
/// An OAuth token endpoint beside the model (<c>POST /v1/oauth/token</c>, where Claude Code refreshes its subscription login): a
/// refresh that presents the refresh token the test expects is answered with the rotated tokens it was given
/// (<see cref="RotateLogin"/>), once; anything else is refused as a real provider refuses it (<c>400 invalid_grant</c>).
/// </summary>
public sealed partial class FakeModelServer
{
    private readonly List<JsonObject> _refreshes = [];
    private (string Refresh, string NewAccess, string NewRefresh, int ExpiresIn)? _rotation;

    /// <summary>Where a login is refreshed here: give it to the server as the token endpoint.</summary>
    public Uri OAuthTokenUrl => new(BaseUrl, "/v1/oauth/token");

    /// <summary>Every refresh asked for, its JSON body as sent.</summary>
    public IReadOnlyList<JsonObject> OAuthRefreshes
    {
        get
        {
            lock (_gate)
            {
                return [.. _refreshes];
            }
        }
    }

    /// <summary>The next refresh presenting <paramref name="refresh"/> gets these tokens, lasting <paramref name="expiresIn"/> seconds.</summary>
    public void RotateLogin(string refresh, string newAccess, string newRefresh, int expiresIn = 3600)
    {
        lock (_gate)
        {
            _rotation = (refresh, newAccess, newRefresh, expiresIn);
        }
    }

    private void MapOAuthEndpoints() => _app.MapPost("/v1/oauth/token", async context =>
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = JsonNode.Parse(await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false)) as JsonObject ?? [];
        JsonObject answer;
        lock (_gate)
        {
            _refreshes.Add(body);
            if (_rotation is { } rotation && body["grant_type"]?.ToString() == "refresh_token" && body["refresh_token"]?.ToString() == rotation.Refresh)
            {
                _rotation = null;
                answer = new JsonObject
                {
                    ["access_token"] = rotation.NewAccess, ["refresh_token"] = rotation.NewRefresh, ["expires_in"] = rotation.ExpiresIn,
                    ["token_type"] = "Bearer", ["scope"] = "user:inference user:profile",
                };
            }
            else
            {
                answer = new JsonObject { ["error"] = "invalid_grant", ["error_description"] = "Invalid refresh token" };
            }
        }

        await WriteJsonAsync(context.Response, answer.ContainsKey("error") ? StatusCodes.Status400BadRequest : StatusCodes.Status200OK,
            Encoding.UTF8.GetBytes(answer.ToJsonString()), context.RequestAborted).ConfigureAwait(false);
    });
}
