using System.Net;
using System.Net.Sockets;
using PocketCoder.Errors;
using PocketCoder.Teams;

namespace PocketCoder.Notifications;

/// <summary>Which of the server's own senders would make a request (each reaches a URL someone set).</summary>
public enum Sender
{
    /// <summary>A device's Web Push subscription: its browser's push service.</summary>
    WebPush,

    /// <summary>A relayed subscription: the push relay on the machine whose app added this one.</summary>
    PushRelay,

    /// <summary>A device's ntfy topic.</summary>
    Ntfy,

    /// <summary>A chat bridge's platform API (the bridges file, written by the machine's owner on its command line).</summary>
    ChatApi,
}

/// <summary>One request a sender would make: to <paramref name="Url"/>, which <paramref name="SetBy"/> set.</summary>
/// <param name="SetBy">The person who set the URL as the rights table sees them now (their device's person at send time).</param>
/// <param name="AddedBy">A relayed subscription's: the origin of the app on another machine that paired this device (added this machine).</param>
public sealed record OutboundRequest(Sender Sender, Uri Url, Decider SetBy, string? AddedBy = null);

/// <summary>
/// What the machine's owner said on its command line (<c>--push-host</c>): hosts the senders may reach at any address, each
/// <c>host:port</c> (that port only) or a bare <c>host</c> (every port of it: the owner's choice, said so in the docs).
/// </summary>
public sealed record OutboundRules(IReadOnlyCollection<string> OwnerHosts)
{
    public static readonly OutboundRules None = new([]);

    public bool Lists(string host, int port)
    {
        host = OutboundPolicy.HostOf(host);
        var withPort = (host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host) + ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return OwnerHosts.Contains(host, StringComparer.OrdinalIgnoreCase) || OwnerHosts.Contains(withPort, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>An owner's entry as <see cref="Lists"/> compares it: the host lower case, an IPv6 one in brackets before a port.</summary>
    public static string Entry(string entry)
    {
        entry = entry.Trim();
        if (Uri.TryCreate("https://" + entry, UriKind.Absolute, out var url) && url.PathAndQuery == "/" && url.UserInfo.Length == 0)
        {
            var host = OutboundPolicy.HostOf(url.Host);
            var hasPort = entry.LastIndexOf(':') > entry.LastIndexOf(']');
            return !hasPort ? host : (host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host) + ":" + url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return OutboundPolicy.HostOf(entry);
    }
}

/// <summary>The policy's answer: the request may go (to public addresses only, unless <see cref="AnyAddress"/>), or a refusal.</summary>
/// <param name="AnyAddress">An owner's word covers where it goes (a host the owner listed, or a URL an owner set): private addresses too.</param>
public sealed record OutboundVerdict(Right Right, bool AnyAddress = false)
{
    public bool Allowed => Right.Allowed;

    public static readonly OutboundVerdict PublicOnly = new(Right.Yes);
    public static readonly OutboundVerdict OwnersWord = new(Right.Yes, AnyAddress: true);
}

/// <summary>
/// Where the server's own requests may go, in one place: a pure table from a sender, the URL and who set it (and the owner's
/// listed hosts) to allowed — to public addresses only, or to any where an owner said — or a refusal with a stable code.
/// Every sender asks it twice: when the URL is saved (the app gets the refusal) and before each request (a row saved
/// before a rule changed, or by someone whose role since fell, sends nothing). The address half is enforced where the
/// connection is made (<see cref="OutboundConnect"/>): names are resolved there and only checked addresses are dialled, so
/// a name that answers a public address to the check and a loopback one to the connection (DNS rebinding) reaches nothing.
/// docs/security.md, "The server's own requests".
/// </summary>
public static partial class OutboundPolicy
{
    /// <summary>The path every push relay is at (<see cref="PushRelayApi"/>): a relayed subscription reaches nothing else.</summary>
    public const string RelayPath = "/api/push/relays/";

    public static OutboundVerdict Check(OutboundRequest request, OutboundRules rules)
    {
        var url = request.Url;
        if (!request.SetBy.Active)
        {
            return No($"{request.SetBy.Name} may set nothing here (revoked, or a device that is no one's): its URL is not used.");
        }

        if (!url.IsAbsoluteUri || url.UserInfo.Length > 0 || !(url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && IsThisMachine(url.Host))))
        {
            return No("Only https URLs (plain http only to this machine, as its owner set it), with no user:password in them.");
        }

        return request.Sender switch
        {
            Sender.WebPush => Listed(url, rules) ?? PublicHost(url, "A Web Push endpoint is a push service on the internet"),
            Sender.PushRelay => Relay(request, rules),
            Sender.Ntfy => OwnerSet(request.SetBy, "choose the ntfy server notifications are published to"),
            Sender.ChatApi => OwnerSet(request.SetBy, "choose a chat platform's API address"),
            _ => throw new ArgumentOutOfRangeException(nameof(request), request.Sender, "A sender the policy does not know."),
        };
    }

    /// <summary>
    /// An address on the internet: not this machine, not a private, shared (CGNAT, tailnets), link-local, multicast,
    /// documentation or reserved range, in IPv4 or any IPv6 form that carries an IPv4 address (mapped, NAT64, 6to4).
    /// </summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return IsPublic(address.MapToIPv4());
        }

        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return !(b[0] is 0 or 10 or 127 or >= 224
                || (b[0] == 100 && b[1] is >= 64 and < 128)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] is >= 16 and < 32)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)
                || (b[0] == 198 && b[1] is 18 or 19)
                || (b[0] == 198 && b[1] == 51 && b[2] == 100)
                || (b[0] == 203 && b[1] == 0 && b[2] == 113));
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return IsPublic(new IPAddress(b.AsSpan(2, 4))); // 6to4: an IPv4 address inside.
        }

        if (b.AsSpan(0, 12).SequenceEqual(Nat64Prefix))
        {
            return IsPublic(new IPAddress(b.AsSpan(12, 4)));
        }

        // Global unicast is 2000::/3; within it Teredo (2001::/32) and documentation (2001:db8::/32) lead nowhere public.
        return (b[0] & 0xE0) == 0x20
            && !(b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
            && !(b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8);
    }

    /// <summary>A URL's host as the policy compares it: lower case, without an IPv6 literal's brackets or a name's final dot.</summary>
    public static string HostOf(string host) => host.Trim('[', ']').TrimEnd('.').ToLowerInvariant();

    private static readonly byte[] Nat64Prefix = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

    private static OutboundVerdict? Listed(Uri url, OutboundRules rules) => rules.Lists(url.Host, url.Port) ? OutboundVerdict.OwnersWord : null;

    /// <summary>A host not the owner's listed: plain http is this machine's only, so it is https; and an address on the internet.</summary>
    private static OutboundVerdict PublicHost(Uri url, string what)
    {
        var host = HostOf(url.Host);
        if (url.Scheme != Uri.UriSchemeHttps || IsLoopbackName(host) || (IPAddress.TryParse(host, out var literal) && !IsPublic(literal)))
        {
            return No($"{what}: not this machine or an address on its network ({url.Host}). The machine's owner can allow a host with --push-host.");
        }

        // Push services answer on 443; another port of a host on the internet would make the server a probe of it.
        if (url.Port != 443)
        {
            return No($"{what} answers on port 443 (https), not {url.Port}. The machine's owner can allow another with --push-host host:port.");
        }

        // A name: the addresses it resolves to are checked where the connection is made.
        return OutboundVerdict.PublicOnly;
    }

    private static OutboundVerdict Relay(OutboundRequest request, OutboundRules rules)
    {
        var url = request.Url;
        if (request.AddedBy is not { } machine || !string.Equals(url.GetLeftPart(UriPartial.Authority), machine, StringComparison.OrdinalIgnoreCase))
        {
            return No("A relayed subscription goes only to the machine whose app added this one (the origin this device was paired from).");
        }

        if (!RelayPathPattern().IsMatch(url.AbsolutePath) || url.Query.Length > 0)
        {
            return No($"A relayed subscription's endpoint is a push relay's URL ({RelayPath}<id>), as the other machine gave it.");
        }

        return Listed(url, rules) ?? PublicHost(url, "A push relay on another machine");
    }

    /// <summary>
    /// Whether <paramref name="setBy"/> may choose where <paramref name="sender"/> sends at all, whatever the URL: what the app
    /// offers (an ntfy form only to an owner), asked of the same rules <see cref="Check"/> applies.
    /// </summary>
    public static bool MayChoose(Decider setBy, Sender sender) => setBy.Active && sender switch
    {
        Sender.Ntfy or Sender.ChatApi => OwnerSet(setBy, "choose where notifications go").Allowed,
        _ => true,
    };

    /// <summary>What only an owner may point the server at is asked of the rights table, as every owner's act is.</summary>
    private static OutboundVerdict OwnerSet(Decider setBy, string what) =>
        DecisionRights.Check(setBy, new Manage(what), TeamPolicy.Default) is { Allowed: false } refused
            ? new OutboundVerdict(refused)
            : OutboundVerdict.OwnersWord;

    /// <summary>
    /// Where plain http may go: <c>localhost</c> or a loopback address, which never leave this machine. Not another <c>.localhost</c>
    /// name: the system's resolver may ask DNS for it, and the answer (anywhere) would get the request and its token in clear text.
    /// </summary>
    private static bool IsThisMachine(string host)
    {
        host = HostOf(host);
        return host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));
    }

    /// <summary>What a push service on the internet is not: this machine by address, or by a name meant for it (refused, wherever it resolves).</summary>
    private static bool IsLoopbackName(string host)
    {
        host = HostOf(host);
        return IsThisMachine(host) || host.EndsWith(".localhost", StringComparison.Ordinal);
    }

    /// <summary>Exactly a relay's URL: its path and an id of the relay's own alphabet, nothing after it, no escaped byte.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^/api/push/relays/[A-Za-z0-9_-]{1,64}$")]
    private static partial System.Text.RegularExpressions.Regex RelayPathPattern();

    private static OutboundVerdict No(string reason) =>
        new(Right.No(StatusCodes.Status422UnprocessableEntity, ErrorCodes.PushEndpointNotAllowed, reason));
}
