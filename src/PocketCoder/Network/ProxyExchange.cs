using System.Net.Sockets;
using System.Text;

namespace PocketCoder.Network;

/// <summary>
/// The proxy's side of one connection once it is decided: a CONNECT tunnel (bytes both ways, untouched), a plain-HTTP request
/// forwarded in origin form, or the proxy's own short answer (a refusal); and, while the owner decides, a watch on the client.
/// </summary>
public static class ProxyExchange
{
    /// <summary>Cancels <paramref name="gaveUp"/> when the client closes its end while it waits (a peek reads its end of input as 0).</summary>
    public static async Task WatchForCloseAsync(Socket client, CancellationToken watch, CancellationTokenSource gaveUp)
    {
        var one = new byte[1];
        try
        {
            if (await client.ReceiveAsync(one, SocketFlags.Peek, watch).ConfigureAwait(false) == 0)
            {
                await gaveUp.CancelAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Decided: no longer watched.
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            await gaveUp.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>CONNECT: the tunnel is opened, and the bytes go both ways untouched (TLS is never looked into).</summary>
    public static async Task<Transfer> TunnelAsync(Socket client, Socket host, byte[] early, CancellationToken cancellationToken)
    {
        await Relay.SendAllAsync(client, "HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        await Relay.SendAllAsync(host, early, cancellationToken).ConfigureAwait(false);
        var joined = await Relay.JoinAsync(client, host, cancellationToken).ConfigureAwait(false);
        return joined with { Sent = joined.Sent + early.Length };
    }

    /// <summary>
    /// Plain HTTP: the request goes to the host in origin form (its body follows as it comes), the answer's head comes back saying
    /// the connection closes after it, then the rest of the answer. Once the host has answered and closed, the connection ends.
    /// </summary>
    public static async Task<Transfer> ForwardAsync(Socket client, Socket host, ProxyRequest request, byte[] body, CancellationToken cancellationToken)
    {
        var head = request.ForwardedHead();
        await Relay.SendAllAsync(host, head, cancellationToken).ConfigureAwait(false);
        await Relay.SendAllAsync(host, body, cancellationToken).ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var upload = Relay.PumpAsync(client, host, stop);
        long received = 0;
        while (await Relay.ReadHeadAsync(host, 64 * 1024, stop.Token).ConfigureAwait(false) is var (answer, rest))
        {
            var interim = ProxyRequest.IsInterim(answer);
            var rewritten = interim ? answer : ProxyRequest.ClosingResponseHead(answer);
            await Relay.SendAllAsync(client, rewritten, stop.Token).ConfigureAwait(false);
            await Relay.SendAllAsync(client, rest, stop.Token).ConfigureAwait(false);
            received += rewritten.Length + rest.Length;
            if (!interim)
            {
                break;
            }
        }

        received += await Relay.PumpAsync(host, client, stop).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        return new Transfer(head.Length + body.Length + await upload.ConfigureAwait(false), received);
    }

    public static async Task AnswerAsync(Socket client, int status, string phrase, string message, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(message + "\n");
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        try
        {
            await Relay.SendAllAsync(client, (byte[])[.. head, .. body], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // It went first.
        }
    }
}
