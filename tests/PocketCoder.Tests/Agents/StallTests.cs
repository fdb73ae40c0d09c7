using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Agents;

/// <summary>
/// A turn with no word from the agent is reported to the owner (an <c>error</c> event with code AGENT_STALLED) once
/// per stall, instead of "Working…" forever. Time is a <see cref="ManualClock"/>; the fake model holds its answer.
/// </summary>
public sealed class StallTests
{
    private static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task SilentAgent_AfterTheStallTime_ReportedOnceAndWorksOnWhenTheModelAnswers()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.ClaudeAsync(clock);
        var release = new TaskCompletionSource();
        world.Model.Enqueue(ScriptedReply.Held(release.Task, "Finally, an answer."));
        var sessionId = await world.StartSessionAsync("Think hard.");
        await using var events = await world.EventsAsync(sessionId);
        using var timeout = new CancellationTokenSource(SseClient.DefaultWait);
        await world.Model.WaitForRequestAsync(r => r.ConsumedScript, timeout.Token);

        // The check runs on a timer (a quarter of the stall time): a first tick finds it silent, but not long enough.
        clock.Advance(StallAfter - TimeSpan.FromSeconds(10));
        clock.Advance(StallAfter);
        var stalled = await events.WaitForAsync(e => e.Event == "session.error" && e.Str("code") == "AGENT_STALLED");
        Assert.Contains("claude-code", stalled.Str("message"), StringComparison.Ordinal);
        Assert.Equal("running", (await world.SessionAsync(sessionId)).GetProperty("status").GetString());

        // Still silent: the same stall is not reported again.
        clock.Advance(StallAfter * 2);
        release.TrySetResult();
        var completed = await events.WaitForAsync("turn.completed");
        Assert.Equal("Finally, an answer.", completed.Str("result"));
        Assert.Single(events.Received, e => e.Event == "session.error");

        // Idle is not a stall.
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle" && e.Id > completed.Id);
        clock.Advance(StallAfter * 2);
        world.Model.Enqueue(ScriptedReply.Text("Quick one."));
        await world.SendAsync(sessionId, "And now?");
        var next = await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > completed.Id);
        Assert.Equal("Quick one.", next.Str("result"));
        Assert.Single(events.Received, e => e.Event == "session.error");
    }

    [Fact]
    public async Task PendingApproval_LongerThanTheStallTime_NotAStall()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.ClaudeAsync(clock);
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo wait > wait.txt", description = "Write" }), ScriptedReply.Text("Done."));
        var sessionId = await world.StartSessionAsync("write wait.txt");
        await using var events = await world.EventsAsync(sessionId);
        var ask = await events.WaitForAsync("approval.requested");

        clock.Advance(StallAfter * 3);
        await ApiAssert.OkJsonAsync(await world.DecideAsync(ask.Str("approvalId")!, "allow_once"));
        // The owner's time to decide does not count against the agent: right after, it is not stalled either.
        clock.Advance(StallAfter / 2);
        await events.WaitForAsync("turn.completed");
        Assert.DoesNotContain(events.Received, e => e.Event == "session.error");
    }
}
