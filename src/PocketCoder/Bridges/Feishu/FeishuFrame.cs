using System.Text;

namespace PocketCoder.Bridges.Feishu;

/// <summary>
/// One frame of Feishu's long connection: a small protobuf message (Feishu's <c>pbbp2.Frame</c>), written and read here
/// by hand since no protobuf library is at hand and the message has nine fields: 1 SeqID, 2 LogID (varints),
/// 3 service, 4 method (0 control, 1 data), 5 headers (key/value pairs), 6 payload encoding, 7 payload type,
/// 8 payload (bytes), 9 LogIDNew. Fields this code does not know are skipped, as protobuf readers do.
/// </summary>
public sealed class FeishuFrame
{
    public const int ControlMethod = 0;
    public const int DataMethod = 1;

    public ulong SeqId { get; set; }

    public ulong LogId { get; set; }

    public int Service { get; set; }

    public int Method { get; set; }

    public List<KeyValuePair<string, string>> Headers { get; } = [];

    public string? PayloadEncoding { get; set; }

    public string? PayloadType { get; set; }

    public byte[] Payload { get; set; } = [];

    public string? LogIdNew { get; set; }

    public string? Header(string key) => Headers.FirstOrDefault(h => h.Key == key).Value;

    public byte[] Encode()
    {
        using var output = new MemoryStream();
        WriteVarint(output, 1, SeqId);
        WriteVarint(output, 2, LogId);
        WriteVarint(output, 3, (ulong)(long)Service);
        WriteVarint(output, 4, (ulong)(long)Method);
        foreach (var (key, value) in Headers)
        {
            using var header = new MemoryStream();
            WriteText(header, 1, key);
            WriteText(header, 2, value);
            WriteBytes(output, 5, header.ToArray());
        }

        WriteText(output, 6, PayloadEncoding);
        WriteText(output, 7, PayloadType);
        WriteBytes(output, 8, Payload);
        WriteText(output, 9, LogIdNew);
        return output.ToArray();
    }

    /// <exception cref="InvalidDataException">Not a frame (cut short, or a length past its end).</exception>
    public static FeishuFrame Decode(ReadOnlySpan<byte> data)
    {
        var frame = new FeishuFrame();
        var position = 0;
        while (position < data.Length)
        {
            var tag = ReadVarint(data, ref position);
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    var number = ReadVarint(data, ref position);
                    switch (field)
                    {
                        case 1: frame.SeqId = number; break;
                        case 2: frame.LogId = number; break;
                        case 3: frame.Service = (int)number; break;
                        case 4: frame.Method = (int)number; break;
                    }

                    break;
                case 2:
                    var bytes = ReadBytes(data, ref position);
                    switch (field)
                    {
                        case 5: frame.Headers.Add(DecodeHeader(bytes)); break;
                        case 6: frame.PayloadEncoding = Encoding.UTF8.GetString(bytes); break;
                        case 7: frame.PayloadType = Encoding.UTF8.GetString(bytes); break;
                        case 8: frame.Payload = bytes.ToArray(); break;
                        case 9: frame.LogIdNew = Encoding.UTF8.GetString(bytes); break;
                    }

                    break;
                case 1:
                    Skip(data, ref position, 8);
                    break;
                case 5:
                    Skip(data, ref position, 4);
                    break;
                default:
                    throw new InvalidDataException($"A frame field with wire type {tag & 7}.");
            }
        }

        return frame;
    }

    private static KeyValuePair<string, string> DecodeHeader(ReadOnlySpan<byte> data)
    {
        string key = "", value = "";
        var position = 0;
        while (position < data.Length)
        {
            var tag = ReadVarint(data, ref position);
            if ((tag & 7) != 2)
            {
                throw new InvalidDataException("A frame header that is not two strings.");
            }

            var text = Encoding.UTF8.GetString(ReadBytes(data, ref position));
            if (tag >> 3 == 1)
            {
                key = text;
            }
            else if (tag >> 3 == 2)
            {
                value = text;
            }
        }

        return new(key, value);
    }

    private static void WriteVarint(Stream output, int field, ulong value)
    {
        WriteRawVarint(output, (ulong)field << 3);
        WriteRawVarint(output, value);
    }

    private static void WriteBytes(Stream output, int field, ReadOnlySpan<byte> value)
    {
        WriteRawVarint(output, ((ulong)field << 3) | 2);
        WriteRawVarint(output, (ulong)value.Length);
        output.Write(value);
    }

    /// <summary>A string field; an absent one (null) is not written, as protobuf leaves out unset fields.</summary>
    private static void WriteText(Stream output, int field, string? value)
    {
        if (value is not null)
        {
            WriteBytes(output, field, Encoding.UTF8.GetBytes(value));
        }
    }

    private static void WriteRawVarint(Stream output, ulong value)
    {
        while (value >= 0x80)
        {
            output.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        output.WriteByte((byte)value);
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
            {
                throw new InvalidDataException("A frame cut short.");
            }

            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new InvalidDataException("A frame varint over 64 bits.");
    }

    private static ReadOnlySpan<byte> ReadBytes(ReadOnlySpan<byte> data, ref int position)
    {
        var length = ReadVarint(data, ref position);
        if (length > (ulong)(data.Length - position))
        {
            throw new InvalidDataException("A frame field longer than the frame.");
        }

        var bytes = data.Slice(position, (int)length);
        position += (int)length;
        return bytes;
    }

    private static void Skip(ReadOnlySpan<byte> data, ref int position, int count)
    {
        if (position + count > data.Length)
        {
            throw new InvalidDataException("A frame cut short.");
        }

        position += count;
    }
}
