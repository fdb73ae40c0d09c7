namespace PocketCoder.Previews;

/// <summary>
/// What a previewed server's answer may carry to the owner's browser, and what PocketCoder adds to it. The page is the
/// agent's: it must not reach past the sandbox through the browser (the policy below), nor touch PocketCoder's own cookies,
/// which browsers share across every port of a host (its <c>Set-Cookie</c> for those names and any <c>Clear-Site-Data</c>
/// are dropped).
/// </summary>
internal static class PreviewHeaders
{
    /// <summary>
    /// Added to every answer (beside the server's own, which can only narrow it): the page talks to its own origin and
    /// nothing else, so what the agent's page reads cannot be sent to a host through the browser, which has the open
    /// network the sandbox lacks. Inline script and eval stay: dev servers need them.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; connect-src 'self'; form-action 'self'; frame-src 'self'; " +
        "worker-src 'self'; base-uri 'self'; object-src 'none'";

    /// <summary>Whether a header of the server's answer goes on to the browser (with this value).</summary>
    public static bool Relayed(string name, string value) =>
        !name.Equals("Clear-Site-Data", StringComparison.OrdinalIgnoreCase)
        && !(name.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase) && PreviewCookie.IsPocketCoders(CookieName(value)));

    /// <summary>PocketCoder's own headers, written last so the server's cannot take their place.</summary>
    public static void Add(IHeaderDictionary headers)
    {
        headers["Referrer-Policy"] = "no-referrer";
        headers.Append("Content-Security-Policy", ContentSecurityPolicy);
    }

    private static string CookieName(string setCookie)
    {
        var equals = setCookie.IndexOf('=', StringComparison.Ordinal);
        return equals < 0 ? setCookie : setCookie[..equals];
    }
}
