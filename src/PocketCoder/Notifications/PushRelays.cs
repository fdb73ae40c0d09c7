using System.Security.Cryptography;
using System.Text;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Errors;

namespace PocketCoder.Notifications;

/// <summary>A push relay as its device lists it: for which machine, since when, how much it carried. Never its secret.</summary>
public sealed record PushRelay(string Id, string DeviceId, string Label, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, long Uses);

/// <summary>Where a relay leads: its live device's Web Push subscription, when it is still the one the relay was made for.</summary>
public sealed record RelayTarget(PushRelay Relay, string SecretHash, NotificationChannel? Channel);

/// <summary>
/// Push relays (docs/reach.md, "Notifications."): a device's Web Push subscription on this machine, made reachable to
/// another machine that holds the relay's secret. The other machine encrypts to the subscription's keys as it would for
/// any subscription and posts the ciphertext here; this machine signs it with its VAPID key (the one the subscription is
/// bound to) and passes it on, unread: it has no key that opens it. Secrets are kept hashed; a relay is bound to the
/// subscription it was made for and goes with it, with its device, or when its device revokes it.
/// </summary>
public sealed class PushRelays(Database database, NotificationStore channels, TimeProvider clock)
{
    /// <summary>What a relayed push is recorded as among the device's deliveries (it has no kind this machine could read).</summary>
    public const string DeliveryEvent = "push.relayed";

    /// <summary>Machines one device may be told from through this one: more is a mistake (or a loop), not an inbox.</summary>
    public const int MostPerDevice = 20;

    /// <summary>Pushes one relay may carry per minute: an inbox's pace, far below what would make the push service throttle this machine.</summary>
    public const int PerMinute = 60;

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<DateTimeOffset>> _recent = new(StringComparer.Ordinal);

    /// <summary>A new relay to the device's subscription <paramref name="endpoint"/>, with its secret (returned this once only).</summary>
    public (PushRelay Relay, string Secret) Create(string deviceId, string endpoint, string label)
    {
        var secret = "pcr_" + Base64Url(RandomNumberGenerator.GetBytes(32));
        var relay = new PushRelay(Base64Url(RandomNumberGenerator.GetBytes(16)), deviceId, label, clock.GetUtcNow(), null, 0);
        database.Write(write =>
        {
            if (write.Scalar<long>("SELECT count(*) FROM push_relays WHERE device_id = $device", ("$device", deviceId)) >= MostPerDevice)
            {
                throw ApiProblem.Conflict(ErrorCodes.TooManyPushRelays,
                    $"This device already has {MostPerDevice} push relays: revoke one it no longer needs first.");
            }

            write.Execute(
                "INSERT INTO push_relays (id, device_id, endpoint, secret_hash, label, created_at) VALUES ($id, $device, $endpoint, $hash, $label, $now)",
                ("$id", relay.Id), ("$device", deviceId), ("$endpoint", endpoint), ("$hash", Secrets.Hash(secret)), ("$label", label),
                ("$now", relay.CreatedAt.ToDb()));
        });
        return (relay, secret);
    }

    public IReadOnlyList<PushRelay> List(string deviceId) => database.Read(connection => connection.Query(
        "SELECT id, device_id, label, created_at, last_used_at, uses FROM push_relays WHERE device_id = $device ORDER BY created_at, id",
        r => new PushRelay(r.GetString(0), r.GetString(1), r.GetString(2), r.Time(3), r.NullableTime(4), r.GetInt64(5)), ("$device", deviceId)));

    /// <summary>Revokes one of the device's relays; false when it has none by that id.</summary>
    public bool Revoke(string deviceId, string id) => database.Write(write =>
        write.Execute("DELETE FROM push_relays WHERE id = $id AND device_id = $device", ("$id", id), ("$device", deviceId)) > 0);

    /// <summary>The relay and its subscription; null for no relay, or one whose device was revoked.</summary>
    public RelayTarget? Find(string id) => database.Read(connection => connection.Query(
        """
        SELECT r.id, r.device_id, r.label, r.created_at, r.last_used_at, r.uses, r.secret_hash, r.endpoint
        FROM push_relays r JOIN devices d ON d.id = r.device_id WHERE r.id = $id AND d.revoked_at IS NULL
        """,
        r => (Relay: new PushRelay(r.GetString(0), r.GetString(1), r.GetString(2), r.Time(3), r.NullableTime(4), r.GetInt64(5)), Hash: r.GetString(6),
            Endpoint: r.GetString(7)),
        ("$id", id)).FirstOrDefault()) is { Relay: not null } found
        ? new RelayTarget(found.Relay, found.Hash,
            channels.Channels(found.Relay.DeviceId).FirstOrDefault(c => c.Kind == ChannelKinds.WebPush && c.Endpoint == found.Endpoint))
        : null;

    /// <summary>Whether <paramref name="secret"/> is the relay's (compared in constant time, as hashes).</summary>
    public static bool Opens(RelayTarget target, string? secret) => secret is { Length: > 0 }
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Secrets.Hash(secret)), Encoding.ASCII.GetBytes(target.SecretHash));

    /// <summary>Counts one push against the relay's minute; how long to wait when the minute is full.</summary>
    public TimeSpan? Throttle(string id)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            if (!_recent.TryGetValue(id, out var sent))
            {
                if (_recent.Count > 10_000)
                {
                    _recent.Clear(); // Forget quiet relays so the table cannot grow without bound.
                }

                _recent[id] = sent = new Queue<DateTimeOffset>();
            }

            while (sent.Count > 0 && now - sent.Peek() >= Window)
            {
                sent.Dequeue();
            }

            if (sent.Count >= PerMinute)
            {
                return sent.Peek() + Window - now;
            }

            sent.Enqueue(now);
            return null;
        }
    }

    public void Used(string id) => database.Write(write => write.Execute(
        "UPDATE push_relays SET last_used_at = $now, uses = uses + 1 WHERE id = $id", ("$now", clock.GetUtcNow().ToDb()), ("$id", id)));

    /// <summary>A relay whose subscription is gone is removed, so its other machine is told (410) and forgets it.</summary>
    public void Remove(string id) => database.Write(write => write.Execute("DELETE FROM push_relays WHERE id = $id", ("$id", id)));

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
