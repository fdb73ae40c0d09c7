using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace FakeLlm;

/// <summary>The OpenAI endpoints: the same script, answered on the Responses and Chat Completions wires.</summary>
public sealed partial class FakeModelServer
{
    private int _responseCount;

    /// <summary><c>POST /v1/responses</c> with <c>stream:true</c>, as Codex calls it.</summary>
    private async Task ResponsesAsync(HttpContext context)
    {
        var cancel = context.RequestAborted;
        if (await ReadOpenAiBodyAsync(context).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        var (reply, recorded) = Record(context, body, ModelWire.OpenAiResponses);
        var model = recorded.Model ?? "fake-model";
        var responseId = $"resp_fake_{Interlocked.Increment(ref _responseCount)}";
        var blocks = OpenAiBlocks(reply, "call_fake_");
        var response = StartEventStream(context.Response);
        await SendAsync(response, OpenAiWire.ResponseCreated(responseId, model), cancel).ConfigureAwait(false);

        // The model is "thinking": the client has seen the response begin but no output yet.
        if (reply is HeldReply held && !await WaitForReleaseAsync(held.Release, cancel).ConfigureAwait(false))
        {
            context.Abort();
            return;
        }

        for (var index = 0; index < blocks.Count; index++)
        {
            var itemId = $"{(blocks[index] is ToolUseBlock ? "fc" : "msg")}_{responseId}_{index}";
            await SendAsync(response, OpenAiWire.OutputItemAdded(index, blocks[index], itemId), cancel).ConfigureAwait(false);
            foreach (var delta in OpenAiWire.OutputDeltas(index, blocks[index], itemId))
            {
                await SendAsync(response, delta, cancel).ConfigureAwait(false);
            }

            await SendAsync(response, OpenAiWire.OutputItemDone(index, blocks[index], itemId), cancel).ConfigureAwait(false);
        }

        await SendAsync(response, OpenAiWire.ResponseCompleted(responseId, model,
            AnthropicWire.EstimateTokens(body.GetRawText().Length), OpenAiWire.OutputTokens(blocks)), cancel).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>POST /v1/chat/completions</c> with <c>stream:true</c>, as OpenAI-compatible clients call it; without it (Grok CLI's
    /// headless mode), the whole answer as one JSON body.
    /// </summary>
    private async Task ChatCompletionsAsync(HttpContext context)
    {
        var cancel = context.RequestAborted;
        if (await ReadOpenAiBodyAsync(context).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        var (reply, recorded) = Record(context, body, ModelWire.OpenAiChat);
        var model = recorded.Model ?? "fake-model";
        var id = $"chatcmpl-fake-{Interlocked.Increment(ref _responseCount)}";
        var blocks = OpenAiBlocks(reply, "call_fake_");
        if (!recorded.IsStreaming)
        {
            await WriteJsonAsync(context.Response, StatusCodes.Status200OK, OpenAiWire.ChatCompletion(id, model, blocks,
                AnthropicWire.EstimateTokens(body.GetRawText().Length), OpenAiWire.OutputTokens(blocks)), cancel).ConfigureAwait(false);
            return;
        }

        var response = StartEventStream(context.Response);
        await SendAsync(response, OpenAiWire.ChatRole(id, model), cancel).ConfigureAwait(false);

        if (reply is HeldReply held && !await WaitForReleaseAsync(held.Release, cancel).ConfigureAwait(false))
        {
            context.Abort();
            return;
        }

        var toolIndex = 0;
        foreach (var block in blocks)
        {
            var chunks = block switch
            {
                TextBlock text => OpenAiWire.ChatText(id, model, text.Text),
                ToolUseBlock use => OpenAiWire.ChatToolCall(id, model, toolIndex++, use),
                _ => [],
            };
            foreach (var chunk in chunks)
            {
                await SendAsync(response, chunk, cancel).ConfigureAwait(false);
            }
        }

        await SendAsync(response, OpenAiWire.ChatFinish(id, model, toolIndex > 0 ? "tool_calls" : "stop"), cancel).ConfigureAwait(false);
        await SendAsync(response, OpenAiWire.ChatUsage(id, model,
            AnthropicWire.EstimateTokens(body.GetRawText().Length), OpenAiWire.OutputTokens(blocks)), cancel).ConfigureAwait(false);
        await SendAsync(response, OpenAiWire.ChatDone(), cancel).ConfigureAwait(false);
    }

    private async Task<JsonElement?> ReadOpenAiBodyAsync(HttpContext context)
    {
        if (await ReadBodyAsync(context).ConfigureAwait(false) is { ValueKind: JsonValueKind.Object } body)
        {
            return body;
        }

        await WriteJsonAsync(context.Response, StatusCodes.Status400BadRequest,
            OpenAiWire.Error("invalid_request_error", "body must be a JSON object"), context.RequestAborted).ConfigureAwait(false);
        return null;
    }

    private List<ContentBlock> OpenAiBlocks(ScriptedReply reply, string callIdPrefix) =>
        [.. Blocks(reply).Select(b => b is ToolUseBlock use ? use with { Id = callIdPrefix + use.Id["toolu_fake_".Length..] } : b)];

    private static HttpResponse StartEventStream(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        return response;
    }
}
