using System.Text.Json;
using FakeLlm;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.EndToEnd;

/// <summary>Claude Code reports its calls' cost since its last result and a running total; each usage event carries the turn's own and the session's total, across a restart.</summary>
public sealed class UsageCostTests
{
    [Fact]
    public async Task ClaudeTurns_CostPerTurn_AndSessionTotal_AcrossARestart()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(ScriptedReply.Text("One."), ScriptedReply.Text("Two."));
        var sessionId = await world.StartSessionAsync("first");
        await using (var events = await world.EventsAsync(sessionId))
        {
            await events.WaitForAsync("turn.completed");
            await world.SendAsync(sessionId, "second");
            await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Two.");
            await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > events.Received.First(m => m.Str("text") == "Two.").Id);
        }

        var (first, second) = await UsageAsync(world, sessionId) switch { var u => (u[0], u[1]) };
        Assert.True(first.Turn > 0, "Claude reported no cost for the first turn");
        Assert.Equal(first.Turn, first.Session);
        Assert.True(second.Turn > 0);
        Assert.Equal(first.Session + second.Turn, second.Session);
        Assert.NotEqual(second.Session, second.Turn);

        // A new agent process after a restart counts from zero; the session's total goes on from the log.
        await world.RestartServerAsync();
        world.Model.Enqueue(ScriptedReply.Text("Three."));
        await world.Http.PostAsync($"/api/sessions/{sessionId}/resume", null);
        await world.SendAsync(sessionId, "third");
        await using (var events = await world.EventsAsync(sessionId, lastEventId: "0"))
        {
            var three = await events.WaitForAsync(e => e.Event == "message" && e.Str("text") == "Three.");
            await events.WaitForAsync(e => e.Event == "turn.completed" && e.Id > three.Id);
        }

        var third = (await UsageAsync(world, sessionId))[2];
        Assert.True(third.Turn > 0);
        // A resumed Claude's running total starts from what its transcript saved: read as the turn's cost, the first turn after
        // a restart (or a rewind, which forks) cost every earlier turn again (issue #67: "ten times its original").
        Assert.True(third.Turn < second.Session, $"the turn after the restart cost {third.Turn}, the two before it {second.Session} together");
        Assert.Equal(second.Session + third.Turn, third.Session);
    }

    private static async Task<List<(decimal Turn, decimal Session)>> UsageAsync(AgentWorld world, string sessionId)
    {
        await using var replay = await world.EventsAsync(sessionId, lastEventId: "0");
        var last = (await world.SessionAsync(sessionId)).GetProperty("lastSeq").GetInt64();
        await replay.WaitForAsync(e => e.Id == last);
        return [.. replay.Received.Where(e => e.Event == "usage")
            .Select(e => (e.Json.GetProperty("costUsd").GetDecimal(), e.Json.GetProperty("sessionCostUsd").GetDecimal()))];
    }
}
