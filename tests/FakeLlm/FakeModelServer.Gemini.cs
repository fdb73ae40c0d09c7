using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FakeLlm;

/// <summary>
/// The Gemini API (v1beta) beside the Anthropic one, driven by the same script. Gemini CLI 0.61.0 run as
/// <c>gemini --acp -m MODEL</c> with <c>GOOGLE_GEMINI_BASE_URL</c> pointing here calls only
/// <c>POST /v1beta/models/MODEL:streamGenerateContent?alt=sse</c>, each agent-loop request offering its tools;
/// the non-streaming <c>generateContent</c> and <c>countTokens</c> answers are here for its side requests
/// (next-speaker checks, compression, token counts), which take no scripted reply.
/// </summary>
public sealed partial class FakeModelServer
{
    private void MapGeminiEndpoints() =>
        // One segment holds "MODEL:METHOD"; ':' is an ordinary character in a path value.
        _app.MapPost("/v1beta/models/{modelAndMethod}", GeminiAsync);

    private async Task GeminiAsync(HttpContext context, string modelAndMethod)
    {
        var cancel = context.RequestAborted;
        var separator = modelAndMethod.LastIndexOf(':');
        var method = separator < 0 ? "" : modelAndMethod[(separator + 1)..];
        var model = separator < 0 ? modelAndMethod : modelAndMethod[..separator];
        if (method is not ("streamGenerateContent" or "generateContent" or "countTokens"))
        {
            await WriteJsonAsync(context.Response, StatusCodes.Status404NotFound,
                GeminiWire.Error(404, "NOT_FOUND", $"fake model server has no method '{method}'"), cancel).ConfigureAwait(false);
            return;
        }

        if (await ReadBodyAsync(context).ConfigureAwait(false) is not { } body || body.ValueKind != JsonValueKind.Object)
        {
            await WriteJsonAsync(context.Response, StatusCodes.Status400BadRequest,
                GeminiWire.Error(400, "INVALID_ARGUMENT", "body must be a JSON object"), cancel).ConfigureAwait(false);
            return;
        }

        var inputTokens = AnthropicWire.EstimateTokens(body.GetRawText().Length);
        if (method == "countTokens")
        {
            await WriteJsonAsync(context.Response, StatusCodes.Status200OK, GeminiWire.TokenCount(inputTokens), cancel).ConfigureAwait(false);
            return;
        }

        var main = RecordedRequest.GeminiToolNames(body).Count > 0;
        // Gemini sends its key as x-goog-api-key (or a bearer), never in the query here.
        var credential = new[] { context.Request.Headers["x-goog-api-key"].ToString(), context.Request.Headers.Authorization.ToString() }
            .FirstOrDefault(value => value.Length > 0);
        var (reply, _) = TakeReply(context.Request.Path + context.Request.QueryString, body, main, GeminiSideText(body), credential);
        var blocks = Blocks(reply);

        if (method == "generateContent")
        {
            if (reply is HeldReply held && !await WaitForReleaseAsync(held.Release, cancel).ConfigureAwait(false))
            {
                return;
            }

            await WriteJsonAsync(context.Response, StatusCodes.Status200OK, GeminiWire.Message(model, blocks, inputTokens), cancel).ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync(cancel).ConfigureAwait(false);
        await response.Body.FlushAsync(cancel).ConfigureAwait(false);

        // The model is "thinking": the client has its response headers but no words yet.
        if (reply is HeldReply stalled && !await WaitForReleaseAsync(stalled.Release, cancel).ConfigureAwait(false))
        {
            context.Abort();
            return;
        }

        foreach (var chunk in GeminiWire.StreamChunks(model, blocks, inputTokens))
        {
            await SendAsync(response, chunk, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Side requests that ask for JSON (Gemini CLI's next-speaker check and similar) get an empty object,
    /// which those callers read as "nothing to do"; others get the generic side text.
    /// </summary>
    private static string GeminiSideText(JsonElement body) =>
        body.TryGetProperty("generationConfig", out var config)
        && config.ValueKind == JsonValueKind.Object
        && config.TryGetProperty("responseMimeType", out var mime)
        && mime.ValueKind == JsonValueKind.String
        && mime.GetString() == "application/json"
            ? "{}"
            : SideRequestText;

    /// <summary>
    /// Records a request and takes its reply: the next scripted one for a main-agent request, else a generic text.
    /// Wakes the waiters whose predicate matches, outside the lock.
    /// </summary>
    private (ScriptedReply Reply, RecordedRequest Recorded) TakeReply(string path, JsonElement body, bool main, string sideText, string? credential)
    {
        ScriptedReply reply;
        RecordedRequest recorded;
        List<TaskCompletionSource<RecordedRequest>> matched = [];
        lock (_gate)
        {
            var consumed = main && _script.Count > 0;
            reply = consumed ? _script.Dequeue() : ScriptedReply.Text(main ? NoScriptLeftText : sideText);
            recorded = new RecordedRequest(path, body, consumed) { Credential = credential };
            _requests.Add(recorded);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Predicate(recorded))
                {
                    matched.Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var done in matched)
        {
            done.TrySetResult(recorded);
        }

        return (reply is AnsweringReply answering ? answering.Reply(recorded) : reply, recorded);
    }
}
