using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PocketCoder.Bench;

/// <summary>
/// A subscriber as lean as a browser's EventSource is to the server it reads: one socket, one HTTP/1.1 GET, the chunked body
/// unwrapped in place, frames split at their blank line. The fan-out rows' 100 readers share this process and its 2 cores
/// with the server they measure; through HttpClient they allocated three-fifths of what the row allocated (a state machine
/// per chunk read), and each collection that bought stopped the server as well as them (docs/performance.md, fan-out).
/// The server's side is untouched: the same route, headers and chunked response a phone gets.
/// </summary>
public sealed class RawSseReader : IAsyncDisposable
{
    private readonly Socket _socket;
    private byte[] _raw = new byte[64 * 1024];
    private int _rawStart;
    private int _rawEnd;
    // Bytes left in the chunk being read; -1 while a chunk's size line is awaited, -2 for the CRLF that ends a chunk.
    private int _chunkLeft = -1;
    private byte[] _body = new byte[64 * 1024];
    private int _bodyEnd;

    private RawSseReader(Socket socket) => _socket = socket;

    /// <summary>When the last read returned (<see cref="Stopwatch.GetTimestamp"/>): the moment its frames were received.</summary>
    public long LastReadAt { get; private set; }

    /// <summary>Connects, sends the GET and reads the response's head; a status other than 200 throws.</summary>
    public static async Task<RawSseReader> OpenAsync(Uri server, string pathAndQuery, string bearer, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(server.Host), server.Port), cancellationToken);
        var reader = new RawSseReader(socket);
        var request = $"GET {pathAndQuery} HTTP/1.1\r\nHost: {server.Authority}\r\nAuthorization: Bearer {bearer}\r\n" +
            "Accept: text/event-stream\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, cancellationToken);
        await reader.ReadHeadAsync(cancellationToken);
        return reader;
    }

    private async Task ReadHeadAsync(CancellationToken cancellationToken)
    {
        int end;
        while ((end = _raw.AsSpan(0, _rawEnd).IndexOf("\r\n\r\n"u8)) < 0)
        {
            await FillRawAsync(cancellationToken);
        }

        var head = Encoding.ASCII.GetString(_raw, 0, end);
        if (!head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) || !head.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Expected a chunked 200, got: {head.Split("\r\n")[0]}");
        }

        _rawStart = end + 4;
    }

    private async Task FillRawAsync(CancellationToken cancellationToken)
    {
        MakeRoom();
        Received(await _socket.ReceiveAsync(_raw.AsMemory(_rawEnd), SocketFlags.None, cancellationToken));
    }

    private void MakeRoom()
    {
        if (_rawStart > 0)
        {
            _raw.AsSpan(_rawStart, _rawEnd - _rawStart).CopyTo(_raw);
            _rawEnd -= _rawStart;
            _rawStart = 0;
        }

        if (_rawEnd == _raw.Length)
        {
            Array.Resize(ref _raw, _raw.Length * 2);
        }
    }

    private void Received(int read)
    {
        if (read == 0)
        {
            throw new InvalidOperationException("The server closed the stream.");
        }

        _rawEnd += read;
        LastReadAt = Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// Reads the stream and hands each whole frame to <paramref name="frame"/> (its bytes without the blank line; valid only
    /// during the call) until it returns false. One loop in one method: an await of a helper per read was a state machine
    /// allocated per read, as HttpClient's were.
    /// </summary>
    public async Task ReadFramesAsync(FrameHandler frame, CancellationToken cancellationToken)
    {
        while (true)
        {
            MakeRoom();
            Received(await _socket.ReceiveAsync(_raw.AsMemory(_rawEnd), SocketFlags.None, cancellationToken));
            Unchunk();
            var consumed = 0;
            int end;
            while ((end = _body.AsSpan(consumed, _bodyEnd - consumed).IndexOf("\n\n"u8)) >= 0)
            {
                var going = frame(_body.AsSpan(consumed, end));
                consumed += end + 2;
                if (!going)
                {
                    return;
                }
            }

            _body.AsSpan(consumed, _bodyEnd - consumed).CopyTo(_body);
            _bodyEnd -= consumed;
        }
    }

    public delegate bool FrameHandler(ReadOnlySpan<byte> frame);

    /// <summary>Moves what the raw buffer holds of chunks' data into the body, leaving a partial size line for the next read.</summary>
    private void Unchunk()
    {
        while (_rawStart < _rawEnd)
        {
            if (_chunkLeft == -2)
            {
                if (_rawEnd - _rawStart < 2)
                {
                    return;
                }

                _rawStart += 2;
                _chunkLeft = -1;
            }
            else if (_chunkLeft == -1)
            {
                var line = _raw.AsSpan(_rawStart, _rawEnd - _rawStart).IndexOf("\r\n"u8);
                if (line < 0)
                {
                    return;
                }

                if (!Utf8Parser.TryParse(_raw.AsSpan(_rawStart, line), out int size, out _, 'x') || size == 0)
                {
                    throw new InvalidOperationException("The chunked stream ended or broke.");
                }

                _rawStart += line + 2;
                _chunkLeft = size;
            }
            else
            {
                var take = Math.Min(_chunkLeft, _rawEnd - _rawStart);
                if (_bodyEnd + take > _body.Length)
                {
                    Array.Resize(ref _body, Math.Max(_body.Length * 2, _bodyEnd + take));
                }

                _raw.AsSpan(_rawStart, take).CopyTo(_body.AsSpan(_bodyEnd));
                _bodyEnd += take;
                _rawStart += take;
                _chunkLeft -= take;
                if (_chunkLeft == 0)
                {
                    _chunkLeft = -2;
                }
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
