using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Notifications;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Notifications;

/// <summary>
/// The first push after a start costs what the others do (issue #40): the server opens its connection to each subscribed
/// push service as it starts, without sending anything, and the first push goes on that connection.
/// </summary>
public sealed class PushWarmupTests
{
    [Fact]
    public async Task AfterARestart_TheConnectionToEachPushServiceIsOpenedWithoutAMessage_AndTheFirstPushUsesIt()
    {
        await using var push = await PushServiceStub.StartAsync();
        var data = TempPaths.NewDirectory("pc-warm");
        try
        {
            await RestartAndPushAsync(push, data);
        }
        finally
        {
            TempPaths.Delete(data);
        }
    }

    private static async Task RestartAndPushAsync(PushServiceStub push, string data)
    {
        using var keys = new BrowserKeys();
        string token;
        await using (var before = await TestServer.StartAsync(data))
        {
            var phone = await before.PairAsync("phone");
            token = phone.Token;
            await ApiAssert.OkJsonAsync(await phone.Http.PutAsJsonAsync("/api/notifications/web-push", keys.Subscription(push.Endpoint("/push/phone"))));
        }

        await using var server = await TestServer.StartAsync(data);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var opened = await push.Connections.Reader.ReadAsync(cancel.Token);
        Assert.Equal("/", opened.Path);
        Assert.False(opened.Headers.ContainsKey("Authorization"));
        Assert.Equal(0, push.Waiting("/push/phone"));
        // The warm-up is over (its rehearsal went to a listener of its own, never to the push service) before the phone asks.
        await server.Services.GetRequiredService<PushWarmup>().Warmed.WaitAsync(cancel.Token);
        Assert.Equal(0, push.Waiting("/push/phone"));

        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        await ApiAssert.OkJsonAsync(await http.PostAsync("/api/notifications/test", null));
        var first = await push.NextAsync("/push/phone");
        Assert.Equal("test", keys.Decrypt(first).GetProperty("event").GetString());
        Assert.Equal(opened.Connection, first.Connection);
        Assert.False(push.Connections.Reader.TryRead(out _));
    }
}
