using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Agents.Processes;

namespace PocketCoder.Agents.Codex;

/// <summary>
/// JSON-RPC over an agent's stdin/stdout, one message per line: our requests and their responses,
/// notifications both ways, and the agent's own requests (answered with the same id).
/// Codex omits the <c>"jsonrpc":"2.0"</c> member, and we do too.
/// </summary>
internal sealed class JsonRpcLines(Func<string, JsonElement, Task> onNotification, Action<JsonElement, string, JsonElement> onRequest)
{
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _pending = new();
    private long _nextId;

    public AgentProcess? Process { get; set; }

    public async Task<JsonElement> RequestAsync(string method, JsonObject parameters, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            var message = new JsonObject { ["method"] = method, ["id"] = id, ["params"] = parameters };
            await Write(message, cancellationToken).ConfigureAwait(false);
            return await answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public Task NotifyAsync(string method, JsonObject? parameters, CancellationToken cancellationToken)
    {
        var message = new JsonObject { ["method"] = method };
        if (parameters is not null)
        {
            message["params"] = parameters;
        }

        return Write(message, cancellationToken);
    }

    public Task RespondAsync(JsonElement id, JsonObject result) =>
        Write(new JsonObject { ["id"] = JsonNode.Parse(id.GetRawText()), ["result"] = result }, CancellationToken.None);

    public Task RespondErrorAsync(JsonElement id, int code, string message) =>
        Write(new JsonObject
        {
            ["id"] = JsonNode.Parse(id.GetRawText()),
            ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
        }, CancellationToken.None);

    /// <summary>Every request still waiting fails: the process is gone.</summary>
    public void FailAll(string reason)
    {
        foreach (var pending in _pending.Values)
        {
            pending.TrySetException(new InvalidOperationException(reason));
        }
    }

    public async Task OnLineAsync(string line)
    {
        JsonElement message;
        try
        {
            message = JsonElement.Parse(line);
        }
        catch (JsonException)
        {
            return;
        }

        if (message.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var hasId = message.TryGetProperty("id", out var id);
        var method = message.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        var parameters = message.TryGetProperty("params", out var p) ? p : default;
        if (method is null)
        {
            if (hasId && id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var number) && _pending.TryGetValue(number, out var answer))
            {
                if (message.TryGetProperty("error", out var error))
                {
                    answer.TrySetException(new JsonRpcException(error.TryGetProperty("message", out var text) ? text.GetString() ?? "error" : error.GetRawText()));
                }
                else
                {
                    answer.TrySetResult(message.TryGetProperty("result", out var result) ? result : default);
                }
            }

            return;
        }

        if (hasId)
        {
            onRequest(id, method, parameters);
        }
        else
        {
            await onNotification(method, parameters).ConfigureAwait(false);
        }
    }

    private Task Write(JsonObject message, CancellationToken cancellationToken) =>
        (Process ?? throw new InvalidOperationException("The agent process has not started.")).WriteLineAsync(message.ToJsonString(), cancellationToken);
}

/// <summary>The agent answered one of our requests with a JSON-RPC error.</summary>
internal sealed class JsonRpcException(string message) : Exception(message);
