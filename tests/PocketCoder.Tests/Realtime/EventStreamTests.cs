using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Data;
using PocketCoder.Realtime;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Realtime;

public sealed class EventStreamTests
{
    [Fact]
    public async Task SlowSubscriber_OverflowsItsBuffer_CatchesUpFromTheDatabaseWithoutGaps()
    {
        await using var server = await TestServer.StartAsync(subscriberBuffer: 8);
        var phone = await server.PairAsync();
        var sessionId = CreateSession(server);
        var log = server.Services.GetRequiredService<EventLog>();
        var hub = server.Services.GetRequiredService<EventHub>();
        // The server's own followers (the notifier) are subscribed already; the stream adds exactly one.
        var before = hub.SubscriberCount;
        await using var stream = await SseClient.ConnectAsync(phone.Http, $"/api/sessions/{sessionId}/events");
        await stream.WaitForAsync("session.status");

        // Far faster than the socket drains: the 8-event buffer must overflow many times.
        for (var i = 0; i < 3000; i++)
        {
            log.Append(sessionId, new MessageDeltaEvent($"chunk {i}"));
        }

        await stream.WaitForAsync(e => e.Id == 3001);
        Assert.Equal(Enumerable.Range(1, 3001).Select(i => (long)i), stream.Received.Select(e => e.Id));
        Assert.Equal("chunk 2999", stream.Received[^1].Str("text"));
        Assert.Equal(before + 1, hub.SubscriberCount);
    }

    [Fact]
    public void Hub_SubscriberFallsBehind_MarkedOverflowedNotGrown()
    {
        var hub = new EventHub();
        using var subscription = hub.Subscribe(null, capacity: 4);
        for (var i = 1; i <= 10; i++)
        {
            hub.Publish(new StoredEvent(i, "s", i, "message.delta", "{}", "now"));
        }

        Assert.True(subscription.Overflowed);
        var buffered = 0;
        while (subscription.Reader.TryRead(out _))
        {
            buffered++;
        }

        Assert.Equal(4, buffered);
    }

    [Fact]
    public void Hub_WakeIntoAFullBuffer_IsDroppedNotAnOverflow()
    {
        var hub = new EventHub();
        using var subscription = hub.Subscribe(null, capacity: 2);
        subscription.Wake();
        hub.Publish(new StoredEvent(1, "s", 1, "message.delta", "{}", "now"));
        subscription.Wake();

        Assert.False(subscription.Overflowed);
        Assert.True(subscription.Reader.TryRead(out var wake));
        Assert.Equal(default, wake);
        Assert.True(subscription.Reader.TryRead(out var stored));
        Assert.Equal(1, stored.Stored!.Id);
        Assert.False(subscription.Reader.TryRead(out _));
    }

    [Fact]
    public async Task ClosedStream_LeavesTheHubAtOnce_NotAtItsNextHeartbeat()
    {
        // The stream's wait takes no token: its end must wake it. With a heartbeat an hour away, only that wake can end it.
        await using var server = await TestServer.StartAsync(heartbeat: TimeSpan.FromHours(1));
        var phone = await server.PairAsync();
        var sessionId = CreateSession(server);
        var hub = server.Services.GetRequiredService<EventHub>();
        var before = hub.SubscriberCount;
        var stream = await SseClient.ConnectAsync(phone.Http, $"/api/sessions/{sessionId}/events");
        await stream.WaitForAsync("session.status");
        Assert.Equal(before + 1, hub.SubscriberCount);

        await stream.DisposeAsync();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (hub.SubscriberCount > before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(before, hub.SubscriberCount);
    }

    [Fact]
    public async Task BusyStream_StillSendsHeartbeats()
    {
        await using var server = await TestServer.StartAsync(heartbeat: TimeSpan.FromMilliseconds(100));
        var phone = await server.PairAsync();
        var sessionId = CreateSession(server);
        var log = server.Services.GetRequiredService<EventLog>();
        await using var stream = await SseClient.ConnectAsync(phone.Http, $"/api/sessions/{sessionId}/events");
        await stream.WaitForAsync("session.status");
        using var stop = new CancellationTokenSource();
        var busy = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                log.Append(sessionId, new MessageDeltaEvent($"chunk {i}"));
                await Task.Delay(5);
            }
        });

        // The connect comment, then heartbeats among the events.
        await stream.WaitForCommentsAsync(3);
        await stop.CancelAsync();
        await busy;
    }

    [Fact]
    public async Task IdleStream_SendsHeartbeats()
    {
        await using var server = await TestServer.StartAsync(heartbeat: TimeSpan.FromMilliseconds(100));
        var phone = await server.PairAsync();
        await using var stream = await SseClient.ConnectAsync(phone.Http, "/api/events");
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        // The connect comment, then heartbeats.
        await stream.WaitForCommentsAsync(4);
    }

    [Fact]
    public async Task DashboardStream_CarriesEverySession_ResumesByGlobalId()
    {
        await using var server = await TestServer.StartAsync();
        var phone = await server.PairAsync();
        var first = CreateSession(server);
        var second = CreateSession(server);
        var log = server.Services.GetRequiredService<EventLog>();
        log.Append(first, new MessageEvent("from first"));
        log.Append(second, new MessageEvent("from second"));

        await using var all = await SseClient.ConnectAsync(phone.Http, "/api/events");
        var fromSecond = await all.WaitForAsync(e => e.Str("text") == "from second");
        Assert.Contains(all.Received, e => e.Str("sessionId") == first);
        Assert.Equal(second, fromSecond.Str("sessionId"));

        await using var resumed = await SseClient.ConnectAsync(phone.Http, "/api/events", lastEventId: (fromSecond.Id - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(fromSecond.Id, (await resumed.NextAsync()).Id);
    }

    /// <summary>A session row without an agent: enough for the event log.</summary>
    private static string CreateSession(TestServer server)
    {
        var repository = TempPaths.NewDirectory("pc-events");
        var project = server.Services.GetRequiredService<PocketCoder.Projects.ProjectStore>().Add(repository, "events", PocketCoder.Auth.Actor.System);
        var sessions = server.Services.GetRequiredService<PocketCoder.Sessions.SessionStore>();
        return server.Services.GetRequiredService<Database>().Write(write => sessions.Create(write, project.Id, "claude-code", null, "ask", null)).Id;
    }
}
