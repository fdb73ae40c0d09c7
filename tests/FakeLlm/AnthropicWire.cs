using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

using static FakeLlm.WireText;

namespace FakeLlm;

/// <summary>One content block of a fake assistant message.</summary>
internal abstract record ContentBlock;

internal sealed record TextBlock(string Text) : ContentBlock;

internal sealed record ToolUseBlock(string Id, string Name, JsonElement Input) : ContentBlock;

/// <summary>
/// Writes Anthropic Messages API answers, both as one JSON message and as the SSE event sequence,
/// by hand with <see cref="Utf8JsonWriter"/> so the wire shape is exactly what is written here.
/// </summary>
internal static class AnthropicWire
{
    // Real streams arrive in several deltas; clients that only handle the first chunk would pass with one.
    // Real responses carry "<", ">" and "&" literally; the default encoder's \u003E escapes would also get split across deltas.
    public static byte[] Message(string id, string model, IReadOnlyList<ContentBlock> blocks, int inputTokens) =>
        Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("type", "message");
            w.WriteString("role", "assistant");
            w.WriteString("model", model);
            w.WriteStartArray("content");
            foreach (var block in blocks)
            {
                WriteBlock(w, block, complete: true);
            }

            w.WriteEndArray();
            w.WriteString("stop_reason", StopReason(blocks));
            w.WriteNull("stop_sequence");
            WriteUsage(w, inputTokens, OutputTokens(blocks));
            w.WriteEndObject();
        });

    public static byte[] MessageStart(string id, string model, int inputTokens) =>
        Event("message_start", w =>
        {
            w.WriteStartObject("message");
            w.WriteString("id", id);
            w.WriteString("type", "message");
            w.WriteString("role", "assistant");
            w.WriteString("model", model);
            w.WriteStartArray("content");
            w.WriteEndArray();
            w.WriteNull("stop_reason");
            w.WriteNull("stop_sequence");
            WriteUsage(w, inputTokens, 1);
            w.WriteEndObject();
        });

    public static byte[] BlockStart(int index, ContentBlock block) =>
        Event("content_block_start", w =>
        {
            w.WriteNumber("index", index);
            w.WritePropertyName("content_block");
            WriteBlock(w, block, complete: false);
        });

    public static IEnumerable<byte[]> BlockDeltas(int index, ContentBlock block)
    {
        var (deltaType, field, payload) = block switch
        {
            TextBlock t => ("text_delta", "text", t.Text),
            ToolUseBlock u => ("input_json_delta", "partial_json", JsonText(u.Input)),
            _ => throw new ArgumentOutOfRangeException(nameof(block)),
        };

        foreach (var chunk in Chunks(payload))
        {
            yield return Event("content_block_delta", w =>
            {
                w.WriteNumber("index", index);
                w.WriteStartObject("delta");
                w.WriteString("type", deltaType);
                w.WriteString(field, chunk);
                w.WriteEndObject();
            });
        }
    }

    public static byte[] BlockStop(int index) => Event("content_block_stop", w => w.WriteNumber("index", index));

    public static byte[] MessageDelta(IReadOnlyList<ContentBlock> blocks) =>
        Event("message_delta", w =>
        {
            w.WriteStartObject("delta");
            w.WriteString("stop_reason", StopReason(blocks));
            w.WriteNull("stop_sequence");
            w.WriteEndObject();
            w.WriteStartObject("usage");
            w.WriteNumber("output_tokens", OutputTokens(blocks));
            w.WriteEndObject();
        });

    public static byte[] MessageStop() => Event("message_stop", _ => { });

    public static byte[] Error(string type, string message) =>
        Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "error");
            w.WriteStartObject("error");
            w.WriteString("type", type);
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteEndObject();
        });

    public static byte[] TokenCount(int inputTokens) =>
        Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("input_tokens", inputTokens);
            w.WriteEndObject();
        });

    /// <summary>A rough token estimate: clients only display it, so about four bytes per token will do.</summary>
    public static int EstimateTokens(int byteCount) => Math.Max(1, byteCount / 4);

    private static string StopReason(IReadOnlyList<ContentBlock> blocks) =>
        blocks.Any(b => b is ToolUseBlock) ? "tool_use" : "end_turn";

    private static int OutputTokens(IReadOnlyList<ContentBlock> blocks) =>
        EstimateTokens(blocks.Sum(b => b switch
        {
            TextBlock t => Encoding.UTF8.GetByteCount(t.Text),
            ToolUseBlock u => Encoding.UTF8.GetByteCount(JsonText(u.Input)),
            _ => 0,
        }));

    private static void WriteUsage(Utf8JsonWriter w, int inputTokens, int outputTokens)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", inputTokens);
        w.WriteNumber("cache_creation_input_tokens", 0);
        w.WriteNumber("cache_read_input_tokens", 0);
        w.WriteNumber("output_tokens", outputTokens);
        w.WriteEndObject();
    }

    // In a stream the block starts empty and is filled by deltas; in a whole message it is complete.
    private static void WriteBlock(Utf8JsonWriter w, ContentBlock block, bool complete)
    {
        w.WriteStartObject();
        switch (block)
        {
            case TextBlock t:
                w.WriteString("type", "text");
                w.WriteString("text", complete ? t.Text : "");
                break;
            case ToolUseBlock u:
                w.WriteString("type", "tool_use");
                w.WriteString("id", u.Id);
                w.WriteString("name", u.Name);
                w.WritePropertyName("input");
                if (complete)
                {
                    u.Input.WriteTo(w);
                }
                else
                {
                    w.WriteStartObject();
                    w.WriteEndObject();
                }

                break;
        }

        w.WriteEndObject();
    }

    private static byte[] Event(string type, Action<Utf8JsonWriter> writeFields)
    {
        var data = Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            writeFields(w);
            w.WriteEndObject();
        });
        return [.. Encoding.UTF8.GetBytes($"event: {type}\ndata: "), .. data, (byte)'\n', (byte)'\n'];
    }

}
