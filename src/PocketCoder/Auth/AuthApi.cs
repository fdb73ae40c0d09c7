using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using PocketCoder.Errors;
using PocketCoder.Notifications;
using PocketCoder.Server;
using PocketCoder.Teams;

namespace PocketCoder.Auth;

public sealed record PairRequest(
    [property: Required(ErrorMessage = "'code' is required: the pairing code shown by the pairing command `serve` printed, or by an invite.")]
    string? Code,
    [property: Required(ErrorMessage = PairRequest.DeviceNameMessage)]
    [property: PrintableText(100, ErrorMessage = PairRequest.DeviceNameMessage)]
    string? DeviceName)
{
    internal const string DeviceNameMessage = "'deviceName' is required: 1 to 100 printable characters, e.g. \"Ana's phone\".";
}

public sealed record PairResponse(string DeviceId, string Token);

/// <param name="Notifications">How this device is notified, with each channel's last delivery and failure.</param>
/// <param name="Bridge">For a person linked through a chat bridge: which bridge, the platform and their user id there.</param>
/// <param name="PersonId">Whose device it is (<c>GET /api/people</c>).</param>
/// <param name="AppOrigin">For a device paired from another machine's app (one inbox across machines): that app's origin, which may call this API while the device lives.</param>
public sealed record DeviceResponse(string Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastSeenAt, DateTimeOffset? RevokedAt, bool Current,
    IReadOnlyList<ChannelResponse> Notifications, DeviceBridge? Bridge, string? PersonId = null, string? AppOrigin = null);

public sealed record DeviceBridge(string BridgeId, string Platform, string UserId, string UserName);

public static class AuthApi
{
    public static IServiceCollection AddAuth(this IServiceCollection services)
    {
        services.AddSingleton<Devices>().AddSingleton<PairingThrottle>().AddSingleton<DeviceConnections>()
            .AddSingleton<AccessChanges>()
            .AddSingleton<IAccessSubscriber>(services => services.GetRequiredService<DeviceConnections>())
            .AddSingleton<IAccessSubscriber, HeldWorkAnnouncement>()
            // The core alone: AddAuthentication would also add DataProtection, whose key ring is loaded (and, on a new data
            // folder, created and written) before the server answers, for nothing: device tokens are our own, hashed in the database.
            .AddAuthenticationCore(auth => auth.DefaultScheme = DeviceAuthentication.SchemeName)
            .AddWebEncoders();
        // The framework's handler base logs every challenge (each unauthenticated request) at Information under our
        // handler's name; refused pairings and revocations are logged by AuthLog instead.
        services.AddLogging(logging => logging.AddFilter(typeof(DeviceAuthentication).FullName, LogLevel.Warning));
        new AuthenticationBuilder(services)
            .AddScheme<AuthenticationSchemeOptions, DeviceAuthentication>(DeviceAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(DeviceAuthentication.SchemeName).RequireAuthenticatedUser().Build());
        return services;
    }

    public static void MapAuth(this IEndpointRouteBuilder api)
    {
        api.MapPost("/pair", Pair).AllowAnonymous().WithName("Pair");

        var devices = api.MapGroup("/devices");
        devices.MapGet("/", List).WithName("ListDevices");
        devices.MapDelete("/{id}", Revoke).WithName("RevokeDevice");
    }

    private static PairResponse Pair(PairRequest request, HttpContext context, Devices devices, PairingThrottle throttle, [FromServices] PocketCoderOptions options,
        ILogger<Devices> logger)
    {
        var code = request.Code!.Trim();
        var name = request.DeviceName!.Trim();
        var client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (throttle.RetryAfter(client) is { } wait)
        {
            AuthLog.PairingThrottled(logger, client, Math.Ceiling(wait.TotalSeconds));
            throw new ApiProblem(StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited,
                $"Too many wrong pairing codes. Try again in {Math.Ceiling(wait.TotalSeconds)} seconds.")
            {
                RetryAfter = wait,
            };
        }

        // From another machine's app (an Origin not this server's): its origin is recorded on the device and may call this API
        // (CORS) while the device lives; the token goes in the answer's body only, for that app to send as a bearer.
        var origin = context.Request.Headers.Origin.ToString();
        string? appOrigin = null;
        if (origin.Length > 0 && !CrossOrigin.IsOwnOrigin(origin, context.Request.Host.Value ?? ""))
        {
            appOrigin = CrossOrigin.Normalize(origin) ?? throw new ApiProblem(StatusCodes.Status400BadRequest, ErrorCodes.OriginInvalid,
                $"A pairing from '{origin}' cannot be recorded: only an app served over http or https (a scheme, a host and a port) can pair from another origin.");
        }

        if (devices.Redeem(code, name, appOrigin) is not { } paired)
        {
            throttle.RecordFailure(client);
            AuthLog.PairingRefused(logger, client);
            throw new ApiProblem(StatusCodes.Status401Unauthorized, ErrorCodes.PairingCodeInvalid,
                $"That pairing code is wrong, already used or expired. Run the pairing command `serve` printed for a new one.");
        }

        AuthLog.Paired(logger, paired.Device.Id, paired.Device.Name, client);
        if (appOrigin is not null)
        {
            // No cookie for another origin's app: it could never send it (SameSite=Strict), and it holds the token instead.
            return new PairResponse(paired.Device.Id, paired.Token);
        }

        // The PWA authenticates with this cookie; scripts use the token. Script cannot read the cookie. Over https it is the
        // __Host- one (Secure, Path=/, no Domain: the prefix's terms); over plain http a browser would drop a Secure cookie.
        var https = DeviceAuthentication.IsHttps(context.Request, options);
        context.Response.Cookies.Append(https ? DeviceAuthentication.SecureCookieName : DeviceAuthentication.CookieName, paired.Token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = https,
            Path = "/",
            MaxAge = TimeSpan.FromDays(400),
        });
        if (https && context.Request.Cookies.ContainsKey(DeviceAuthentication.CookieName))
        {
            // Paired again after an upgrade: the plain-named cookie of an earlier pairing is never read over https now.
            context.Response.Cookies.Delete(DeviceAuthentication.CookieName, new CookieOptions { Path = "/", Secure = true, SameSite = SameSiteMode.Strict });
        }
        return new PairResponse(paired.Device.Id, paired.Token);
    }

    private static IEnumerable<DeviceResponse> List(Devices devices, NotificationStore notifications, Bridges.BridgeStore bridges, ClaimsPrincipal user)
    {
        var current = user.Actor().Id;
        var channels = notifications.Channels().ToLookup(c => c.DeviceId);
        var people = bridges.People().ToDictionary(p => p.DeviceId, p => new DeviceBridge(p.BridgeId, p.Platform, p.UserId, p.UserName), StringComparer.Ordinal);
        var origins = devices.AppOrigins();
        return devices.List().Select(d => new DeviceResponse(d.Id, d.Name, d.CreatedAt, d.LastSeenAt, d.RevokedAt, d.Id == current,
            [.. channels[d.Id].Select(ChannelResponse.From)], people.GetValueOrDefault(d.Id), d.PersonId, origins.GetValueOrDefault(d.Id)));
    }

    /// <summary>An owner revokes any device; anyone else only their own person's (a lost phone, from their laptop).</summary>
    private static NoContent Revoke(string id, Devices devices, Authority authority, ClaimsPrincipal user, ILogger<Devices> logger)
    {
        // One's own devices (a lost phone, from one's laptop) are one's own to revoke; anyone else's is managing people.
        if (devices.List().FirstOrDefault(d => d.Id == id) is { } device && device.PersonId != user.PersonId())
        {
            authority.Ensure(user.Actor(), null, new Manage("revoke someone else's device"));
        }

        // Its open streams, held work and the watch links it made hear of it (AccessChanges).
        devices.Revoke(id, user.Actor().Name);
        AuthLog.Revoked(logger, id, user.Actor().Name);
        return TypedResults.NoContent();
    }
}
