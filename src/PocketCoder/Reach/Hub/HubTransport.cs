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

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            arrivals.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => UnbindAsync();
    }
}

/// <summary>One phone connection through the hub: its bytes are the dial-back WebSocket's binary messages.</summary>
internal sealed class HubConnection : DefaultConnectionContext
{
    private readonly Stream _stream;
    private Action? _closed;

    public HubConnection(Stream stream, EndPoint? remote, Action closed)
        : base(Guid.NewGuid().ToString("N"))
    {
        _stream = stream;
        _closed = closed;
        // Reads as large as a WebSocket message the hub sends (16 KiB), not the 4 KiB default.
        Transport = new Pipe(PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 32 * 1024, minimumReadSize: 16 * 1024)),
            PipeWriter.Create(stream));
        RemoteEndPoint = remote;
        LocalEndPoint = new HubEndPoint();
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
        await Transport.Output.CompleteAsync();
        await _stream.DisposeAsync();
        // Not base.DisposeAsync(): it disposes the ConnectionClosed token source, which an Abort just before may still
        // be cancelling on the thread pool; an ObjectDisposedException there ends the process. It holds nothing unmanaged.
        Interlocked.Exchange(ref _closed, null)?.Invoke();
    }

    private sealed record Pipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
