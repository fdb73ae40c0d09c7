using System.Threading.Channels;

namespace PocketCoder.Realtime;

/// <summary>
/// A notice for the dashboard stream that is not part of any session's log (for example <c>file.changed</c>):
/// never stored, sent without an SSE id so a client's resume cursor is untouched. <paramref name="Data"/> is compact JSON.
/// </summary>
public sealed record EphemeralEvent(string Kind, string Data);

/// <summary>
/// What a subscriber's buffer holds: a stored event, an ephemeral one, or neither: a wake-up its own reader asked for
/// (<see cref="EventHub.Subscription.Wake"/>), which carries nothing.
/// </summary>
public readonly record struct HubItem(StoredEvent? Stored, EphemeralEvent? Ephemeral);

/// <summary>
/// Fans committed events out to live subscribers. Each subscriber gets a bounded buffer; one that
/// falls behind is marked overflowed and cut loose instead of growing server memory, and catches
/// up from the database (see <see cref="EventStream"/>).
/// </summary>
public sealed class EventHub
{
    private readonly Lock _lock = new();
    private Subscription[] _subscriptions = [];

    /// <param name="sessionId">Only this session's events, or every session's when null.</param>
    public Subscription Subscribe(string? sessionId, int capacity)
    {
        var subscription = new Subscription(this, sessionId, capacity);
        lock (_lock)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        return subscription;
    }

    public int SubscriberCount => Volatile.Read(ref _subscriptions).Length;

    public void Publish(StoredEvent stored)
    {
        foreach (var subscription in Volatile.Read(ref _subscriptions))
        {
            if (subscription.SessionId is null || subscription.SessionId == stored.SessionId)
            {
                subscription.Offer(new HubItem(stored, null));
            }
        }
    }

    /// <summary>Tells the global (all-sessions) subscribers something that is not stored. Lost if a buffer is full.</summary>
    public void PublishEphemeral(EphemeralEvent ephemeral)
    {
        foreach (var subscription in Volatile.Read(ref _subscriptions))
        {
            if (subscription.SessionId is null)
            {
                subscription.Offer(new HubItem(null, ephemeral));
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_lock)
        {
            _subscriptions = [.. _subscriptions.Where(s => s != subscription)];
        }
    }

    /// <summary>One subscriber's buffer; made by <see cref="Subscribe"/>, which lists it until it is disposed.</summary>
    public sealed class Subscription(EventHub hub, string? sessionId, int capacity) : IDisposable
    {
        private readonly Channel<HubItem> _channel = Channel.CreateBounded<HubItem>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });

        public string? SessionId { get; } = sessionId;

        public ChannelReader<HubItem> Reader => _channel.Reader;

        /// <summary>True once this subscriber missed an event because its buffer was full.</summary>
        public bool Overflowed { get; private set; }

        internal void Offer(HubItem item)
        {
            if (!_channel.Writer.TryWrite(item) && !Overflowed)
            {
                Overflowed = true;
                _channel.Writer.TryComplete();
            }
        }

        /// <summary>
        /// Wakes the reader's <c>WaitToReadAsync</c> with an empty item (neither stored nor ephemeral). A stream waits without a
        /// cancellation token so the channel can reuse one waiter: a cancelable wait allocates one per wake, a fifth of what
        /// 100 subscribers at 1,000 events/s allocated (docs/performance.md, fan-out); its heartbeat and its end wake it here
        /// instead. A full buffer already has the reader awake, so a wake that finds no room is dropped, never an overflow.
        /// </summary>
        public void Wake() => _channel.Writer.TryWrite(default);

        public void Dispose()
        {
            hub.Remove(this);
            _channel.Writer.TryComplete();
        }
    }
}
