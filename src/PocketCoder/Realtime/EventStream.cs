using System.Text;
using PocketCoder.Server;

namespace PocketCoder.Realtime;

/// <summary>
/// Writes an SSE stream that resumes exactly: first everything after the client's cursor from the
/// database, then live events, skipping any already sent. A subscriber that overflows its buffer
/// goes back to the database for what it missed, so it never sees a gap and the server never buffers without bound.
/// </summary>
public sealed class EventStream(EventHub hub, PocketCoderOptions options, IHostApplicationLifetime lifetime)
{
    /// <summary>Rows read from the database per catch-up query.</summary>
    private const int CatchUpBatch = 500;

    public delegate IReadOnlyList<StoredEvent> ReadAfter(long cursor, int limit);

    /// <param name="sessionId">The session to follow, or null for every session.</param>
    /// <param name="cursorOf">Which number is the SSE id: the per-session seq, or the global id.</param>
    /// <param name="onSent">
    /// Called as each event is handed to the client's stream (delivery tracking), just before it is written: recorded
    /// after the write, a client could read the event and ask about it before the record existed. A write that then
    /// fails leaves the event delivered to a stream that is gone; the device's reconnect resends it from its last id.
    /// </param>
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
        var sse = await Sse.StartAsync(context, cancellationToken);
        var cursor = after;
        while (!cancellationToken.IsCancellationRequested)
        {
            using var subscription = hub.Subscribe(sessionId, options.SubscriberBuffer);

            // Catch up from the database. Subscribing first means nothing committed meanwhile is missed.
            IReadOnlyList<StoredEvent> batch;
            do
            {
                batch = read(cursor, CatchUpBatch);
                foreach (var stored in batch)
                {
                    onSent?.Invoke(stored);
                    await sse.WriteFrameAsync(stored.FrameWithId(cursorOf(stored)), cancellationToken);
                    cursor = cursorOf(stored);
                }

                await sse.FlushAsync(cancellationToken);
            }
            while (batch.Count == CatchUpBatch);

            cursor = await LiveAsync(sse, subscription, cursor, cursorOf, onSent, cancellationToken);

            // Only an overflow ends the live loop without cancellation: go round and catch up from the database.
        }
    }

    /// <summary>Sends live events until the subscription ends (it overflowed) or the stream does; returns the new cursor.</summary>
    private async Task<long> LiveAsync(Sse sse, EventHub.Subscription subscription, long cursor, Func<StoredEvent, long> cursorOf,
        Action<StoredEvent>? onSent, CancellationToken cancellationToken)
    {
        // The wait takes no token (see Subscription.Wake): the stream's end and its heartbeat wake it instead. A busy stream so
        // gets a heartbeat each interval too, one comment line.
        var heartbeatDue = 0;
        using var heartbeat = new Timer(_ =>
        {
            Volatile.Write(ref heartbeatDue, 1);
            subscription.Wake();
        }, null, options.HeartbeatInterval, options.HeartbeatInterval);
        using var ending = cancellationToken.Register(subscription.Wake);
        while (await subscription.Reader.WaitToReadAsync(CancellationToken.None))
        {
            cancellationToken.ThrowIfCancellationRequested();
            while (subscription.Reader.TryRead(out var item))
            {
                if (item.Ephemeral is { } ephemeral)
                {
                    // No id: the client keeps its last one, so resuming stored events is unaffected.
                    await sse.WriteEventAsync(ephemeral.Kind, ephemeral.Data, id: null, cancellationToken);
                    continue;
                }

                if (item.Stored is not { } stored)
                {
                    // A wake-up: nothing to send.
                    continue;
                }

                var id = cursorOf(stored);
                if (id <= cursor)
                {
                    continue;
                }

                onSent?.Invoke(stored);
                await sse.WriteFrameAsync(stored.FrameWithId(id), cancellationToken);
                cursor = id;
            }

            if (Interlocked.Exchange(ref heartbeatDue, 0) == 1)
            {
                await sse.HeartbeatAsync(cancellationToken);
            }
            else
            {
                await sse.FlushAsync(cancellationToken);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        return cursor;
    }

    /// <summary>One event's frame, encoded once and cached on the event (see <c>StoredEvent.FrameWithId</c>).</summary>
    internal static byte[] Frame(long id, StoredEvent stored) => Encoding.UTF8.GetBytes(Sse.Frame(stored.Kind, stored.Data, id));
}
