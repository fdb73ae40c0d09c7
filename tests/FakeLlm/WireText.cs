using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace FakeLlm;

/// <summary>What every wire the fake speaks needs: text cut into stream deltas, and compact JSON.</summary>
internal static class WireText
{
    /// <summary>Each text or tool input streams in about this many deltas, so clients must join them.</summary>
    public const int ChunkCount = 3;

    // Relaxed escaping: what real model APIs send ('>' stays '>'), and what agents must cope with.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static IEnumerable<string> Chunks(string text)
    {
        if (text.Length == 0)
        {
            yield break;
        }

        var size = Math.Max(1, (text.Length + ChunkCount - 1) / ChunkCount);
        var start = 0;
        while (start < text.Length)
        {
            var length = Math.Min(size, text.Length - start);

            // Never split a surrogate pair: each delta must be valid UTF-16 on its own.
            if (start + length < text.Length && char.IsHighSurrogate(text[start + length - 1]))
            {
                length++;
            }

            yield return text.Substring(start, length);
            start += length;
        }
    }

    public static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static string JsonText(JsonElement value) => Encoding.UTF8.GetString(Json(value.WriteTo));
}
