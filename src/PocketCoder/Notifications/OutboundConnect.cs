using System.Net;
using System.Net.Sockets;
using PocketCoder.Auth;
using PocketCoder.Server;
using PocketCoder.Teams;

namespace PocketCoder.Notifications;

/// <summary>
/// Where a notification sender's connections are made: the name is resolved here and only the addresses the policy allows
/// are dialled (<see cref="OutboundPolicy.IsPublic"/>, or any for a host the owner listed), so what was checked is what is
/// reached. A name that resolves to nothing allowed fails as a network error would, and is recorded so.
/// </summary>
public static class OutboundConnect
{
    /// <summary>Set only by the sender's own rehearsal (<see cref="PushSender"/>), to a listener it opened on loopback itself.</summary>
    public static readonly HttpRequestOptionsKey<bool> Rehearsal = new("PocketCoder.Rehearsal");

    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> PublicOnly(OutboundRules rules) =>
        async (context, cancellationToken) =>
        {
            var host = OutboundPolicy.HostOf(context.DnsEndPoint.Host);
            var anyAddress = rules.Lists(host, context.DnsEndPoint.Port) || (context.InitialRequestMessage.Options.TryGetValue(Rehearsal, out var rehearsal) && rehearsal);
            var addresses = IPAddress.TryParse(host, out var literal) ? [literal]
                : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            var allowed = anyAddress ? addresses : [.. addresses.Where(OutboundPolicy.IsPublic)];
            if (allowed.Length == 0)
            {
                throw new HttpRequestException(HttpRequestError.ConnectionError,
                    $"{context.DnsEndPoint.Host} has no address on the internet, and the machine's owner has not listed it (--push-host).");
            }

            return await DialAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
        };

    private static async Task<Stream> DialAsync(IPAddress[] addresses, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>
/// The outbound policy asked about a device's channel: who set it is the device's person as the rights table sees them
/// now, and a relayed subscription's machine is the app origin the device was paired from.
/// </summary>
public sealed class NotificationOutbound(Authority authority, Devices devices, PocketCoderOptions options)
{
    public OutboundRules Rules { get; } = new(options.PushHosts);

    /// <summary>Before a request is made to a stored channel (whatever rule held when it was saved).</summary>
    public OutboundVerdict Check(NotificationChannel channel) => Uri.TryCreate(channel.Endpoint, UriKind.Absolute, out var url)
        ? Check(channel.DeviceId, SenderOf(channel.Kind, channel.Relayed), url)
        : new OutboundVerdict(Right.No(StatusCodes.Status422UnprocessableEntity, Errors.ErrorCodes.PushEndpointInvalid, "The stored endpoint is not a URL."));

    /// <summary>A URL <paramref name="deviceId"/>'s person would set for <paramref name="sender"/>.</summary>
    public OutboundVerdict Check(string deviceId, Sender sender, Uri url)
    {
        var setBy = authority.Who(new Actor(deviceId, "This device"), null);
        var addedBy = sender == Sender.PushRelay ? devices.AppOrigins().GetValueOrDefault(deviceId) : null;
        return OutboundPolicy.Check(new OutboundRequest(sender, url, setBy, addedBy), Rules);
    }

    /// <summary>Whether <paramref name="deviceId"/>'s person may choose where <paramref name="sender"/> goes (<see cref="OutboundPolicy.MayChoose"/>).</summary>
    public bool MayChoose(string deviceId, Sender sender) => OutboundPolicy.MayChoose(authority.Who(new Actor(deviceId, "This device"), null), sender);

    public static Sender SenderOf(string kind, bool relayed) => kind == ChannelKinds.Ntfy ? Sender.Ntfy : relayed ? Sender.PushRelay : Sender.WebPush;
}
