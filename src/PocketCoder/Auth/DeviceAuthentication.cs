using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using PocketCoder.Errors;

namespace PocketCoder.Auth;

/// <summary>
/// Authenticates a device by its token: <c>Authorization: Bearer</c> for scripts and the CLI, or the
/// PWA's HttpOnly cookie. Never from a query string. Looked up on every request so a revocation bites at once.
/// </summary>
public sealed class DeviceAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    Devices devices) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "device";
    public const string CookieName = "pocketcoder_session";
    public const string DeviceIdClaim = "pocketcoder:device_id";

    /// <summary>How the credential came: the browser's cookie (<see cref="ViaCookie"/>) needs cross-site checks a bearer token does not.</summary>
    public const string ViaClaim = "pocketcoder:via";
    public const string ViaCookie = "cookie";
    public const string ViaBearer = "bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var bearer = BearerToken();
        var token = bearer ?? Request.Cookies[CookieName];
        if (string.IsNullOrEmpty(token))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var device = devices.Authenticate(token);
        if (device is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown or revoked device token."));
        }

        devices.Touch(device);
        var identity = new ClaimsIdentity(
            [new Claim(DeviceIdClaim, device.Id), new Claim(ClaimTypes.Name, device.Name), new Claim(ViaClaim, bearer is null ? ViaCookie : ViaBearer)],
            SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized,
            "A valid device token is required (Authorization: Bearer <token>). Pair a device with `pocketcoder pair`.");

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
}

/// <summary>Who did something: a device, or the system itself (<c>policy</c>, <c>timeout</c>, <c>system</c>).</summary>
public sealed record Actor(string Id, string Name)
{
    public static readonly Actor Policy = new("policy", "policy");
    public static readonly Actor Timeout = new("timeout", "timeout");
    public static readonly Actor System = new("system", "system");
}
