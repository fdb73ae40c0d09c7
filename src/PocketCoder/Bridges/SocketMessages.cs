using System.Net.WebSockets;

namespace PocketCoder.Bridges;

/// <summary>A platform's WebSocket (Slack's Socket Mode, Feishu's long connection): opened, and read one whole message at a time, bounded.</summary>
internal static class SocketMessages
{
    /// <summary>Connects to the address the platform gave: <c>wss://</c> (plain <c>ws://</c> only on this machine, for test stand-ins).</summary>
    /// <exception cref="ChatRefusedException">The address is not one to send the app's traffic to.</exception>
    /// <exception cref="HttpRequestException">The connection failed (tried again later).</exception>
    public static async Task<ClientWebSocket> OpenAsync(string url, string platform, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var address) || (address.Scheme != "wss" && !(address.Scheme == "ws" && address.IsLoopback)))
        {
            throw new ChatRefusedException($"{platform} gave a connection address that is not wss://.");
        }

        var socket = new ClientWebSocket();
        // A connection that died without a word is noticed within a minute.
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        socket.Options.KeepAliveTimeout = TimeSpan.FromSeconds(30);
        try
        {
            await socket.ConnectAsync(address, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (WebSocketException exception)
        {
            socket.Dispose();
            throw new HttpRequestException($"Could not connect to {platform}: {exception.Message}");
        }
    }

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
