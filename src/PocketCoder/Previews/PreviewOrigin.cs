using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using PocketCoder.Hub;
using PocketCoder.Server;

namespace PocketCoder.Previews;

/// <summary>
/// The preview origin: a listener of its own beside the app's (same address and scheme, another port: <c>--preview-port</c>,
/// by default a free one), so a page a previewed server sends runs on an origin that is not the app's. Every request on it is a
/// preview's (<see cref="PreviewProxy"/>) and nothing else: no API, no app, no device token. Through a hub, where a port of
/// its own cannot be reached, the preview origin is a name of its own instead (<c>preview.m1.hub.example.com</c>), routed
/// by the hub to this machine like the app's and told apart here by the name the browser asked for.
/// </summary>
public sealed class PreviewOrigin
{
    /// <summary>The preview origin's host through the hub, once bound on a machine joined to one; null otherwise.</summary>
    public string? HubHost { get; private set; }

    /// <summary>The listening socket made here when the port is a free one (Kestrel serves it): its port is known before the start.</summary>
    private Socket? _socket;

    /// <summary>The URL the preview listener binds: the app's scheme and address, the preview port.</summary>
    public static string ListenUrl(PocketCoderOptions options)
    {
        var listen = new Uri(options.Listen);
        return $"{listen.Scheme}://{listen.Authority[..^(listen.IsDefaultPort ? 0 : listen.Port.ToString(System.Globalization.CultureInfo.InvariantCulture).Length + 1)]}:{options.PreviewPort}";
    }

    /// <summary>
    /// Binds the preview listener in Kestrel (called where the app's own listener is bound). A free port is taken here, with a
    /// socket of our own that Kestrel then serves, so that the port is known at once (Kestrel's own port-0 binding does not say
    /// which listener got which port): loopback for localhost, the address itself for an IP, every address for a name.
    /// </summary>
    public void Bind(KestrelServerOptions kestrel, PocketCoderOptions options)
    {
        HubHost = options.Hub is { } hub ? HubProtocol.PreviewHost(new Uri(hub.PublicUrl).Host) : null;
        var https = KestrelListen.IsHttps(options.Listen);
        void Configure(ListenOptions listen)
        {
            if (https)
            {
                listen.UseHttps();
            }
        }

        if (options.PreviewPort != 0)
        {
            Port = options.PreviewPort;
            KestrelListen.Bind(kestrel, ListenUrl(options), Configure);
            return;
        }

        var host = new Uri(options.Listen).Host.Trim('[', ']');
        var address = host == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(host, out var ip) ? ip : Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any;
        _socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (address.Equals(IPAddress.IPv6Any))
        {
            _socket.DualMode = true;
        }

        _socket.Bind(new IPEndPoint(address, 0));
        _socket.Listen(512);
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        kestrel.ListenHandle((ulong)_socket.Handle, Configure);
    }

    /// <summary>The port the preview origin listens on, once bound (0 before).</summary>
    public int Port { get; private set; }

    /// <summary>
    /// Whether a request is the preview origin's: it arrived on the preview listener, or through the hub naming the preview
    /// host. By the name the browser asked for (<c>Host</c>, HTTP/2's <c>:authority</c>), not the TLS connection's: a browser
    /// may send both names' requests on one connection when one certificate names both, and each belongs where its name says.
    /// </summary>
    public bool Serves(HttpContext context) =>
        (Port > 0 && context.Connection.LocalPort == Port && context.Connection.LocalIpAddress is not null)
        || (HubHost is not null && ThroughHub(context.Connection) && string.Equals(context.Request.Host.Host, HubHost, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// A request for the preview host through the hub on a connection made for another name: a browser's HTTP/2 connection to
    /// the app reused for the preview when one certificate names both. Answered <c>421</c>, on which a browser retries on a
    /// connection of the preview's own (HTTP/1.1, where its websockets are relayed).
    /// </summary>
    public static bool Misdirected(HttpContext context, string host) =>
        context.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.HostName is { Length: > 0 } asked
        && !string.Equals(asked, host, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The preview origin as the phone reaches it. Direct: the scheme and host name the phone used for the app (its request), the
    /// preview port. Through the hub: the preview host on the hub's port. Through another proxy the host is the proxy's, which
    /// does not forward the preview port (docs/reach.md).
    /// </summary>
    public Uri OriginFor(HttpRequest appRequest)
    {
        if (HubHost is not null && ThroughHub(appRequest.HttpContext.Connection))
        {
            return new UriBuilder(Uri.UriSchemeHttps, HubHost, appRequest.Host.Port ?? -1).Uri;
        }

        var host = appRequest.Host.Host;
        return new UriBuilder(appRequest.Scheme, host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host, Port).Uri;
    }

    /// <summary>A connection the hub dialled back: every listener but the hub's is a socket on an address of this machine.</summary>
    private static bool ThroughHub(ConnectionInfo connection) => connection.LocalIpAddress is null;
}
