using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Notifications;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Notifications;

/// <summary>Push notifications from a real server, with the REAL Claude Code CLI asking, to a local push service and ntfy stub.</summary>
public sealed class NotificationTests
{
    [Fact]
    public async Task Approval_PushedEncryptedToEachBrowser_VapidSigned_SummaryOrPrivate_AndToNtfy()
    {
        await using var push = await PushServiceStub.StartAsync();
        await using var world = await AgentWorld.ClaudeAsync();
        using var phoneKeys = new BrowserKeys();
        using var tabletKeys = new BrowserKeys();
        await PutOkAsync(world.Http, "/api/notifications/web-push", phoneKeys.Subscription(push.Endpoint("/push/phone")));
        var tablet = await world.Server.PairAsync("tablet");
        await PutOkAsync(tablet.Http, "/api/notifications/settings", Settings(content: "private"));
        await PutOkAsync(tablet.Http, "/api/notifications/web-push", tabletKeys.Subscription(push.Endpoint("/push/tablet")));
        await PutOkAsync(tablet.Http, "/api/notifications/ntfy", new { topicUrl = push.Endpoint("/secret-topic"), token = "tk_test" });
        var vapidKey = (await world.Http.GetOkAsync("/api/notifications")).GetProperty("vapidPublicKey").GetString()!;

        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo notified > notified.txt", description = "Write a file" }), ScriptedReply.Text("Written."));
        var sessionId = await world.StartSessionAsync("write notified.txt");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        var approvalId = asked.Str("approvalId")!;

        // The phone (summary): what will run, with Allow / Deny, readable only with the browser's keys.
        var phoneRequest = await push.NextAsync("/push/phone");
        Assert.Equal("aes128gcm", phoneRequest.Header("Content-Encoding"));
        Assert.Equal("high", phoneRequest.Header("Urgency"));
        Assert.Equal(sessionId.Replace("-", ""), phoneRequest.Header("Topic")[^32..]);
        Assert.True(int.Parse(phoneRequest.Header("TTL")) > 0);
        Assert.DoesNotContain("notified", Encoding.Latin1.GetString(phoneRequest.Body));
        AssertVapid(phoneRequest, push.BaseUrl, vapidKey);
        var phoneMessage = phoneKeys.Decrypt(phoneRequest);
        Assert.Equal("approval.requested", phoneMessage.GetProperty("event").GetString());
        Assert.Contains("echo notified > notified.txt", phoneMessage.GetProperty("body").GetString());
        Assert.Contains("demo", phoneMessage.GetProperty("title").GetString());
        Assert.True(phoneMessage.GetProperty("actions").GetBoolean());
        // Shown whole, so Allow once is offered: its token is this device's, for this approval.
        var allowToken = phoneMessage.GetProperty("allowToken").GetString()!;
        Assert.Equal(approvalId, phoneMessage.GetProperty("approvalId").GetString());
        Assert.Equal($"/s/{sessionId}", phoneMessage.GetProperty("url").GetString());
        Assert.ThrowsAny<CryptographicException>(() => tabletKeys.Decrypt(phoneRequest));

        // The tablet (private): only that something waits, no buttons to approve what it cannot show.
        var tabletMessage = tabletKeys.Decrypt(await push.NextAsync("/push/tablet"));
        Assert.Equal("An approval is waiting.", tabletMessage.GetProperty("body").GetString());
        Assert.DoesNotContain("echo", tabletMessage.GetRawText());
        Assert.False(tabletMessage.GetProperty("actions").GetBoolean());
        Assert.False(tabletMessage.TryGetProperty("allowToken", out _));

        // ntfy, for the same device and with the same privacy: JSON to the server's root, the token as a bearer, a link into the app.
        var ntfy = await push.NextAsync("/");
        var published = JsonElement.Parse(ntfy.Body);
        Assert.Equal("secret-topic", published.GetProperty("topic").GetString());
        Assert.Equal("An approval is waiting.", published.GetProperty("message").GetString());
        Assert.Equal(4, published.GetProperty("priority").GetInt32());
        Assert.Equal(new Uri(world.Server.BaseUrl, $"/s/{sessionId}").ToString(), published.GetProperty("click").GetString());
        Assert.Equal("Bearer tk_test", ntfy.Header("Authorization"));

        // Another device cannot use the phone's token; the phone's Allow once from the notification decides.
        await ApiAssert.ProblemAsync(await tablet.Http.PostAsJsonAsync($"/api/approvals/{approvalId}/decision",
            new { decision = "allow_once", via = "notification", allowToken }), HttpStatusCode.Forbidden, "NOT_SHOWN_WHOLE");
        await ApiAssert.OkJsonAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{approvalId}/decision",
            new { decision = "allow_once", via = "notification", allowToken }));
        // Deciding ends the question; the turn that follows notifies as "turn finished".
        await events.WaitForAsync("turn.completed");
        var finished = phoneKeys.Decrypt(await push.NextAsync("/push/phone"));
        Assert.Equal("turn.finished", finished.GetProperty("event").GetString());
        Assert.Contains("Written.", finished.GetProperty("body").GetString());

        var deliveries = (await world.Http.GetOkAsync("/api/notifications")).GetProperty("deliveries");
        Assert.Contains(deliveries.EnumerateArray(), d => d.GetProperty("event").GetString() == "approval.requested" && d.GetProperty("outcome").GetString() == "sent");
        var phoneChannel = (await world.Http.GetOkAsync("/api/devices")).EnumerateArray().Single(d => d.GetProperty("current").GetBoolean())
            .GetProperty("notifications").EnumerateArray().Single();
        Assert.Equal("web_push", phoneChannel.GetProperty("kind").GetString());
        Assert.Equal("127.0.0.1", phoneChannel.GetProperty("host").GetString());
        Assert.NotEqual(JsonValueKind.Null, phoneChannel.GetProperty("lastSuccessAt").ValueKind);
    }

    [Fact]
    public async Task DeviceLookingAtTheApp_NotPushed_UnlessItMissesTheQuestion()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var push = await PushServiceStub.StartAsync();
        await using var world = await AgentWorld.ClaudeAsync(clock);
        using var keys = new BrowserKeys();

        // The phone looks at the dashboard: every question reaches its stream. (Only questions notify in this test.)
        var phone = world.Phone;
        await PutOkAsync(phone.Http, "/api/notifications/settings", Settings(turnFinished: false));
        await PutOkAsync(phone.Http, "/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/phone")));
        await PostNoContentAsync(phone.Http, "/api/notifications/presence", new { visible = true });
        await using var dashboard = await SseClient.ConnectAsync(phone.Http, "/api/events?tail=true");

        // The laptop has the app open too, but on a session that will not ask: its stream never carries the question.
        var laptop = await world.Server.PairAsync("laptop");
        await PutOkAsync(laptop.Http, "/api/notifications/settings", Settings(turnFinished: false));
        await PutOkAsync(laptop.Http, "/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/laptop")));
        world.Model.Enqueue(ScriptedReply.Text("Nothing to do."));
        var quiet = await world.StartSessionAsync("say hello");
        await using var laptopStream = await SseClient.ConnectAsync(laptop.Http, $"/api/sessions/{quiet}/events");
        await laptopStream.WaitForAsync("turn.completed");
        await PostNoContentAsync(laptop.Http, "/api/notifications/presence", new { visible = true });

        // The tablet is in a drawer: pushed at once.
        var tablet = await world.Server.PairAsync("tablet");
        await PutOkAsync(tablet.Http, "/api/notifications/settings", Settings(turnFinished: false));
        await PutOkAsync(tablet.Http, "/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/tablet")));

        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo asked > asked.txt", description = "Write" }));
        var asking = await world.StartSessionAsync("write asked.txt");
        var suppressed = new List<string>();
        while (suppressed.Count < 2)
        {
            var delivery = await dashboard.WaitForAsync(e => e.Event == "notification.delivery" && e.Str("outcome") == "suppressed" && !suppressed.Contains(e.Str("deviceId")!));
            suppressed.Add(delivery.Str("deviceId")!);
        }

        Assert.Equal(new[] { laptop.DeviceId, phone.DeviceId }.Order(), suppressed.Order());
        Assert.Equal("approval.requested", keys.Decrypt(await push.NextAsync("/push/tablet")).GetProperty("event").GetString());

        // Past the escalation delay the laptop, which never saw it, is pushed; the phone, which did, is not.
        clock.Advance(TimeSpan.FromSeconds(31));
        var escalated = keys.Decrypt(await push.NextAsync("/push/laptop"));
        Assert.Equal("approval.requested", escalated.GetProperty("event").GetString());
        Assert.Contains("echo asked", escalated.GetProperty("body").GetString());
        Assert.Equal(0, push.Waiting("/push/phone"));
        var phoneRecord = (await phone.Http.GetOkAsync("/api/notifications")).GetProperty("deliveries").EnumerateArray()
            .Where(d => d.GetProperty("subject").GetString() is { } subject && subject != quiet).ToList();
        Assert.All(phoneRecord, d => Assert.Equal("suppressed", d.GetProperty("outcome").GetString()));
        Assert.NotEmpty(phoneRecord);
        _ = asking;
    }

    [Fact]
    public async Task ProjectTimeout_LastCallBeforeTheQuestionIsDenied()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var push = await PushServiceStub.StartAsync();
        await using var world = await AgentWorld.ClaudeAsync(clock);
        using var keys = new BrowserKeys();
        await PutOkAsync(world.Http, "/api/notifications/settings", Settings(turnFinished: false));
        await PutOkAsync(world.Http, "/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/phone")));
        await ApiAssert.OkJsonAsync(await world.Http.PatchAsJsonAsync($"/api/projects/{world.ProjectId}", new { approvalTimeoutSeconds = 120 }));
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo late > late.txt", description = "Write" }), ScriptedReply.Text("Timed out."));

        var sessionId = await world.StartSessionAsync("write late.txt");
        Assert.Equal("approval.requested", keys.Decrypt(await push.NextAsync("/push/phone")).GetProperty("event").GetString());

        // 120 s: a quarter (30 s) before the end, the phone hears it is about to be denied.
        clock.Advance(TimeSpan.FromSeconds(89));
        Assert.Equal(0, push.Waiting("/push/phone"));
        clock.Advance(TimeSpan.FromSeconds(2));
        var warning = keys.Decrypt(await push.NextAsync("/push/phone"));
        Assert.Equal("approval.expiring", warning.GetProperty("event").GetString());
        Assert.Contains("Denied in 30 s unless you decide: ", warning.GetProperty("body").GetString());
        Assert.True(warning.GetProperty("actions").GetBoolean());
        Assert.True(warning.TryGetProperty("allowToken", out _));
        Assert.Equal($"/s/{sessionId}", warning.GetProperty("url").GetString());
    }

    [Fact]
    public async Task CutOrDisguisedCommand_NotificationOffersOnlyDeny_AndTheServerRefusesAnAllowFromIt()
    {
        await using var push = await PushServiceStub.StartAsync();
        await using var world = await AgentWorld.ClaudeAsync();
        using var keys = new BrowserKeys();
        await PutOkAsync(world.Http, "/api/notifications/settings", Settings(turnFinished: false));
        await PutOkAsync(world.Http, "/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/phone")));
        // What the notification shows of the first (180 characters) is harmless; what runs after it is not. The second is
        // short, but a right-to-left override makes it read as something else.
        var cut = $"echo {new string('a', 180)}; touch PWNED";
        var disguised = "echo ok \u202E; touch PWNED2 #";
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = cut, description = "Print" }),
            ScriptedReply.ToolUse("Bash", new { command = disguised, description = "Print" }), ScriptedReply.Text("Denied both."));
        var sessionId = await world.StartSessionAsync("print a line");
        await using var events = await world.EventsAsync(sessionId);

        foreach (var command in new[] { cut, disguised })
        {
            var approvalId = (await events.WaitForAsync("approval.requested")).Str("approvalId")!;
            var message = keys.Decrypt(await push.NextAsync("/push/phone"));
            Assert.Equal(approvalId, message.GetProperty("approvalId").GetString());
            Assert.Equal(command, (await world.Http.GetOkAsync($"/api/approvals/{approvalId}")).GetProperty("input").GetProperty("command").GetString());
            var body = message.GetProperty("body").GetString()!;
            Assert.EndsWith("(Not shown whole: allow it in the app.)", body, StringComparison.Ordinal);
            Assert.DoesNotContain("\u202E", body, StringComparison.Ordinal);
            // Deny only: no token to allow with.
            Assert.True(message.GetProperty("actions").GetBoolean());
            Assert.False(message.TryGetProperty("allowToken", out _));

            // An allow that says it came from the notification is refused, without a token or with a made-up one.
            foreach (var forged in new object[] { new { decision = "allow_once", via = "notification" },
                         new { decision = "allow_once", via = "notification", allowToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } })
            {
                await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{approvalId}/decision", forged),
                    HttpStatusCode.Forbidden, "NOT_SHOWN_WHOLE");
            }

            Assert.Equal("pending", (await world.Http.GetOkAsync($"/api/approvals/{approvalId}")).GetProperty("status").GetString());
            await ApiAssert.OkJsonAsync(await world.Http.PostAsJsonAsync($"/api/approvals/{approvalId}/decision", new { decision = "deny", via = "notification" }));
        }

        await events.WaitForAsync("turn.completed");
        Assert.False(File.Exists(Path.Combine(world.Repository, "PWNED")));
        Assert.False(File.Exists(Path.Combine(world.Repository, "PWNED2")));
    }

    [Fact]
    public async Task ExpiredOrFailingChannels_RemovedOrShown_OnDevicesAndInHealth_RevokedDeviceLosesItsChannels()
    {
        await using var push = await PushServiceStub.StartAsync();
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync("phone");
        using var keys = new BrowserKeys();

        var none = await phone.Http.PostAsync("/api/notifications/test", null);
        await ApiAssert.ProblemAsync(none, HttpStatusCode.Conflict, "NO_NOTIFICATION_CHANNEL");

        // 410 Gone: the browser dropped the subscription. It is removed, and the test says so.
        await PutOkAsync(phone.Http, "/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/gone")));
        push.Answer("/push/gone", HttpStatusCode.Gone);
        var gone = (await phone.Http.PostOkAsync("/api/notifications/test", new { })).EnumerateArray().Single();
        Assert.Equal("expired", gone.GetProperty("outcome").GetString());
        Assert.Equal(410, gone.GetProperty("status").GetInt32());
        Assert.Empty(MyDevice(await phone.Http.GetOkAsync("/api/devices")).GetProperty("notifications").EnumerateArray());

        // 403 (a VAPID key the push service no longer accepts, say): kept, with the failure where the owner looks.
        await PutOkAsync(phone.Http, "/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/refused")));
        push.Answer("/push/refused", HttpStatusCode.Forbidden);
        var refused = (await phone.Http.PostOkAsync("/api/notifications/test", new { })).EnumerateArray().Single();
        Assert.Equal("failed", refused.GetProperty("outcome").GetString());
        var channel = MyDevice(await phone.Http.GetOkAsync("/api/devices")).GetProperty("notifications").EnumerateArray().Single();
        Assert.Equal(403, channel.GetProperty("lastStatus").GetInt32());
        Assert.StartsWith("HTTP 403", channel.GetProperty("lastError").GetString());
        Assert.Equal(1, channel.GetProperty("failures").GetInt32());
        var health = await server.Anonymous.GetFromJsonAsync<JsonElement>("/api/health");
        Assert.Contains(health.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("Notifications to 1 device are failing"));
        Assert.DoesNotContain("refused", health.GetRawText());

        // Working again: the failure clears, and so does the warning.
        push.Answer("/push/refused", HttpStatusCode.Created);
        Assert.Equal("sent", (await phone.Http.PostOkAsync("/api/notifications/test", new { })).EnumerateArray().Single().GetProperty("outcome").GetString());
        Assert.Equal("test", keys.Decrypt(await push.NextAsync("/push/refused")).GetProperty("event").GetString());
        health = await server.Anonymous.GetFromJsonAsync<JsonElement>("/api/health");
        Assert.DoesNotContain(health.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("Notifications"));

        // A revoked device loses its channels with its token.
        var tablet = await server.PairAsync("tablet");
        await PutOkAsync(tablet.Http, "/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/tablet")));
        Assert.Equal(HttpStatusCode.NoContent, (await phone.Http.DeleteAsync($"/api/devices/{tablet.DeviceId}")).StatusCode);
        var revoked = (await phone.Http.GetOkAsync("/api/devices")).EnumerateArray().Single(d => d.GetProperty("id").GetString() == tablet.DeviceId);
        Assert.Empty(revoked.GetProperty("notifications").EnumerateArray());
    }

    [Fact]
    public async Task CommandFinished_OnlyWhenOptedIn_SilentInQuietHours()
    {
        await using var push = await PushServiceStub.StartAsync();
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync("phone");
        using var keys = new BrowserKeys();
        var repository = TempPaths.NewGitRepository();
        try
        {
            var project = (await phone.Http.PostOkAsync("/api/projects", new { path = repository, name = "demo" })).GetProperty("id").GetString();
            await PutOkAsync(phone.Http, "/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/phone")));

            var first = (await phone.Http.PostOkAsync($"/api/projects/{project}/commands", new { command = "echo not-opted-in" })).GetProperty("id").GetString();
            await using (var output = await SseClient.ConnectAsync(phone.Http, $"/api/commands/{first}/events"))
            {
                await output.WaitForAsync("exit");
            }

            // Opting in, with quiet hours around now: the next one arrives, without sound.
            var now = DateTimeOffset.UtcNow;
            await PutOkAsync(phone.Http, "/api/notifications/settings", Settings(commandFinished: true,
                quietHours: new { start = now.AddHours(-1).ToString("HH:mm"), end = now.AddHours(1).ToString("HH:mm"), timeZone = "UTC" }));
            await phone.Http.PostOkAsync($"/api/projects/{project}/commands", new { command = "echo opted-in" });

            var request = await push.NextAsync("/push/phone");
            var message = keys.Decrypt(request);
            Assert.Equal("command.finished", message.GetProperty("event").GetString());
            Assert.Contains("`echo opted-in` exited 0", message.GetProperty("body").GetString());
            Assert.True(message.GetProperty("silent").GetBoolean());
            Assert.Equal("low", request.Header("Urgency"));
            Assert.Equal(0, push.Waiting("/push/phone"));
        }
        finally
        {
            TempPaths.Delete(repository);
        }
    }

    [Fact]
    public async Task BadChannelsAndSettings_ClearProblems()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync("phone");
        using var keys = new BrowserKeys();
        var good = (JsonElement)JsonSerializer.SerializeToElement(keys.Subscription("https://push.example/abc"));

        foreach (var endpoint in new[] { "http://push.example/abc", "https://user:secret@push.example/abc", "ftp://push.example/", "not a url" })
        {
            await ApiAssert.ProblemAsync(await phone.Http.PutAsJsonAsync("/api/notifications/web-push", new { endpoint, keys = good.GetProperty("keys") }),
                HttpStatusCode.BadRequest, "PUSH_ENDPOINT_INVALID");
        }

        await ApiAssert.ProblemAsync(await phone.Http.PutAsJsonAsync("/api/notifications/web-push",
            new { endpoint = "https://push.example/abc", keys = new { p256dh = "AAAA", auth = good.GetProperty("keys").GetProperty("auth").GetString() } }),
            HttpStatusCode.BadRequest, "PUSH_KEYS_INVALID");
        await ApiAssert.ProblemAsync(await phone.Http.PutAsJsonAsync("/api/notifications/web-push", new { endpoint = "https://push.example/abc" }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await phone.Http.PutAsJsonAsync("/api/notifications/ntfy", new { topicUrl = "https://ntfy.example/a/b" }),
            HttpStatusCode.BadRequest, "PUSH_ENDPOINT_INVALID");
        await ApiAssert.ProblemAsync(await phone.Http.PutAsJsonAsync("/api/notifications/ntfy", new { topicUrl = "https://ntfy.example/topic", token = "tk with space" }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await phone.Http.PutAsJsonAsync("/api/notifications/settings", Settings(content: "loud")), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await phone.Http.PutAsJsonAsync("/api/notifications/settings",
            Settings(quietHours: new { start = "25:00", end = "07:00", timeZone = "UTC" })), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        foreach (var zone in new[] { "Mars/Olympus_Mons", "../../../etc/passwd", "/etc/localtime" })
        {
            await ApiAssert.ProblemAsync(await phone.Http.PutAsJsonAsync("/api/notifications/settings",
                Settings(quietHours: new { start = "22:00", end = "07:00", timeZone = zone })), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        }

        // An https endpoint and a loopback ntfy are fine; the settings round-trip.
        await PutOkAsync(phone.Http, "/api/notifications/web-push", keys.Subscription("https://push.example/abc"));
        await PutOkAsync(phone.Http, "/api/notifications/ntfy", new { topicUrl = "http://127.0.0.1:9/alerts" });
        await PutOkAsync(phone.Http, "/api/notifications/settings", Settings(content: "private", quietHours: new { start = "22:00", end = "07:00", timeZone = "Europe/Berlin" }));
        var saved = await phone.Http.GetOkAsync("/api/notifications");
        Assert.Equal("private", saved.GetProperty("settings").GetProperty("content").GetString());
        Assert.Equal("Europe/Berlin", saved.GetProperty("settings").GetProperty("quietHours").GetProperty("timeZone").GetString());
        Assert.Equal(2, saved.GetProperty("channels").GetArrayLength());
        Assert.DoesNotContain("abc", saved.GetProperty("channels").GetRawText());
    }

    private static object Settings(string content = "summary", bool commandFinished = false, object? quietHours = null, bool turnFinished = true) => new
    {
        content,
        turnFinished,
        sessionFailed = true,
        commandFinished,
        timeoutApproaching = true,
        quietHours,
    };

    private static JsonElement MyDevice(JsonElement devices) => devices.EnumerateArray().Single(d => d.GetProperty("current").GetBoolean());

    private static async Task PutOkAsync(HttpClient http, string path, object body) =>
        await ApiAssert.OkJsonAsync(await http.PutAsJsonAsync(path, body));

    private static async Task PostNoContentAsync(HttpClient http, string path, object body)
    {
        var response = await http.PostAsJsonAsync(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, await response.Content.ReadAsStringAsync());
    }

    /// <summary>RFC 8292: an ES256 JWT for the push service's origin, short-lived, with a contact, signed by the key in <c>k</c>.</summary>
    internal static void AssertVapid(PushRequest request, Uri pushService, string vapidKey)
    {
        var authorization = request.Header("Authorization");
        Assert.StartsWith("vapid t=", authorization);
        var parts = authorization["vapid ".Length..].Split(", ").ToDictionary(p => p[..1], p => p[2..]);
        Assert.Equal(vapidKey, parts["k"]);
        var jwt = parts["t"].Split('.');
        var header = JsonElement.Parse(Base64UrlText.TryDecode(jwt[0])!);
        var claims = JsonElement.Parse(Base64UrlText.TryDecode(jwt[1])!);
        Assert.Equal("ES256", header.GetProperty("alg").GetString());
        Assert.Equal(pushService.GetLeftPart(UriPartial.Authority), claims.GetProperty("aud").GetString());
        var expires = DateTimeOffset.FromUnixTimeSeconds(claims.GetProperty("exp").GetInt64());
        Assert.InRange(expires, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(24));
        Assert.Matches("^(mailto:|https://)", claims.GetProperty("sub").GetString());

        var point = Base64UrlText.TryDecode(vapidKey)!;
        using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = point[1..33], Y = point[33..] } });
        Assert.True(key.VerifyData(Encoding.ASCII.GetBytes($"{jwt[0]}.{jwt[1]}"), Base64UrlText.TryDecode(jwt[2])!, HashAlgorithmName.SHA256));
    }
}
