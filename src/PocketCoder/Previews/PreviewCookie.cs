using System.Globalization;
using PocketCoder.Auth;

namespace PocketCoder.Previews;

/// <summary>
/// The preview grant's cookie on the preview origin: HttpOnly (no page script reads it), host-only (no <c>Domain</c>), and over
/// https <c>Secure</c> with the <c>__Host-</c> prefix, so no sibling name can toss one in. A browser sends a host's cookies to
/// every port of it, so the app's cookie reaches the preview origin too (and this one the app): the preview drops both before
/// anything reaches the server it shows (<see cref="Strip"/>).
/// </summary>
public static class PreviewCookie
{
    public const string Name = "pocketcoder_preview";

    public const string SecureName = "__Host-pocketcoder_preview";

    /// <summary>The cookies PocketCoder sets on this host: never passed on to a previewed server, never set by one.</summary>
    private static readonly HashSet<string> Ours = new(StringComparer.OrdinalIgnoreCase)
    {
        Name, SecureName, DeviceAuthentication.CookieName, DeviceAuthentication.SecureCookieName, Watch.WatchCookie.Name, Watch.WatchCookie.SecureName,
    };

    /// <summary>Whether a cookie of this name is one of PocketCoder's (in any case: the app reads cookie names so).</summary>
    public static bool IsPocketCoders(string name) => Ours.Contains(name.Trim());

    /// <summary>The <c>Set-Cookie</c> value for a grant's secret, living <paramref name="lifetime"/>.</summary>
    public static string SetCookie(string secret, bool https, TimeSpan lifetime) =>
        $"{(https ? SecureName : Name)}={secret}; Path=/; Max-Age={((long)Math.Max(0, lifetime.TotalSeconds)).ToString(CultureInfo.InvariantCulture)}; HttpOnly; SameSite=Lax"
        + (https ? "; Secure" : "");

    /// <summary>The grant's secret from a request's cookies: over https only the prefixed name, which only this origin can have set.</summary>
    public static string? Read(IRequestCookieCollection cookies, bool https) => cookies[https ? SecureName : Name];

    /// <summary>A <c>Cookie</c> header without PocketCoder's cookies; null when none is left.</summary>
    public static string? Strip(string? header)
    {
        if (string.IsNullOrEmpty(header))
        {
            return null;
        }

        var kept = header.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(pair => !IsPocketCoders(pair.Split('=', 2)[0])).ToList();
        return kept.Count == 0 ? null : string.Join("; ", kept);
    }
}
