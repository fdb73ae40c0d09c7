using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;

namespace PocketCoder.Tests.Bridges;

/// <summary>
/// The WebSocket a fake platform pushes events down (Slack's Socket Mode, Feishu's long connection): what it sends
/// while no socket is open waits, and goes out in order once the app connects; what the app sends back is handed to
/// the fake. One message at a time, as a real server writes them.
/// </summary>
public sealed class FakeSocket(WebSocketMessageType type)
{
    private readonly Lock _lock = new();
    private readonly Queue<byte[]> _waiting = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private WebSocket? _socket;
    private int _connections;

    /// <summary>How many sockets the app has opened so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public bool IsOpen
    {
        get
        {
            lock (_lock)
            {
                return _socket is { State: WebSocketState.Open };
            }
        }
    }

    /// <summary>Sends now if the app is connected, else as soon as it is.</summary>
    public void Send(byte[] message)
    {
        lock (_lock)
        {
            _waiting.Enqueue(message);
        }

        _ = FlushAsync();
    }

    /// <summary>Accepts the app's socket and runs it until it closes; <paramref name="opened"/> may greet it first.</summary>
    public async Task RunAsync(HttpContext context, Func<byte[], Task> received, Func<WebSocket, Task>? opened = null)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        Interlocked.Increment(ref _connections);
        if (opened is not null)
        {
            await opened(socket);
        }

        lock (_lock)
        {
            _socket = socket;
        }

        _ = FlushAsync();
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                byte[] message;
                try
                {
                    message = await PocketCoder.Bridges.SocketMessages.ReadAsync(socket, "the app", context.RequestAborted);
                }
                catch (InvalidDataException)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    break;
                }

                await received(message);
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
        {
        }
        finally
        {
            lock (_lock)
            {
                if (_socket == socket)
                {
                    _socket = null;
                }
            }
        }
    }

    /// <summary>An answer on the open socket (a pong), in turn with everything else sent.</summary>
    public async Task ReplyAsync(byte[] message)
    {
        WebSocket? socket;
        lock (_lock)
        {
            socket = _socket;
        }

        if (socket is null)
        {
            return;
        }

        await _sending.WaitAsync();
        try
        {
            await socket.SendAsync(message, type, true, CancellationToken.None);
        }
        finally
        {
            _sending.Release();
        }
    }

    private async Task FlushAsync()
    {
        await _sending.WaitAsync();
        try
        {
            while (true)
            {
                WebSocket? socket;
                byte[]? next;
                lock (_lock)
                {
                    socket = _socket;
                    if (socket is not { State: WebSocketState.Open } || !_waiting.TryDequeue(out next))
                    {
                        return;
                    }
                }

                try
                {
                    await socket.SendAsync(next, type, true, CancellationToken.None);
                }
                catch (WebSocketException)
                {
                    lock (_lock)
                    {
                        _waiting.Enqueue(next);
                    }

                    return;
                }
            }
        }
        finally
        {
            _sending.Release();
        }
    }
}
