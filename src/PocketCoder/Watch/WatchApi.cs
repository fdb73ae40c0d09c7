using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Server;
using PocketCoder.Sessions;
using PocketCoder.Teams;

namespace PocketCoder.Watch;

/// <param name="ExpiresInHours">How long the link works: 1 hour to 30 days; 24 hours when left out.</param>
public sealed record CreateWatchLinkRequest([property: Range(1, 720, ErrorMessage = "'expiresInHours' must be between {1} and {2}.")] int? ExpiresInHours);

/// <param name="Url">The link to hand over: the app's address with the secret in its fragment (shown this once).</param>
public sealed record CreatedWatchLink(WatchLink Link, string Url);

/// <param name="Token">The link's fragment: <c>id.secret</c>.</param>
public sealed record OpenWatchRequest([property: Required, PrintableText(200, AllowBlank = false)] string Token);

/// <summary>What a watcher sees of the session it may watch.</summary>
public sealed record WatchedSession(string SessionId, string? Title, string Agent, DateTimeOffset ExpiresAt);

/// <summary>The watch cookie: HttpOnly, host-only, Path=/; over https <c>__Host-</c> prefixed and Secure. It lives no longer than its link.</summary>
public static class WatchCookie
{
    public const string Name = "pocketcoder_watch";

    public const string SecureName = "__Host-pocketcoder_watch";

    public static string For(HttpRequest request, PocketCoderOptions server) => DeviceAuthentication.IsHttps(request, server) ? SecureName : Name;
}

public static class WatchApi
{
    public static IServiceCollection AddWatch(this IServiceCollection services) => services.AddSingleton<WatchLinks>()
        .AddSingleton<IAccessSubscriber>(provider => provider.GetRequiredService<WatchLinks>());

    public static void MapWatch(this IEndpointRouteBuilder api)
    {
        api.MapPost("/sessions/{id}/watch-links", Create).WithName("CreateWatchLink");
        api.MapGet("/watch-links", List).WithName("ListWatchLinks");
        api.MapDelete("/watch-links/{linkId}", Revoke).WithName("RevokeWatchLink");
        api.MapPost("/watch/open", Open).WithName("OpenWatchLink").AllowAnonymous();
        api.MapGet("/watch", Watched).WithName("GetWatchedSession");
    }

    private static CreatedWatchLink Create(string id, CreateWatchLinkRequest request, SessionStore sessions, Authority authority, WatchLinks links,
        ClaimsPrincipal user)
    {
        var session = sessions.Get(id);
        authority.Ensure(user.Actor(), session.ProjectId, new ShareWatch());
        var (link, secret) = links.Create(session.Id, session.ProjectId, TimeSpan.FromHours(request.ExpiresInHours ?? WatchLinks.DefaultLifetime.TotalHours), user.Actor());
        return new CreatedWatchLink(link, $"/watch#{link.Id}.{secret}");
    }

    /// <summary>The live links of the projects where the caller may share one.</summary>
    private static List<WatchLink> List(WatchLinks links, Authority authority, ClaimsPrincipal user) =>
        [.. links.List().Where(link => authority.Check(user.Actor(), link.ProjectId, new ShareWatch()).Allowed)];

    private static NoContent Revoke(string linkId, WatchLinks links, Authority authority, ClaimsPrincipal user)
    {
        var link = links.Get(linkId) ?? throw ApiProblem.NotFound(ErrorCodes.WatchLinkNotFound, $"No live watch link '{linkId}'.");
        authority.Ensure(user.Actor(), link.ProjectId, new ShareWatch());
        links.Revoke(link.Id, user.Actor());
        return TypedResults.NoContent();
    }

    /// <summary>
    /// The one door in: the page posts its fragment's token and gets the opening's cookie (the token is in no address the
    /// server or a proxy logs, and in no Referer). A token that opens nothing is one answer, whatever the reason.
    /// </summary>
    private static WatchedSession Open(OpenWatchRequest request, HttpContext context, WatchLinks links, SessionStore sessions, PocketCoderOptions server,
        TimeProvider clock)
    {
        var opened = links.Open(request.Token, context.Connection.RemoteIpAddress?.ToString(), context.Request.Headers.UserAgent.ToString())
            ?? throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.WatchLinkInvalid,
                "This watch link does not work: it was revoked, it expired, or it was copied wrong. Ask whoever sent it for a new one.");
        var https = DeviceAuthentication.IsHttps(context.Request, server);
        var lifetime = (long)Math.Max(0, (opened.Watcher.ExpiresAt - clock.GetUtcNow()).TotalSeconds);
        context.Response.Headers.Append("Set-Cookie",
            $"{(https ? WatchCookie.SecureName : WatchCookie.Name)}={opened.CookieSecret}; Path=/; Max-Age={lifetime.ToString(CultureInfo.InvariantCulture)}; HttpOnly; SameSite=Strict"
            + (https ? "; Secure" : ""));
        context.Response.Headers.CacheControl = "no-store";
        return Describe(opened.Watcher.SessionId, opened.Watcher.ExpiresAt, sessions);
    }

    private static WatchedSession Watched(ClaimsPrincipal user, SessionStore sessions) =>
        user.Watcher() is { } watcher
            ? Describe(watcher.SessionId, watcher.ExpiresAt, sessions)
            : throw new ApiProblem(StatusCodes.Status403Forbidden, ErrorCodes.WatchOnly, "Only a watch link's page asks what it watches.");

    private static WatchedSession Describe(string sessionId, DateTimeOffset expiresAt, SessionStore sessions)
    {
        var session = sessions.Get(sessionId);
        return new WatchedSession(session.Id, session.ShortTitle ?? session.Title, session.Agent, expiresAt);
    }
}
