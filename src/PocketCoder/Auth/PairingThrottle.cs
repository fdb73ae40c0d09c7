namespace PocketCoder.Auth;

/// <summary>
/// Slows down guessing of pairing codes: a few failures per client address per minute. Under a wide attack (many
/// failures overall) every address that has already failed gets no further try this minute — but an address that has
/// not failed is always heard, so nobody can lock the owner out of pairing by spraying wrong codes. The sums: a code
/// lives 10 minutes in ~8.5e11; even 10,000 addresses at 5 guesses a minute find it with odds of about 6e-7.
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
            if (!_byClient.TryGetValue(client, out var failures))
            {
                return null;
            }

            Trim(failures, now);
            var limit = _overall.Count >= FailuresOverall ? 1 : FailuresPerClient;
            return failures.Count >= limit ? failures.Peek() + Window - now : null;
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
