using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using PocketCoder.Errors;
using PocketCoder.Server;
using PocketCoder.Teams;

namespace PocketCoder.Auth;

/// <summary>
/// Authenticates a device by its token: <c>Authorization: Bearer</c> for scripts and the CLI, or the
/// PWA's HttpOnly cookie. Never from a query string. Looked up on every request so a revocation bites at once.
/// </summary>
public sealed class DeviceAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    Devices devices,
    People people,
    Watch.WatchLinks watches,
    PocketCoderOptions server) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "device";

    /// <summary>The app's cookie over plain http (a LAN address, loopback), where a browser keeps no <c>Secure</c> cookie.</summary>
    public const string CookieName = "pocketcoder_session";

    /// <summary>
    /// The app's cookie over https. The <c>__Host-</c> prefix makes the browser take it only when <c>Secure</c>, for
    /// <c>Path=/</c> and without <c>Domain</c>, so only this exact origin can set it: a sibling machine on the same hub
    /// domain (<c>other.hub.example</c>) can set a <c>Domain=hub.example</c> cookie of the plain name, never this one.
    /// </summary>
    public const string SecureCookieName = "__Host-pocketcoder_session";
    public const string DeviceIdClaim = "pocketcoder:device_id";

    /// <summary>The device's person and their role (before any narrowing in a project: <see cref="RoleGuard"/>).</summary>
    public const string PersonIdClaim = "pocketcoder:person_id";
    public const string PersonNameClaim = "pocketcoder:person_name";
    public const string RoleClaim = "pocketcoder:role";

    /// <summary>How the credential came: the browser's cookie (<see cref="ViaCookie"/>) needs cross-site checks a bearer token does not.</summary>
    public const string ViaClaim = "pocketcoder:via";
    public const string ViaCookie = "cookie";
    public const string ViaBearer = "bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var bearer = BearerToken();
        // Over https only the prefixed cookie is read: a plain-named one there may have been set by a sibling domain.
        var token = bearer ?? Request.Cookies[CookieFor(Request, server)];
        if (string.IsNullOrEmpty(token))
        {
            return Task.FromResult(Request.Cookies[Watch.WatchCookie.For(Request, server)] is { Length: > 0 } watch ? AuthenticateWatcher(watch) : AuthenticateResult.NoResult());
        }

        if (people.Authenticate(token) is not ({ } device, var person))
        {
            if (devices.WasRevoked(token))
            {
                Context.Items[RevokedItem] = true;
            }

            return Task.FromResult(AuthenticateResult.Fail("Unknown or revoked device token."));
        }

        devices.Touch(device);
        // A device with no person (none should remain after migration 022) is given the least role, never the most.
        var identity = new ClaimsIdentity(
            [
                new Claim(DeviceIdClaim, device.Id), new Claim(ClaimTypes.Name, device.Name), new Claim(ViaClaim, bearer is null ? ViaCookie : ViaBearer),
                new Claim(PersonIdClaim, person?.Id ?? ""), new Claim(RoleClaim, (person?.Role ?? Role.Viewer).ToWire()),
                new Claim(PersonNameClaim, person?.Name ?? ""),
            ],
            SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    /// <summary>
    /// A watch link's opening (docs/security.md, "A link to watch"): a watcher of one session, no person, no role of a team's.
    /// It is named as a device (<c>watch:</c> and the opening) so the cookie checks and the cut of its streams apply to it;
    /// <see cref="RoleGuard"/> lets it reach that session's read routes only (<see cref="RouteAccess.WatcherMay"/>).
    /// </summary>
    private AuthenticateResult AuthenticateWatcher(string cookie)
    {
        if (watches.Find(cookie) is not { } watcher)
        {
            return AuthenticateResult.Fail("Unknown, revoked or expired watch link.");
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(DeviceIdClaim, watcher.DeviceId), new Claim(ClaimTypes.Name, $"watch link {watcher.LinkId}"), new Claim(ViaClaim, ViaCookie),
                new Claim(PersonIdClaim, ""), new Claim(RoleClaim, Role.Viewer.ToWire()), new Claim(PersonNameClaim, ""),
                new Claim(WatchOpeningClaim, watcher.OpeningId), new Claim(WatchLinkClaim, watcher.LinkId), new Claim(WatchSessionClaim, watcher.SessionId),
                new Claim(WatchExpiresClaim, watcher.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
            ],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    public const string WatchOpeningClaim = "pocketcoder:watch_opening";
    public const string WatchLinkClaim = "pocketcoder:watch_link";
    public const string WatchSessionClaim = "pocketcoder:watch_session";
    public const string WatchExpiresClaim = "pocketcoder:watch_expires";

    // A revoked device's person (a teammate, most often) cannot run `pocketcoder pair` on the owner's machine: they are told
    // who can let them in again.
    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => Context.Items.ContainsKey(RevokedItem)
        ? Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized,
            "This device was revoked, so it can no longer be used here. Ask an owner of this PocketCoder to invite you again (People, Invite).")
        : Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized,
            $"A valid device token is required (Authorization: Bearer <token>). Pair a device with the pairing command `serve` printed.");

    private const string RevokedItem = "pocketcoder:revoked-device";

    /// <summary>The cookie this request's app uses: <see cref="SecureCookieName"/> when the browser is on https, else <see cref="CookieName"/>.</summary>
    public static string CookieFor(HttpRequest request, PocketCoderOptions server) => IsHttps(request, server) ? SecureCookieName : CookieName;

    /// <summary>
    /// Whether the browser reached the app over https: this server's own TLS (an https listen address, a hub), or a proxy
    /// ending TLS in front of it (Tailscale, nginx) for the https public URL whose name the request carries.
    /// </summary>
    public static bool IsHttps(HttpRequest request, PocketCoderOptions server) =>
        request.IsHttps
        || (Uri.TryCreate(server.PublicUrl, UriKind.Absolute, out var publicUrl) && publicUrl.Scheme == Uri.UriSchemeHttps
            && string.Equals(request.Host.Host, publicUrl.Host, StringComparison.OrdinalIgnoreCase));

    private string? BearerToken()
    {
        var header = Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }
}

public static class DeviceClaims
{
    /// <summary>The calling device, as the ledger names it.</summary>
    public static Actor Actor(this ClaimsPrincipal user) =>
        new(user.FindFirstValue(DeviceAuthentication.DeviceIdClaim) ?? "unknown", user.Identity?.Name ?? "unknown");

    /// <summary>The calling person's own role (a project may narrow it: <see cref="People.RoleIn"/>).</summary>
    public static Role Role(this ClaimsPrincipal user) => Roles.FromWire(user.FindFirstValue(DeviceAuthentication.RoleClaim)) ?? Teams.Role.Viewer;

    /// <summary>The calling person's name (what a refusal calls them), or null for a device that is no one's.</summary>
    public static string? PersonName(this ClaimsPrincipal user) => user.FindFirstValue(DeviceAuthentication.PersonNameClaim) is { Length: > 0 } name ? name : null;

    /// <summary>The watch link's opening this request comes from, or null for a device (a person's, or no one's).</summary>
    public static Watch.Watcher? Watcher(this ClaimsPrincipal user) =>
        user.FindFirstValue(DeviceAuthentication.WatchOpeningClaim) is { Length: > 0 } opening
        && user.FindFirstValue(DeviceAuthentication.WatchLinkClaim) is { } link && user.FindFirstValue(DeviceAuthentication.WatchSessionClaim) is { } session
        && DateTimeOffset.TryParse(user.FindFirstValue(DeviceAuthentication.WatchExpiresClaim), System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.RoundtripKind, out var expires)
            ? new Watch.Watcher(opening, link, session, expires)
            : null;

    public static string? PersonId(this ClaimsPrincipal user) => user.FindFirstValue(DeviceAuthentication.PersonIdClaim) is { Length: > 0 } id ? id : null;
}

/// <summary>Who did something: a device, or the system itself (<c>policy</c>, <c>timeout</c>, <c>system</c>).</summary>
public sealed record Actor(string Id, string Name)
{
    public static readonly Actor Policy = new("policy", "policy");
    public static readonly Actor Timeout = new("timeout", "timeout");
    public static readonly Actor System = new("system", "system");
}
