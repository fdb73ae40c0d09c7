using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Server;

namespace PocketCoder.Notifications;

public sealed record CreatePushRelayRequest(
    [property: Required(ErrorMessage = "'label' is required: the machine that will push through it, as the app calls it.")]
    [property: StringLength(100, MinimumLength = 1, ErrorMessage = "'label' is 1 to {1} characters.")]
    string? Label);

/// <param name="Url">Where the other machine posts its encrypted pushes (with <c>Authorization: Bearer</c> and the secret).</param>
/// <param name="Secret">Shown this once; this machine keeps only its hash.</param>
public sealed record CreatedPushRelay(string Id, string Label, string Url, string Secret, DateTimeOffset CreatedAt);

public sealed record PushRelayResponse(string Id, string Label, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, long Uses)
{
    public static PushRelayResponse From(PushRelay r) => new(r.Id, r.Label, r.CreatedAt, r.LastUsedAt, r.Uses);
}

/// <summary>
/// Push relays (<see cref="PushRelays"/>): the calling device makes, lists and revokes its own; another machine posts to
/// one with its secret. The post is the one route that takes no device token: the relay's secret is its credential, sent
/// as a bearer, never in its address.
/// </summary>
public static class PushRelayApi
{
    /// <summary>RFC 8291 §4 and RFC 8030 §7.2: a push service must take 4096 bytes of encrypted payload; none needs more.</summary>
    public const int MostBodyBytes = 4096;

    /// <summary>An aes128gcm header with a P-256 key (86 bytes), a 16-byte tag and a padding delimiter: less holds no message.</summary>
    private const int LeastBodyBytes = 86 + 16 + 1;

    /// <summary>RFC 8030 §5.2: push services keep a message no longer than they choose; four weeks is the most any asks for.</summary>
    private const int MostTimeToLive = 28 * 24 * 3600;

    private static readonly string[] Urgencies = ["very-low", "low", "normal", "high"];

    public static void MapPushRelays(this IEndpointRouteBuilder api)
    {
        var relays = api.MapGroup("/push/relays");
        relays.MapPost("/", Create).WithName("CreatePushRelay");
        relays.MapGet("/", (ClaimsPrincipal user, PushRelays store) => store.List(user.Actor().Id).Select(PushRelayResponse.From)).WithName("ListPushRelays");
        relays.MapDelete("/{id}", Revoke).WithName("RevokePushRelay");
        // The body is the encrypted message as is (Content-Encoding: aes128gcm), read by the handler: no JSON.
        relays.MapPost("/{id}", RelayAsync).WithName("RelayPush").AllowAnonymous();
    }

    private static Created<CreatedPushRelay> Create(CreatePushRelayRequest request, ClaimsPrincipal user, HttpRequest http, NotificationStore store,
        PushRelays relays, NotificationOutbound outbound, PocketCoderOptions options)
    {
        var device = user.Actor().Id;
        var subscription = store.Channels(device).FirstOrDefault(c => c.Kind == ChannelKinds.WebPush && !c.Relayed)
            ?? throw new ApiProblem(StatusCodes.Status409Conflict, ErrorCodes.NoNotificationChannel,
                "Turn on notifications on this device first: a push relay reaches this device's own subscription.");
        // A subscription saved before the outbound policy held (or since refused) gets no relay: anyone with its secret would send there.
        outbound.Check(subscription).Right.Ensure();
        var (relay, secret) = relays.Create(device, subscription.Endpoint, request.Label!.Trim());
        var origin = options.PublicUrl ?? $"{http.Scheme}://{http.Host}";
        var url = new Uri(new Uri(origin), $"/api/push/relays/{relay.Id}").AbsoluteUri;
        return TypedResults.Created((string?)null, new CreatedPushRelay(relay.Id, relay.Label, url, secret, relay.CreatedAt));
    }

    private static NoContent Revoke(string id, ClaimsPrincipal user, PushRelays relays) => relays.Revoke(user.Actor().Id, id)
        ? TypedResults.NoContent()
        : throw ApiProblem.NotFound(ErrorCodes.PushRelayNotFound, $"This device has no push relay '{id}'.");

    /// <summary>
    /// One push from another machine (202 once the push service took it: what it made is not this machine's to show): checked (its secret, its size and headers, the relay's pace), signed with this
    /// machine's VAPID key and passed on unread. The outcome is recorded on the device's channel as any push's is, without
    /// a byte of what it carried; a subscription that is gone takes the relay with it and answers 410, so the other
    /// machine forgets it too.
    /// </summary>
    private static async Task<Accepted> RelayAsync(string id, HttpRequest request, PushRelays relays, PushSender sender, NotificationStore store,
        NotificationOutbound outbound, CancellationToken cancellationToken)
    {
        var target = relays.Find(id) ?? throw ApiProblem.NotFound(ErrorCodes.PushRelayNotFound,
            "No such push relay: it was revoked, or its device was. Turn notifications from this machine on again in the app.");
        var header = request.Headers.Authorization.ToString();
        if (!PushRelays.Opens(target, header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null))
        {
            throw new ApiProblem(StatusCodes.Status401Unauthorized, ErrorCodes.PushRelaySecretInvalid,
                "This push relay takes its secret as 'Authorization: Bearer <secret>', and that is not it.");
        }

        if (target.Channel is not { } channel)
        {
            relays.Remove(id);
            throw new ApiProblem(StatusCodes.Status410Gone, ErrorCodes.PushRelayGone,
                "The subscription this relay was made for is gone (notifications were turned off or renewed on the phone).");
        }

        // The device's subscription is where this push would go: asked of the policy as any send is, and said plainly.
        outbound.Check(channel).Right.Ensure();
        var push = await ReadAsync(request, cancellationToken);
        if (relays.Throttle(id) is { } wait)
        {
            throw new ApiProblem(StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited,
                $"This push relay carries at most {PushRelays.PerMinute} pushes a minute.") { RetryAfter = wait };
        }

        var delivery = await sender.RelayAsync(channel, push, id, cancellationToken);
        store.Record(delivery);
        relays.Used(id);
        return delivery.Outcome switch
        {
            DeliveryOutcomes.Sent => TypedResults.Accepted((string?)null),
            DeliveryOutcomes.Expired => throw new ApiProblem(StatusCodes.Status410Gone, ErrorCodes.PushRelayGone,
                "The phone's push service says its subscription is gone; the relay went with it."),
            _ => throw new ApiProblem(StatusCodes.Status502BadGateway, ErrorCodes.PushRelayFailed,
                // The status only: the target's own words stay in the owner's delivery record, not with whoever holds the secret.
                delivery.Status is { } status ? $"The phone's push service did not take it (HTTP {status})." : "The phone's push service did not answer."),
        };
    }

    /// <summary>The body as it came (aes128gcm, at most 4096 bytes) and the RFC 8030 headers a push service reads.</summary>
    private static async Task<RelayedPush> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!string.Equals(request.Headers.ContentEncoding.ToString(), "aes128gcm", StringComparison.OrdinalIgnoreCase))
        {
            throw Invalid("The body must be a Web Push message encrypted to the phone's subscription (RFC 8291): 'Content-Encoding: aes128gcm'.");
        }

        if (request.ContentLength > MostBodyBytes)
        {
            throw TooLarge();
        }

        using var body = new MemoryStream();
        var buffer = new byte[MostBodyBytes + 1];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            body.Write(buffer, 0, read);
            if (body.Length > MostBodyBytes)
            {
                throw TooLarge();
            }
        }

        var bytes = body.ToArray();
        // The header's key id length (byte 20) is the 65 bytes of an uncompressed P-256 key, as RFC 8291 §4 has it.
        if (bytes.Length < LeastBodyBytes || bytes[20] != 65)
        {
            throw Invalid("The body is not an aes128gcm Web Push message (RFC 8291 §4: salt, record size, the sender's P-256 key, then the record).");
        }

        var ttl = (int)PushSender.TimeToLive.TotalSeconds;
        if (request.Headers["TTL"].ToString() is { Length: > 0 } ttlText
            && (!int.TryParse(ttlText, NumberStyles.None, CultureInfo.InvariantCulture, out ttl) || ttl > MostTimeToLive))
        {
            throw Invalid($"'TTL' is a number of seconds from 0 to {MostTimeToLive}.");
        }

        var urgency = request.Headers["Urgency"].ToString() is { Length: > 0 } asked ? asked : "normal";
        if (!Urgencies.Contains(urgency, StringComparer.Ordinal))
        {
            throw Invalid("'Urgency' is very-low, low, normal or high (RFC 8030 §5.3).");
        }

        var topic = request.Headers["Topic"].ToString();
        if (topic.Length > 32 || !topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw Invalid("'Topic' is at most 32 characters of the base64url alphabet (RFC 8030 §5.4).");
        }

        return new RelayedPush(bytes, ttl, urgency, topic.Length > 0 ? topic : null);
    }

    private static ApiProblem Invalid(string detail) => new(StatusCodes.Status400BadRequest, ErrorCodes.PushRelayBodyInvalid, detail);

    private static ApiProblem TooLarge() => new(StatusCodes.Status413PayloadTooLarge, ErrorCodes.BodyTooLarge,
        $"A relayed push is at most {MostBodyBytes} bytes, as a push service takes.");
}
