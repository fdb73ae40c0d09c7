using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;

namespace PocketCoder.Reach.Hub;

/// <summary>Where Kestrel listens for connections that arrive through the hub.</summary>
internal sealed class HubEndPoint : EndPoint
{
    public const string Name = "pocketcoder-hub";

    public override string ToString() => Name;
}

/// <summary>
/// A Kestrel transport whose connections are the hub's dial-backs: each carries one phone's TLS bytes, so Kestrel's own
/// TLS and HTTP serve it exactly like a direct connection (same certificate, cookies, SSE), and the phone's address
/// (as the hub saw it) is the connection's remote address, so per-address limits such as pairing's still apply.
/// </summary>
internal sealed class HubTransport : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly Channel<ConnectionContext> _arrivals = Channel.CreateUnbounded<ConnectionContext>();

    public bool CanBind(EndPoint endpoint) => endpoint is HubEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IConnectionListener>(new Listener(endpoint, _arrivals));

    /// <summary>Hands a dial-back to Kestrel; false once the server has stopped listening.</summary>
    public bool TryDeliver(ConnectionContext connection) => _arrivals.Writer.TryWrite(connection);

    private sealed class Listener(EndPoint endpoint, Channel<ConnectionContext> arrivals) : IConnectionListener
    {
        public EndPoint EndPoint { get; } = endpoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                return await arrivals.Reader.ReadAsync(cancellationToken);
            }
            catch (ChannelClosedException)
            {
                return null;
            }
        }

        public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            arrivals.Writer.TryComplete();
            // Dial-backs delivered but never accepted are Kestrel's to end no more: they end here, not at the phone's timeout.
            while (arrivals.Reader.TryRead(out var connection))
            {
                await connection.DisposeAsync();
            }
        }

        public ValueTask DisposeAsync() => UnbindAsync();
    }
}

/// <summary>One phone connection through the hub: its bytes are the dial-back WebSocket's binary messages.</summary>
internal sealed class HubConnection : DefaultConnectionContext
{
    /// <summary>
    /// The most bytes one message to the hub carries: a TLS record's worth and more, so a burst of events (each its own
    /// TLS record) goes out as one message, one outer TLS record and one send.
    /// </summary>
    private const int MessageSize = 64 * 1024;

    private readonly Stream _stream;
    private readonly Task _sending;
    private Action? _closed;

    public HubConnection(Stream stream, EndPoint? remote, Action closed)
        : base(Guid.NewGuid().ToString("N"))
    {
        _stream = stream;
        _closed = closed;
        // Kestrel writes into a pipe of its own, which one loop empties into the WebSocket: whatever was written while the
        // last message was on its way goes out together. A PipeWriter straight on the stream sent every 4 KiB block of
        // every flush as its own message (each a WebSocket frame, an outer TLS record, a send, and at the hub a receive).
        var outgoing = new System.IO.Pipelines.Pipe(new PipeOptions(useSynchronizationContext: false));
        _sending = SendAsync(outgoing.Reader, stream);
        // Reads as large as a WebSocket message the hub sends (16 KiB), not the 4 KiB default.
        Transport = new Pipe(PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 32 * 1024, minimumReadSize: 16 * 1024)),
            outgoing.Writer);
        RemoteEndPoint = remote;
        LocalEndPoint = new HubEndPoint();
    }

    private static async Task SendAsync(PipeReader pending, Stream stream)
    {
        Exception? failed = null;
        try
        {
            while (true)
            {
                var result = await pending.ReadAsync().ConfigureAwait(false);
                for (var bytes = result.Buffer; !bytes.IsEmpty;)
                {
                    var length = (int)Math.Min(bytes.Length, MessageSize);
                    var chunk = bytes.Slice(0, length);
                    if (chunk.IsSingleSegment)
                    {
                        await stream.WriteAsync(chunk.First).ConfigureAwait(false);
                    }
                    else
                    {
                        // Rented only for the write: an idle stream (a phone's open event stream) holds no buffer.
                        var message = ArrayPool<byte>.Shared.Rent(length);
                        try
                        {
                            chunk.CopyTo(message);
                            await stream.WriteAsync(message.AsMemory(0, length)).ConfigureAwait(false);
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(message);
                        }
                    }

                    bytes = bytes.Slice(length);
                }

                pending.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or System.Net.WebSockets.WebSocketException
            or OperationCanceledException or NotSupportedException)
        {
            // The dial-back is gone: Kestrel's next flush sees the pipe's reader completed and ends the connection. A stream
            // an abort has just disposed says so as "not writeable" (NotSupportedException).
            failed = exception;
        }
        finally
        {
            await pending.CompleteAsync(failed).ConfigureAwait(false);
            // Kestrel is done writing, so done with the connection: the dial-back ends as a socket is shut down, which also
            // ends Kestrel's read. Kept open, that read would wait on the phone, and the phone on Kestrel, until the
            // host's shutdown timeout aborted them (a machine with event streams open took 30 s to stop).
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Kestrel gives up on the connection (a reset, a protocol error): the dial-back goes at once.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        _stream.Dispose();
        base.Abort(abortReason);
    }

    public override async ValueTask DisposeAsync()
    {
        await Transport.Input.CompleteAsync();
        // What Kestrel wrote last (a response's end) still goes out before the dial-back closes.
        await Transport.Output.CompleteAsync();
        // Whatever ended the send loop, the connection ends here: a throw would leave Kestrel waiting for it until its
        // shutdown timeout.
        await _sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _stream.DisposeAsync();
        // Not base.DisposeAsync(): it disposes the ConnectionClosed token source, which an Abort just before may still
        // be cancelling on the thread pool; an ObjectDisposedException there ends the process. It holds nothing unmanaged.
        Interlocked.Exchange(ref _closed, null)?.Invoke();
    }

    private sealed record Pipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
