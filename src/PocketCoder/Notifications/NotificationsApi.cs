using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Server;

namespace PocketCoder.Notifications;

public sealed record WebPushKeys(string? P256dh, string? Auth);

/// <summary>
/// A relayed subscription's: the relay's secret (from <c>POST /api/push/relays</c> on the app's machine) and this
/// machine's origin as that app knows it, which each message names so that its actions are posted here.
/// </summary>
public sealed record WebPushRelayRequest(
    [property: Required(ErrorMessage = "'relay.secret' is required: the secret the app's machine gave with the relay.")]
    [property: StringLength(200, ErrorMessage = "'relay.secret' is at most {1} characters.")]
    string? Secret,
    [property: Required(ErrorMessage = "'relay.origin' is required: this machine's origin as the app calls it (https://b.example).")]
    string? Origin);

/// <summary>
/// A browser's <c>PushSubscription.toJSON()</c>, as the app sends it; or, with <see cref="Relay"/>, the subscription of
/// the app on another machine: <see cref="Endpoint"/> is then that machine's push relay.
/// </summary>
public sealed record WebPushSubscriptionRequest(
    [property: Required(ErrorMessage = "'endpoint' is required: the push service URL of the browser's subscription, or a push relay's URL.")]
    string? Endpoint,
    [property: Required(ErrorMessage = "'keys' is required: the subscription's p256dh and auth.")]
    WebPushKeys? Keys,
    WebPushRelayRequest? Relay = null);

public sealed record NtfyChannelRequest(
    [property: Required(ErrorMessage = "'topicUrl' is required, e.g. https://ntfy.sh/my-secret-topic.")]
    string? TopicUrl,
    [property: StringLength(200, ErrorMessage = "'token' is at most {1} characters.")]
    string? Token);

public sealed record PresenceRequest(bool Visible);

/// <summary>A channel as the app shows it: where it goes (the host only: endpoints are capabilities) and how it last went.</summary>
/// <param name="Relayed">A Web Push subscription of the app on another machine, reached through its push relay (<see cref="Host"/> is that machine's).</param>
public sealed record ChannelResponse(
    string Kind, string Host, DateTimeOffset CreatedAt, DateTimeOffset? LastAttemptAt, DateTimeOffset? LastSuccessAt, int? LastStatus, string? LastError, int Failures,
    bool Relayed)
{
    public static ChannelResponse From(NotificationChannel c) =>
        new(c.Kind, new Uri(c.Endpoint).Host, c.CreatedAt, c.LastAttemptAt, c.LastSuccessAt, c.LastStatus, c.LastError, c.Failures, c.Relayed);
}

public sealed record DeliveryResponse(string Channel, string Event, string? Subject, DateTimeOffset At, string Outcome, int? Status, string? Detail)
{
    public static DeliveryResponse From(NotificationDelivery d) => new(d.Channel, d.Event, d.Subject, d.At, d.Outcome, d.Status, d.Detail);
}

/// <param name="VapidPublicKey">The <c>applicationServerKey</c> to subscribe with.</param>
/// <param name="Offers">What this device's person may set here, so the app offers only what the server accepts.</param>
public sealed record NotificationsResponse(
    string VapidPublicKey, NotificationSettings Settings, IReadOnlyList<ChannelResponse> Channels, IReadOnlyList<DeliveryResponse> Deliveries,
    NotificationOffers Offers);

/// <param name="Ntfy">An ntfy topic: an owner's choice, since it names a server the PocketCoder server publishes to.</param>
public sealed record NotificationOffers(bool Ntfy);

/// <summary>The calling device's notifications: its channels, its settings, its delivery record, a test send, and its presence.</summary>
public static class NotificationsApi
{
    private const int MaxEndpointLength = 2048;

    public static IServiceCollection AddNotifications(this IServiceCollection services, PocketCoderOptions options) => services
        .AddSingleton(provider => new Vapid(options.DataDirectory, VapidContact(options), provider.GetRequiredService<TimeProvider>()))
        .AddSingleton<NotificationStore>().AddSingleton<NotificationOutbound>().AddSingleton<PushRelays>().AddSingleton<DevicePresence>().AddSingleton<PushSender>().AddSingleton<NotificationActions>()
        .AddSingleton<NotificationOutbox>().AddSingleton<NotificationMessages>().AddSingleton<NotificationRecipients>()
        .AddSingleton<ApprovalNotifications>().AddSingleton<SessionNotifications>()
        .AddRunningSingleton<Notifier>().AddRunningSingleton<PushWarmup>();

    /// <summary>Push services want a way to reach the sender: the owner's choice, else the public https address.</summary>
    private static string VapidContact(PocketCoderOptions options) =>
        options.PushContact ?? (options.PublicUrl is { } url && url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? url : "mailto:pocketcoder@localhost");

    public static void MapNotifications(this IEndpointRouteBuilder api)
    {
        var notifications = api.MapGroup("/notifications");
        notifications.MapGet("/", Get).WithName("GetNotifications");
        notifications.MapPut("/settings", SaveSettings).WithName("SaveNotificationSettings");
        notifications.MapPut("/web-push", SubscribeWebPush).WithName("SubscribeWebPush");
        notifications.MapDelete("/web-push", (ClaimsPrincipal user, NotificationStore store) => Remove(user, store, ChannelKinds.WebPush)).WithName("UnsubscribeWebPush");
        notifications.MapPut("/ntfy", SetNtfy).WithName("SetNtfy");
        notifications.MapDelete("/ntfy", (ClaimsPrincipal user, NotificationStore store) => Remove(user, store, ChannelKinds.Ntfy)).WithName("RemoveNtfy");
        notifications.MapPost("/test", TestAsync).WithName("TestNotification");
        notifications.MapPost("/presence", Presence).WithName("ReportPresence");
    }

    private static NotificationsResponse Get(ClaimsPrincipal user, NotificationStore store, Vapid vapid, NotificationOutbound outbound)
    {
        var device = user.Actor().Id;
        return new NotificationsResponse(vapid.PublicKey, store.Settings(device), [.. store.Channels(device).Select(ChannelResponse.From)],
            [.. store.Deliveries(device, 20).Select(DeliveryResponse.From)], new NotificationOffers(outbound.MayChoose(device, Sender.Ntfy)));
    }

    private static NotificationSettings SaveSettings(NotificationSettings settings, ClaimsPrincipal user, NotificationStore store)
    {
        if (settings.QuietHours is { } quiet && QuietHours.FindZone(quiet.TimeZone) is null)
        {
            throw ApiProblem.Validation($"'quietHours.timeZone' \"{quiet.TimeZone}\" is not a time zone this machine knows (an IANA name such as \"Europe/Berlin\").");
        }

        store.SaveSettings(user.Actor().Id, settings);
        return settings;
    }

    private static ChannelResponse SubscribeWebPush(WebPushSubscriptionRequest request, ClaimsPrincipal user, NotificationStore store, NotificationOutbound outbound)
    {
        var endpoint = Endpoint(request.Endpoint!, "endpoint");
        outbound.Check(user.Actor().Id, request.Relay is null ? Sender.WebPush : Sender.PushRelay, endpoint).Right.Ensure();
        var p256dh = Base64UrlText.TryDecode(request.Keys!.P256dh);
        var auth = Base64UrlText.TryDecode(request.Keys.Auth);
        if (p256dh is null || auth is not { Length: 16 } || !IsPoint(p256dh))
        {
            throw new ApiProblem(StatusCodes.Status400BadRequest, ErrorCodes.PushKeysInvalid,
                "'keys.p256dh' must be the browser's P-256 public key and 'keys.auth' its 16-byte secret, both base64url (PushSubscription.toJSON()).");
        }

        if (request.Relay is not { } relay)
        {
            return Save(user, store, ChannelKinds.WebPush, endpoint, request.Keys.P256dh, request.Keys.Auth, null);
        }

        if (!relay.Secret!.All(c => c is > ' ' and < (char)127))
        {
            throw ApiProblem.Validation("'relay.secret' must be printable ASCII without spaces (the secret the relay was made with).");
        }

        if (CrossOrigin.Normalize(relay.Origin) is not { } origin || origin != relay.Origin)
        {
            throw new ApiProblem(StatusCodes.Status400BadRequest, ErrorCodes.OriginInvalid,
                "'relay.origin' must be an origin as a browser writes it: https://b.example or http://192.168.1.5:7420, no path.");
        }

        return Save(user, store, ChannelKinds.WebPush, endpoint, request.Keys.P256dh, request.Keys.Auth, relay.Secret, origin);
    }

    private static ChannelResponse SetNtfy(NtfyChannelRequest request, ClaimsPrincipal user, NotificationStore store, NotificationOutbound outbound)
    {
        var topic = Endpoint(request.TopicUrl!, "topicUrl");
        outbound.Check(user.Actor().Id, Sender.Ntfy, topic).Right.Ensure();
        var segments = topic.AbsolutePath.Trim('/');
        if (segments.Length is 0 or > 64 || segments.Contains('/') || !segments.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ApiProblem(StatusCodes.Status400BadRequest, ErrorCodes.PushEndpointInvalid,
                "'topicUrl' must be the server and one topic, e.g. https://ntfy.sh/my-secret-topic (letters, digits, - and _, at most 64).");
        }

        var token = string.IsNullOrWhiteSpace(request.Token) ? null : request.Token.Trim();
        if (token is not null && !token.All(c => c is > ' ' and < (char)127))
        {
            throw ApiProblem.Validation("'token' must be printable ASCII without spaces (an ntfy access token, tk_…).");
        }

        return Save(user, store, ChannelKinds.Ntfy, topic, null, null, token);
    }

    private static ChannelResponse Save(ClaimsPrincipal user, NotificationStore store, string kind, Uri endpoint, string? p256dh, string? auth, string? token,
        string? machineOrigin = null)
    {
        var device = user.Actor().Id;
        store.SaveChannel(device, kind, endpoint.AbsoluteUri, p256dh, auth, token, machineOrigin);
        return ChannelResponse.From(store.Channels(device).Single(c => c.Kind == kind));
    }

    private static NoContent Remove(ClaimsPrincipal user, NotificationStore store, string kind)
    {
        store.RemoveChannel(user.Actor().Id, kind);
        return TypedResults.NoContent();
    }

    private static async Task<IEnumerable<DeliveryResponse>> TestAsync(ClaimsPrincipal user, [FromServices] Notifier notifier, CancellationToken cancellationToken)
    {
        var results = await notifier.SendTestAsync(user.Actor().Id, cancellationToken);
        if (results.Count == 0)
        {
            throw new ApiProblem(StatusCodes.Status409Conflict, ErrorCodes.NoNotificationChannel,
                "This device has no notification channel yet: turn on push notifications or add an ntfy topic first.");
        }

        return results.Select(DeliveryResponse.From);
    }

    /// <summary>The app says whether it is on screen; a device looking at the app is not pushed what it already shows.</summary>
    private static NoContent Presence(PresenceRequest request, ClaimsPrincipal user, DevicePresence presence)
    {
        presence.Report(user.Actor().Id, request.Visible);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// https, or plain http to this machine only (a self-hosted ntfy or push relay beside it): a notification, its VAPID token
    /// or an ntfy token never crosses a network in clear. No user:password in the URL: credentials go in the token field.
    /// </summary>
    private static Uri Endpoint(string text, string field)
    {
        if (text.Length > MaxEndpointLength || !Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)
            || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && IsLoopback(uri)))
            || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            throw new ApiProblem(StatusCodes.Status400BadRequest, ErrorCodes.PushEndpointInvalid,
                $"'{field}' must be an https URL (http only to this machine), at most {MaxEndpointLength} characters, with no user:password in it.");
        }

        return uri;
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    private static bool IsPoint(byte[] p256dh)
    {
        try
        {
            using var key = WebPushCrypto.ImportPublicKey(p256dh);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
