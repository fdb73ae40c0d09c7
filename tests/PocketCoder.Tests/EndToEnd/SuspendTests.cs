using FakeLlm;
using Microsoft.Extensions.DependencyInjection;
using PocketCoder.Sessions;
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
        var manager = world.Server.Services.GetRequiredService<SessionManager>();
        world.Model.Enqueue(ScriptedReply.Text("Noted: MANGO."));
        var sessionId = await world.StartSessionAsync("remember the fruit MANGO");
        await using var events = await world.EventsAsync(sessionId);
        await events.WaitForAsync("turn.completed");
        await events.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle");
        Assert.Equal(1, manager.LiveCount);

        clock.Advance(TimeSpan.FromMinutes(16));
        var suspended = await events.WaitForAsync(e => e.Event == "session.status" && (e.Str("reason") ?? "").Contains("suspended", StringComparison.Ordinal));
        Assert.Equal("idle", suspended.Str("status"));
        Assert.Equal(0, manager.LiveCount);

        world.Model.Enqueue(ScriptedReply.Text("MANGO."));
        await world.SendAsync(sessionId, "Which fruit?");
        await events.WaitForAsync("turn.completed");
        Assert.Contains("MANGO", world.Model.Requests[^1].Body.GetProperty("messages").GetRawText(), StringComparison.Ordinal);
        Assert.Equal(1, manager.LiveCount);
    }

    [Fact]
    public async Task PendingApproval_LongIdle_NeverSuspended()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await AgentWorld.ClaudeAsync(clock);
        var manager = world.Server.Services.GetRequiredService<SessionManager>();
        world.Model.Enqueue(ScriptedReply.ToolUse("Bash", new { command = "echo wait > wait.txt", description = "Write" }), ScriptedReply.Text("Done."));
        var sessionId = await world.StartSessionAsync("write wait.txt");
        await using var events = await world.EventsAsync(sessionId);
        var ask = await events.WaitForAsync("approval.requested");

        clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, await manager.SuspendIdleAsync(CancellationToken.None));
        Assert.Equal(1, manager.LiveCount);

        await ApiAssert.OkJsonAsync(await world.DecideAsync(ask.Str("approvalId")!, "allow_once"));
        await events.WaitForAsync("turn.completed");
        Assert.True(File.Exists(Path.Combine(world.Repository, "wait.txt")));
    }
}
