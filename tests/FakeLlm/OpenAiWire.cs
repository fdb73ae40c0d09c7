using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

using static FakeLlm.WireText;

namespace FakeLlm;

/// <summary>
/// Writes OpenAI answers by hand: the Responses API event stream (Codex) and Chat Completions chunks
/// (OpenAI-compatible clients such as OpenCode's), so the wire shape is exactly what is written here.
/// </summary>
internal static class OpenAiWire
{
    // ---- Responses API (POST /v1/responses, stream) ----

    public static byte[] ResponseCreated(string responseId, string model) =>
        ResponseEvent("response.created", w =>
        {
            w.WriteStartObject("response");
            w.WriteString("id", responseId);
            w.WriteString("object", "response");
            w.WriteString("status", "in_progress");
            w.WriteString("model", model);
            w.WriteStartArray("output");
            w.WriteEndArray();
            w.WriteEndObject();
        });

    public static byte[] OutputItemAdded(int outputIndex, ContentBlock block, string itemId) =>
        ResponseEvent("response.output_item.added", w =>
        {
            w.WriteNumber("output_index", outputIndex);
            w.WritePropertyName("item");
            WriteOutputItem(w, block, itemId, complete: false);
        });

    public static IEnumerable<byte[]> OutputDeltas(int outputIndex, ContentBlock block, string itemId)
    {
        var (type, payload) = block switch
        {
            TextBlock t => ("response.output_text.delta", t.Text),
            ToolUseBlock u => ("response.function_call_arguments.delta", JsonText(u.Input)),
            _ => throw new ArgumentOutOfRangeException(nameof(block)),
        };
        foreach (var chunk in Chunks(payload))
        {
            yield return ResponseEvent(type, w =>
            {
                w.WriteString("item_id", itemId);
                w.WriteNumber("output_index", outputIndex);
                w.WriteNumber("content_index", 0);
                w.WriteString("delta", chunk);
            });
        }
    }

    public static byte[] OutputItemDone(int outputIndex, ContentBlock block, string itemId) =>
        ResponseEvent("response.output_item.done", w =>
        {
            w.WriteNumber("output_index", outputIndex);
            w.WritePropertyName("item");
            WriteOutputItem(w, block, itemId, complete: true);
        });

    public static byte[] ResponseCompleted(string responseId, string model, int inputTokens, int outputTokens) =>
        ResponseEvent("response.completed", w =>
        {
            w.WriteStartObject("response");
            w.WriteString("id", responseId);
            w.WriteString("object", "response");
            w.WriteString("status", "completed");
            w.WriteString("model", model);
            w.WriteStartObject("usage");
            w.WriteNumber("input_tokens", inputTokens);
            w.WriteStartObject("input_tokens_details");
            w.WriteNumber("cached_tokens", 0);
            w.WriteEndObject();
            w.WriteNumber("output_tokens", outputTokens);
            w.WriteStartObject("output_tokens_details");
            w.WriteNumber("reasoning_tokens", 0);
            w.WriteEndObject();
            w.WriteNumber("total_tokens", inputTokens + outputTokens);
            w.WriteEndObject();
            w.WriteEndObject();
        });

    // ---- Chat Completions (POST /v1/chat/completions, stream) ----

    public static byte[] ChatRole(string id, string model) =>
        ChatChunk(id, model, w =>
        {
            w.WriteStartObject("delta");
            w.WriteString("role", "assistant");
            w.WriteString("content", "");
            w.WriteEndObject();
            w.WriteNull("finish_reason");
        });

    public static IEnumerable<byte[]> ChatText(string id, string model, string text) =>
        Chunks(text).Select(chunk => ChatChunk(id, model, w =>
        {
            w.WriteStartObject("delta");
            w.WriteString("content", chunk);
            w.WriteEndObject();
            w.WriteNull("finish_reason");
        }));

    public static IEnumerable<byte[]> ChatToolCall(string id, string model, int index, ToolUseBlock use)
    {
        // The first chunk names the call; the arguments follow in pieces, as real servers send them.
        yield return ChatChunk(id, model, w => ToolCallDelta(w, index, () =>
        {
            w.WriteString("id", use.Id);
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", use.Name);
            w.WriteString("arguments", "");
            w.WriteEndObject();
        }));
        foreach (var chunk in Chunks(JsonText(use.Input)))
        {
            yield return ChatChunk(id, model, w => ToolCallDelta(w, index, () =>
            {
                w.WriteStartObject("function");
                w.WriteString("arguments", chunk);
                w.WriteEndObject();
            }));
        }
    }

    public static byte[] ChatFinish(string id, string model, string finishReason) =>
        ChatChunk(id, model, w =>
        {
            w.WriteStartObject("delta");
            w.WriteEndObject();
            w.WriteString("finish_reason", finishReason);
        });

    public static byte[] ChatUsage(string id, string model, int inputTokens, int outputTokens) =>
        Data(Json(w =>
        {
            w.WriteStartObject();
            WriteChunkHeader(w, id, model);
            w.WriteStartArray("choices");
            w.WriteEndArray();
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", inputTokens);
            w.WriteNumber("completion_tokens", outputTokens);
            w.WriteNumber("total_tokens", inputTokens + outputTokens);
            w.WriteEndObject();
            w.WriteEndObject();
        }));

    public static byte[] ChatDone() => Encoding.UTF8.GetBytes("data: [DONE]\n\n");

    /// <summary>A whole answer (no <c>stream</c>): its text, its tool calls, why it stopped and what it counted.</summary>
    public static byte[] ChatCompletion(string id, string model, IReadOnlyList<ContentBlock> blocks, int inputTokens, int outputTokens) =>
        Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", 0);
            w.WriteString("model", model);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            var text = string.Concat(blocks.OfType<TextBlock>().Select(t => t.Text));
            if (text.Length > 0)
            {
                w.WriteString("content", text);
            }
            else
            {
                w.WriteNull("content");
            }

            var uses = blocks.OfType<ToolUseBlock>().ToList();
            if (uses.Count > 0)
            {
                w.WriteStartArray("tool_calls");
                foreach (var use in uses)
                {
                    w.WriteStartObject();
                    w.WriteString("id", use.Id);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", use.Name);
                    w.WriteString("arguments", JsonText(use.Input));
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
            w.WriteString("finish_reason", uses.Count > 0 ? "tool_calls" : "stop");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", inputTokens);
            w.WriteNumber("completion_tokens", outputTokens);
            w.WriteNumber("total_tokens", inputTokens + outputTokens);
            w.WriteEndObject();
            w.WriteEndObject();
        });

    public static byte[] Error(string type, string message) =>
        Json(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("type", type);
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteEndObject();
        });

    public static int OutputTokens(IReadOnlyList<ContentBlock> blocks) =>
        AnthropicWire.EstimateTokens(blocks.Sum(b => b switch
        {
            TextBlock t => Encoding.UTF8.GetByteCount(t.Text),
            ToolUseBlock u => Encoding.UTF8.GetByteCount(JsonText(u.Input)),
            _ => 0,
        }));

    private static void ToolCallDelta(Utf8JsonWriter w, int index, Action writeCall)
    {
        w.WriteStartObject("delta");
        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        writeCall();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNull("finish_reason");
    }

    private static void WriteOutputItem(Utf8JsonWriter w, ContentBlock block, string itemId, bool complete)
    {
        w.WriteStartObject();
        switch (block)
        {
            case TextBlock t:
                w.WriteString("type", "message");
                w.WriteString("id", itemId);
                w.WriteString("role", "assistant");
                w.WriteString("status", complete ? "completed" : "in_progress");
                w.WriteStartArray("content");
                if (complete)
                {
                    w.WriteStartObject();
                    w.WriteString("type", "output_text");
                    w.WriteString("text", t.Text);
                    w.WriteStartArray("annotations");
                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                break;
            case ToolUseBlock u:
                w.WriteString("type", "function_call");
                w.WriteString("id", itemId);
                w.WriteString("call_id", u.Id);
                // An MCP tool is offered inside a namespace (`{type:"namespace", name:"mcp__SERVER", tools:[…]}`): a
                // call names the namespace and the tool apart, as a model answering that offer does.
                if (McpName(u.Name) is var (space, tool))
                {
                    w.WriteString("namespace", space);
                    w.WriteString("name", tool);
                }
                else
                {
                    w.WriteString("name", u.Name);
                }

                w.WriteString("arguments", complete ? JsonText(u.Input) : "");
                w.WriteString("status", complete ? "completed" : "in_progress");
                break;
        }

        w.WriteEndObject();
    }

    private static byte[] ChatChunk(string id, string model, Action<Utf8JsonWriter> writeChoice) =>
        Data(Json(w =>
        {
            w.WriteStartObject();
            WriteChunkHeader(w, id, model);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            writeChoice(w);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }));

    private static void WriteChunkHeader(Utf8JsonWriter w, string id, string model)
    {
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        w.WriteString("model", model);
    }

    private static byte[] ResponseEvent(string type, Action<Utf8JsonWriter> writeFields)
    {
        var data = Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            writeFields(w);
            w.WriteEndObject();
        });
        return [.. Encoding.UTF8.GetBytes($"event: {type}\n"), .. Data(data)];
    }

    private static byte[] Data(byte[] json) => [.. "data: "u8, .. json, (byte)'\n', (byte)'\n'];


    /// <summary>"mcp__probe__touch_file" as its namespace ("mcp__probe") and tool ("touch_file"); null for any other name.</summary>
    private static (string Namespace, string Tool)? McpName(string name)
    {
        if (!name.StartsWith("mcp__", StringComparison.Ordinal))
        {
            return null;
        }

        var split = name.IndexOf("__", "mcp__".Length, StringComparison.Ordinal);
        return split < 0 ? null : (name[..split], name[(split + 2)..]);
    }
}
