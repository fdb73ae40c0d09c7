using Microsoft.AspNetCore.Server.Kestrel.Core;
using PocketCoder.Hub;
using PocketCoder.Server;

namespace PocketCoder.Previews;

/// <summary>
/// The preview origin: a listener of its own beside the app's (same address and scheme, another port: <c>--preview-port</c>,
/// by default a free one), so a page a previewed server sends runs on an origin that is not the app's. Every request on it is a
/// preview's (<see cref="PreviewProxy"/>) and nothing else: no API, no app, no device token.
/// </summary>
public sealed class PreviewOrigin
{
    private readonly List<ListenOptions> _listeners = [];

    /// <summary>The URL the preview listener binds: the app's scheme and address, the preview port (localhost: IPv4 loopback, so a free port can be asked).</summary>
    public static string ListenUrl(PocketCoderOptions options)
    {
        var listen = new Uri(options.Listen);
        var host = listen.Host == "localhost" && options.PreviewPort == 0 ? "127.0.0.1" : listen.Host;
        return $"{listen.Scheme}://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{options.PreviewPort}";
    }

    /// <summary>Binds the preview listener in Kestrel (called where the app's own listener is bound).</summary>
    public void Bind(KestrelServerOptions kestrel, PocketCoderOptions options) =>
        KestrelListen.Bind(kestrel, ListenUrl(options), listen =>
        {
            _listeners.Add(listen);
            if (KestrelListen.IsHttps(options.Listen))
            {
                listen.UseHttps();
            }
        });

    /// <summary>The port the preview origin listens on, once bound (0 before).</summary>
    public int Port => _listeners.Select(l => l.IPEndPoint?.Port ?? 0).FirstOrDefault(port => port > 0);

    /// <summary>Whether a request arrived on the preview origin's listener.</summary>
    public bool Serves(HttpContext context) => Port > 0 && context.Connection.LocalPort == Port && context.Connection.LocalIpAddress is not null;

    /// <summary>
    /// The preview origin as the phone reaches it: the scheme and host name the phone used for the app (its request), the preview
    /// port. Through a proxy or the hub that host is the proxy's, which does not forward the preview port (docs/reach.md).
    /// </summary>
    public Uri OriginFor(HttpRequest appRequest)
    {
        var host = appRequest.Host.Host;
        return new UriBuilder(appRequest.Scheme, host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host, Port).Uri;
    }
}
