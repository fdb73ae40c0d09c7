using System.Threading.Channels;
using PocketCoder.Reach.Hub;

namespace PocketCoder.Tests.Reach;

/// <summary>
/// What Kestrel writes to a phone connection through the hub goes to the dial-back in as few messages as it can (issue #40:
/// a message per 4 KiB block of every flush held the hub at 66 % of direct): whatever was written while one message was on
/// its way goes out as the next, in order, none larger than 64 KiB; a dial-back that fails ends Kestrel's writing.
/// </summary>
public sealed class HubConnectionTests
{
    [Fact]
    public async Task WritesMadeWhileAMessageIsOnItsWay_GoOutTogether_InOrder()
    {
        var dialBack = new DialBack();
        var connection = new HubConnection(dialBack, null, () => { });
        var output = connection.Transport.Output;
        // A writer that had to wait for the message on its way would never get there: it fails after this instead.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await output.WriteAsync(Bytes(0, 100), cancel.Token);
        var first = await dialBack.Sent.Reader.ReadAsync(cancel.Token);
        // While that message is held on its way, an SSE burst: 50 events, each its own flush.
        for (var i = 1; i <= 50; i++)
        {
            await output.WriteAsync(Bytes(i, 200), cancel.Token);
        }

        dialBack.Release();
        var second = await dialBack.Sent.Reader.ReadAsync(cancel.Token);
        dialBack.Release();

        Assert.Equal(Bytes(0, 100).ToArray(), first);
        Assert.Equal(Enumerable.Range(1, 50).SelectMany(i => Bytes(i, 200).ToArray()).ToArray(), second);
        await connection.DisposeAsync();
        Assert.False(dialBack.Sent.Reader.TryRead(out _));
    }

    [Fact]
    public async Task AWriteLargerThanAMessage_IsSplitAt64KiB()
    {
        var dialBack = new DialBack { Hold = false };
        var connection = new HubConnection(dialBack, null, () => { });

        var large = Enumerable.Range(0, 150 * 1024).Select(i => (byte)i).ToArray();
        await connection.Transport.Output.WriteAsync(large);
        var messages = new List<byte[]>();
        while (messages.Sum(m => m.Length) < large.Length)
        {
            messages.Add(await dialBack.Sent.Reader.ReadAsync());
        }

        Assert.All(messages, message => Assert.True(message.Length <= 64 * 1024, $"a message of {message.Length} bytes"));
        Assert.Equal(large, messages.SelectMany(m => m).ToArray());
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task ADialBackThatFails_EndsKestrelsWriting()
    {
        var dialBack = new DialBack { Hold = false, Fail = true };
        var connection = new HubConnection(dialBack, null, () => { });
        var output = connection.Transport.Output;

        await output.WriteAsync(Bytes(1, 10));
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            // Kestrel learns it from a flush: the reader side is completed, with the dial-back's failure.
            try
            {
                if ((await output.WriteAsync(Bytes(2, 10), cancel.Token)).IsCompleted)
                {
                    break;
                }
            }
            catch (IOException)
            {
                break;
            }

            await Task.Yield();
        }

        await connection.DisposeAsync();
    }

    private static ReadOnlyMemory<byte> Bytes(int value, int count) => Enumerable.Repeat((byte)value, count).ToArray();

    /// <summary>The dial-back WebSocket as a stream: each write is one message, held until released when asked.</summary>
    private sealed class DialBack : Stream
    {
        private readonly SemaphoreSlim _released = new(0);

        public Channel<byte[]> Sent { get; } = Channel.CreateUnbounded<byte[]>();

        public bool Hold { get; init; } = true;

        public bool Fail { get; init; }

        public void Release() => _released.Release();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Fail)
            {
                throw new IOException("the hub went away");
            }

            await Sent.Writer.WriteAsync(buffer.ToArray(), cancellationToken);
            if (Hold)
            {
                await _released.WaitAsync(cancellationToken);
            }
        }

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
