using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PocketCoder.Agents.Sessions;

/// <summary>
/// JSON-RPC over one line-oriented pipe (an agent's stdin/stdout), the one implementation every JSON-RPC agent shares
/// (Codex app-server, ACP agents): our requests and the answers to them, notifications both ways, and the agent's own
/// requests, answered with their id. Lines are handled in the order they arrive; handlers that wait on a human must
/// hand off (see <see cref="PermissionBroker"/>) so the pipe keeps flowing.
/// </summary>
/// <param name="writeLine">Writes one line to the peer; throws <see cref="InvalidOperationException"/> when the peer is gone.</param>
/// <param name="stampVersion">Adds <c>"jsonrpc":"2.0"</c> to every message (ACP requires it; Codex omits it).</param>
internal sealed class JsonRpcConnection(Func<string, CancellationToken, Task> writeLine, bool stampVersion)
{
    private readonly ConcurrentDictionary<long, PendingRequest> _pending = new();
    private long _nextId;
    private volatile string? _closedReason;

    /// <summary>A notification from the peer: method and params (default when absent).</summary>
    public Func<string, JsonElement, Task> OnNotification { get; init; } = (_, _) => Task.CompletedTask;

    /// <summary>A request from the peer: id, method, params. Without one, every request is refused (<see cref="RefuseAsync"/>).</summary>
    public Func<JsonElement, string, JsonElement, Task>? OnRequest { get; init; }

    /// <summary>
    /// Sends a request and waits for its answer. <paramref name="onAnswer"/>, when given, runs on the reader as the
    /// answer arrives, before the caller resumes: so whatever it reports stays in order with the notifications around it.
    /// </summary>
    /// <exception cref="JsonRpcException">The peer answered with an error.</exception>
    /// <exception cref="InvalidOperationException">The peer is gone (before or while waiting).</exception>
    public async Task<JsonElement> RequestAsync(string method, JsonObject? parameters, CancellationToken cancellationToken,
        Func<JsonElement?, JsonRpcException?, Task>? onAnswer = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var pending = new PendingRequest(method, onAnswer);
        _pending[id] = pending;
        try
        {
            if (_closedReason is { } reason)
            {
                throw new InvalidOperationException(reason);
            }

            var message = Envelope();
            message["id"] = id;
            message["method"] = method;
            message["params"] = parameters ?? new JsonObject();
            await writeLine(message.ToJsonString(), cancellationToken).ConfigureAwait(false);
            return await pending.Answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public Task NotifyAsync(string method, JsonObject? parameters, CancellationToken cancellationToken)
    {
        var message = Envelope();
        message["method"] = method;
        if (parameters is not null)
        {
            message["params"] = parameters;
        }

        return writeLine(message.ToJsonString(), cancellationToken);
    }

    /// <summary>Answers a request of the peer. A peer that is gone meanwhile is waiting for nobody: not an error.</summary>
    public Task RespondAsync(JsonElement id, JsonRpcReply reply)
    {
        var message = Envelope();
        message["id"] = JsonNode.Parse(id.GetRawText());
        if (reply.Error is { } error)
        {
            var body = new JsonObject { ["code"] = error.Code, ["message"] = error.Message };
            if (error.Data is not null)
            {
                body["data"] = error.Data.DeepClone();
            }

            message["error"] = body;
        }
        else
        {
            message["result"] = reply.Result?.DeepClone();
        }

        return WriteAnswerAsync(message);
    }

    /// <summary>Answers a request PocketCoder does not handle as such (<see cref="JsonRpcErrors.MethodNotFound"/>), rather than leave the peer waiting.</summary>
    public Task RefuseAsync(JsonElement id, string method) =>
        RespondAsync(id, JsonRpcReply.Failure(JsonRpcErrors.MethodNotFound, $"PocketCoder does not handle '{method}'."));

    /// <summary>The peer is gone: every request still waiting fails now, and later ones fail at once.</summary>
    public void Close(string reason)
    {
        _closedReason = reason;
        foreach (var pending in _pending.Values)
        {
            pending.Answer.TrySetException(new InvalidOperationException(reason));
        }
    }

    /// <summary>Handles one line from the peer. Lines that are not JSON-RPC (a stray print) are ignored.</summary>
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

        var hasId = message.TryGetProperty("id", out var id) && id.ValueKind is JsonValueKind.Number or JsonValueKind.String;
        var parameters = message.TryGetProperty("params", out var p) ? p : default;
        if (message.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String && m.GetString() is { } method)
        {
            await (!hasId ? OnNotification(method, parameters) : OnRequest?.Invoke(id, method, parameters) ?? RefuseAsync(id, method)).ConfigureAwait(false);
            return;
        }

        // An answer to one of ours: our ids are numbers.
        if (!hasId || id.ValueKind != JsonValueKind.Number || !id.TryGetInt64(out var number) || !_pending.TryGetValue(number, out var pending))
        {
            return;
        }

        JsonRpcException? failure = null;
        JsonElement? result = null;
        if (message.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            failure = JsonRpcException.From(pending.Method, error);
        }
        else
        {
            result = message.TryGetProperty("result", out var r) ? r.Clone() : default(JsonElement);
        }

        if (pending.OnAnswer is { } onAnswer)
        {
            await onAnswer(result, failure).ConfigureAwait(false);
        }

        if (failure is not null)
        {
            pending.Answer.TrySetException(failure);
        }
        else
        {
            pending.Answer.TrySetResult(result!.Value);
        }
    }

    private JsonObject Envelope() => stampVersion ? new JsonObject { ["jsonrpc"] = "2.0" } : new JsonObject();

    private async Task WriteAnswerAsync(JsonObject message)
    {
        try
        {
            await writeLine(message.ToJsonString(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // The peer exited meanwhile.
        }
    }

    private sealed record PendingRequest(string Method, Func<JsonElement?, JsonRpcException?, Task>? OnAnswer)
    {
        public TaskCompletionSource<JsonElement> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>What we answer to one request of the peer: a result (possibly null) or an error.</summary>
internal sealed record JsonRpcReply(JsonNode? Result, JsonRpcError? Error)
{
    public static JsonRpcReply Success(JsonNode? result) => new(result, null);

    public static JsonRpcReply Failure(int code, string message, JsonNode? data = null) => new(null, new JsonRpcError(code, message, data));
}

internal sealed record JsonRpcError(int Code, string Message, JsonNode? Data);

/// <summary>The peer answered one of our requests with an error. <see cref="Exception.Message"/> reads "method: message (details)".</summary>
internal sealed class JsonRpcException(string method, int code, string detail) : Exception($"{method}: {detail}")
{
    public int Code { get; } = code;

    /// <summary>The peer's own message, with its details when it gave any.</summary>
    public string Detail { get; } = detail;

    internal static JsonRpcException From(string method, JsonElement error)
    {
        var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var n) ? n : JsonRpcErrors.InternalError;
        var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "error" : "error";
        if (error.TryGetProperty("data", out var data) && data.ValueKind != JsonValueKind.Null)
        {
            var details = data.ValueKind == JsonValueKind.Object && data.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.String
                ? d.GetString()
                : data.GetRawText();
            message = $"{message} ({details})";
        }

        return new JsonRpcException(method, code, message);
    }
}

/// <summary>JSON-RPC 2.0's error codes.</summary>
internal static class JsonRpcErrors
{
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;
    public const int InternalError = -32603;
}
