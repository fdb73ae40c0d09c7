using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Messages sent while a turn runs, with the REAL Claude Code CLI: they wait in the session's queue (shown, editable,
/// removable) and each becomes a turn of its own, in order, after the one before ends. A removed one never reaches the
/// model; an edited one reaches it as edited. A cancelled turn holds the queue until the owner lets it go on, and a
/// restart loses nothing queued.
/// </summary>
public sealed class MessageQueueTests
{
    [Fact]
    public async Task ThreeDuringATurn_RunInOrder_TheRemovedOneNever_TheEditedOneAsEdited()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var release = new TaskCompletionSource();
        world.Model.Enqueue(ScriptedReply.Held(release.Task, "Long job done."), ScriptedReply.Text("Reply to one."), ScriptedReply.Text("Reply to three."));
        var session = await world.StartSessionAsync("Start the long job");
        await using var events = await world.EventsAsync(session, lastEventId: "0");
        using (var waiting = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
        {
            await world.Model.WaitForRequestAsync(r => r.Contains("Start the long job"), waiting.Token);
        }

        var one = await QueueAsync(world, session, "message one", clientId: "outbox-0001");
        // The same message again with its key (an outbox that lost the answer, or sent it from two tabs): taken once (#51).
        var again = await world.Http.PostAsJsonAsync($"/api/sessions/{session}/messages", new { text = "message one", clientId = "outbox-0001" });
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.True((await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("duplicate").GetBoolean());
        var two = await QueueAsync(world, session, "message two");
        var three = await QueueAsync(world, session, "message three");
        Assert.Equal(["message one", "message two", "message three"], Texts(await world.Http.GetOkAsync($"/api/sessions/{session}/queue")));

        var edited = await world.Http.PatchOkAsync($"/api/sessions/{session}/queue/{three}", new { text = "message three, edited" });
        Assert.Equal("message three, edited", edited.GetProperty("text").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"/api/sessions/{session}/queue/{two}")).StatusCode);
        await ApiAssert.ProblemAsync(await world.Http.DeleteAsync($"/api/sessions/{session}/queue/{two}"), HttpStatusCode.NotFound, "QUEUED_MESSAGE_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.PatchAsJsonAsync($"/api/sessions/{session}/queue/{one}", new { text = " " }),
            HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        // Every device sees the queue as it now is.
        var shown = await events.WaitForAsync(e => e.Event == "queue.updated" && Texts(e.Json).SequenceEqual(["message one", "message three, edited"]));
        Assert.False(shown.Json.GetProperty("held").GetBoolean());

        release.SetResult();
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Reply to three.");
        await events.WaitForAsync("turn.completed");

        Assert.Equal(["Start the long job", "message one", "message three, edited"],
            events.Received.Where(e => e.Event == "message.user").Select(e => e.Str("text")!));
        Assert.Equal(3, events.Received.Count(e => e.Event == "turn.completed"));
        // Each queued message began its own turn: it came after the turn before had ended.
        var seqOf = (string kind, string text) => events.Received.First(e => e.Event == kind && e.Str("text") == text).Id;
        Assert.True(seqOf("message", "Long job done.") < seqOf("message.user", "message one"));
        Assert.True(seqOf("message", "Reply to one.") < seqOf("message.user", "message three, edited"));
        Assert.DoesNotContain(world.Model.Requests, r => r.Contains("message two"));
        Assert.DoesNotContain(world.Model.Requests, r => r.Contains("message three") && !r.Contains("message three, edited"));
        Assert.Empty(Texts(await world.Http.GetOkAsync($"/api/sessions/{session}/queue")));
        await ApiAssert.ProblemAsync(await world.Http.PatchAsJsonAsync($"/api/sessions/{session}/queue/{one}", new { text = "too late" }),
            HttpStatusCode.NotFound, "QUEUED_MESSAGE_NOT_FOUND");
    }

    [Fact]
    public async Task ACancelledTurn_HoldsTheQueue_ARestartKeepsIt_RunLetsItGoOn()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var never = new TaskCompletionSource();
        long heldBeforeRestart;
        // A first exchange the agent keeps, so there is a conversation to come back to after the restart.
        world.Model.Enqueue(ScriptedReply.Text("Ready."), ScriptedReply.Held(never.Task, "Never said."));
        var session = await world.StartSessionAsync("Get ready");
        await using (var events = await world.EventsAsync(session, lastEventId: "0"))
        {
            await events.WaitForAsync("turn.completed");
            await world.SendAsync(session, "Start something I will stop");
            using (var waiting = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
            {
                await world.Model.WaitForRequestAsync(r => r.Contains("Start something I will stop"), waiting.Token);
            }

            await QueueAsync(world, session, "after the stop");
            await world.CancelAsync(session);
            await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > events.Received.First(m => m.Event == "message.user" && m.Str("text") == "Start something I will stop").Id);
            var held = await events.WaitForAsync(e => e.Event == "queue.updated" && e.Json.GetProperty("held").GetBoolean());
            Assert.Equal(["after the stop"], Texts(held.Json));
            heldBeforeRestart = held.Id;
        }

        var queue = await world.Http.GetOkAsync($"/api/sessions/{session}/queue");
        Assert.True(queue.GetProperty("held").GetBoolean());
        Assert.Equal(["after the stop"], Texts(queue));

        await world.RestartServerAsync();
        never.SetResult();
        queue = await world.Http.GetOkAsync($"/api/sessions/{session}/queue");
        Assert.True(queue.GetProperty("held").GetBoolean());
        Assert.Equal(["after the stop"], Texts(queue));

        world.Model.Enqueue(ScriptedReply.Text("Done after the stop."));
        await using var after = await world.EventsAsync(session, lastEventId: "0");
        // The restart says so to every device: the queue is held until someone lets it go on.
        var announced = await after.WaitForAsync(e => e.Event == "queue.updated" && e.Id > heldBeforeRestart);
        Assert.True(announced.Json.GetProperty("held").GetBoolean());
        Assert.Equal(["after the stop"], Texts(announced.Json));
        var run = await world.Http.PostAsync($"/api/sessions/{session}/queue/run", null);
        Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);
        Assert.True((await run.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("started").GetBoolean());
        var reply = await after.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done after the stop.");
        await after.WaitForAsync(e => e.Event == "turn.completed" && e.Id > reply.Id);
        Assert.Empty(Texts(await world.Http.GetOkAsync($"/api/sessions/{session}/queue")));
        Assert.Single(world.Model.Requests, r => r.ConsumedScript && r.Contains("after the stop"));
    }

    [Fact]
    public async Task RevokedDevice_ItsQueuedMessageIsHeld_NothingBehindItStarts_UntilAnotherDeviceConfirmsIt()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        var laptop = await world.Server.PairAsync("laptop");
        var release = new TaskCompletionSource();
        world.Model.Enqueue(ScriptedReply.Held(release.Task, "Long job done."), ScriptedReply.Text("Reply to the laptop."), ScriptedReply.Text("Reply to the phone."));
        var session = await world.StartSessionAsync("Start the long job");
        await using var events = await world.EventsAsync(session, lastEventId: "0");
        using (var waiting = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
        {
            await world.Model.WaitForRequestAsync(r => r.Contains("Start the long job"), waiting.Token);
        }

        var fromLaptop = await QueueAsync(laptop.Http, session, "message from the laptop");
        await QueueAsync(world.Http, session, "message from the phone");

        // Revoked: the laptop's message stays in its place, held, and says why; every device is told.
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"/api/devices/{laptop.DeviceId}")).StatusCode);
        var held = await events.WaitForAsync(e => e.Event == "queue.updated" && HeldReason(e.Json, 0) is not null);
        Assert.Equal(["message from the laptop", "message from the phone"], Texts(held.Json));
        Assert.Contains("\"laptop\"", HeldReason(held.Json, 0), StringComparison.Ordinal);
        Assert.Null(HeldReason(held.Json, 1));
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=100")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "queue.held" && e.GetProperty("subject").GetString() == fromLaptop);

        // The turn ends: neither it nor the phone's message behind it starts (asked outright: nothing to start).
        release.SetResult();
        await events.WaitForAsync("turn.completed");
        var run = await world.Http.PostAsync($"/api/sessions/{session}/queue/run", null);
        Assert.False((await run.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("started").GetBoolean());

        // The phone confirms it: it starts in its place, then the phone's own.
        var confirmed = await world.Http.PostOkAsync($"/api/sessions/{session}/queue/{fromLaptop}/confirm", new { });
        Assert.Equal(JsonValueKind.Null, confirmed.GetProperty("heldReason").ValueKind);
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Reply to the phone.");
        var confirmedAt = events.Received.First(e => e.Event == "queue.updated" && e.Id > held.Id && HeldReason(e.Json, 0) is null && Texts(e.Json).Count == 2).Id;
        var laptopTurn = events.Received.First(e => e.Event == "message.user" && e.Str("text") == "message from the laptop");
        var phoneTurn = events.Received.First(e => e.Event == "message.user" && e.Str("text") == "message from the phone");
        Assert.True(confirmedAt < laptopTurn.Id && laptopTurn.Id < phoneTurn.Id);
        Assert.Equal("laptop", laptopTurn.Str("sentBy"));
        await ApiAssert.ProblemAsync(await world.Http.PostAsJsonAsync($"/api/sessions/{session}/queue/{fromLaptop}/confirm", new { }),
            HttpStatusCode.NotFound, "QUEUED_MESSAGE_NOT_FOUND");
        ledger = (await world.Http.GetOkAsync("/api/ledger?limit=100")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "queue.confirmed" && e.GetProperty("subject").GetString() == fromLaptop
            && e.GetProperty("actor").GetString() == "test phone");
    }

    // A queue update may list fewer (the first prompt waits in the queue too, until the agent is up).
    private static string? HeldReason(JsonElement queue, int index) =>
        queue.GetProperty("messages").GetArrayLength() > index
        && queue.GetProperty("messages")[index].TryGetProperty("heldReason", out var reason) && reason.ValueKind == JsonValueKind.String ? reason.GetString() : null;

    private static Task<string> QueueAsync(AgentWorld world, string session, string text, string? clientId = null) =>
        QueueAsync(world.Http, session, text, clientId);

    private static async Task<string> QueueAsync(HttpClient http, string session, string text, string? clientId = null)
    {
        var response = await http.PostAsJsonAsync($"/api/sessions/{session}/messages", new { text, clientId });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var queued = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("queued");
        Assert.Equal(JsonValueKind.Object, queued.ValueKind);
        Assert.Equal(text, queued.GetProperty("text").GetString());
        return queued.GetProperty("id").GetString()!;
    }

    private static List<string> Texts(JsonElement queue) =>
        [.. queue.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("text").GetString()!)];
}
