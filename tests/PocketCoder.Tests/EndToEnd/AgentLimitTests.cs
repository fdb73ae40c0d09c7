using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Sessions;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// The line for agent slots around sessions, with a fake agent (the real Claude CLI's part is in
/// <see cref="PausedWaitTests"/>): what waits keeps every message, in order, a stop takes a session out of line, a cancel
/// takes a resumed one out without stopping it, and a restart leaves nothing saying "queued" with nobody to start it.
/// </summary>
public sealed class AgentLimitTests
{
    [Fact]
    public async Task InLine_MessagesWait_AStopLeavesTheLine_TheNextStartsAsTheRunningOneFinishes_WhichIsSuspendedForIt()
    {
        var (fake, finish) = HoldingTurn("first");
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.FakeAsync(fake, clock);
        (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 1 })).EnsureSuccessStatusCode();
        var first = await world.StartSessionAsync("first");
        await using var firstEvents = await world.EventsAsync(first);

        var second = await CreateQueuedAsync(world, "second");
        await world.SendAsync(second, "second, again");
        var third = await CreateQueuedAsync(world, "third");
        Assert.Contains("(2nd in line)", await ReasonAsync(world, third), StringComparison.Ordinal);

        // The third is stopped while in line: it never starts, and the second stays first.
        (await world.Http.DeleteAsync($"/api/sessions/{third}")).EnsureSuccessStatusCode();
        Assert.Equal("stopped", (await world.SessionAsync(third)).GetProperty("status").GetString());
        var resources = await world.Http.GetOkAsync("/api/resources");
        Assert.Equal([second], resources.GetProperty("queued").EnumerateArray().Select(q => q.GetString()));
        Assert.Equal("queued", (await world.SessionAsync(second)).GetProperty("status").GetString());

        // The first finishes its turn: kept a moment for its owner's next message, then suspended for the line (nothing cut
        // short), and its slot is the second's, which runs its prompt, then what was sent while it waited.
        await using var secondEvents = await world.EventsAsync(second);
        finish.SetResult();
        var done = await firstEvents.WaitForAsync("turn.completed");
        await firstEvents.WaitForAsync(e => e.Id > done.Id && e.Event == "session.status" && e.Str("status") == "idle");
        Assert.Equal("queued", (await world.SessionAsync(second)).GetProperty("status").GetString());
        clock.Advance(TimeSpan.FromMinutes(1));
        await firstEvents.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Live.Suspensions.SuspendedForTheLine);
        await secondEvents.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: second");
        var again = await secondEvents.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: second, again");
        var secondDone = await secondEvents.WaitForAsync(e => e.Id > again.Id && e.Event == "turn.completed");
        await secondEvents.WaitForAsync(e => e.Id > secondDone.Id && e.Event == "session.status" && e.Str("status") == "idle");
        Assert.Equal(2, fake.Starts);

        // The first's next message brings it back, conversation kept, once the second (its turns over) makes room in its turn.
        await world.SendAsync(first, "first, later");
        clock.Advance(TimeSpan.FromMinutes(1));
        await firstEvents.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: first, later");
        await secondEvents.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Live.Suspensions.SuspendedForTheLine);
        Assert.Equal(3, fake.Starts);
        Assert.Equal(fake.Started[0].AgentSessionId, fake.Started[2].Options!.ResumeAgentSessionId);
        Assert.Equal(1, (await world.Http.GetOkAsync("/api/resources")).GetProperty("running").GetInt32());
    }

    [Fact]
    public async Task AStartInLineThatBreaks_TheSessionFailsSayingWhy_NeverLeftQueued()
    {
        var (fake, finish) = HoldingTurn("holder");
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.FakeAsync(fake, clock);
        (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 1 })).EnsureSuccessStatusCode();
        var holder = await world.StartSessionAsync("holder");
        await using var holderEvents = await world.EventsAsync(holder);
        var waiting = await CreateQueuedAsync(world, "in line");
        await using var events = await world.EventsAsync(waiting);
        // The holder's agent is up before starts break (a new session's start goes on after its answer).
        await fake.SessionAsync(0);

        fake.StartFails = new IOException("No space left on device");
        finish.SetResult();
        var done = await holderEvents.WaitForAsync("turn.completed");
        await holderEvents.WaitForAsync(e => e.Id > done.Id && e.Event == "session.status" && e.Str("status") == "idle");
        clock.Advance(TimeSpan.FromMinutes(1));
        var error = await events.WaitForAsync("session.error");
        Assert.Contains("No space left on device", error.Str("message"), StringComparison.Ordinal);
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "failed");
        var resources = await world.Http.GetOkAsync("/api/resources");
        Assert.Empty(resources.GetProperty("queued").EnumerateArray());
        Assert.Equal(0, resources.GetProperty("running").GetInt32());
    }

    [Fact]
    public async Task ResumedSessionInLine_ACancelTakesItOut_IdleWithItsMessageHeld_AndARestartLeavesNoneQueued()
    {
        var (fake, finish) = HoldingTurn("holder");
        await using var world = await AgentWorld.FakeAsync(fake);
        var (earlier, holder) = await ResumedInLineAsync(world);

        await world.CancelAsync(earlier);
        Assert.Equal("idle", (await world.SessionAsync(earlier)).GetProperty("status").GetString());
        var queue = await world.Http.GetOkAsync($"/api/sessions/{earlier}/queue");
        Assert.True(queue.GetProperty("held").GetBoolean());
        Assert.Equal("carry on", Assert.Single(queue.GetProperty("messages").EnumerateArray()).GetProperty("text").GetString());

        // In line again, then the server restarts: it comes back interrupted (its message held), never queued with no line.
        await world.SendAsync(earlier, "and this");
        Assert.Equal("queued", (await world.SessionAsync(earlier)).GetProperty("status").GetString());
        await world.RestartServerAsync();
        Assert.Equal("interrupted", (await world.SessionAsync(earlier)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await world.Http.GetAsync($"/api/sessions/{holder}")).StatusCode);
        // The owner's limit outlives the restart.
        Assert.Equal("owner", (await world.Http.GetOkAsync("/api/resources")).GetProperty("limitSource").GetString());
        finish.SetResult();
    }

    [Fact]
    public async Task ASessionInLine_HandedBack_LeavesTheLine_StoppedForGood()
    {
        var (fake, finish) = HoldingTurn("holder");
        await using var world = await AgentWorld.FakeAsync(fake);
        var (earlier, _) = await ResumedInLineAsync(world);
        // The holder's agent is up (a new session's start goes on after its answer): the line is the earlier one's alone.
        await fake.SessionAsync(1);

        // Handed back to a terminal while in line (the manager's step: the fake agent has no terminal to hand to). Before a stop
        // took the line's start with it, the session said stopped and then started its agent when the slot came.
        var manager = world.Server.Services.GetRequiredService<SessionManager>();
        await manager.HandBackAsync(earlier, PocketCoder.Auth.Actor.System, CancellationToken.None);
        Assert.Empty((await world.Http.GetOkAsync("/api/resources")).GetProperty("queued").EnumerateArray());
        Assert.Equal("stopped", (await world.SessionAsync(earlier)).GetProperty("status").GetString());
        Assert.Equal(2, fake.Starts);
        finish.SetResult();
    }

    [Fact]
    public async Task ANewSessionStoppedAsItsAgentStarts_EndsStopped_WithNoAgentLeftRunning()
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fake = new FakeAgent { StartHold = up.Task };
        await using var world = await AgentWorld.FakeAsync(fake);
        var create = world.Http.PostAsJsonAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = world.Agent, prompt = "first" });
        await fake.StartBegun.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // Listed as it starts: a teammate stops it. Before a new session's start took its start lock, the stop found nothing
        // running and said stopped, and the agent then came up, ran the prompt and stayed, in a session that said stopped.
        var listed = await world.Http.GetOkAsync("/api/sessions");
        var id = listed.EnumerateArray().Single().GetProperty("id").GetString()!;
        var stop = world.Http.DeleteAsync($"/api/sessions/{id}");
        await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(1)));

        up.SetResult();
        (await stop).EnsureSuccessStatusCode();
        // The creator hears it started, or (stopped before its first message went) that it never did; either way nothing runs.
        Assert.True((await create).StatusCode is HttpStatusCode.OK or HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable);
        Assert.Equal(0, (await world.Http.GetOkAsync("/api/resources")).GetProperty("running").GetInt32());
        Assert.NotNull((await fake.SessionAsync(0)).EndedBy);
        var after = await world.Http.GetAsync($"/api/sessions/{id}");
        if (after.StatusCode == HttpStatusCode.OK)
        {
            Assert.Equal("stopped", (await world.SessionAsync(id)).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task AMessageSentWhileTheAgentIsBeingStopped_FindsTheSessionStopped_NoSecondAgentAndNoneOverTheLimit()
    {
        var exit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fake = new FakeAgent { ExitHold = exit.Task };
        await using var world = await AgentWorld.FakeAsync(fake);
        (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 1 })).EnsureSuccessStatusCode();
        var first = await world.StartSessionAsync("first");
        await using var firstEvents = await world.EventsAsync(first);
        await IdleAsync(firstEvents);
        var second = await CreateQueuedAsync(world, "second");
        await using var secondEvents = await world.EventsAsync(second);
        // Anyone may read health: it counts the line, and names nobody's session.
        var health = await world.Server.Anonymous.GetStringAsync("/api/health");
        Assert.Equal(1, System.Text.Json.JsonDocument.Parse(health).RootElement.GetProperty("resources").GetProperty("queued").GetInt32());
        Assert.DoesNotContain(second, health, StringComparison.Ordinal);
        Assert.DoesNotContain(first, health, StringComparison.Ordinal);

        // The owner stops the first session; its agent takes its time to exit (it still holds its slot).
        var stop = world.Http.DeleteAsync($"/api/sessions/{first}");
        await (await fake.SessionAsync(0)).Ending.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // A message to it meanwhile (a teammate, a chat bridge, an outbox's retry). Given a second to go through, as it did
        // before the stop held the session's start lock: it started a second agent on the conversation, in the slot the first
        // still held, and the first's exit then freed that slot for the second session as well.
        var send = world.Http.PostAsJsonAsync($"/api/sessions/{first}/messages", new { text = "one more" });
        await Task.WhenAny(send, Task.Delay(TimeSpan.FromSeconds(1)));
        Assert.False(send.IsCompleted, "a message to a session being stopped waits for the stop");
        Assert.Equal(1, fake.Starts);

        exit.SetResult();
        (await stop).EnsureSuccessStatusCode();
        var refused = await send;
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("SESSION_NOT_ACTIVE", (await refused.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("code").GetString());

        // The slot the first let go is the second's, and only its.
        await secondEvents.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: second");
        Assert.Equal(2, fake.Starts);
        Assert.Null(fake.Started[1].Options!.ResumeAgentSessionId);
        Assert.Equal("stopped", (await world.SessionAsync(first)).GetProperty("status").GetString());
        Assert.Equal(1, (await world.Http.GetOkAsync("/api/resources")).GetProperty("running").GetInt32());
    }

    [Fact]
    public async Task TheLine_StopsTheWaitersOwnIdleSessionFirst_AndTheLedgerSaysWhoseAndForWhom()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.FakeAsync(new FakeAgent(), clock);
        var (owners, ana, anas) = await OwnersThenAnasIdleAsync(world, clock);
        await using var ownersEvents = owners.Events;
        await using var anasEvents = anas.Events;
        var anasNext = await ana.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = world.Agent, prompt = "Ana's next" });
        Assert.Equal("queued", anasNext.GetProperty("status").GetString());
        var next = anasNext.GetProperty("id").GetString()!;
        await using var nextEvents = await world.EventsAsync(next);

        // Her own idle session gives way at once, not the owner's that has been idle longer.
        await anasEvents.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Live.Suspensions.SuspendedForTheLine);
        await nextEvents.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: Ana's next");
        var resources = await world.Http.GetOkAsync("/api/resources");
        Assert.Equal(2, resources.GetProperty("running").GetInt32());
        Assert.Equal("idle", (await world.SessionAsync(owners.Id)).GetProperty("status").GetString());
        Assert.DoesNotContain(ownersEvents.Received, e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Live.Suspensions.SuspendedForTheLine);

        var ledger = await world.Http.GetOkAsync("/api/ledger?limit=1000");
        var suspended = Assert.Single(ledger.GetProperty("entries").EnumerateArray(), e => e.GetProperty("action").GetString() == "session.suspended");
        Assert.Equal(anas.Id, suspended.GetProperty("subject").GetString());
        Assert.Equal("agent_slot", suspended.GetProperty("detail").GetProperty("reason").GetString());
        Assert.Equal(next, suspended.GetProperty("detail").GetProperty("for").GetString());
        Assert.Equal("Ana", suspended.GetProperty("detail").GetProperty("forPerson").GetString());
    }

    [Fact]
    public async Task TheLine_TellsTwoPeopleOfOneNameApart()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.FakeAsync(new FakeAgent(), clock);
        var (owners, _, anas) = await OwnersThenAnasIdleAsync(world, clock);
        await using var ownersEvents = owners.Events;
        await using var anasEvents = anas.Events;

        // Another person, also called Ana, waits in line.
        var otherAna = await world.Server.PairPersonAsync("Ana", PocketCoder.Teams.Role.Operator);
        var waiting = await otherAna.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = world.Agent, prompt = "the other Ana's" });
        Assert.Equal("queued", waiting.GetProperty("status").GetString());
        await using var waitingEvents = await world.EventsAsync(waiting.GetProperty("id").GetString()!);

        // Neither running session is hers: the one idle the longest, the owner's, gives way, not the first Ana's.
        await ownersEvents.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Live.Suspensions.SuspendedForTheLine);
        await waitingEvents.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: the other Ana's");
        Assert.DoesNotContain(anasEvents.Received, e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Live.Suspensions.SuspendedForTheLine);
    }

    [Fact]
    public async Task IdleSuspension_LeavesAMessageHeldForTheOwner_WhichResumesTheSessionWhenLetGo()
    {
        var (fake, finish) = HoldingTurn("first");
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.FakeAsync(fake, clock);
        var session = await world.StartSessionAsync("first");
        await using var events = await world.EventsAsync(session);
        await (await fake.SessionAsync(0)).SentAsync(1);

        // A message queued behind the running turn, then the turn cancelled: the message is held for the owner.
        (await world.Http.PostAsJsonAsync($"/api/sessions/{session}/messages", new { text = "held one" })).EnsureSuccessStatusCode();
        await world.CancelAsync(session);
        await events.WaitForAsync(e => e.Event == "queue.updated" && e.Json.GetProperty("held").GetBoolean());

        // Idle past the time, it is suspended (under its start lock, closed to messages first) with the message still held.
        clock.Advance(TimeSpan.FromMinutes(16));
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Live.Suspensions.SuspendedWhileIdle);
        await fake.Started[0].Exited;
        var queue = await world.Http.GetOkAsync($"/api/sessions/{session}/queue");
        Assert.True(queue.GetProperty("held").GetBoolean());
        Assert.Equal("held one", Assert.Single(queue.GetProperty("messages").EnumerateArray()).GetProperty("text").GetString());

        // Let go, it resumes the conversation and is sent.
        Assert.Equal(HttpStatusCode.Accepted, (await world.Http.PostAsync($"/api/sessions/{session}/queue/run", null)).StatusCode);
        await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: held one");
        Assert.Equal(2, fake.Starts);
        Assert.Equal(fake.Started[0].AgentSessionId, fake.Started[1].Options!.ResumeAgentSessionId);
        finish.SetResult();
    }

    [Theory]
    [InlineData("held after a cancel")]
    [InlineData("held for its revoked sender")]
    public async Task TheLine_SuspendsASessionWhoseQueuedMessageWaitsForSomeone_TheMessageKept(string held)
    {
        var (fake, finish) = HoldingTurn("first");
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.FakeAsync(fake, clock);
        (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 1 })).EnsureSuccessStatusCode();
        var session = await world.StartSessionAsync("first");
        await using var events = await world.EventsAsync(session);
        await (await fake.SessionAsync(0)).SentAsync(1);

        // A message queued behind the running turn waits for someone, and the agent is idle: the turn cancelled (the queue waits
        // for the owner), or the turn over after the sender's device (the owner's laptop) was revoked (it waits to be confirmed).
        var laptop = held == "held after a cancel" ? null : await world.Server.PairAsync("laptop");
        (await (laptop?.Http ?? world.Http).PostAsJsonAsync($"/api/sessions/{session}/messages", new { text = "waits" })).EnsureSuccessStatusCode();
        if (held == "held after a cancel")
        {
            await world.CancelAsync(session);
            await events.WaitForAsync(e => e.Event == "queue.updated" && e.Json.GetProperty("held").GetBoolean());
        }
        else
        {
            (await world.Http.DeleteAsync($"/api/devices/{laptop!.DeviceId}")).EnsureSuccessStatusCode();
            finish.SetResult();
            await IdleAsync(events);
        }

        // Another session waits in line: the idle one gives way (before, it held the slot for ever), its message still queued.
        var next = await CreateQueuedAsync(world, "next");
        await using var nextEvents = await world.EventsAsync(next);
        clock.Advance(TimeSpan.FromMinutes(1));
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Live.Suspensions.SuspendedForTheLine);
        await nextEvents.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: next");
        var queued = Assert.Single((await world.Http.GetOkAsync($"/api/sessions/{session}/queue")).GetProperty("messages").EnumerateArray());
        Assert.Equal("waits", queued.GetProperty("text").GetString());
        Assert.Equal(2, fake.Starts);
        finish.TrySetResult();
    }

    private sealed record Watched(string Id, SseClient Events);

    /// <summary>
    /// Two agent slots, both taken by idle sessions due to give way: the owner's, then Ana's (an operator) 10 s later, so the
    /// owner's is the one idle longest; 40 s on, both have been idle long enough.
    /// </summary>
    private static async Task<(Watched Owners, PairedClient Ana, Watched Anas)> OwnersThenAnasIdleAsync(AgentWorld world, ManualClock clock)
    {
        (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 2 })).EnsureSuccessStatusCode();
        var owners = await world.StartSessionAsync("the owner's");
        var ownersEvents = await world.EventsAsync(owners);
        await IdleAsync(ownersEvents);
        clock.Advance(TimeSpan.FromSeconds(10));
        var ana = await world.Server.PairPersonAsync("Ana", PocketCoder.Teams.Role.Operator);
        var anas = (await ana.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = world.Agent, prompt = "Ana's" }))
            .GetProperty("id").GetString()!;
        var anasEvents = await world.EventsAsync(anas);
        // Its turn over (not only its answer in): a session still in its turn is no one's to stop, and the line would take the owner's.
        await IdleAsync(anasEvents);
        clock.Advance(TimeSpan.FromSeconds(40));
        return (new Watched(owners, ownersEvents), ana, new Watched(anas, anasEvents));
    }

    /// <summary>
    /// A session with a conversation whose agent went (a restart), in line with "carry on" because the one slot is the holder's
    /// (whose turn goes on until the test finishes it).
    /// </summary>
    private static async Task<(string Earlier, string Holder)> ResumedInLineAsync(AgentWorld world)
    {
        var earlier = await world.StartSessionAsync("earlier");
        await using (var events = await world.EventsAsync(earlier))
        {
            await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Done: earlier");
        }

        await world.RestartServerAsync();
        (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 1 })).EnsureSuccessStatusCode();
        var holder = await world.StartSessionAsync("holder");
        await world.SendAsync(earlier, "carry on");
        Assert.Equal("queued", (await world.SessionAsync(earlier)).GetProperty("status").GetString());
        return (earlier, holder);
    }

    /// <summary>A fake agent whose turn on <paramref name="prompt"/> goes on until the test finishes it; others echo at once.</summary>
    private static (FakeAgent Fake, TaskCompletionSource Finish) HoldingTurn(string prompt)
    {
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fake = new FakeAgent
        {
            Script = async (session, message) =>
            {
                if (message.Text == prompt)
                {
                    await finish.Task;
                }

                await FakeAgent.Echo(session, message);
            },
        };
        return (fake, finish);
    }

    /// <summary>Until the session's turn is over and it says it is idle.</summary>
    private static async Task IdleAsync(SseClient events)
    {
        var done = await events.WaitForAsync("turn.completed");
        await events.WaitForAsync(e => e.Id > done.Id && e.Event == "session.status" && e.Str("status") == "idle");
    }

    private static async Task<string> CreateQueuedAsync(AgentWorld world, string prompt)
    {
        var created = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = world.Agent, prompt });
        Assert.Equal("queued", created.GetProperty("status").GetString());
        return created.GetProperty("id").GetString()!;
    }

    private static async Task<string> ReasonAsync(AgentWorld world, string sessionId)
    {
        await using var events = await world.EventsAsync(sessionId);
        return (await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "queued")).Str("reason")!;
    }
}
