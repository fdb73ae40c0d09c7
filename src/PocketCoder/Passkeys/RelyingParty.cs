using PocketCoder.Auth;

namespace PocketCoder.Passkeys;

/// <summary>
/// Where a ceremony happens: the web origin of the app asking (this server's own, or another machine's app paired with it, as
/// <see cref="CrossOrigin"/> allows it), and that origin's host as the relying party id. A passkey made on one host signs
/// for that host only, so a page elsewhere cannot ask for an assertion and bring it here.
/// </summary>
public sealed record RelyingParty(string Origin, string Id)
{
    public const string Name = "PocketCoder";

    /// <summary>The request's origin when the browser sent one (its own, or a paired app's); else this server's own.</summary>
    public static RelyingParty Of(HttpRequest request, Devices devices)
    {
        var host = request.Host.Value ?? "";
        var sent = request.Headers.Origin.ToString();
        var origin = string.IsNullOrEmpty(sent) ? $"{request.Scheme}://{host}"
            : CrossOrigin.IsOwnOrigin(sent, host) || (CrossOrigin.Normalize(sent) == sent && devices.IsAppOrigin(sent)) ? sent
            : throw new Errors.ApiProblem(StatusCodes.Status403Forbidden, Errors.ErrorCodes.OriginNotPaired,
                $"{sent} is neither this server's app nor one paired with it: passkeys are used from those only.");
        return new RelyingParty(origin, new Uri(origin).Host);
    }
}
