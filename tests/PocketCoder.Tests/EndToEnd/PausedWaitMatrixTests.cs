using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using FakeLlm;
using Xunit.Abstractions;
using PocketCoder.Sessions.Running;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Waits that cost no memory for every agent that cannot defer a call (docs/agents.md, "Waits that cost no memory"): the REAL
/// CLI, sandboxed, against the fake model. A call that waits past the threshold stops the agent's process mid-turn; the owner's
/// decision resumes the conversation with the agent's own protocol and tells the model: after an allow it asks the call again
/// and the session's one-time grant runs it exactly once, unasked; after a deny nothing runs. Each later request of the model
/// carries the earlier turns. Allow and deny in one session, to keep the suite short.
/// </summary>
public sealed class PausedWaitMatrixTests(ITestOutputHelper output)
{
    private const string Word = "PERSIMMON";

    public static TheoryData<string> Agents => ["codex", "opencode", "gemini", ClaudeAgentAcp.AgentId, "copilot", "qwen"];

    [Theory]
    [MemberData(nameof(Agents))]
    public async Task WaitPastTheThreshold_NoProcessLeft_AllowRunsTheCallOnce_DenyRunsNothing_TheConversationKept(string agent)
    {
        await using var world = await AgentWorld.NamedAsync(agent, pauseWaitingAfter: TimeSpan.FromSeconds(1));
        world.Model.Enqueue(ScriptedReply.Text("Noted."));
        var sessionId = await world.StartSessionAsync($"Remember the word {Word}.");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");
        Assert.NotEmpty(AgentProcesses.All(world.Home));

        // Allowed after the pause: the model asks the call again, and it runs once, nobody asked a second time.
        world.Model.Enqueue(world.ShellCall("echo ran >> paused.txt"));
        var allowed = await PausedOnAsync(world, events, sessionId, "Write paused.txt");
        world.Model.Enqueue(world.ShellCall("echo ran >> paused.txt"), ScriptedReply.Text("Written after the pause."));
        var since = LastSeq(events);
        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(allowed, "allow_once")).StatusCode);
        await events.WaitForAsync(e => e.Id > since && e.Event == "session.status" && e.Str("reason") == PausedCalls.ResumedReason, TimeSpan.FromSeconds(90));
        var resumed = clock.ElapsedMilliseconds;
        await events.WaitForAsync(e => e.Id > since && e.Event == "tool.result", TimeSpan.FromSeconds(90));
        var ran = clock.ElapsedMilliseconds;
        await events.WaitForAsync(e => e.Id > since && e.Event == "turn.completed", TimeSpan.FromSeconds(90));
        output.WriteLine($"{agent}: from the allow: resumed {resumed} ms, the call done {ran} ms, turn done {clock.ElapsedMilliseconds} ms");

        Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "paused.txt")));
        Assert.DoesNotContain(events.Received, e => e.Id > since && e.Event == "approval.requested");
        Assert.Contains(events.Received, e => e.Id > since && e.Event == "tool.result" && !e.Json.GetProperty("isError").GetBoolean());
        var told = world.Model.Requests.Where(r => r.ConsumedScript).TakeLast(2).First().Body.GetRawText();
        Assert.True(told.Contains(Word, StringComparison.Ordinal), "the resumed conversation lost the earlier turn");
        Assert.Contains("ALLOWED", told, StringComparison.Ordinal);

        // Denied after the pause: nothing runs, and the model hears the owner's words in the conversation it had.
        world.Model.Enqueue(world.ShellCall("echo no >> denied.txt"));
        var denied = await PausedOnAsync(world, events, sessionId, "Write denied.txt");
        world.Model.Enqueue(ScriptedReply.Text("Understood, not written."));
        since = LastSeq(events);
        Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(denied, "deny", "Not while the build runs.")).StatusCode);
        await events.WaitForAsync(e => e.Id > since && e.Event == "turn.completed", TimeSpan.FromSeconds(90));

        Assert.False(File.Exists(Path.Combine(world.Repository, "denied.txt")), "a denied call ran after the pause");
        var last = world.Model.Requests.Last(r => r.ConsumedScript).Body.GetRawText();
        Assert.Contains(Word, last, StringComparison.Ordinal);
        Assert.Contains("Not while the build runs.", last, StringComparison.Ordinal);
        Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "paused.txt")));

        // The grant's use is in the ledger, beside the allow it rests on: once.
        var ledger = await world.Http.GetOkAsync("/api/ledger?limit=1000");
        Assert.Single(ledger.GetProperty("entries").EnumerateArray(),
            e => e.GetProperty("action").GetString() == "approval.grant_used" && e.GetProperty("subject").GetString() == allowed);
    }

    /// <summary>
    /// The grant rests on its decider's authority when it is used, not when it was given: an approver who allowed the call and
    /// was revoked before the agent asked it again gave nothing. (A full slot holds the resume until after the revocation.)
    /// </summary>
    [Fact]
    public async Task AllowedByAnApproverRevokedBeforeTheCallIsAskedAgain_TheGrantIsRefused_AndTheCallIsAskedAnew()
    {
        await using var world = await AgentWorld.NamedAsync("codex", pauseWaitingAfter: TimeSpan.FromSeconds(1));
        var ana = await world.Server.PairPersonAsync("Ana", PocketCoder.Teams.Role.Approver);
        var anaId = (await ana.Http.GetOkAsync("/api/people/me")).GetProperty("person").GetProperty("id").GetString();
        (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 1 })).EnsureSuccessStatusCode();
        world.Model.Enqueue(world.ShellCall("echo ran >> paused.txt"));
        var sessionId = await world.StartSessionAsync("Write paused.txt");
        await using var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PausedCalls.PausedReason);

        // Paused, it holds no slot: another session takes it, and the allowed one waits in line to resume.
        world.Model.Enqueue(ScriptedReply.Text("Holding the slot."));
        var holder = await world.StartSessionAsync("Say hello");
        await using (var holding = await world.EventsAsync(holder))
        {
            await holding.WaitForAsync("turn.completed");
        }

        await ApiAssert.OkJsonAsync(await ana.Http.PostAsJsonAsync($"/api/approvals/{asked.Str("approvalId")}/decision", new { decision = "allow_once" }));
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "queued");
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync($"/api/people/{anaId}")).StatusCode);

        world.Model.Enqueue(world.ShellCall("echo ran >> paused.txt"), ScriptedReply.Text("Not written."));
        (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 2 })).EnsureSuccessStatusCode();
        var again = await events.WaitForAsync(e => e.Event == "approval.requested" && e.Id > asked.Id, TimeSpan.FromSeconds(90));
        Assert.Equal("echo ran >> paused.txt", again.Json.GetProperty("input").GetProperty("command").GetString());
        Assert.False(File.Exists(Path.Combine(world.Repository, "paused.txt")), "a revoked approver's allow ran the call");
        var ledger = (await world.Http.GetOkAsync("/api/ledger?limit=1000")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(ledger, e => e.GetProperty("action").GetString() == "approval.grant_refused");
        Assert.DoesNotContain(ledger, e => e.GetProperty("action").GetString() == "approval.grant_used");

        Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(again.Str("approvalId")!, "deny")).StatusCode);
        await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > again.Id, TimeSpan.FromSeconds(90));
        Assert.False(File.Exists(Path.Combine(world.Repository, "paused.txt")));
    }

    /// <summary>
    /// Issue #52: a paused agent is started again while someone who may decide has its session open, so their allow runs the
    /// call in the time the model takes, not the CLI's start-up. A viewer's look starts nothing. The call still runs once, on
    /// the grant, and the conversation is the one it had (Gemini CLI: the slowest to start).
    /// </summary>
    [Fact]
    public async Task OpenedBySomeoneWhoMayDecide_ThePausedAgentStartsAhead_TheAllowRunsTheCallOnce()
    {
        await using var world = await AgentWorld.NamedAsync("gemini", pauseWaitingAfter: TimeSpan.FromSeconds(1));
        var vic = await world.Server.PairPersonAsync("Vic", PocketCoder.Teams.Role.Viewer);
        world.Model.Enqueue(ScriptedReply.Text("Noted."));
        var sessionId = await world.StartSessionAsync($"Remember the word {Word}.");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");
        world.Model.Enqueue(world.ShellCall("echo ran >> warm.txt"));
        var allowed = await PausedOnAsync(world, events, sessionId, "Write warm.txt");

        await using (var viewing = await SseClient.ConnectAsync(vic.Http, $"/api/sessions/{sessionId}/events"))
        {
            await viewing.WaitForAsync(e => e.Event == "approval.requested");
            Assert.Empty(AgentProcesses.All(world.Home));
        }

        // The owner opens the session (the phone's screen, from a notification): the agent starts while they read the card.
        await using (var looking = await world.EventsAsync(sessionId))
        {
            await looking.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PausedCalls.ReadyReason, TimeSpan.FromSeconds(90));
            Assert.NotEmpty(AgentProcesses.All(world.Home));
            Assert.True((await world.SessionAsync(sessionId)).GetProperty("status").GetString() == "waiting_approval", "a look decided nothing");
            await AllowedRunsOnceAsync(world, events, allowed, "warm.txt", "started ahead");
        }

        // The inbox's card: the same look through its door. A viewer's is refused and starts nothing; the owner's starts it.
        world.Model.Enqueue(world.ShellCall("echo ran >> inbox.txt"));
        var next = await PausedOnAsync(world, events, sessionId, "Write inbox.txt");
        await ApiAssert.ProblemAsync(await vic.Http.PostAsync($"/api/approvals/{next}/look", null), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        Assert.Empty(AgentProcesses.All(world.Home));
        var since = LastSeq(events);
        Assert.True((await world.Http.PostOkAsync($"/api/approvals/{next}/look", new { })).GetProperty("startingAhead").GetBoolean());
        await events.WaitForAsync(e => e.Id > since && e.Event == "session.status" && e.Str("reason") == PausedCalls.ReadyReason, TimeSpan.FromSeconds(90));
        Assert.NotEmpty(AgentProcesses.All(world.Home));
        await AllowedRunsOnceAsync(world, events, next, "inbox.txt", "started ahead from the inbox");
        // A look at a call settled meanwhile (the owner's other phone decided it) starts nothing and is no refusal.
        Assert.False((await world.Http.PostOkAsync($"/api/approvals/{next}/look", new { })).GetProperty("startingAhead").GetBoolean());
        Assert.False((await ApiAssert.OkJsonAsync(await vic.Http.PostAsync($"/api/approvals/{next}/look", null))).GetProperty("startingAhead").GetBoolean());
    }

    /// <summary>The allow of a call whose agent was started ahead: the call runs once, told only, the conversation kept.</summary>
    private async Task AllowedRunsOnceAsync(AgentWorld world, SseClient events, string approvalId, string file, string how)
    {
        world.Model.Enqueue(world.ShellCall($"echo ran >> {file}"), ScriptedReply.Text("Written."));
        var since = LastSeq(events);
        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(approvalId, "allow_once")).StatusCode);
        await events.WaitForAsync(e => e.Id > since && e.Event == "tool.result", TimeSpan.FromSeconds(90));
        output.WriteLine($"gemini, {how}: from the allow, the call done {clock.ElapsedMilliseconds} ms");
        await events.WaitForAsync(e => e.Id > since && e.Event == "turn.completed", TimeSpan.FromSeconds(90));

        Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, file)));
        Assert.DoesNotContain(events.Received, e => e.Id > since && e.Event == "approval.requested");
        var told = world.Model.Requests.Where(r => r.ConsumedScript).TakeLast(2).First().Body.GetRawText();
        Assert.Contains(Word, told, StringComparison.Ordinal);
        Assert.Contains("ALLOWED", told, StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue #52: OpenCode's sessions of one project share one server. Idle, each is suspended, and the last one out stops the
    /// server: no process is left (sandboxed, the real CLI).
    /// </summary>
    [Fact]
    public async Task OpenCode_TwoIdleSessionsOfOneServer_BothSuspended_TheServerStops()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.NamedAsync("opencode", clock);
        var streams = new List<SseClient>();
        try
        {
            foreach (var prompt in new[] { "First.", "Second." })
            {
                world.Model.Enqueue(ScriptedReply.Text("Noted."));
                var sessionId = await world.StartSessionAsync(prompt);
                var events = await world.EventsAsync(sessionId);
                streams.Add(events);
                var done = await events.WaitForAsync("turn.completed");
                await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle" && e.Id > done.Id);
            }

            Assert.NotEmpty(AgentProcesses.All(world.Home));
            clock.Advance(TimeSpan.FromMinutes(16));
            foreach (var events in streams)
            {
                await events.WaitForAsync(e => e.Event == "session.status" && (e.Str("reason") ?? "").Contains("suspended", StringComparison.Ordinal));
            }

            Assert.Empty(AgentProcesses.All(world.Home));
        }
        finally
        {
            foreach (var events in streams)
            {
                await events.DisposeAsync();
            }
        }
    }

    /// <summary>Sends <paramref name="text"/>, whose call waits for the owner until the agent is paused on it, its process gone; the approval's id.</summary>
    private static async Task<string> PausedOnAsync(AgentWorld world, SseClient events, string sessionId, string text)
    {
        var since = LastSeq(events);
        await world.SendAsync(sessionId, text);
        var asked = await events.WaitForAsync(e => e.Id > since && e.Event == "approval.requested");
        await events.WaitForAsync(e => e.Id > since && e.Event == "session.status" && e.Str("reason") == PausedCalls.PausedReason);
        Assert.Empty(AgentProcesses.All(world.Home));
        Assert.Equal("waiting_approval", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());
        return asked.Str("approvalId")!;
    }

    private static long LastSeq(SseClient events) => events.Received.Count == 0 ? 0 : events.Received.Max(e => e.Id);
}
