using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Notifications;
using PocketCoder.Teams;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Notifications;

/// <summary>
/// The server's own requests go only where an owner said (issue #68, item 5): a viewer cannot turn a push subscription and
/// its push relay into a way of making the server POST chosen bytes to a port of this machine.
/// </summary>
public sealed class OutboundTests
{
    [Fact]
    public async Task ViewersLoopbackSubscription_IsRefused_NoRelayIsMade_AndTheLoopbackListenerGetsNothing()
    {
        // Something on this machine's loopback that a viewer would like to reach (or learn that it answers).
        await using var target = await PushServiceStub.StartAsync();
        // Its owner listed no push host: loopback is no push service.
        await using var server = await TestServer.StartAsync(pushHosts: []);
        var viewer = await server.PairPersonAsync("Vic", Role.Viewer);
        using var keys = new BrowserKeys();

        var saved = await viewer.Http.PutAsJsonAsync("/api/notifications/web-push", keys.Subscription(target.Endpoint("/x")));
        var created = await viewer.Http.PostAsJsonAsync("/api/push/relays", new { label = "anything" });
        if (created.IsSuccessStatusCode)
        {
            // What anyone holding the relay's secret could then do, as often as the relay's pace allows.
            var relay = await created.Content.ReadFromJsonAsync<JsonElement>();
            await RelayAsync(server, relay.GetProperty("url").GetString()!, relay.GetProperty("secret").GetString()!, keys);
        }

        Assert.Equal(0, target.Waiting("/x"));
        Assert.False(target.Connections.Reader.TryRead(out _));
        await ApiAssert.ProblemAsync(saved, HttpStatusCode.UnprocessableEntity, "PUSH_ENDPOINT_NOT_ALLOWED");
        await ApiAssert.ProblemAsync(created, HttpStatusCode.Conflict, "NO_NOTIFICATION_CHANNEL");
    }

    [Fact]
    public async Task AnNtfyTopic_IsSetByOwnersOnly_AsTheRightsTableSays()
    {
        await using var target = await PushServiceStub.StartAsync();
        await using var server = await TestServer.StartAsync(pushHosts: []);
        var topic = new { topicUrl = target.Endpoint("/alerts") };
        foreach (var role in new[] { Role.Viewer, Role.Operator, Role.Approver })
        {
            var member = await server.PairPersonAsync($"M{(int)role}", role);
            await ApiAssert.ProblemAsync(await member.Http.PutAsJsonAsync("/api/notifications/ntfy", topic), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
            // ...and the app is not offered the form it would be refused.
            var offered = await ApiAssert.OkJsonAsync(await member.Http.GetAsync("/api/notifications"));
            Assert.False(offered.GetProperty("offers").GetProperty("ntfy").GetBoolean());
        }

        // An owner's self-hosted ntfy beside the machine is their word, listed host or not.
        var owner = await server.PairAsync("owner's phone");
        var ownersOffers = await ApiAssert.OkJsonAsync(await owner.Http.GetAsync("/api/notifications"));
        Assert.True(ownersOffers.GetProperty("offers").GetProperty("ntfy").GetBoolean());
        await ApiAssert.OkJsonAsync(await owner.Http.PutAsJsonAsync("/api/notifications/ntfy", topic));
        var tested = await ApiAssert.OkJsonAsync(await owner.Http.PostAsync("/api/notifications/test", null));
        Assert.Equal("sent", tested.EnumerateArray().Single().GetProperty("outcome").GetString());
        Assert.Equal(1, target.Waiting("/"));
    }

    [Fact]
    public async Task RowsSavedBeforeThePolicy_SendNothing_ThroughTheirRelay_OrATest_NorAViewersNtfy()
    {
        await using var target = await PushServiceStub.StartAsync();
        await using var server = await TestServer.StartAsync(pushHosts: []);
        var viewer = await server.PairPersonAsync("Vic", Role.Viewer);
        using var keys = new BrowserKeys();
        var endpoint = target.Endpoint("/x");
        var p256dh = System.Buffers.Text.Base64Url.EncodeToString(WebPushCrypto.PublicKeyBytes(keys.Key));
        var store = server.Services.GetRequiredService<NotificationStore>();
        store.SaveChannel(viewer.DeviceId, ChannelKinds.WebPush, endpoint, p256dh, System.Buffers.Text.Base64Url.EncodeToString(keys.Auth), null);
        store.SaveChannel(viewer.DeviceId, ChannelKinds.Ntfy, target.Endpoint("/topic"), null, null, null);
        var (relay, secret) = server.Services.GetRequiredService<PushRelays>().Create(viewer.DeviceId, endpoint, "old");

        await ApiAssert.ProblemAsync(await RelayAsync(server, new Uri(server.BaseUrl, $"/api/push/relays/{relay.Id}").ToString(), secret, keys),
            HttpStatusCode.UnprocessableEntity, "PUSH_ENDPOINT_NOT_ALLOWED");
        await ApiAssert.ProblemAsync(await viewer.Http.PostAsJsonAsync("/api/push/relays", new { label = "new" }),
            HttpStatusCode.UnprocessableEntity, "PUSH_ENDPOINT_NOT_ALLOWED");
        var tested = await ApiAssert.OkJsonAsync(await viewer.Http.PostAsync("/api/notifications/test", null));
        Assert.Equal(2, tested.GetArrayLength());
        Assert.All(tested.EnumerateArray(), d => Assert.Equal("failed", d.GetProperty("outcome").GetString()));
        Assert.Contains(tested.EnumerateArray(), d => d.GetProperty("channel").GetString() == "ntfy" && d.GetProperty("detail").GetString()!.Contains("Only owners"));

        Assert.Equal(0, target.Waiting("/x"));
        Assert.Equal(0, target.Waiting("/"));
        Assert.False(target.Connections.Reader.TryRead(out _));
    }

    [Fact]
    public async Task ANameThatResolvesToLoopback_IsNotDialled_UnlessTheOwnerListedIt()
    {
        // A name passes every check of its text: only the addresses resolved where the connection is made tell.
        await using var target = await PushServiceStub.StartAsync();
        var url = $"http://localhost:{target.BaseUrl.Port}/x";
        using var unlisted = new HttpClient(new SocketsHttpHandler { ConnectCallback = OutboundConnect.PublicOnly(OutboundRules.None) });
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => unlisted.PostAsync(url, null));
        Assert.Contains("no address on the internet", refused.Message);
        Assert.Equal(0, target.Waiting("/x"));

        using var listed = new HttpClient(new SocketsHttpHandler { ConnectCallback = OutboundConnect.PublicOnly(new(["localhost"])) });
        Assert.Equal(HttpStatusCode.Created, (await listed.PostAsync(url, null)).StatusCode);
        Assert.Equal(1, target.Waiting("/x"));
    }

    /// <summary>As another machine posts to a relay: no device token, the relay's secret as a bearer, an encrypted body.</summary>
    internal static async Task<HttpResponseMessage> RelayAsync(TestServer server, string url, string secret, BrowserKeys keys)
    {
        var body = WebPushCrypto.Encrypt("{\"title\":\"hello\"}"u8.ToArray(), WebPushCrypto.PublicKeyBytes(keys.Key), keys.Auth);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Content.Headers.ContentEncoding.Add("aes128gcm");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return await server.Anonymous.SendAsync(request);
    }
}
