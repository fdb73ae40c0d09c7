namespace PocketCoder.Auth;

/// <summary>
/// Slows down guessing of pairing codes: a few failures per client address per minute, and a cap
/// across all addresses so that many addresses cannot share out a brute force.
/// </summary>
public sealed class PairingThrottle(TimeProvider clock)
{
    public const int FailuresPerClient = 5;
    public const int FailuresOverall = 30;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<DateTimeOffset>> _byClient = new(StringComparer.Ordinal);
    private readonly Queue<DateTimeOffset> _overall = new();

    /// <summary>How long the client must wait before trying again, or null when it may try now.</summary>
    public TimeSpan? RetryAfter(string client)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            Trim(_overall, now);
            if (_overall.Count >= FailuresOverall)
            {
                return _overall.Peek() + Window - now;
            }

            if (_byClient.TryGetValue(client, out var failures))
            {
                Trim(failures, now);
                if (failures.Count >= FailuresPerClient)
                {
                    return failures.Peek() + Window - now;
                }
            }

            return null;
        }
    }

    public void RecordFailure(string client)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            if (!_byClient.TryGetValue(client, out var failures))
            {
                // Forget quiet clients so the table cannot grow without bound.
                if (_byClient.Count > 10_000)
                {
                    _byClient.Clear();
                }

                _byClient[client] = failures = new Queue<DateTimeOffset>();
            }

            failures.Enqueue(now);
            _overall.Enqueue(now);
        }
    }

    private static void Trim(Queue<DateTimeOffset> failures, DateTimeOffset now)
    {
        while (failures.Count > 0 && now - failures.Peek() >= Window)
        {
            failures.Dequeue();
        }
    }
}
