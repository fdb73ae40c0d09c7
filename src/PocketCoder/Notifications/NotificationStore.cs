using System.Text.Json;
using Microsoft.Data.Sqlite;
using PocketCoder.Data;

namespace PocketCoder.Notifications;

public static class ChannelKinds
{
    public const string WebPush = "web_push";
    public const string Ntfy = "ntfy";
}

/// <summary>One way of reaching one device, with how its last sends went.</summary>
/// <param name="Token">ntfy: its access token. Web Push: the secret of the push relay <paramref name="Endpoint"/> is (a relayed subscription).</param>
/// <param name="MachineOrigin">A relayed subscription's: this machine's origin as the app that relays it knows it, named in each message.</param>
public sealed record NotificationChannel(
    string DeviceId,
    string Kind,
    string Endpoint,
    string? P256dh,
    string? Auth,
    string? Token,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastAttemptAt,
    DateTimeOffset? LastSuccessAt,
    int? LastStatus,
    string? LastError,
    int Failures,
    string? MachineOrigin = null)
{
    /// <summary>A Web Push subscription of the app on another machine, reached through that machine's push relay.</summary>
    public bool Relayed => Kind == ChannelKinds.WebPush && Token is not null;
}

/// <param name="Outcome"><c>sent</c>, <c>failed</c>, <c>expired</c> (the push service said the subscription is gone; it was removed) or <c>suppressed</c>.</param>
public sealed record NotificationDelivery(long Id, string DeviceId, string Channel, string Event, string? Subject, DateTimeOffset At, string Outcome, int? Status, string? Detail);

/// <summary>Channels, settings and the delivery record, in the server's database.</summary>
public sealed class NotificationStore(Database database, TimeProvider clock)
{
    private const int KeptDeliveries = 2_000;
    private const string ChannelColumns =
        "c.device_id, c.kind, c.endpoint, c.p256dh, c.auth, c.token, c.created_at, c.last_attempt_at, c.last_success_at, c.last_status, c.last_error, c.failures, c.machine_origin";

    /// <summary>Adds or replaces the device's channel of this kind (a browser re-subscribing gets a new endpoint).</summary>
    /// <param name="machineOrigin">A relayed subscription's: this machine's origin as the relaying app knows it.</param>
    public void SaveChannel(string deviceId, string kind, string endpoint, string? p256dh, string? auth, string? token, string? machineOrigin = null) =>
        database.Write(write =>
        {
            write.Execute(
            """
            INSERT INTO notification_channels (device_id, kind, endpoint, p256dh, auth, token, machine_origin, created_at)
            VALUES ($device, $kind, $endpoint, $p256dh, $auth, $token, $origin, $now)
            ON CONFLICT (device_id, kind) DO UPDATE SET endpoint = excluded.endpoint, p256dh = excluded.p256dh, auth = excluded.auth,
                token = excluded.token, machine_origin = excluded.machine_origin, created_at = excluded.created_at, last_attempt_at = NULL,
                last_success_at = NULL, last_status = NULL, last_error = NULL, failures = 0
            """,
            ("$device", deviceId), ("$kind", kind), ("$endpoint", endpoint), ("$p256dh", p256dh), ("$auth", auth), ("$token", token),
            ("$origin", machineOrigin), ("$now", clock.GetUtcNow().ToDb()));
            // A relay is bound to the subscription it was made for: another one (new keys) cannot read what it carried.
            write.Execute(RelaysOfOtherSubscriptions, ("$device", deviceId), ("$kind", kind), ("$endpoint", endpoint));
        });

    public bool RemoveChannel(string deviceId, string kind) => database.Write(write => RemoveChannel(write, deviceId, kind));

    /// <summary>The channel, and the push relays made for it: with the subscription gone they have nothing to reach.</summary>
    private static bool RemoveChannel(DbWrite write, string deviceId, string kind)
    {
        write.Execute(RelaysOfOtherSubscriptions, ("$device", deviceId), ("$kind", kind), ("$endpoint", ""));
        return write.Execute("DELETE FROM notification_channels WHERE device_id = $device AND kind = $kind", ("$device", deviceId), ("$kind", kind)) > 0;
    }

    private const string RelaysOfOtherSubscriptions =
        "DELETE FROM push_relays WHERE $kind = 'web_push' AND device_id = $device AND endpoint <> $endpoint";

    /// <summary>The channels of devices that are not revoked; of one device when <paramref name="deviceId"/> is given.</summary>
    public IReadOnlyList<NotificationChannel> Channels(string? deviceId = null) => database.Read(connection => connection.Query(
        $"""
        SELECT {ChannelColumns} FROM notification_channels c JOIN devices d ON d.id = c.device_id
        WHERE d.revoked_at IS NULL AND ($device IS NULL OR c.device_id = $device) ORDER BY c.device_id, c.kind
        """,
        MapChannel, ("$device", deviceId)));

    /// <summary>Channels whose last attempt failed: health reports them, so a push outage is not silent for months.</summary>
    public IReadOnlyList<NotificationChannel> Failing() => [.. Channels().Where(c => c.Failures > 0)];

    public NotificationSettings Settings(string deviceId) => database.Read(connection => connection.Query(
        "SELECT settings FROM notification_settings WHERE device_id = $device", r => r.GetString(0), ("$device", deviceId))
        .Select(json => JsonSerializer.Deserialize(json, NotificationJson.Default.NotificationSettings))
        .FirstOrDefault()) ?? NotificationSettings.Default;

    public void SaveSettings(string deviceId, NotificationSettings settings) => database.Write(write => write.Execute(
        "INSERT INTO notification_settings (device_id, settings) VALUES ($device, $json) ON CONFLICT (device_id) DO UPDATE SET settings = excluded.settings",
        ("$device", deviceId), ("$json", JsonSerializer.Serialize(settings, NotificationJson.Default.NotificationSettings))));

    /// <summary>Records one outcome, and on the channel its last attempt; a subscription the push service called gone is removed.</summary>
    public void Record(NotificationDelivery delivery)
    {
        var at = delivery.At.ToDb();
        database.Write(write =>
        {
            write.Execute(
                "INSERT INTO notification_deliveries (device_id, channel, event, subject, at, outcome, status, detail) VALUES ($device, $channel, $event, $subject, $at, $outcome, $status, $detail)",
                ("$device", delivery.DeviceId), ("$channel", delivery.Channel), ("$event", delivery.Event), ("$subject", delivery.Subject), ("$at", at),
                ("$outcome", delivery.Outcome), ("$status", delivery.Status), ("$detail", delivery.Detail));
            var channel = (Device: delivery.DeviceId, Kind: delivery.Channel);
            switch (delivery.Outcome)
            {
                case DeliveryOutcomes.Sent:
                    write.Execute(
                        "UPDATE notification_channels SET last_attempt_at = $at, last_success_at = $at, last_status = $status, last_error = NULL, failures = 0 WHERE device_id = $device AND kind = $kind",
                        ("$at", at), ("$status", delivery.Status), ("$device", channel.Device), ("$kind", channel.Kind));
                    break;
                case DeliveryOutcomes.Failed:
                    write.Execute(
                        "UPDATE notification_channels SET last_attempt_at = $at, last_status = $status, last_error = $error, failures = failures + 1 WHERE device_id = $device AND kind = $kind",
                        ("$at", at), ("$status", delivery.Status), ("$error", delivery.Detail), ("$device", channel.Device), ("$kind", channel.Kind));
                    break;
                case DeliveryOutcomes.Expired:
                    RemoveChannel(write, channel.Device, channel.Kind);
                    break;
            }

            if (write.Scalar<long>("SELECT last_insert_rowid()") % 100 == 0)
            {
                write.Execute("DELETE FROM notification_deliveries WHERE id <= (SELECT max(id) FROM notification_deliveries) - $kept", ("$kept", KeptDeliveries));
            }
        });
    }

    /// <summary>The newest outcomes, of one device or of all, newest first.</summary>
    public IReadOnlyList<NotificationDelivery> Deliveries(string? deviceId, int limit) => database.Read(connection => connection.Query(
        """
        SELECT id, device_id, channel, event, subject, at, outcome, status, detail FROM notification_deliveries
        WHERE $device IS NULL OR device_id = $device ORDER BY id DESC LIMIT $limit
        """,
        r => new NotificationDelivery(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.NullableString(4), r.Time(5), r.GetString(6),
            r.IsDBNull(7) ? null : r.GetInt32(7), r.NullableString(8)),
        ("$device", deviceId), ("$limit", limit)));

    private static NotificationChannel MapChannel(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.NullableString(4), r.NullableString(5), r.Time(6),
        r.NullableTime(7), r.NullableTime(8), r.IsDBNull(9) ? null : r.GetInt32(9), r.NullableString(10), r.GetInt32(11), r.NullableString(12));
}

public static class DeliveryOutcomes
{
    public const string Sent = "sent";
    public const string Failed = "failed";
    public const string Expired = "expired";
    public const string Suppressed = "suppressed";
}
