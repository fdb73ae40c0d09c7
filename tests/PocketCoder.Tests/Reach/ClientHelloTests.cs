using System.Buffers;
using System.Net.Security;
using PocketCoder.Hub;

namespace PocketCoder.Tests.Reach;

/// <summary>The hub's SNI reader against real ClientHellos from .NET's TLS client, cut, re-framed, mangled and faked.</summary>
[Trait("Category", "Unit")]
public sealed class ClientHelloTests
{
    [Fact]
    public async Task RealClientHello_NamesTheServer_EveryStrictPrefixIsIncomplete()
    {
        var hello = await CaptureAsync("M1.Hub.Test");
        Assert.Equal(HelloVerdict.Complete, ClientHello.Read(new ReadOnlySequence<byte>(hello), out var name));
        Assert.Equal("m1.hub.test", name);

        for (var length = 0; length < hello.Length; length++)
        {
            Assert.Equal(HelloVerdict.Incomplete, ClientHello.Read(new ReadOnlySequence<byte>(hello, 0, length), out _));
        }
    }

    [Fact]
    public async Task ClientHello_SplitAcrossRecordsAndSegments_IsJoined()
    {
        var hello = await CaptureAsync("m1.hub.test");
        var handshake = hello[5..];
        // The same handshake message in two records of 100 bytes and the rest, the way large hellos arrive.
        var reframed = Record(handshake[..100]).Concat(Record(handshake[100..])).ToArray();
        Assert.Equal(HelloVerdict.Complete, ClientHello.Read(Segmented(reframed, 7), out var name));
        Assert.Equal("m1.hub.test", name);
    }

    [Fact]
    public async Task ClientHello_InOneByteRecords_IsRefused_WhileAsManyRecordsAsAClientNeedsAreRead()
    {
        var handshake = (await CaptureAsync("m1.hub.test"))[5..];
        // One byte a record: the hello takes six times its size on the wire, every byte held by the hub until it is whole.
        var dribbled = handshake.SelectMany(b => Record([b])).ToArray();
        Assert.Equal(HelloVerdict.Refused, ClientHello.Read(new ReadOnlySequence<byte>(dribbled), out _));

        var size = (handshake.Length / ClientHello.MaxRecords) + 1;
        var inMaxRecords = handshake.Chunk(size).SelectMany(Record).ToArray();
        Assert.Equal(HelloVerdict.Complete, ClientHello.Read(new ReadOnlySequence<byte>(inMaxRecords), out var name));
        Assert.Equal("m1.hub.test", name);
    }

    [Fact]
    public async Task ClientHello_ReadAgainAsEachByteArrives_AllocatesNothing_UntilWhole()
    {
        var handshake = (await CaptureAsync("m1.hub.test"))[5..];
        var reframed = Record(handshake[..100]).Concat(Record(handshake[100..])).ToArray();
        ClientHello.Read(new ReadOnlySequence<byte>(reframed, 0, 200), out _);

        // How the hub sees a slow sender: the bytes so far, read again each time one more arrives.
        var incomplete = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var length = 0; length < reframed.Length; length++)
        {
            incomplete += ClientHello.Read(new ReadOnlySequence<byte>(reframed, 0, length), out _) == HelloVerdict.Incomplete ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(reframed.Length, incomplete);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task ClientHello_OfferedProtocols_AreRead()
    {
        var hello = await CaptureAsync("m1.hub.test", ["acme-tls/1"]);
        Assert.Equal(HelloVerdict.Complete, ClientHello.Read(new ReadOnlySequence<byte>(hello), out var name, out var protocols));
        Assert.Equal("m1.hub.test", name);
        Assert.Equal(["acme-tls/1"], protocols);

        hello = await CaptureAsync("m1.hub.test", ["h2", "http/1.1"]);
        Assert.Equal(HelloVerdict.Complete, ClientHello.Read(new ReadOnlySequence<byte>(hello), out _, out protocols));
        Assert.Equal(["h2", "http/1.1"], protocols);
    }

    [Fact]
    public async Task ClientHello_ToAnAddress_HasNoServerName()
    {
        var hello = await CaptureAsync("127.0.0.1");
        Assert.Equal(HelloVerdict.Complete, ClientHello.Read(new ReadOnlySequence<byte>(hello), out var name));
        Assert.Null(name);
    }

    [Theory]
    [InlineData("474554202f20485454502f312e310d0a")] // GET / HTTP/1.1 (plain HTTP to the TLS port)
    [InlineData("1503030002020a")] // a TLS alert record, not a handshake
    [InlineData("1603030004020000ff")] // a handshake record holding a ServerHello
    [InlineData("160303000401ffffff")] // a ClientHello claiming 16 MiB
    [InlineData("1603034001")] // a record longer than TLS allows
    [InlineData("1603030000")] // an empty record
    public void NotAClientHello_IsRefused(string hex)
    {
        Assert.Equal(HelloVerdict.Refused, ClientHello.Read(new ReadOnlySequence<byte>(Convert.FromHexString(hex)), out var name));
        Assert.Null(name);
    }

    [Fact]
    public async Task ServerNameWithForbiddenCharacters_IsRefused()
    {
        var hello = await CaptureAsync("m1.hub.test");
        var at = IndexOf(hello, "m1.hub.test"u8.ToArray());
        hello[at + 2] = (byte)'/'; // m1/hub.test: not a host name, never a routing key
        Assert.Equal(HelloVerdict.Refused, ClientHello.Read(new ReadOnlySequence<byte>(hello), out _));
    }

    [Fact]
    public async Task MangledHellos_NeverThrow()
    {
        var hello = await CaptureAsync("m1.hub.test");
        var random = new Random(1234);
        for (var i = 0; i < 5000; i++)
        {
            var mangled = (byte[])hello.Clone();
            for (var flips = random.Next(1, 6); flips > 0; flips--)
            {
                mangled[random.Next(mangled.Length)] = (byte)random.Next(256);
            }

            var verdict = ClientHello.Read(new ReadOnlySequence<byte>(mangled, 0, random.Next(mangled.Length + 1)), out var name);
            Assert.True(verdict != HelloVerdict.Complete || name is null || name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.'));
        }
    }

    /// <summary>What .NET's TLS client sends first when connecting to <paramref name="host"/>.</summary>
    internal static async Task<byte[]> CaptureAsync(string host, string[]? protocols = null)
    {
        var capture = new CapturingStream();
        using var tls = new SslStream(capture);
        using var cancel = new CancellationTokenSource();
        var options = new SslClientAuthenticationOptions { TargetHost = host };
        if (protocols is not null)
        {
            options.ApplicationProtocols = [.. protocols.Select(p => new SslApplicationProtocol(p))];
        }

        var handshake = tls.AuthenticateAsClientAsync(options, cancel.Token);
        var hello = await capture.FirstWrite;
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => handshake);
        return hello;
    }

    private static byte[] Record(byte[] fragment) =>
        [22, 3, 1, (byte)(fragment.Length >> 8), (byte)fragment.Length, .. fragment];

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int size)
    {
        Segment? first = null;
        Segment? last = null;
        for (var at = 0; at < bytes.Length; at += size)
        {
            var segment = new Segment(bytes.AsMemory(at, Math.Min(size, bytes.Length - at)), last);
            first ??= segment;
            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }

    /// <summary>Records the first write; reads wait until cancelled (no server answers).</summary>
    private sealed class CapturingStream : Stream
    {
        private readonly TaskCompletionSource<byte[]> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<byte[]> FirstWrite => _first.Task;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _first.TrySetResult(buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public override void Write(byte[] buffer, int offset, int count) => _first.TrySetResult(buffer[offset..(offset + count)]);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
