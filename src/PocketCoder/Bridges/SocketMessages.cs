using System.Net.WebSockets;

namespace PocketCoder.Bridges;

/// <summary>Reading a platform's WebSocket (Slack's Socket Mode, Feishu's long connection): one whole message at a time, bounded.</summary>
internal static class SocketMessages
{
    private const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>The next whole message, however many frames it came in.</summary>
    /// <exception cref="InvalidDataException">The platform closed the socket, or sent a message over 4 MiB.</exception>
    public static async Task<byte[]> ReadAsync(WebSocket socket, string platform, CancellationToken cancellationToken)
    {
        using var message = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidDataException($"{platform} closed the connection.");
            }

            message.Write(buffer, 0, received.Count);
            if (message.Length > MaxBytes)
            {
                throw new InvalidDataException($"{platform} sent a message over 4 MiB.");
            }

            if (received.EndOfMessage)
            {
                return message.ToArray();
            }
        }
    }
}
