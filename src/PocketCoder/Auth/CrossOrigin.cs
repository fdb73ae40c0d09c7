using Microsoft.Net.Http.Headers;
using PocketCoder.Errors;

namespace PocketCoder.Auth;

/// <summary>What CORS says to one request: nothing (not cross-origin), a preflight's answer, or an actual request's.</summary>
public enum CrossOriginVerdict
{
    /// <summary>No <c>Origin</c>, or this server's own: the browser needs no CORS headers.</summary>
    NotCrossOrigin,

    /// <summary>A preflight from an origin that may make the request: answered 204 with the CORS headers.</summary>
    PreflightAllowed,

    /// <summary>A preflight from any other origin: answered 403, with no CORS headers, so the browser never sends the request.</summary>
    PreflightRefused,

    /// <summary>A request from an origin that may read the answer: the answer carries <c>Access-Control-Allow-Origin</c>.</summary>
    Allowed,

    /// <summary>A request from any other origin: it goes on (authentication decides), but its answer carries no CORS header, so no page reads it.</summary>
    Unreadable,
}

/// <summary>
/// Which web origins may call this server's API from a browser (one inbox across machines, docs/reach.md): the app origins
/// recorded on its live devices when the app on another machine paired with it (<c>POST /api/pair</c> from that origin), and
/// nobody else; <c>POST /api/pair</c> itself from any origin, since the one-time code, not the origin, is its authority
/// (a page holding no code gets a 401 and nothing more). Never a wildcard, never credentials by cookie: the other app
/// sends its device token as <c>Authorization: Bearer</c>, so <c>Access-Control-Allow-Credentials</c> is never sent.
/// </summary>
public static class CrossOrigin
{
    public const string PairPath = "/api/pair";

    /// <summary>What another machine's app may send: its bearer token, JSON bodies, and a stream's resume point.</summary>
    public const string AllowedHeaders = "Authorization, Content-Type, Last-Event-ID, If-Match";
    public const string AllowedMethods = "GET, POST, PUT, PATCH, DELETE";

    /// <summary>What it may read of an answer beyond the simple headers: a throttle's wait, and a file's version.</summary>
    public const string ExposedHeaders = "Retry-After, ETag, Location";

    /// <summary>The verdict for one request (pure: the caller says whether an origin is a live device's app origin).</summary>
    /// <param name="host">The request's <c>Host</c> (authority), to tell this server's own origin.</param>
    /// <param name="preflight">An <c>OPTIONS</c> with <c>Access-Control-Request-Method</c>.</param>
    /// <param name="requestedMethod">A preflight's <c>Access-Control-Request-Method</c>.</param>
    /// <param name="paired">Whether an origin is recorded on a live device; asked only for a cross-origin request off the pairing path.</param>
    public static CrossOriginVerdict Decide(string? origin, string host, PathString path, bool preflight, string? requestedMethod, Func<string, bool> paired)
    {
        if (string.IsNullOrEmpty(origin) || IsOwnOrigin(origin, host))
        {
            return CrossOriginVerdict.NotCrossOrigin;
        }

        var pairing = path.Equals(PairPath, StringComparison.OrdinalIgnoreCase);
        bool allowed;
        if (pairing)
        {
            // Any origin may try a code, only by POST; a page with no code is answered 401 (and throttled like anyone).
            allowed = !preflight || string.Equals(requestedMethod, HttpMethods.Post, StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            // "null" (a sandboxed frame, a file) is never an app's origin: Normalize refuses it at pairing, so it is never recorded.
            allowed = Normalize(origin) is { } normalized && normalized == origin && paired(origin);
        }

        return (preflight, allowed) switch
        {
            (true, true) => CrossOriginVerdict.PreflightAllowed,
            (true, false) => CrossOriginVerdict.PreflightRefused,
            (false, true) => CrossOriginVerdict.Allowed,
            _ => CrossOriginVerdict.Unreadable,
        };
    }

    /// <summary>
    /// An app origin as browsers serialize it (<c>https://a.example</c>, <c>http://127.0.0.1:5000</c>: scheme and host in
    /// lower case, the port only when not the scheme's own, no path), or null when it is not an http(s) origin.
    /// </summary>
    public static string? Normalize(string? origin)
    {
        if (string.IsNullOrEmpty(origin) || !Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || uri.AbsolutePath != "/" || uri.Query.Length > 0
            || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0 || origin.EndsWith('/'))
        {
            return null;
        }

        return uri.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>Whether the origin is this server's own (the app it serves), by its authority against the request's <c>Host</c>.</summary>
    public static bool IsOwnOrigin(string origin, string host) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, host, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Answers preflights and marks the answers another machine's app may read. Before authentication: a preflight carries
    /// no token and must not meet a 401. The answer's CORS headers are added as it starts, so a problem written later
    /// (a 401, a 404) is readable by the app too, and says why.
    /// </summary>
    public static IApplicationBuilder UseCrossOriginApps(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var request = context.Request;
        var origin = request.Headers.Origin.ToString();
        var preflight = HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey("Access-Control-Request-Method");
        var devices = context.RequestServices.GetRequiredService<Devices>();
        var verdict = Decide(origin, request.Host.Value ?? "", request.Path, preflight, request.Headers["Access-Control-Request-Method"], devices.IsAppOrigin);
        switch (verdict)
        {
            case CrossOriginVerdict.PreflightAllowed:
                Allow(context.Response, origin);
                context.Response.Headers["Access-Control-Allow-Methods"] = AllowedMethods;
                context.Response.Headers["Access-Control-Allow-Headers"] = AllowedHeaders;
                context.Response.Headers["Access-Control-Max-Age"] = "600";
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            case CrossOriginVerdict.PreflightRefused:
                context.Response.Headers.Append(HeaderNames.Vary, "Origin");
                await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.OriginNotPaired,
                    $"The app at {origin} is not paired with this machine. Add this machine from that app with a pairing code of this machine.");
                return;
            case CrossOriginVerdict.Allowed:
                context.Response.OnStarting(() =>
                {
                    Allow(context.Response, origin);
                    context.Response.Headers["Access-Control-Expose-Headers"] = ExposedHeaders;
                    return Task.CompletedTask;
                });
                break;
            case CrossOriginVerdict.Unreadable:
                context.Response.OnStarting(() =>
                {
                    context.Response.Headers.Append(HeaderNames.Vary, "Origin");
                    return Task.CompletedTask;
                });
                break;
        }

        await next(context);
    });

    private static void Allow(HttpResponse response, string origin)
    {
        response.Headers.AccessControlAllowOrigin = origin;
        // The answer differs by Origin: a cache must not hand one origin's answer to another (beside Accept-Encoding's).
        response.Headers.Append(HeaderNames.Vary, "Origin");
    }
}
