using System.Buffers;
using System.Net.Sockets;

namespace PocketCoder.Network;

/// <summary>The bytes of one connection through the proxy, each way.</summary>
/// <param name="Sent">From the sandbox to the host.</param>
/// <param name="Received">From the host back into the sandbox.</param>
public sealed record Transfer(long Sent, long Received);

/// <summary>Moving bytes for the proxy: a request or response head read up to its blank line, and two sockets joined both ways.</summary>
public static class Relay
{
    private const int BufferSize = 1024 * 1024;

    /// <summary>
    /// Reads up to and including the first blank line (<c>\r\n\r\n</c>): the head, and whatever came after it in the same reads.
    /// Null when the stream ends first or the head would pass <paramref name="max"/> bytes.
    /// </summary>
    public static async Task<(byte[] Head, byte[] After)?> ReadHeadAsync(Socket socket, int max, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Min(max + 4096, 64 * 1024)];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                return null;
            }

            var read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }

            var searchFrom = Math.Max(0, length - 3);
            length += read;
            var end = buffer.AsSpan(searchFrom, length - searchFrom).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var headLength = searchFrom + end + 4;
                return headLength > max ? null : (buffer[..headLength], buffer[headLength..length]);
            }

            if (length > max)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Joins the two sockets until both directions have ended: each side's end of input is passed on as the other's end of
    /// output (a half-close), an error or <paramref name="cancellationToken"/> ends both. Counts what crossed each way.
    /// </summary>
    public static async Task<Transfer> JoinAsync(Socket sandbox, Socket host, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sent = PumpAsync(sandbox, host, stop);
        var received = PumpAsync(host, sandbox, stop);
        return new Transfer(await sent.ConfigureAwait(false), await received.ConfigureAwait(false));
    }

    /// <summary>
    /// Carries what <paramref name="from"/> sends to <paramref name="to"/> until its end of input, passed on as a half-close.
    /// A failure on either side, or <paramref name="stop"/>, ends it and cancels <paramref name="stop"/> (the other direction too).
    /// </summary>
    public static async Task<long> PumpAsync(Socket from, Socket to, CancellationTokenSource stop)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long total = 0;
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer.AsMemory(0, BufferSize), SocketFlags.None, stop.Token).ConfigureAwait(false)) > 0)
            {
                await SendAllAsync(to, buffer.AsMemory(0, read), stop.Token).ConfigureAwait(false);
                total += read;
            }

            // The end of this side's output: the other side reads its end, and may still answer.
            Shutdown(to, SocketShutdown.Send);
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side failed or went: the other direction has nothing left to carry either.
            await stop.CancelAsync().ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return total;
    }

    /// <summary>Sends all of <paramref name="data"/>.</summary>
    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (data.Length > 0)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    private static void Shutdown(Socket socket, SocketShutdown how)
    {
        try
        {
            socket.Shutdown(how);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
    }
}
