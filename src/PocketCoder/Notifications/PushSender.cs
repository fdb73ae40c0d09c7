using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PocketCoder.Notifications;

/// <summary>A push another machine encrypted (RFC 8291), with the RFC 8030 headers it asked for, to pass on through a push relay.</summary>
public sealed record RelayedPush(byte[] Body, int TimeToLive, string Urgency, string? Topic);

/// <summary>An ntfy message, published as JSON to the server's root (UTF-8 safe, unlike ntfy's header form).</summary>
public sealed record NtfyMessage(string Topic, string Title, string Message, int Priority, IReadOnlyList<string> Tags, string? Click);

/// <summary>
/// Sends one message over one channel and says how it went: Web Push straight to the browser's push service (encrypted
/// to the browser, signed with this server's VAPID key), or an ntfy topic. Never throws for a refusal or a network
/// failure: the outcome is the answer, and the caller records it.
/// </summary>
public sealed class PushSender(Vapid vapid, NotificationOutbound outbound, TimeProvider clock, ILogger<PushSender> logger) : IDisposable
{
    /// <summary>Where the policy allows public addresses only: each connection dials only the checked addresses of its name.</summary>
    private readonly HttpClient _http = Client(OutboundConnect.PublicOnly(outbound.Rules));

    /// <summary>Where an owner's word covers the address (a host the owner listed, an ntfy server an owner set).</summary>
    private readonly HttpClient _ownersWord = Client(null);

    private static HttpClient Client(Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect) => new(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(10),
        // Push services move behind DNS; pooled connections are renewed now and then.
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        // The connection opened at start (PushWarmup) or by the last push stays for the next one, not only for a minute:
        // a new one costs a TLS handshake to the push service. The service may close it first; a dead one is replaced.
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
        AllowAutoRedirect = false,
        // A proxy from the server's environment would be what the connect check sees, and it would dial the target itself.
        UseProxy = false,
        ConnectCallback = connect,
    })
    {
        Timeout = TimeSpan.FromSeconds(15),
    };

    /// <summary>How long a push service keeps a message for a device that is offline.</summary>
    public static readonly TimeSpan TimeToLive = TimeSpan.FromHours(12);

    public Task<NotificationDelivery> SendAsync(NotificationChannel channel, PushMessage message, string? subject, string appUrl, CancellationToken cancellationToken) =>
        DeliverAsync(channel, message.Event, subject,
            () => channel.Kind == ChannelKinds.WebPush ? WebPushRequest(channel, message) : NtfyRequest(channel, message, appUrl), cancellationToken);

    /// <summary>
    /// Passes on a push another machine encrypted to <paramref name="channel"/>'s browser (a push relay), signed with this
    /// machine's VAPID key, to which the subscription is bound. Its body is passed as it came: this machine cannot read it.
    /// </summary>
    public Task<NotificationDelivery> RelayAsync(NotificationChannel channel, RelayedPush push, string relayId, CancellationToken cancellationToken) =>
        DeliverAsync(channel, PushRelays.DeliveryEvent, relayId, () =>
        {
            var endpoint = new Uri(channel.Endpoint);
            return WebPushPost(endpoint, push.Body, vapid.AuthorizationFor(endpoint), push.TimeToLive, push.Urgency, push.Topic);
        }, cancellationToken);

    private async Task<NotificationDelivery> DeliverAsync(NotificationChannel channel, string what, string? subject, Func<HttpRequestMessage> request,
        CancellationToken cancellationToken)
    {
        // Asked again at each send: a row saved before a rule changed, or by someone whose role since fell, sends nothing.
        var verdict = outbound.Check(channel);
        if (!verdict.Allowed)
        {
            NotificationLog.SendFailed(logger, channel.Kind, channel.DeviceId, what, 0, verdict.Right.Reason ?? "");
            return new NotificationDelivery(0, channel.DeviceId, channel.Kind, what, subject, clock.GetUtcNow(), DeliveryOutcomes.Failed, null,
                $"Not sent: {verdict.Right.Reason}");
        }

        var http = verdict.AnyAddress ? _ownersWord : _http;
        var (status, error) = await AttemptAsync(http, request, cancellationToken).ConfigureAwait(false);
        if (status is null or 429 or >= 500 && !cancellationToken.IsCancellationRequested)
        {
            // A push service that is briefly down or busy gets one more try; a refusal (4xx) does not.
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            (status, error) = await AttemptAsync(http, request, cancellationToken).ConfigureAwait(false);
        }

        var outcome = status switch
        {
            >= 200 and < 300 => DeliveryOutcomes.Sent,
            // RFC 8030 §7.3: the subscription is gone for good (the browser unsubscribed, or the app was uninstalled); for a
            // relayed one, the relay is (revoked, or its subscription went).
            404 or 410 when channel.Kind == ChannelKinds.WebPush => DeliveryOutcomes.Expired,
            _ => DeliveryOutcomes.Failed,
        };
        if (outcome != DeliveryOutcomes.Sent)
        {
            NotificationLog.SendFailed(logger, channel.Kind, channel.DeviceId, what, status ?? 0, error ?? "");
        }

        return new NotificationDelivery(0, channel.DeviceId, channel.Kind, what, subject, clock.GetUtcNow(), outcome, status, error);
    }

    private static async Task<(int? Status, string? Error)> AttemptAsync(HttpClient http, Func<HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        try
        {
            using var request = build();
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return ((int)response.StatusCode, null);
            }

            var body = await ErrorTextAsync(response, cancellationToken).ConfigureAwait(false);
            return ((int)response.StatusCode, $"HTTP {(int)response.StatusCode}{(body.Length > 0 ? ": " + Shorten(body) : "")}");
        }
        catch (HttpRequestException exception)
        {
            return (null, Shorten(exception.Message));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, "The push service did not answer within the time limit.");
        }
    }

    /// <summary>
    /// Does once, ahead of the first push, what only the first push would otherwise pay for: one whole push rehearsed on
    /// this machine (the message's JSON, its encryption, a VAPID token, the HTTP request with its body and the answer read),
    /// then for each channel's push service a VAPID token (the one its first push uses) and a connection, opened with a HEAD
    /// of its root (no message, no credential) and kept in the pool.
    /// </summary>
    public async Task WarmAsync(IReadOnlyList<NotificationChannel> channels, CancellationToken cancellationToken)
    {
        await RehearseAsync(cancellationToken).ConfigureAwait(false);
        var origins = new HashSet<(Uri Origin, HttpClient Http)>();
        foreach (var channel in channels)
        {
            // Only where a push may go: a channel the policy refuses is not even greeted.
            if (Uri.TryCreate(channel.Endpoint, UriKind.Absolute, out var endpoint) && outbound.Check(channel) is { Allowed: true } verdict)
            {
                if (channel.Kind == ChannelKinds.WebPush && !channel.Relayed)
                {
                    vapid.AuthorizationFor(endpoint);
                }

                origins.Add((new Uri(endpoint.GetLeftPart(UriPartial.Authority) + "/"), verdict.AnyAddress ? _ownersWord : _http));
            }
        }

        await Parallel.ForEachAsync(origins, cancellationToken, async (target, cancel) =>
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Head, target.Origin);
                using var response = await target.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancel.IsCancellationRequested)
            {
                // Unreachable now: the first push to it will say so, and be recorded.
            }
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// A push to a listener of its own on loopback that answers 201 and closes: the request is built and sent as every push
    /// is, so the code a first push runs is ready without a message going to any push service.
    /// </summary>
    private async Task RehearseAsync(CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var answering = AnswerOnceAsync(listener, cancellationToken);
        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var keys = System.Buffers.Text.Base64Url.EncodeToString(WebPushCrypto.PublicKeyBytes(browser));
        var channel = new NotificationChannel("", ChannelKinds.WebPush, $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/rehearsal", keys,
            System.Buffers.Text.Base64Url.EncodeToString(new byte[16]), null, clock.GetUtcNow(), null, null, null, null, 0);
        var message = new PushMessage(NotificationKinds.Test, "", "", "rehearsal", "/", null, false, false, clock.GetUtcNow().ToString("O"), null);
        using (var request = WebPushRequest(channel, message))
        {
            request.Headers.ConnectionClose = true;
            request.Options.Set(OutboundConnect.Rehearsal, true);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }

        await answering.ConfigureAwait(false);
    }

    private static async Task AnswerOnceAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        using var client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        var buffer = new byte[8192];
        var read = 0;
        int headEnd;
        while ((headEnd = buffer.AsSpan(0, read).IndexOf("\r\n\r\n"u8)) < 0)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0 || (read += n) == buffer.Length)
            {
                return;
            }
        }

        // The body is read too (its length is in the head), so that the sender finishes writing it before the answer comes.
        var head = Encoding.ASCII.GetString(buffer, 0, headEnd);
        var length = head.Split("\r\n").Select(line => line.Split(':', 2)).Where(parts => parts.Length == 2
            && parts[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(parts => int.Parse(parts[1].Trim(), CultureInfo.InvariantCulture)).FirstOrDefault();
        for (var left = length - (read - headEnd - 4); left > 0;)
        {
            var n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }

            left -= n;
        }

        await stream.WriteAsync("HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// RFC 8030 §5 with RFC 8291's encryption and RFC 8292's VAPID authorization; to a relayed subscription, the relay's
    /// secret instead (the machine that relays it signs it), and the message names this machine, so that its actions
    /// come back here.
    /// </summary>
    private HttpRequestMessage WebPushRequest(NotificationChannel channel, PushMessage message)
    {
        var endpoint = new Uri(channel.Endpoint);
        var plaintext = JsonSerializer.SerializeToUtf8Bytes(channel.Relayed ? message with { Machine = channel.MachineOrigin } : message,
            NotificationJson.Default.PushMessage);
        var body = WebPushCrypto.Encrypt(plaintext, Base64UrlText.TryDecode(channel.P256dh)!, Base64UrlText.TryDecode(channel.Auth)!);
        var authorization = channel.Relayed ? $"Bearer {channel.Token}" : vapid.AuthorizationFor(endpoint);
        var urgency = message.Silent ? "low" : message.Event == NotificationKinds.ApprovalRequested ? "high" : "normal";
        // A newer message of the same session replaces one the push service still holds for an offline phone.
        return WebPushPost(endpoint, body, authorization, (int)TimeToLive.TotalSeconds, urgency, Topic(message.Tag));
    }

    private static HttpRequestMessage WebPushPost(Uri endpoint, byte[] body, string authorization, int timeToLive, string urgency, string? topic)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Content.Headers.ContentEncoding.Add("aes128gcm");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        request.Headers.Add("TTL", timeToLive.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("Urgency", urgency);
        if (topic is { Length: > 0 })
        {
            request.Headers.Add("Topic", topic);
        }

        return request;
    }

    private static HttpRequestMessage NtfyRequest(NotificationChannel channel, PushMessage message, string appUrl)
    {
        var topicUrl = new Uri(channel.Endpoint);
        var root = new Uri(topicUrl, "/");
        var topic = topicUrl.AbsolutePath.Trim('/');
        var priority = message.Silent ? 1 : message.Event == NotificationKinds.ApprovalRequested ? 4 : 3;
        string[] tags = message.Event switch
        {
            NotificationKinds.ApprovalRequested or NotificationKinds.ApprovalExpiring => ["warning"],
            NotificationKinds.SessionFailed => ["rotating_light"],
            _ => ["white_check_mark"],
        };
        var request = new HttpRequestMessage(HttpMethod.Post, root)
        {
            Content = JsonContent.Create(new NtfyMessage(topic, message.Title, message.Body, priority, tags, new Uri(new Uri(appUrl), message.Url).ToString()),
                NotificationJson.Default.NtfyMessage),
        };
        if (channel.Token is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    /// <summary>RFC 8030 §5.4: at most 32 characters of the base64url alphabet (a session's id without its dashes is exactly 32).</summary>
    internal static string Topic(string tag)
    {
        var clean = string.Concat(tag.Where(char.IsAsciiLetterOrDigit));
        return clean.Length <= 32 ? clean : clean[^32..];
    }

    /// <summary>
    /// The first 4 KiB of a refusal's body, read within 5 s: an endpoint that trickles a huge body would otherwise hold the
    /// outbox (one send at a time) and every later notification behind it, the owners' approvals among them.
    /// </summary>
    private static async Task<string> ErrorTextAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(5));
        var buffer = new byte[4096];
        var read = 0;
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(limit.Token).ConfigureAwait(false);
            int chunk;
            while (read < buffer.Length && (chunk = await stream.ReadAsync(buffer.AsMemory(read), limit.Token).ConfigureAwait(false)) > 0)
            {
                read += chunk;
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            // What came in time is enough to say why.
        }

        return System.Text.Encoding.UTF8.GetString(buffer, 0, read);
    }

    public void Dispose()
    {
        _http.Dispose();
        _ownersWord.Dispose();
    }

    private static string Shorten(string text) => text.Length <= 200 ? text.ReplaceLineEndings(" ") : text[..200].ReplaceLineEndings(" ") + "…";
}
