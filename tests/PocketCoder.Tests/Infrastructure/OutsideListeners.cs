using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PocketCoder.Tests.Infrastructure;

/// <summary>
/// Servers of the test's own, outside every sandbox, that count who reached them: what a sandboxed command tries to reach
/// (another loopback port or address, IPv6 loopback, a DNS server, a unix socket by path or abstract name). A listener that
/// answers HTTP stands for a host on the internet (named to the server with <c>networkHosts</c>). All on loopback.
/// </summary>
public sealed class OutsideListeners : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _loops = [];
    private readonly Dictionary<string, int> _reached = [];
    private readonly List<string> _files = [];

    /// <summary>How many connections (or datagrams) reached the listener named <paramref name="name"/>.</summary>
    public int Reached(string name)
    {
        lock (_reached)
        {
            return _reached.GetValueOrDefault(name);
        }
    }

    /// <summary>Every listener that was reached, with how often.</summary>
    public string Summary()
    {
        lock (_reached)
        {
            return string.Join(", ", _reached.Select(r => $"{r.Key}: {r.Value}"));
        }
    }

    /// <summary>A TCP listener on <paramref name="address"/> (a free port); an HTTP one answers every request with <paramref name="answer"/>.</summary>
    public int Tcp(string name, IPAddress address, string? answer = null)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, 0));
        socket.Listen(16);
        Serve(name, socket, answer);
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>A UDP socket on 127.0.0.1 (a free port), as a DNS server would listen.</summary>
    public int Udp(string name)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _sockets.Add(socket);
        _loops.Add(Task.Run(async () =>
        {
            var buffer = new byte[2048];
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    Count(name);
                }
                catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
            }
        }));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>A unix socket at <paramref name="path"/>, or an abstract one when it starts with <c>\0</c>.</summary>
    public void Unix(string name, string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen(16);
        if (!path.StartsWith('\0'))
        {
            _files.Add(path);
        }

        Serve(name, socket, null);
    }

    private void Serve(string name, Socket listener, string? answer)
    {
        _sockets.Add(listener);
        _loops.Add(Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptAsync(_stop.Token);
                }
                catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }

                Count(name);
                _ = Task.Run(() => AnswerAsync(client, answer));
            }
        }));
    }

    private async Task AnswerAsync(Socket client, string? answer)
    {
        using (client)
        {
            try
            {
                if (answer is not null)
                {
                    // Reads the request's head, then answers and closes.
                    var buffer = new byte[16 * 1024];
                    var head = new StringBuilder();
                    while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal)
                           && await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) is var read and > 0)
                    {
                        head.Append(Encoding.Latin1.GetString(buffer, 0, read));
                    }

                    var body = Encoding.UTF8.GetBytes(answer);
                    await client.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n")
                        .Concat(body).ToArray(), SocketFlags.None, _stop.Token);
                }
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException)
            {
            }
        }
    }

    private void Count(string name)
    {
        lock (_reached)
        {
            _reached[name] = _reached.GetValueOrDefault(name) + 1;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _sockets.ForEach(socket => socket.Dispose());
        await Task.WhenAll(_loops);
        _files.ForEach(File.Delete);
    }
}
