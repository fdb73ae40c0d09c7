using FakeLlm;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Sessions.Live;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>Idle agent processes are stopped to save memory and come back, conversation intact, on the next message.</summary>
public sealed class SuspendTests
{
    [Fact]
    public async Task IdleSession_AfterFifteenMinutes_SuspendedThenResumedByTheNextMessage()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.ClaudeAsync(clock);
        var live = world.Server.Services.GetRequiredService<LiveSessions>();
        world.Model.Enqueue(ScriptedReply.Text("Noted: MANGO."));
        var sessionId = await world.StartSessionAsync("remember the fruit MANGO");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");
        Assert.Equal(1, live.RunnerCount);

        clock.Advance(TimeSpan.FromMinutes(16));
        var suspended = await events.WaitForAsync(e => e.Event == "session.status" && (e.Str("reason") ?? "").Contains("suspended", StringComparison.Ordinal));
        Assert.Equal("idle", suspended.Str("status"));
        Assert.Equal(0, live.RunnerCount);

        world.Model.Enqueue(ScriptedReply.Text("MANGO."));
        await world.SendAsync(sessionId, "Which fruit?");
        await events.WaitForAsync("turn.completed");
        Assert.Contains("MANGO", world.Model.Requests[^1].Body.GetProperty("messages").GetRawText(), StringComparison.Ordinal);
        Assert.Equal(1, live.RunnerCount);
    }

    /// <summary>
    /// Issue #40: a suspended session costs the server nothing of its run. Its runner (and with it the agent session, its
    /// process handle, pipes, buffers and timers) is reachable from nothing once suspended, and is collected; the phone that
    /// comes back still reads every event it missed (they are in the database), and the next message resumes the agent.
    /// </summary>
    [Fact]
    public async Task SuspendedSession_ItsRunnerAndAgentAreCollected_AndItsEventsAndResumeRemain()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.ClaudeAsync(clock);
        var live = world.Server.Services.GetRequiredService<LiveSessions>();
        world.Model.Enqueue(ScriptedReply.Text("Noted: KIWI."));
        var sessionId = await world.StartSessionAsync("remember the fruit KIWI");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");

        var runner = WeakRunner(live, sessionId);
        clock.Advance(TimeSpan.FromMinutes(16));
        await events.WaitForAsync(e => e.Event == "session.status" && (e.Str("reason") ?? "").Contains("suspended", StringComparison.Ordinal));
        Assert.Equal(0, live.RunnerCount);
        // Collected within a few full collections (what the agent's exit left queued on the thread pool runs out first; on a
        // loaded machine that takes a while: bounded by time, not by a count of quick tries).
        var trying = System.Diagnostics.Stopwatch.StartNew();
        while (runner.IsAlive && trying.Elapsed < TimeSpan.FromSeconds(10))
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(10);
        }

        Assert.False(runner.IsAlive, "something still holds the suspended session's runner");

        // A phone that was away reads the whole turn from the start, and its message brings the agent back.
        await using (var replay = await world.EventsAsync(sessionId))
        {
            Assert.Contains("remember the fruit KIWI", (await replay.WaitForAsync("message.user")).Data, StringComparison.Ordinal);
            await replay.WaitForAsync("turn.completed");
        }

        world.Model.Enqueue(ScriptedReply.Text("KIWI."));
        await world.SendAsync(sessionId, "Which fruit?");
        await events.WaitForAsync("turn.completed");
        Assert.Contains("KIWI", world.Model.Requests[^1].Body.GetProperty("messages").GetRawText(), StringComparison.Ordinal);
        Assert.Equal(1, live.RunnerCount);
    }

    /// <summary>Apart, so that no local of the test keeps the runner alive.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference WeakRunner(LiveSessions live, string sessionId) => new(live.RunnerOf(sessionId) ?? throw new InvalidOperationException("not live"));

    [Fact]
    public async Task PendingApproval_LongIdle_NeverSuspended()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.ClaudeAsync(clock);
        var live = world.Server.Services.GetRequiredService<LiveSessions>();
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo wait > wait.txt", description = "Write" }), ScriptedReply.Text("Done."));
        var sessionId = await world.StartSessionAsync("write wait.txt");
        await using var events = await world.EventsAsync(sessionId);
        var ask = await events.WaitForAsync("approval.requested");

        clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, await world.Server.Services.GetRequiredService<PocketCoder.Sessions.Live.Suspensions>().SuspendIdleAsync(CancellationToken.None));
        Assert.Equal(1, live.RunnerCount);

        await ApiAssert.OkJsonAsync(await world.DecideAsync(ask.Str("approvalId")!, "allow_once"));
        await events.WaitForAsync("turn.completed");
        Assert.True(File.Exists(Path.Combine(world.Repository, "wait.txt")));
    }
}
