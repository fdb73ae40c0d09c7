using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

using static FakeLlm.WireText;

namespace FakeLlm;

/// <summary>
/// Writes Gemini API (<c>generativelanguage</c> v1beta) answers: <c>GenerateContentResponse</c> objects, whole or as
/// <c>alt=sse</c> chunks (<c>data: {json}</c> lines). Text streams in several chunks like the real service;
/// a function call arrives whole in one chunk, as the real service sends it.
/// </summary>
internal static class GeminiWire
{
    /// <summary>The SSE chunks of one streamed answer; the last carries <c>finishReason</c> and the usage.</summary>
    public static IEnumerable<byte[]> StreamChunks(string model, IReadOnlyList<ContentBlock> blocks, int inputTokens)
    {
        var pieces = new List<ContentBlock>();
        foreach (var block in blocks)
        {
            if (block is TextBlock text)
            {
                pieces.AddRange(Chunks(text.Text).Select(chunk => new TextBlock(chunk)));
            }
            else
            {
                pieces.Add(block);
            }
        }

        if (pieces.Count == 0)
        {
            pieces.Add(new TextBlock(""));
        }

        for (var i = 0; i < pieces.Count; i++)
        {
            var last = i == pieces.Count - 1;
            var json = Response(model, [pieces[i]], last ? inputTokens : null, last ? OutputTokens(blocks) : 0);
            yield return [.. "data: "u8, .. json, (byte)'\r', (byte)'\n', (byte)'\r', (byte)'\n'];
        }
    }

    /// <summary>A whole (non-streaming) answer.</summary>
    public static byte[] Message(string model, IReadOnlyList<ContentBlock> blocks, int inputTokens) =>
        Response(model, blocks, inputTokens, OutputTokens(blocks));

    public static byte[] TokenCount(int tokens) =>
        Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("totalTokens", tokens);
            w.WriteEndObject();
        });

    public static byte[] Error(int status, string statusName, string message) =>
        Json(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteNumber("code", status);
            w.WriteString("message", message);
            w.WriteString("status", statusName);
            w.WriteEndObject();
            w.WriteEndObject();
        });

    /// <param name="inputTokens">Null for a chunk before the last: only the final chunk finishes the candidate.</param>
    private static byte[] Response(string model, IReadOnlyList<ContentBlock> blocks, int? inputTokens, int outputTokens) =>
        Json(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("candidates");
            w.WriteStartObject();
            w.WriteStartObject("content");
            w.WriteString("role", "model");
            w.WriteStartArray("parts");
            foreach (var block in blocks)
            {
                w.WriteStartObject();
                switch (block)
                {
                    case TextBlock t:
                        w.WriteString("text", t.Text);
                        break;
                    case ToolUseBlock u:
                        w.WriteStartObject("functionCall");
                        w.WriteString("name", u.Name);
                        w.WritePropertyName("args");
                        u.Input.WriteTo(w);
                        w.WriteEndObject();
                        break;
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            if (inputTokens is not null)
            {
                w.WriteString("finishReason", "STOP");
            }

            w.WriteNumber("index", 0);
            w.WriteEndObject();
            w.WriteEndArray();
            if (inputTokens is { } input)
            {
                w.WriteStartObject("usageMetadata");
                w.WriteNumber("promptTokenCount", input);
                w.WriteNumber("candidatesTokenCount", outputTokens);
                w.WriteNumber("totalTokenCount", input + outputTokens);
                w.WriteEndObject();
            }

            w.WriteString("modelVersion", model);
            w.WriteEndObject();
        });

    private static int OutputTokens(IReadOnlyList<ContentBlock> blocks) =>
        AnthropicWire.EstimateTokens(blocks.Sum(b => b switch
        {
            TextBlock t => Encoding.UTF8.GetByteCount(t.Text),
            ToolUseBlock u => u.Input.GetRawText().Length,
            _ => 0,
        }));

}
