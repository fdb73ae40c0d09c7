using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace PocketCoder.Hub;

/// <summary>What the start of a connection says about where it wants to go.</summary>
public enum HelloVerdict
{
    /// <summary>Not enough bytes yet: read more (within the deadline).</summary>
    Incomplete,

    /// <summary>A ClientHello; <see cref="ClientHello.ServerName"/> holds its server name, or null when it names none.</summary>
    Complete,

    /// <summary>Not a TLS ClientHello, malformed, or larger than the hub accepts: close the connection.</summary>
    Refused,
}

/// <summary>A ClientHello read but not consumed: <see cref="Received"/> is every byte read so far.</summary>
public sealed record Peeked(HelloVerdict Verdict, ReadOnlySequence<byte> Received, string? ServerName, IReadOnlyList<string> Protocols);

/// <summary>
/// Reads the server name (SNI, RFC 6066) from a TLS ClientHello and nothing else: the hub routes on it and never
/// decrypts. The handshake message may span several TLS records (large post-quantum key shares make it grow), so the
/// records' fragments are joined first; anything malformed is refused rather than guessed at.
/// </summary>
public static class ClientHello
{
    /// <summary>The largest ClientHello accepted; today's browsers send under 2 KiB.</summary>
    public const int MaxHandshakeBytes = 16 * 1024;

    private const byte HandshakeRecord = 22;
    private const byte ClientHelloMessage = 1;
    private const ushort ServerNameExtension = 0;
    private const ushort AlpnExtension = 16;
    private const byte HostNameType = 0;

    /// <summary>
    /// The most records a ClientHello may come in. One is usual; a hello past 16 KiB needs two. Without a limit, one-byte
    /// records would let a hello take six times its size on the wire, all held until it is whole.
    /// </summary>
    public const int MaxRecords = 8;

    /// <summary>Looks at the bytes received so far; <paramref name="serverName"/> is lower-case when found.</summary>
    public static HelloVerdict Read(ReadOnlySequence<byte> received, out string? serverName) => Read(received, out serverName, out _);

    /// <summary>
    /// As above, and the application protocols (ALPN) the client offers, in its order. Until the whole hello is there,
    /// only the record headers are looked at and nothing is allocated: a hello sent a byte at a time (read again at each
    /// byte) costs the hub no copying and no garbage.
    /// </summary>
    public static HelloVerdict Read(ReadOnlySequence<byte> received, out string? serverName, out IReadOnlyList<string> protocols)
    {
        serverName = null;
        protocols = [];
        Span<byte> header = stackalloc byte[4];
        var reader = new SequenceReader<byte>(received);
        var gathered = 0;
        int? messageLength = null;
        for (var records = 1; messageLength is null || gathered < messageLength + 4; records++)
        {
            if (reader.Remaining < 5)
            {
                return HelloVerdict.Incomplete;
            }

            var length = RecordLength(ref reader);
            if (length is null || records > MaxRecords || gathered + length > MaxHandshakeBytes + 4)
            {
                return HelloVerdict.Refused;
            }

            if (reader.Remaining < length)
            {
                return HelloVerdict.Incomplete;
            }

            if (gathered < 4)
            {
                // The handshake header (type, 3-byte length) may itself be split across records.
                var take = Math.Min(4 - gathered, length.Value);
                reader.UnreadSequence.Slice(0, take).CopyTo(header[gathered..]);
            }

            reader.Advance(length.Value);
            gathered += length.Value;
            if (messageLength is null && gathered >= 4)
            {
                if (header[0] != ClientHelloMessage)
                {
                    return HelloVerdict.Refused;
                }

                messageLength = (header[1] << 16) | (header[2] << 8) | header[3];
                if (messageLength > MaxHandshakeBytes)
                {
                    return HelloVerdict.Refused;
                }
            }
        }

        // All of it is here: join the records' fragments, once.
        var joined = ArrayPool<byte>.Shared.Rent(messageLength.Value + 4);
        try
        {
            reader = new SequenceReader<byte>(received);
            for (var copied = 0; copied < messageLength + 4;)
            {
                var length = RecordLength(ref reader)!.Value;
                var take = Math.Min(length, messageLength.Value + 4 - copied);
                reader.UnreadSequence.Slice(0, take).CopyTo(joined.AsSpan(copied));
                reader.Advance(length);
                copied += take;
            }

            return ParseBody(joined.AsSpan(4, messageLength.Value), out serverName, out protocols) ? HelloVerdict.Complete : HelloVerdict.Refused;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(joined);
        }
    }

    /// <summary>Reads a record's 5-byte header: the length of its fragment, or null when it is not a handshake record.</summary>
    private static int? RecordLength(ref SequenceReader<byte> reader)
    {
        reader.TryRead(out var type);
        reader.TryReadBigEndian(out short version);
        reader.TryReadBigEndian(out short lengthField);
        var length = (ushort)lengthField;
        // Record versions are 3.x (SSL 3.0 framing up to TLS 1.3's fixed 3.1/3.3); a record holds at most 2^14 bytes.
        return type != HandshakeRecord || (version >> 8) != 3 || length == 0 || length > 16384 ? null : length;
    }

    /// <summary>
    /// Waits (up to <paramref name="timeout"/>) for a whole ClientHello without consuming it: the caller advances
    /// <paramref name="input"/> to <c>Received.Start</c> to let TLS read it again, or past it to drop it.
    /// </summary>
    public static async Task<Peeked> PeekAsync(System.IO.Pipelines.PipeReader input, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(deadline.Token);
                var verdict = Read(result.Buffer, out var name, out var protocols);
                if (verdict == HelloVerdict.Incomplete && !result.IsCompleted)
                {
                    input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    continue;
                }

                return new Peeked(verdict == HelloVerdict.Incomplete ? HelloVerdict.Refused : verdict, result.Buffer, name, protocols);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException)
        {
            // The deadline, the hub closing it, or the other side resetting it (Kestrel's ConnectionResetException).
            return new Peeked(HelloVerdict.Refused, default, null, []);
        }
    }

    private static bool ParseBody(ReadOnlySpan<byte> body, out string? serverName, out IReadOnlyList<string> protocols)
    {
        serverName = null;
        protocols = [];
        // client_version (2), random (32), then three length-prefixed lists before the extensions.
        var at = 34;
        if (!Skip(body, ref at, 1) || !Skip(body, ref at, 2) || !Skip(body, ref at, 1))
        {
            return false;
        }

        if (at == body.Length)
        {
            return true; // No extensions at all (an old client): no server name.
        }

        if (!Take(body, ref at, 2, out var extensions) || at != body.Length)
        {
            return false;
        }

        while (!extensions.IsEmpty)
        {
            if (extensions.Length < 4)
            {
                return false;
            }

            var type = BinaryPrimitives.ReadUInt16BigEndian(extensions);
            var length = BinaryPrimitives.ReadUInt16BigEndian(extensions[2..]);
            if (extensions.Length < 4 + length)
            {
                return false;
            }

            if (type == ServerNameExtension && !ParseServerName(extensions.Slice(4, length), out serverName))
            {
                return false;
            }

            if (type == AlpnExtension && !ParseProtocols(extensions.Slice(4, length), out protocols))
            {
                return false;
            }

            extensions = extensions[(4 + length)..];
        }

        return true;
    }

    private static bool ParseProtocols(ReadOnlySpan<byte> extension, out IReadOnlyList<string> protocols)
    {
        protocols = [];
        var at = 0;
        if (!Take(extension, ref at, 2, out var list) || at != extension.Length)
        {
            return false;
        }

        var names = new List<string>();
        for (var inner = 0; inner < list.Length;)
        {
            if (!Take(list, ref inner, 1, out var name) || name.IsEmpty)
            {
                return false;
            }

            names.Add(Encoding.ASCII.GetString(name));
        }

        protocols = names;
        return true;
    }

    private static bool ParseServerName(ReadOnlySpan<byte> extension, out string? serverName)
    {
        serverName = null;
        var at = 0;
        if (!Take(extension, ref at, 2, out var list) || at != extension.Length || list.Length < 3 || list[0] != HostNameType)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(list[1..]);
        if (list.Length < 3 + length || length is 0 or > 253)
        {
            return false;
        }

        var name = list.Slice(3, length);
        foreach (var c in name)
        {
            // A DNS host name in ASCII (IDNs arrive as punycode): letters, digits, hyphens and dots only.
            if (!(char.IsAsciiLetterOrDigit((char)c) || c is (byte)'-' or (byte)'.'))
            {
                return false;
            }
        }

        serverName = Encoding.ASCII.GetString(name).ToLowerInvariant();
        return true;
    }

    private static bool Skip(ReadOnlySpan<byte> data, ref int at, int prefix) => Take(data, ref at, prefix, out _);

    /// <summary>Reads a list with a 1- or 2-byte length prefix at <paramref name="at"/>.</summary>
    private static bool Take(ReadOnlySpan<byte> data, ref int at, int prefix, out ReadOnlySpan<byte> list)
    {
        list = default;
        if (at < 0 || data.Length - at < prefix)
        {
            return false;
        }

        var length = prefix == 1 ? data[at] : BinaryPrimitives.ReadUInt16BigEndian(data[at..]);
        at += prefix;
        if (data.Length - at < length)
        {
            return false;
        }

        list = data.Slice(at, length);
        at += length;
        return true;
    }
}
