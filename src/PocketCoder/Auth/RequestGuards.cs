using System.Collections.Concurrent;
using System.Net;
using System.Security.Claims;
using PocketCoder.Errors;
using PocketCoder.Server;

namespace PocketCoder.Auth;

/// <summary>
/// Every request a device (or a watch link's opening) has open, by device: so a revocation ends them — SSE streams included —
/// instead of letting a revoked phone keep watching until it disconnects, and so an owner can see who is connected now
/// (<see cref="Open"/>, <see cref="Now"/>) and cut them all at once (<see cref="RevokeAllBut"/>).
/// </summary>
public sealed class DeviceConnections : IAccessSubscriber
{
    public void Changed(AccessChange change)
    {
        if (change is DevicesRevoked revoked)
        {
            foreach (var device in revoked.DeviceIds)
            {
                Revoke(device);
            }
        }
    }

    private readonly ConcurrentDictionary<string, CancellationTokenSource> _byDevice = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<OpenRequest, byte> _open = new();

    // Devices and watch openings ended for good (ids are never reused). A request that authenticated just before its device
    // was revoked asks For() only after the revocation has cancelled what was there: without this it would get a new token
    // nothing ever cancels, and keep its stream (found by an attacker review, 18 rounds in 40 under a lockdown).
    private readonly ConcurrentDictionary<string, byte> _ended = new(StringComparer.Ordinal);

    public CancellationToken For(string deviceId)
    {
        var token = _byDevice.GetOrAdd(deviceId, _ => new CancellationTokenSource()).Token;
        // Looked at after the token is registered: a revocation marks before it cancels, so either it cancelled this token,
        // or the mark is seen here.
        return _ended.ContainsKey(deviceId) ? new CancellationToken(canceled: true) : token;
    }

    /// <summary>Counts a request as open until the returned handle is disposed (the request's end).</summary>
    public IDisposable Open(string deviceId, string via, string? from, HttpContext context, DateTimeOffset since)
    {
        var request = new OpenRequest(deviceId, via, from, since, _open);
        _open.TryAdd(request, 0);
        // Whether it is a stream is known when its headers go, on its own thread; never read from another.
        context.Response.OnStarting(() =>
        {
            request.IsStream = context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true;
            return Task.CompletedTask;
        });
        return request;
    }

    /// <summary>What is open now, a row per request (the caller groups them by device).</summary>
    public IReadOnlyList<OpenRequest> Now() => [.. _open.Keys];

    /// <summary>Ends every open request of the device, and any it opens later. Later requests fail authentication anyway.</summary>
    public void Revoke(string deviceId)
    {
        _ended.TryAdd(deviceId, 0);
        if (_byDevice.TryRemove(deviceId, out var connections))
        {
            connections.Cancel();
            connections.Dispose();
        }
    }

    /// <summary>Ends every open request of every device and watch link but <paramref name="kept"/> (a lockdown).</summary>
    public void RevokeAllBut(string kept)
    {
        foreach (var device in _byDevice.Keys.Where(device => device != kept))
        {
            Revoke(device);
        }
    }
}

/// <summary>One request a device has open: how it came (<c>direct</c>, <c>hub</c>), from which address, since when.</summary>
public sealed class OpenRequest(string deviceId, string via, string? from, DateTimeOffset since, ConcurrentDictionary<OpenRequest, byte> registry)
    : IDisposable
{
    private volatile bool _isStream;

    public string DeviceId => deviceId;

    public string Via => via;

    public string? From => from;

    public DateTimeOffset Since => since;

    /// <summary>Whether its answer is an event stream (set as its headers go).</summary>
    public bool IsStream
    {
        get => _isStream;
        internal set => _isStream = value;
    }

    public void Dispose() => registry.TryRemove(this, out _);
}

/// <summary>The checks that sit in front of every endpoint because they concern the browser and the network, not a feature.</summary>
public static class RequestGuards
{
    /// <summary>
    /// DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 reaches the server with
    /// <c>Host: evil.example</c>. Only the listen and public addresses, loopback names, IP literals (rebinding needs a name) and
    /// names the owner configured are served.
    /// </summary>
    public static IApplicationBuilder UseAllowedHosts(this IApplicationBuilder app, PocketCoderOptions options)
    {
        var allowed = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost" };
        foreach (var address in new[] { options.Listen, options.PublicUrl })
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out var uri))
            {
                allowed.Add(uri.Host);
            }
        }

        allowed.UnionWith(options.AllowedHosts);
        return app.Use(async (context, next) =>
        {
            var host = context.Request.Host.Host;
            if (!allowed.Contains(host) && !IPAddress.TryParse(host.Trim('[', ']'), out _))
            {
                await Problems.WriteAsync(context, StatusCodes.Status421MisdirectedRequest, ErrorCodes.HostNotAllowed,
                    $"This server does not answer to the name '{host}'. If you reach it under that name, start it with " +
                    $"--allowed-host {host} (or POCKETCODER_ALLOWED_HOSTS).");
                return;
            }

            await next(context);
        });
    }

    /// <summary>
    /// After authentication: (1) a cookie-authenticated request that changes something must come from the app's own
    /// origin — a page on another port of this host would otherwise ride the cookie (bearer clients are not browsers and
    /// are not affected), and a read must not be another site's (<see cref="FromAnotherSite"/>); (2) the request's cancellation is tied to its device, so revoking the device ends it.
    /// </summary>
    public static IApplicationBuilder UseDeviceGuards(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var deviceId = context.User.FindFirstValue(DeviceAuthentication.DeviceIdClaim);
        if (deviceId is null)
        {
            await next(context);
            return;
        }

        if (context.User.HasClaim(DeviceAuthentication.ViaClaim, DeviceAuthentication.ViaCookie)
            && (IsSafe(context.Request.Method) ? FromAnotherSite(context.Request) : !IsSameOrigin(context.Request)))
        {
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.CrossSiteRequest,
                "This request came from another site or port (Origin / Sec-Fetch-Site), with the app's cookie: refused.");
            return;
        }

        var connections = context.RequestServices.GetRequiredService<DeviceConnections>();
        var revoked = connections.For(deviceId);
        using var open = connections.Open(deviceId, Reach.Connected.ConnectedNow.ViaOf(context), context.Connection.RemoteIpAddress?.ToString(), context,
            context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow());
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, revoked);
        context.RequestAborted = linked.Token;
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (revoked.IsCancellationRequested)
        {
            // The device was revoked mid-request: drop the connection rather than answer.
            context.Abort();
            return;
        }

        // An event stream that ended because its device was revoked is dropped, so the client cannot mistake it for a
        // normal end and reconnect quietly. (A device revoking itself still gets its 204.)
        if (revoked.IsCancellationRequested && context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true)
        {
            context.Abort();
        }
    });

    private static bool IsSafe(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    /// <summary>
    /// A read with the app's cookie that the browser says another site or port made (an image or script on a preview page:
    /// a host's cookies go to every port). Reads change little, but some do (listing pending calls marks them delivered,
    /// which holds back their escalation): the API answers reads to the app's own pages, and to what the owner opened
    /// themselves (<c>none</c>: typed, bookmarked). Browsers that send no <c>Sec-Fetch-Site</c> are read as before.
    /// </summary>
    private static bool FromAnotherSite(HttpRequest request) =>
        request.Path.StartsWithSegments("/api") && request.Headers["Sec-Fetch-Site"].ToString() is { Length: > 0 } site
        && site != "same-origin" && site != "none";

    private static bool IsSameOrigin(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        var fetchSite = request.Headers["Sec-Fetch-Site"].ToString();
        if (origin.Length == 0 && fetchSite.Length == 0)
        {
            // Browsers send Origin with every unsafe request; a cookie without either header is not one we can vouch for.
            return false;
        }

        if (fetchSite.Length > 0 && fetchSite != "same-origin")
        {
            return false;
        }

        return origin.Length == 0
            || (Uri.TryCreate(origin, UriKind.Absolute, out var uri)
                && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase));
    }
}
