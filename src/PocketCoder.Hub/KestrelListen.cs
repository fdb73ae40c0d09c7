using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace PocketCoder.Hub;

/// <summary>
/// A listen URL as an explicit Kestrel endpoint, read the way <c>UseUrls</c> reads it (localhost: both loopbacks; an
/// IP: that address; anything else: every address). Explicit, because a server that also listens on a non-socket
/// endpoint (the hub tunnel) cannot mix it with <c>UseUrls</c>, and its connection middleware must sit before TLS.
/// </summary>
public static class KestrelListen
{
    public static void Bind(KestrelServerOptions kestrel, string url, Action<ListenOptions> configure)
    {
        var address = BindingAddress.Parse(url);
        if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(address.Port, configure);
        }
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, address.Port, configure);
        }
        else
        {
            kestrel.ListenAnyIP(address.Port, configure);
        }
    }

    public static bool IsHttps(string url) => BindingAddress.Parse(url).Scheme == Uri.UriSchemeHttps;
}
