using FakeLlm;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Goals;

/// <summary>A goal driven by PocketCoder over a real agent CLI (Claude Code), its replies scripted by the fake model.</summary>
public sealed class GoalRealAgentTests
{
    [Fact]
    public async Task ClaudeCode_AGoalMetOnItsThirdTurn_EndsCompleteAfterThatTurn()
    {
        await using var world = await AgentWorld.ClaudeAsync();
        world.Model.Enqueue(ScriptedReply.Text("Hello."), ScriptedReply.Text("Tried the parser.\nGOAL: NOT MET"),
            ScriptedReply.Text("Tried the lexer.\nGOAL: NOT MET"), ScriptedReply.Text("Both fixed, all green.\nGOAL: MET"));
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await GoalLoopTests.IdleSessionAsync(world, all);

        await GoalLoopTests.PutGoalAsync(world, sessionId, new { text = "make the parser tests pass" });
        var goal = await GoalLoopTests.GoalAsync(all, sessionId, "complete");

        Assert.Equal(3, goal.GetProperty("turns").GetInt32());
        Assert.True(goal.GetProperty("tokens").GetInt64() > 0, "Claude's usage was not counted to the goal");
        var prompts = world.Model.Requests.Select(r => r.LastUserText()).ToList();
        Assert.Contains(prompts, p => p?.Contains("Work toward this goal until it is met: make the parser tests pass", StringComparison.Ordinal) == true);
        Assert.Equal(2, prompts.Count(p => p?.Contains("Continue toward the goal", StringComparison.Ordinal) == true));
    }
}
