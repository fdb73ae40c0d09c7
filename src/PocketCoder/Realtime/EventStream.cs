using System.Text;
using Microsoft.Extensions.Options;

namespace PocketCoder.Realtime;

public sealed class EventStreamOptions
{
    /// <summary>A comment line at least this often keeps proxies and phones from closing an idle stream.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Events buffered per live subscriber before it is switched to catching up from the database.</summary>
    public int SubscriberBuffer { get; set; } = 1024;

    /// <summary>Rows read from the database per catch-up query.</summary>
    public int CatchUpBatch { get; set; } = 500;
}

/// <summary>
/// Writes an SSE stream that resumes exactly: first everything after the client's cursor from the
/// database, then live events, skipping any already sent. A subscriber that overflows its buffer
/// goes back to the database for what it missed, so it never sees a gap and the server never buffers without bound.
/// </summary>
public sealed class EventStream(EventHub hub, IOptions<EventStreamOptions> options, IHostApplicationLifetime lifetime)
{
    public delegate IReadOnlyList<StoredEvent> ReadAfter(long cursor, int limit);

    /// <param name="sessionId">The session to follow, or null for every session.</param>
    /// <param name="cursorOf">Which number is the SSE id: the per-session seq, or the global id.</param>
    /// <param name="onSent">Called after each event reaches the client's socket buffer (delivery tracking).</param>
    public async Task RunAsync(HttpContext context, string? sessionId, long after, ReadAfter read, Func<StoredEvent, long> cursorOf,
        Action<StoredEvent>? onSent, CancellationToken requestAborted)
    {
        // A stream ends when the client leaves or the server stops; otherwise shutdown would wait on open phones.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, lifetime.ApplicationStopping);
        try
        {
            await StreamAsync(context, sessionId, after, read, cursorOf, onSent, ending.Token);
        }
        catch (OperationCanceledException) when (ending.IsCancellationRequested)
        {
            // Normal end of a stream.
        }
        catch (IOException) when (ending.IsCancellationRequested || requestAborted.IsCancellationRequested)
        {
        }
    }

    private async Task StreamAsync(HttpContext context, string? sessionId, long after, ReadAfter read, Func<StoredEvent, long> cursorOf,
        Action<StoredEvent>? onSent, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-transform";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();

        // Say how soon to reconnect, and get the headers out now so the client knows it is connected.
        await WriteRawAsync(response, "retry: 2000\n: connected\n\n", cancellationToken);
        var cursor = after;
        while (!cancellationToken.IsCancellationRequested)
        {
            using var subscription = hub.Subscribe(sessionId, settings.SubscriberBuffer);

            // Catch up from the database. Subscribing first means nothing committed meanwhile is missed.
            IReadOnlyList<StoredEvent> batch;
            do
            {
                batch = read(cursor, settings.CatchUpBatch);
                foreach (var stored in batch)
                {
                    await WriteEventAsync(response, cursorOf(stored), stored, cancellationToken);
                    cursor = cursorOf(stored);
                    onSent?.Invoke(stored);
                }

                await response.Body.FlushAsync(cancellationToken);
            }
            while (batch.Count == settings.CatchUpBatch);

            // Live.
            while (true)
            {
                using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                heartbeat.CancelAfter(settings.HeartbeatInterval);
                bool more;
                try
                {
                    more = await subscription.Reader.WaitToReadAsync(heartbeat.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await WriteRawAsync(response, ": heartbeat\n\n", cancellationToken);
                    continue;
                }

                if (!more)
                {
                    break;
                }

                while (subscription.Reader.TryRead(out var item))
                {
                    if (item.Ephemeral is { } ephemeral)
                    {
                        await WriteEphemeralAsync(response, ephemeral, cancellationToken);
                        continue;
                    }

                    var stored = item.Stored!;
                    var id = cursorOf(stored);
                    if (id <= cursor)
                    {
                        continue;
                    }

                    await WriteEventAsync(response, id, stored, cancellationToken);
                    cursor = id;
                    onSent?.Invoke(stored);
                }

                await response.Body.FlushAsync(cancellationToken);
            }

            // Only an overflow ends the live loop without cancellation: go round and catch up from the database.
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, long id, StoredEvent stored, CancellationToken cancellationToken)
    {
        // Stored data is compact JSON (no raw newlines), so one data line always holds it.
        var frame = new StringBuilder(stored.Data.Length + 64)
            .Append("id: ").Append(id).Append('\n')
            .Append("event: ").Append(stored.Kind).Append('\n')
            .Append("data: ").Append(stored.Data).Append("\n\n")
            .ToString();
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(frame), cancellationToken);
    }

    /// <summary>No <c>id:</c> line: EventSource keeps its last id, so resuming stored events is unaffected.</summary>
    private static async Task WriteEphemeralAsync(HttpResponse response, EphemeralEvent ephemeral, CancellationToken cancellationToken)
    {
        var frame = $"event: {ephemeral.Kind}\ndata: {ephemeral.Data}\n\n";
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(frame), cancellationToken);
    }

    private static async Task WriteRawAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
