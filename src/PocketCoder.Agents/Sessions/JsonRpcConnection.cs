using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

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

            await writeLine(JsonSerializer.Serialize(new JsonRpcRequest(Version, id, method, parameters ?? []), JsonRpcJson.Default.JsonRpcRequest), cancellationToken)
                .ConfigureAwait(false);
            return await pending.Answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public Task NotifyAsync(string method, JsonObject? parameters, CancellationToken cancellationToken) =>
        writeLine(JsonSerializer.Serialize(new JsonRpcNotification(Version, method, parameters), JsonRpcJson.Default.JsonRpcNotification), cancellationToken);

    /// <summary>Answers a request of the peer. A peer that is gone meanwhile is waiting for nobody: not an error.</summary>
    public async Task RespondAsync(JsonElement id, JsonRpcReply reply)
    {
        try
        {
            var answer = reply.Error is { } error
                ? JsonSerializer.Serialize(new JsonRpcFailure(Version, id, error), JsonRpcJson.Default.JsonRpcFailure)
                : JsonSerializer.Serialize(new JsonRpcSuccess(Version, id, reply.Result), JsonRpcJson.Default.JsonRpcSuccess);
            await writeLine(answer, CancellationToken.None).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // The peer exited meanwhile.
        }
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
        if (JsonRpcJson.Default.Read<JsonRpcIncoming>(line) is not { } message)
        {
            return;
        }

        var id = message.Id;
        var hasId = id.ValueKind is JsonValueKind.Number or JsonValueKind.String;
        if (message.Method is { } method)
        {
            await (!hasId ? OnNotification(method, message.Params) : OnRequest?.Invoke(id, method, message.Params) ?? RefuseAsync(id, method)).ConfigureAwait(false);
            return;
        }

        // An answer to one of ours: our ids are numbers.
        if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt64(out var number) || !_pending.TryGetValue(number, out var pending))
        {
            return;
        }

        var failure = message.Error.ValueKind == JsonValueKind.Object ? JsonRpcException.From(pending.Method, message.Error) : null;
        if (pending.OnAnswer is { } onAnswer)
        {
            await onAnswer(failure is null ? message.Result : null, failure).ConfigureAwait(false);
        }

        if (failure is not null)
        {
            pending.Answer.TrySetException(failure);
        }
        else
        {
            pending.Answer.TrySetResult(message.Result);
        }
    }

    /// <summary>The <c>jsonrpc</c> member, where the peer wants it.</summary>
    private string? Version => stampVersion ? "2.0" : null;

    private sealed record PendingRequest(string Method, Func<JsonElement?, JsonRpcException?, Task>? OnAnswer)
    {
        public TaskCompletionSource<JsonElement> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

// The messages on the line: what is read (a request, a notification or an answer, by which members it has), and what is written.
internal sealed record JsonRpcIncoming(JsonElement Id, string? Method, JsonElement Params, JsonElement Result, JsonElement Error);
internal sealed record JsonRpcRequest(string? Jsonrpc, long Id, string Method, JsonObject Params);
internal sealed record JsonRpcNotification(string? Jsonrpc, string Method, JsonObject? Params);
internal sealed record JsonRpcSuccess(string? Jsonrpc, JsonElement Id, [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonNode? Result);
internal sealed record JsonRpcFailure(string? Jsonrpc, JsonElement Id, JsonRpcError Error);

/// <summary>An error as the peer sends it; its <c>data</c> may carry <c>details</c> (ACP's agents do).</summary>
internal sealed record JsonRpcErrorBody(int? Code, string? Message, JsonElement Data);
internal sealed record JsonRpcErrorData(string? Details);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JsonRpcIncoming)), JsonSerializable(typeof(JsonRpcRequest)), JsonSerializable(typeof(JsonRpcNotification))]
[JsonSerializable(typeof(JsonRpcSuccess)), JsonSerializable(typeof(JsonRpcFailure)), JsonSerializable(typeof(JsonRpcErrorBody))]
[JsonSerializable(typeof(JsonRpcErrorData))]
internal sealed partial class JsonRpcJson : JsonSerializerContext;

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
        var body = JsonRpcJson.Default.Read<JsonRpcErrorBody>(error);
        var message = body?.Message ?? "error";
        if (body?.Data is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } data)
        {
            message = $"{message} ({(JsonRpcJson.Default.Read<JsonRpcErrorData>(data)?.Details is { } details ? details : data.GetRawText())})";
        }

        return new JsonRpcException(method, body?.Code ?? JsonRpcErrors.InternalError, message);
    }
}

/// <summary>JSON-RPC 2.0's error codes.</summary>
internal static class JsonRpcErrors
{
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;
    public const int InternalError = -32603;
}
