using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace PocketCoder.Tests.Infrastructure;

public sealed record SseEvent(long Id, string Event, string Data)
{
    public JsonElement Json => JsonElement.Parse(Data);

    public string? Str(string property) => Json.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>Reads a text/event-stream the way a browser's EventSource does, for tests.</summary>
public sealed class SseClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(90);

    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<SseEvent> _incoming = Channel.CreateUnbounded<SseEvent>();
    private readonly List<SseEvent> _received = [];
    private readonly Task _reader;

    private SseClient(HttpResponseMessage response)
    {
        Response = response;
        _reader = Task.Run(() => ReadAsync(response));
    }

    public HttpResponseMessage Response { get; }

    /// <summary>Every event taken so far by <see cref="NextAsync"/> or <see cref="WaitForAsync"/>, in order.</summary>
    public IReadOnlyList<SseEvent> Received => _received;

    private int _comments;
    private int _disposed;
    private TaskCompletionSource _commentArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Comments => Volatile.Read(ref _comments);

    /// <summary>Waits until at least <paramref name="count"/> comment lines (heartbeats) have arrived.</summary>
    public async Task WaitForCommentsAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultWait);
        while (Comments < count)
        {
            var arrived = Volatile.Read(ref _commentArrived).Task;
            if (Comments >= count)
            {
                break;
            }

            await arrived.WaitAsync(cts.Token);
        }
    }

    public static async Task<SseClient> ConnectAsync(HttpClient http, string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new SseClient(response);
    }

    public async Task<SseEvent> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultWait);
        var next = await _incoming.Reader.ReadAsync(cts.Token);
        _received.Add(next);
        return next;
    }

    /// <summary>Reads until an event matches; the ones before it stay in <see cref="Received"/>.</summary>
    public async Task<SseEvent> WaitForAsync(Func<SseEvent, bool> predicate, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultWait);
        try
        {
            while (true)
            {
                var next = await _incoming.Reader.ReadAsync(cts.Token);
                _received.Add(next);
                if (predicate(next))
                {
                    return next;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException(
                $"No matching event within {(timeout ?? DefaultWait).TotalSeconds}s. Received: {string.Join(", ", _received.Select(Describe))}");
        }
    }

    // An error's own words say why the awaited event never came; the rest are named only.
    private static string Describe(SseEvent e) => e.Event == "session.error"
        ? $"{e.Id}:session.error \"{e.Str("message")}\"{(e.Str("stderrTail") is { Length: > 0 } tail ? $" (stderr: {tail})" : "")}"
        : $"{e.Id}:{e.Event}";

    public Task<SseEvent> WaitForAsync(string kind, TimeSpan? timeout = null) => WaitForAsync(e => e.Event == kind, timeout);

    /// <summary>Completes when the server ends the stream (closed or dropped); fails if it is still open after the timeout.</summary>
    public async Task WaitForEndAsync(TimeSpan? timeout = null)
    {
        try
        {
            await _reader.WaitAsync(timeout ?? DefaultWait);
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException)
        {
            // Dropped rather than closed: ended all the same.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        Response.Dispose();
        try
        {
            await _reader;
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException
            or ArgumentException)
        {
            // Disposed before or while reading (ArgumentException: the response stream was already closed).
        }

        _stop.Dispose();
    }

    private async Task ReadAsync(HttpResponseMessage response)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(_stop.Token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? id = null;
        string? kind = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(_stop.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    await _incoming.Writer.WriteAsync(new SseEvent(long.Parse(id ?? "0", System.Globalization.CultureInfo.InvariantCulture), kind ?? "message", data.ToString()));
                }

                id = null;
                kind = null;
                data.Clear();
            }
            else if (line.StartsWith(':'))
            {
                Interlocked.Increment(ref _comments);
                Interlocked.Exchange(ref _commentArrived, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                kind = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line[6..]);
            }
        }

        _incoming.Writer.TryComplete();
    }
}
