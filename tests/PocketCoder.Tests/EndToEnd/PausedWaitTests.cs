using System.Net.Http.Json;
using System.Net;
using FakeLlm;
using PocketCoder.Sessions;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>
/// Waits that cost no memory, with the REAL Claude Code CLI: a call that waits past the threshold stops the agent's
/// process (Claude defers the call, its transcript keeps it), and the owner's decision, whenever it comes, resumes the
/// conversation natively with that decision applied to that very call. The owner's own settings allow every Bash
/// command here, so a resume that let Claude decide by itself would run a denied command: these tests would see it.
/// </summary>
public sealed class PausedWaitTests
{
    private static readonly TimeSpan Threshold = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Allow_AfterThePause_TheCallRunsOnce_AndTheConversationGoesOn()
    {
        await using var world = await PausedWorldAsync();
        var (sessionId, approvalId, events) = await PausedOnACommandAsync(world);
        await using (events)
        {
            Assert.Equal("pending", (await world.Http.GetOkAsync($"/api/approvals/{approvalId}")).GetProperty("status").GetString());

            Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(approvalId, "allow_once")).StatusCode);
            await ApiAssert.ProblemAsync(await world.DecideAsync(approvalId, "deny"), HttpStatusCode.Conflict, "APPROVAL_ALREADY_DECIDED");

            await events.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Running.PausedCalls.ResumedReason);
            var result = await events.WaitForAsync("tool.result");
            Assert.False(result.Json.GetProperty("isError").GetBoolean());
            var done = await events.WaitForAsync("turn.completed");
            Assert.Equal("Written after the pause.", done.Str("result"));

            Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "paused.txt")));
            // The model got the call's one result, in the conversation it started.
            var after = world.Model.Requests.Last(r => r.ConsumedScript);
            Assert.Single(after.LastToolResults());
            Assert.False(after.LastToolResults()[0].IsError);
            Assert.Equal("idle", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task Deny_AfterThePause_NothingRuns_AndTheModelHearsWhy()
    {
        await using var world = await PausedWorldAsync();
        var (_, approvalId, events) = await PausedOnACommandAsync(world);
        await using (events)
        {
            Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(approvalId, "deny", "Not while the build runs.")).StatusCode);

            var result = await events.WaitForAsync("tool.result");
            Assert.True(result.Json.GetProperty("isError").GetBoolean());
            await events.WaitForAsync("turn.completed");

            Assert.False(File.Exists(Path.Combine(world.Repository, "paused.txt")), "a denied command ran after the pause");
            var toolResult = Assert.Single(world.Model.Requests.Last(r => r.ConsumedScript).LastToolResults());
            Assert.True(toolResult.IsError);
            Assert.Contains("Not while the build runs.", toolResult.Content, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TranscriptRewrittenWhilePaused_TheCallTheOwnerSawRuns_NotTheRewrittenOne()
    {
        await using var world = await PausedWorldAsync();
        var (_, approvalId, events) = await PausedOnACommandAsync(world);
        await using (events)
        {
            // Anything allowed to write in Claude's own folder (a command of another session, say) could change the paused
            // call in the transcript Claude resumes from: a sandboxed Claude's, in its home of PocketCoder's own.
            foreach (var transcript in Directory.EnumerateFiles(world.AgentHomePath(".claude", "projects"), "*.jsonl", SearchOption.AllDirectories))
            {
                var text = await File.ReadAllTextAsync(transcript);
                await File.WriteAllTextAsync(transcript, text.Replace("echo ran >> paused.txt", "echo TAMPERED >> tampered.txt", StringComparison.Ordinal));
            }

            Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(approvalId, "allow_once")).StatusCode);
            await events.WaitForAsync("turn.completed");

            Assert.False(File.Exists(Path.Combine(world.Repository, "tampered.txt")), "a call the owner never saw ran under their allow");
            Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "paused.txt")));
        }
    }

    [Fact]
    public async Task SessionStoppedAsTheOwnerAllows_NoAgentIsLeftRunning()
    {
        await using var world = await PausedWorldAsync();
        var (sessionId, approvalId, events) = await PausedOnACommandAsync(world);
        await events.DisposeAsync();

        // The allow starts the resume; the stop comes while it may be under way: whichever wins, nothing may run on.
        Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(approvalId, "allow_once")).StatusCode);
        (await world.Http.DeleteAsync($"/api/sessions/{sessionId}")).EnsureSuccessStatusCode();

        Assert.Equal("stopped", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());
        Assert.Empty(AgentProcesses.All(world.Home));
    }

    [Fact]
    public async Task TurnCancelledBeforeTheThreshold_TheQuestionIsWithdrawn_TheSessionGoesIdle()
    {
        // Every Claude call is held in the gate hook while it waits (pausing is on by default): a cancel must still
        // withdraw it, as it did before pausing existed.
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo ran >> x.txt", description = "Write" }), ScriptedReply.Text("after"));
        var sessionId = await world.StartSessionAsync("Write x.txt");
        await using var events = await world.EventsAsync(sessionId);
        var approvalId = (await events.WaitForAsync("approval.requested")).Str("approvalId")!;

        await world.CancelAsync(sessionId);

        var withdrawn = await events.WaitForAsync(e => e.Event == "approval.resolved" && e.Str("approvalId") == approvalId);
        Assert.Equal("cancelled", withdrawn.Str("status"));
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");
        Assert.False(File.Exists(Path.Combine(world.Repository, "x.txt")));
    }

    [Fact]
    public async Task ServerRestartsWhilePaused_TheCallIsDeniedWhenTheAgentResumes_NeverRun()
    {
        await using var world = await PausedWorldAsync();
        var (sessionId, approvalId, events) = await PausedOnACommandAsync(world);
        await events.DisposeAsync();

        await world.RestartServerAsync();
        Assert.Equal("interrupted", (await world.Http.GetOkAsync($"/api/approvals/{approvalId}")).GetProperty("status").GetString());

        // The next message brings the agent back: the call it paused on goes first, denied, then the message.
        world.Model.Enqueue(ScriptedReply.Text("Understood, I did not write it."));
        await using var resumed = await world.EventsAsync(sessionId);
        await world.SendAsync(sessionId, "Carry on");
        await resumed.WaitForAsync(e => e.Event == "tool.result" && e.Json.GetProperty("isError").GetBoolean());
        await resumed.WaitForAsync(e => e.Event == "turn.completed" && e.Str("result") == "Understood, I did not write it.");

        Assert.False(File.Exists(Path.Combine(world.Repository, "paused.txt")), "an undecided paused call ran after a restart");
        var denied = world.Model.Requests.Where(r => r.ConsumedScript).SelectMany(r => r.LastToolResults()).Single();
        Assert.True(denied.IsError);
        Assert.Contains("not run", denied.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LimitOfTwo_AThirdSessionWaitsInLine_StartsWhenOnePauses_AndNothingIsKilled()
    {
        await using var world = await PausedWorldAsync();
        var limited = await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 2 });
        Assert.Equal(2, (await ApiAssert.OkJsonAsync(limited)).GetProperty("limit").GetInt32());
        world.Model.Enqueue(ScriptedReply.Text("A here."), ScriptedReply.Text("B here."));
        var first = await IdleSessionAsync(world, "Say hello");
        var second = await IdleSessionAsync(world, "Say hello again");

        // Both agents run between turns, each with the memory of its process tree.
        var resources = await world.Http.GetOkAsync("/api/resources");
        Assert.Equal(2, resources.GetProperty("running").GetInt32());
        Assert.All(resources.GetProperty("sessions").EnumerateArray(), s => Assert.True(s.GetProperty("memoryBytes").GetInt64() > 10 << 20));
        Assert.True(resources.GetProperty("machineMemoryBytes").GetInt64() > resources.GetProperty("agentsMemoryBytes").GetInt64());

        // A third waits in line, and says so, at once.
        var created = await world.Http.PostOkAsync($"/api/projects/{world.ProjectId}/sessions", new { agent = world.Agent, prompt = "Say who you are" });
        Assert.Equal("queued", created.GetProperty("status").GetString());
        var third = created.GetProperty("id").GetString()!;
        await using var thirdEvents = await world.EventsAsync(third);
        var inLine = await thirdEvents.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "queued");
        Assert.Equal("waiting for an agent slot: starts when one of 2 running sessions finishes or pauses (1st in line)", inLine.Str("reason"));
        var health = await world.Http.GetOkAsync("/api/health");
        Assert.Equal(1, health.GetProperty("resources").GetProperty("queued").GetInt32());

        // The second waits on the owner past the threshold and pauses: its slot is the third's.
        world.Model.Enqueue(
            ScriptedReply.ToolUse("Bash", new { command = "echo ran >> paused.txt", description = "Write the file" }),
            ScriptedReply.Text("C here."),
            ScriptedReply.Text("Written after the pause."));
        await using var secondEvents = await world.EventsAsync(second);
        await world.SendAsync(second, "Write paused.txt");
        var asked = await secondEvents.WaitForAsync("approval.requested");
        await secondEvents.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Running.PausedCalls.PausedReason);
        await thirdEvents.WaitForAsync(e => e.Event == "turn.completed" && e.Str("result") == "C here.");

        // Allowed while both slots are taken, the second waits in line to resume; a slot more lets it run the call, once.
        Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(asked.Str("approvalId")!, "allow_once")).StatusCode);
        await secondEvents.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "queued");
        Assert.Equal(HttpStatusCode.OK, (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 3 })).StatusCode);
        await secondEvents.WaitForAsync(e => e.Event == "turn.completed" && e.Str("result") == "Written after the pause.");
        Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(world.Repository, "paused.txt")));

        // Nobody was stopped to make room: all three run, idle.
        foreach (var session in new[] { first, second, third })
        {
            Assert.Equal("idle", (await world.SessionAsync(session)).GetProperty("status").GetString());
        }

        Assert.Equal(3, (await world.Http.GetOkAsync("/api/resources")).GetProperty("running").GetInt32());
    }

    [Fact]
    public async Task AllowedWhileEverySlotIsTaken_ACancelEndsTheWaitInLine_AndNothingRuns()
    {
        await using var world = await PausedWorldAsync();
        (await world.Http.PutAsJsonAsync("/api/resources/limit", new { limit = 1 })).EnsureSuccessStatusCode();
        var (sessionId, approvalId, events) = await PausedOnACommandAsync(world);
        await using (events)
        {
            // Paused, it holds no slot: another session takes it and keeps it, idle.
            world.Model.Enqueue(ScriptedReply.Text("Holding the slot."));
            await IdleSessionAsync(world, "Say hello");

            Assert.Equal(HttpStatusCode.OK, (await world.DecideAsync(approvalId, "allow_once")).StatusCode);
            await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "queued");

            // A cancel answers at once rather than waiting for a slot, and the turn ends there.
            await world.CancelAsync(sessionId);
            await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");
            Assert.Empty((await world.Http.GetOkAsync("/api/resources")).GetProperty("queued").EnumerateArray());
            Assert.False(File.Exists(Path.Combine(world.Repository, "paused.txt")), "a call ran after its turn was cancelled");
        }
    }

    private static async Task<string> IdleSessionAsync(AgentWorld world, string prompt)
    {
        var sessionId = await world.StartSessionAsync(prompt);
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");
        return sessionId;
    }

    /// <summary>A Claude world that pauses after <see cref="Threshold"/>, whose owner's own Claude settings allow every Bash command.</summary>
    private static async Task<AgentWorld> PausedWorldAsync()
    {
        var world = await AgentWorld.ClaudeAsync(pauseWaitingAfter: Threshold);
        Directory.CreateDirectory(Path.Combine(world.Home, ".claude"));
        await File.WriteAllTextAsync(Path.Combine(world.Home, ".claude", "settings.json"), """{"permissions":{"allow":["Bash(*)"]}}""");
        return world;
    }

    /// <summary>Starts a session whose first call waits for the owner, and returns once the agent is paused on it.</summary>
    private static async Task<(string SessionId, string ApprovalId, SseClient Events)> PausedOnACommandAsync(AgentWorld world)
    {
        world.Model.Enqueue(
            ScriptedReply.ToolUse("Bash", new { command = "echo ran >> paused.txt", description = "Write the file" }),
            ScriptedReply.Text("Written after the pause."));
        var sessionId = await world.StartSessionAsync("Write paused.txt");
        var events = await world.EventsAsync(sessionId);
        var asked = await events.WaitForAsync("approval.requested");
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("reason") == PocketCoder.Sessions.Running.PausedCalls.PausedReason);

        // The agent's process is gone while the owner has not decided.
        Assert.Empty(AgentProcesses.All(world.Home));
        Assert.Equal("waiting_approval", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());
        return (sessionId, asked.Str("approvalId")!, events);
    }
}
