using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Notifications;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Notifications;

/// <summary>
/// Notifications from another machine through a push relay (docs/reach.md, "Notifications."): the phone's app is served by
/// machine A, whose VAPID key its push subscription is bound to; machine B (the REAL Claude Code CLI asking there)
/// encrypts to that subscription and posts through A's relay, which signs with A's key and passes the ciphertext on.
/// </summary>
public sealed class PushRelayTests
{
    private const string Command = "echo relayed > relayed.txt";

    [Fact]
    public async Task CallOnB_ReachesThePhoneThroughARelay_SignedByA_ReadableOnlyByThePhone_DecidedOnB_RelayStopsWhenRevoked()
    {
        await using var push = await PushServiceStub.StartAsync();
        var logsOfA = new CapturedLogs();
        await using var a = await TestServer.StartAsync(logs: logsOfA);
        await using var b = await AgentWorld.ClaudeAsync();
        using var keys = new BrowserKeys();

        // On A: the phone turns notifications on, then makes a relay for B (its secret shown once, then only listed).
        var phoneOnA = await a.PairAsync("phone");
        await ApiAssert.OkJsonAsync(await phoneOnA.Http.PutAsJsonAsync("/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/phone"))));
        var relay = await CreateRelayAsync(phoneOnA.Http, "laptop");
        var relayUrl = relay.GetProperty("url").GetString()!;
        Assert.StartsWith(a.BaseUrl.GetLeftPart(UriPartial.Authority) + "/api/push/relays/", relayUrl);
        var listed = (await phoneOnA.Http.GetOkAsync("/api/push/relays")).EnumerateArray().Single();
        Assert.Equal("laptop", listed.GetProperty("label").GetString());
        Assert.False(listed.TryGetProperty("secret", out _));
        var vapidOfA = (await phoneOnA.Http.GetOkAsync("/api/notifications")).GetProperty("vapidPublicKey").GetString()!;

        // On B: the phone's device there, paired by the app on A (B is a machine the phone added), registers the same
        // browser subscription, reached through A's relay. A device B did not pair from A's app may not point B at A.
        var originOfB = b.Server.BaseUrl.GetLeftPart(UriPartial.Authority);
        var subscription = JsonSerializer.SerializeToElement(keys.Subscription(relayUrl));
        var relayed = new
        {
            endpoint = relayUrl,
            keys = subscription.GetProperty("keys"),
            relay = new { secret = relay.GetProperty("secret").GetString(), origin = originOfB },
        };
        await ApiAssert.ProblemAsync(await b.Http.PutAsJsonAsync("/api/notifications/web-push", relayed), HttpStatusCode.UnprocessableEntity,
            "PUSH_ENDPOINT_NOT_ALLOWED");
        var phoneOnB = await b.Server.PairFromAsync(a.BaseUrl.GetLeftPart(UriPartial.Authority));
        var channel = await ApiAssert.OkJsonAsync(await phoneOnB.Http.PutAsJsonAsync("/api/notifications/web-push", relayed));
        Assert.True(channel.GetProperty("relayed").GetBoolean());

        // A call on B: the push service receives it from A, signed with A's key; only the phone's keys open it.
        b.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = Command, description = "Write relayed.txt" }), ScriptedReply.Text("Written on B."));
        var sessionId = await b.StartSessionAsync("write relayed.txt");
        await using var events = await b.EventsAsync(sessionId);
        var approvalId = (await events.WaitForAsync("approval.requested")).Str("approvalId")!;
        var received = await push.NextAsync("/push/phone");
        NotificationTests.AssertVapid(received, push.BaseUrl, vapidOfA);
        Assert.Equal("aes128gcm", received.Header("Content-Encoding"));
        Assert.Equal("high", received.Header("Urgency"));
        Assert.Equal(sessionId.Replace("-", ""), received.Header("Topic")[^32..]);
        var message = keys.Decrypt(received);
        Assert.Equal("approval.requested", message.GetProperty("event").GetString());
        Assert.Contains(Command, message.GetProperty("body").GetString());
        Assert.Equal(originOfB, message.GetProperty("machine").GetString());
        Assert.Equal($"/s/{sessionId}", message.GetProperty("url").GetString());

        // The notification's Allow once decides on B, with the phone's B token and the allow token B made for it.
        await ApiAssert.OkJsonAsync(await phoneOnB.Http.PostAsJsonAsync($"/api/approvals/{approvalId}/decision",
            new { decision = "allow_once", via = "notification", allowToken = message.GetProperty("allowToken").GetString() }));
        await events.WaitForAsync("turn.completed");
        Assert.Equal("relayed\n", await File.ReadAllTextAsync(Path.Combine(b.Repository, "relayed.txt")));
        Assert.Equal("turn.finished", keys.Decrypt(await push.NextAsync("/push/phone")).GetProperty("event").GetString());

        // A passed it on unread: nothing of it in A's database or A's log; its delivery record says only that it relayed.
        await a.StopAsync();
        var databaseOfA = Encoding.Latin1.GetString(await File.ReadAllBytesAsync(Path.Combine(a.DataDirectory, PocketCoder.Data.Database.FileName)));
        Assert.DoesNotContain("relayed.txt", databaseOfA);
        Assert.DoesNotContain(logsOfA.Entries, e => e.Message.Contains("relayed.txt", StringComparison.Ordinal));
        Assert.Equal("2", a.ReadDatabase("SELECT count(*) FROM notification_deliveries WHERE event = 'push.relayed' AND outcome = 'sent'"));
    }

    [Fact]
    public async Task Relay_WrongSecretOrBadBody_Refused_SixtyAMinute_RevokedRelayOrDeviceStops_NothingSent()
    {
        await using var push = await PushServiceStub.StartAsync();
        await using var a = await TestServer.StartAsync();
        using var keys = new BrowserKeys();
        var phone = await a.PairAsync("phone");
        await ApiAssert.ProblemAsync(await phone.Http.PostAsJsonAsync("/api/push/relays", new { label = "laptop" }),
            HttpStatusCode.Conflict, "NO_NOTIFICATION_CHANNEL");
        await ApiAssert.OkJsonAsync(await phone.Http.PutAsJsonAsync("/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/phone"))));
        await ApiAssert.ProblemAsync(await phone.Http.PostAsJsonAsync("/api/push/relays", new { label = "" }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        var relay = await CreateRelayAsync(phone.Http, "laptop");
        var url = relay.GetProperty("url").GetString()!;
        var secret = relay.GetProperty("secret").GetString()!;
        var sealedBody = WebPushCrypto.Encrypt("{\"title\":\"from B\"}"u8.ToArray(), WebPushCrypto.PublicKeyBytes(keys.Key), keys.Auth);

        await ApiAssert.ProblemAsync(await PostAsync(a, url, "pcr_wrong", sealedBody), HttpStatusCode.Unauthorized, "PUSH_RELAY_SECRET_INVALID");
        await ApiAssert.ProblemAsync(await PostAsync(a, url, null, sealedBody), HttpStatusCode.Unauthorized, "PUSH_RELAY_SECRET_INVALID");
        await ApiAssert.ProblemAsync(await PostAsync(a, url, secret, new byte[PushRelayApi.MostBodyBytes + 1]), HttpStatusCode.RequestEntityTooLarge, "BODY_TOO_LARGE");
        await ApiAssert.ProblemAsync(await PostAsync(a, url, secret, "plain text"u8.ToArray()), HttpStatusCode.BadRequest, "PUSH_RELAY_BODY_INVALID");
        await ApiAssert.ProblemAsync(await PostAsync(a, url, secret, sealedBody, ttl: "forever"), HttpStatusCode.BadRequest, "PUSH_RELAY_BODY_INVALID");
        Assert.Equal(0, push.Waiting("/push/phone"));

        // The right secret: passed on as it came, with its TTL.
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(a, url, secret, sealedBody, ttl: "60")).StatusCode);
        var passed = await push.NextAsync("/push/phone");
        Assert.Equal(sealedBody, passed.Body);
        Assert.Equal("60", passed.Header("TTL"));
        Assert.Equal("from B", keys.Decrypt(passed).GetProperty("title").GetString());

        // At most 60 a minute through one relay: the 61st is refused with when to try again, and not sent.
        for (var i = 1; i < PushRelays.PerMinute; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(a, url, secret, sealedBody)).StatusCode);
        }

        var throttled = await PostAsync(a, url, secret, sealedBody);
        Assert.NotNull(throttled.Headers.RetryAfter);
        await ApiAssert.ProblemAsync(throttled, HttpStatusCode.TooManyRequests, "RATE_LIMITED");
        Assert.Equal(PushRelays.PerMinute - 1, push.Waiting("/push/phone"));
        for (var i = 1; i < PushRelays.PerMinute; i++)
        {
            await push.NextAsync("/push/phone");
        }

        // Revoked by its device: gone. Another device cannot revoke it.
        var relayId = relay.GetProperty("id").GetString()!;
        var tablet = await a.PairAsync("tablet");
        await ApiAssert.ProblemAsync(await tablet.Http.DeleteAsync($"/api/push/relays/{relayId}"), HttpStatusCode.NotFound, "PUSH_RELAY_NOT_FOUND");
        Assert.Equal(HttpStatusCode.NoContent, (await phone.Http.DeleteAsync($"/api/push/relays/{relayId}")).StatusCode);
        await ApiAssert.ProblemAsync(await PostAsync(a, url, secret, sealedBody), HttpStatusCode.NotFound, "PUSH_RELAY_NOT_FOUND");

        // The subscription renewed (new keys): a relay made for the old one went with it (B forgets it on the 404).
        var second = await CreateRelayAsync(phone.Http, "desktop");
        await ApiAssert.OkJsonAsync(await phone.Http.PutAsJsonAsync("/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/phone-renewed"))));
        await ApiAssert.ProblemAsync(await PostAsync(a, second.GetProperty("url").GetString()!, second.GetProperty("secret").GetString(), sealedBody),
            HttpStatusCode.NotFound, "PUSH_RELAY_NOT_FOUND");

        // The device revoked: its relays stop.
        var third = await CreateRelayAsync(phone.Http, "cloud");
        Assert.Equal(HttpStatusCode.NoContent, (await phone.Http.DeleteAsync($"/api/devices/{phone.DeviceId}")).StatusCode);
        await ApiAssert.ProblemAsync(await PostAsync(a, third.GetProperty("url").GetString()!, third.GetProperty("secret").GetString(), sealedBody),
            HttpStatusCode.NotFound, "PUSH_RELAY_NOT_FOUND");
        Assert.Equal(0, push.Waiting("/push/phone"));
        Assert.Equal(0, push.Waiting("/push/phone-renewed"));
    }

    private static async Task<JsonElement> CreateRelayAsync(HttpClient http, string label)
    {
        var response = await http.PostAsJsonAsync("/api/push/relays", new { label });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>As another machine posts to a relay: no device token, the relay's secret as a bearer, the body as encrypted.</summary>
    private static async Task<HttpResponseMessage> PostAsync(TestServer a, string url, string? secret, byte[] body, string? ttl = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Content.Headers.ContentEncoding.Add("aes128gcm");
        if (secret is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        if (ttl is not null)
        {
            request.Headers.TryAddWithoutValidation("TTL", ttl);
        }

        return await a.Anonymous.SendAsync(request);
    }
}
