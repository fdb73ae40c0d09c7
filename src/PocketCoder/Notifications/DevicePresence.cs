using System.Collections.Concurrent;

namespace PocketCoder.Notifications;

/// <summary>
/// Which devices are looking at the app right now: an event stream open and the page visible. A phone in a pocket may
/// keep its stream for minutes after the screen goes off, so visibility is the app's own report (refreshed while visible,
/// trusted for <see cref="VisibleFor"/>), and an open stream alone does not count.
/// </summary>
public sealed class DevicePresence(TimeProvider clock)
{
    /// <summary>The app repeats "visible" every minute while it is; a report older than this has lapsed.</summary>
    public static readonly TimeSpan VisibleFor = TimeSpan.FromSeconds(150);

    private readonly ConcurrentDictionary<string, State> _devices = new(StringComparer.Ordinal);

    /// <summary>Counts an open event stream of the device until the returned handle is disposed.</summary>
    public IDisposable StreamOpened(string deviceId)
    {
        var state = _devices.GetOrAdd(deviceId, _ => new State());
        Interlocked.Increment(ref state.Streams);
        return new Closer(state);
    }

    public void Report(string deviceId, bool visible)
    {
        var state = _devices.GetOrAdd(deviceId, _ => new State());
        Volatile.Write(ref state.VisibleUntilTicks, visible ? (clock.GetUtcNow() + VisibleFor).UtcTicks : 0);
    }

    public bool IsLooking(string deviceId) =>
        _devices.TryGetValue(deviceId, out var state) && Volatile.Read(ref state.Streams) > 0 && Volatile.Read(ref state.VisibleUntilTicks) > clock.GetUtcNow().UtcTicks;

    private sealed class State
    {
        public int Streams;
        public long VisibleUntilTicks;
    }

    private sealed class Closer(State state) : IDisposable
    {
        private int _closed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                Interlocked.Decrement(ref state.Streams);
            }
        }
    }
}
