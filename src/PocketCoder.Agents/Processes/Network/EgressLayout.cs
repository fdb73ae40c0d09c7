using System.Globalization;
using System.Net;

namespace PocketCoder.Agents.Processes.Network;

/// <summary>
/// What a sandbox's network looks like from inside (docs/security.md, "The network"): it has only its own loopback, and on it
/// PocketCoder's proxy at <c>127.0.0.1:</c><see cref="ProxyPort"/> (named by <c>HTTPS_PROXY</c> and its kin) and, for a model
/// the owner runs on this machine (a base URL on loopback, as the tests' fake model is), a relay on that same address and port,
/// since inside the sandbox that address is the sandbox's own and most clients never send loopback through a proxy. Every
/// listener is made inside and handed out to the server (<see cref="SandboxNetworkEntry"/>), which serves them.
/// </summary>
/// <param name="Model">The agent's model endpoints: connections to them pass without asking.</param>
/// <param name="Connectors">For an agent PocketCoder talks to over its loopback (OpenCode's server): how many unconnected sockets
/// of the sandbox's namespace the helper hands out with its listeners, for the server to connect in with (more are made when
/// they run out: <see cref="IEgressDoor.ConnectInsideAsync"/>). None for the others.</param>
/// <param name="Forwards">The agent's model as a plain-HTTP endpoint of PocketCoder's that puts its credentials in (its placeholders
/// are all the sandbox holds): one listener each, named by its variable.</param>
public sealed record EgressLayout(IReadOnlyList<NetworkEndpoint> Model, int Connectors = 0, IReadOnlyList<ModelForward>? Forwards = null)
{
    /// <summary>Where the door socket is inside every sandbox (the host's <c>/run</c> is hidden, so nothing else is there).</summary>
    public const string InsideDoor = "/run/pocketcoder/egress.sock";

    /// <summary>The proxy's usual port, unless a model relay takes it.</summary>
    private const int PreferredProxyPort = 3128;

    /// <summary>Loopback every sandbox keeps for itself: the proxy variables leave these out, so a server a command starts inside is reached directly.</summary>
    public const string NoProxy = "localhost,127.0.0.1,::1";

    /// <summary>Each loopback model endpoint's listener inside, and the endpoint it relays to.</summary>
    public IReadOnlyList<(IPEndPoint Listen, NetworkEndpoint Target)> Relays { get; } = RelaysOf(Model);

    public int ProxyPort => FreePorts.First();

    public IPEndPoint Proxy => new(IPAddress.Loopback, ProxyPort);

    /// <summary>Each forward's listener inside, on the ports after the proxy's that no relay takes.</summary>
    public IReadOnlyList<(IPEndPoint Listen, ModelForward Forward)> ForwardListeners =>
        [.. (Forwards ?? []).Zip(FreePorts.Skip(1), (forward, port) => (new IPEndPoint(IPAddress.Loopback, port), forward))];

    private IEnumerable<int> FreePorts => Enumerable.Range(PreferredProxyPort, 100)
        .Where(port => !Relays.Any(relay => relay.Listen.Port == port && relay.Listen.Address.Equals(IPAddress.Loopback)));

    /// <summary>Every listener the sandbox makes, the proxy first, then the relays and the forwards: the order the helper passes them in.</summary>
    public IReadOnlyList<IPEndPoint> Listeners => [Proxy, .. Relays.Select(relay => relay.Listen), .. ForwardListeners.Select(f => f.Listen)];

    public string ProxyUrl => $"http://127.0.0.1:{ProxyPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// The variables every program inside reads for its proxy (both spellings: curl reads only the lower-case <c>http_proxy</c>,
    /// Node clients the upper-case). <c>ALL_PROXY</c> is removed (a SOCKS proxy of the owner's would only fail inside).
    /// </summary>
    public IReadOnlyList<(string Name, string? Value)> Environment =>
    [
        ("HTTPS_PROXY", ProxyUrl), ("https_proxy", ProxyUrl), ("HTTP_PROXY", ProxyUrl), ("http_proxy", ProxyUrl),
        ("NO_PROXY", NoProxy), ("no_proxy", NoProxy), ("ALL_PROXY", null), ("all_proxy", null),
        .. ForwardListeners.Where(f => f.Forward.Variable is not null).Select(f => (f.Forward.Variable!, (string?)$"http://{f.Listen}")),
    ];

    /// <summary>
    /// Where the <paramref name="index"/>th forward listens inside a sandbox whose model is <paramref name="model"/> (the ports
    /// depend on nothing else): for an agent told its base URL on its command line rather than by a variable.
    /// </summary>
    public static string ForwardUrl(IReadOnlyList<NetworkEndpoint> model, IReadOnlyList<ModelForward> forwards, int index) =>
        $"http://{new EgressLayout(model, 0, forwards).ForwardListeners[index].Listen}";

    private static List<(IPEndPoint, NetworkEndpoint)> RelaysOf(IReadOnlyList<NetworkEndpoint> model)
    {
        var relays = new List<(IPEndPoint, NetworkEndpoint)>();
        foreach (var endpoint in model.Where(e => e.IsLoopback).Distinct())
        {
            // A name (localhost) may resolve to either loopback inside: both listen. An address listens as itself.
            IPAddress[] addresses = endpoint.Address is { } address
                ? [address.Equals(IPAddress.Any) ? IPAddress.Loopback : address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : address]
                : [IPAddress.Loopback, IPAddress.IPv6Loopback];
            foreach (var listen in addresses.Select(a => new IPEndPoint(a, endpoint.Port)))
            {
                if (!relays.Any(r => r.Item1.Equals(listen)))
                {
                    relays.Add((listen, endpoint));
                }
            }
        }

        return relays;
    }
}

/// <summary>
/// The way out of sandboxes: the server's proxy. Each sandboxed process gets a door of its own (<see cref="Open"/>), a unix
/// socket bound into the sandbox at <see cref="EgressLayout.InsideDoor"/>, through which the sandbox hands out its listeners.
/// </summary>
public interface IEgress
{
    /// <summary>Opens a door for one sandboxed process laid out as <paramref name="layout"/>; it closes when the process ends.</summary>
    IEgressDoor Open(EgressLayout layout);
}

/// <summary>One sandboxed process's way out: where its door is on this machine, and everything it serves, ended on dispose.</summary>
public interface IEgressDoor : IAsyncDisposable
{
    /// <summary>The door's socket on this machine (bound into the sandbox at <see cref="EgressLayout.InsideDoor"/>).</summary>
    string SocketPath { get; }

    /// <summary>
    /// A connection to <paramref name="port"/> on the sandbox's own loopback (where OpenCode's server listens), made with a
    /// socket of the sandbox's network namespace: nothing outside can reach that loopback otherwise.
    /// </summary>
    Task<System.Net.Sockets.Socket> ConnectInsideAsync(int port, CancellationToken cancellationToken);
}
