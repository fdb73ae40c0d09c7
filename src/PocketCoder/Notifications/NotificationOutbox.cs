using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using PocketCoder.Realtime;
using PocketCoder.Server;

namespace PocketCoder.Notifications;

/// <summary>
/// Delivers notifications to devices: to each that wants one (its settings, its quiet hours), skipping or returning those whose
/// owner is looking at the app there, through a bounded queue so a slow push service never holds up the event log; every
/// outcome is recorded, and told to open dashboards.
/// </summary>
public sealed class NotificationOutbox(
    NotificationStore store,
    PushSender sender,
    DevicePresence presence,
    EventHub hub,
    PocketCoderOptions options,
    IServer server,
    TimeProvider clock,
    ILogger<NotificationOutbox> logger)
{
    private const int SendWorkers = 4;

    private readonly Channel<Outgoing> _outbox = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite });

    private sealed record Outgoing(NotificationChannel Channel, PushMessage Message, string? Subject);

    /// <summary>Sends what is queued until <see cref="Complete"/> (what is still queued then is sent first) or the server stops.</summary>
    public Task SendAllAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, SendWorkers).Select(_ => Task.Run(() => SendLoopAsync(stoppingToken), CancellationToken.None)));

    /// <summary>Nothing more is queued.</summary>
    public void Complete() => _outbox.Writer.TryComplete();

    /// <summary>Sends <paramref name="message"/> to every channel of the device now, and returns how each went.</summary>
    public async Task<IReadOnlyList<NotificationDelivery>> SendNowAsync(string deviceId, PushMessage message, CancellationToken cancellationToken)
    {
        var results = new List<NotificationDelivery>();
        foreach (var channel in store.Channels(deviceId))
        {
            results.Add(await SendOneAsync(new Outgoing(channel, message, null), cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>
    /// Queues the notification for every device that wants it, except those looking at the app (returned, not notified)
    /// when <paramref name="escalate"/> says a question is being asked; other events simply skip a looking device.
    /// </summary>
    /// <param name="among">The only devices it may go to (a question's deciders); null: any.</param>
    public List<string> Dispatch(string notification, string subject, Func<string, NotificationSettings, bool, PushMessage> message, bool escalate,
        IReadOnlySet<string>? only = null, IReadOnlySet<string>? among = null)
    {
        var looking = new List<string>();
        var now = clock.GetUtcNow();
        foreach (var device in store.Channels().GroupBy(c => c.DeviceId))
        {
            if ((only is not null && !only.Contains(device.Key)) || (among is not null && !among.Contains(device.Key)))
            {
                continue;
            }

            var settings = store.Settings(device.Key);
            if (!settings.Wants(notification))
            {
                continue;
            }

            if (only is null && presence.IsLooking(device.Key))
            {
                if (escalate)
                {
                    looking.Add(device.Key);
                }

                continue;
            }

            var push = message(device.Key, settings, settings.QuietHours?.Contains(now) == true);
            foreach (var channel in device)
            {
                if (!_outbox.Writer.TryWrite(new Outgoing(channel, push, subject)))
                {
                    NotificationLog.Dropped(logger, notification, device.Key);
                }
            }
        }

        return looking;
    }

    /// <summary>Records that the device was not pushed <paramref name="subject"/>, and why.</summary>
    public void Suppressed(string deviceId, string notification, string subject, string why) =>
        Record(new NotificationDelivery(0, deviceId, "app", notification, subject, clock.GetUtcNow(), DeliveryOutcomes.Suppressed, null, why));

    private async Task SendLoopAsync(CancellationToken stoppingToken)
    {
        await foreach (var outgoing in _outbox.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                await SendOneAsync(outgoing, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // One bad send (a database error while recording it, say) must not end this sender.
                NotificationLog.HandlerFailed(logger, exception, outgoing.Message.Event);
            }
        }
    }

    private async Task<NotificationDelivery> SendOneAsync(Outgoing outgoing, CancellationToken cancellationToken)
    {
        var delivery = await sender.SendAsync(outgoing.Channel, outgoing.Message, outgoing.Subject, AppUrl(), cancellationToken).ConfigureAwait(false);
        Record(delivery);
        return delivery;
    }

    /// <summary>Stored, and told to open dashboards so the Devices screen shows it as it happens.</summary>
    private void Record(NotificationDelivery delivery)
    {
        store.Record(delivery);
        hub.PublishEphemeral(new EphemeralEvent("notification.delivery", new JsonObject
        {
            ["deviceId"] = delivery.DeviceId,
            ["channel"] = delivery.Channel,
            ["event"] = delivery.Event,
            ["subject"] = delivery.Subject,
            ["outcome"] = delivery.Outcome,
            ["status"] = delivery.Status,
            ["at"] = delivery.At.ToString("O"),
        }.ToJsonString()));
    }

    /// <summary>Where links in ntfy messages point: the public address phones use, else where this server listens.</summary>
    private string AppUrl() =>
        options.PublicUrl ?? server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? options.Listen;
}
