using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PocketCoder.Agents;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Goals;

/// <summary>
/// A session's goal driven by PocketCoder, end to end with the fake agent (no process, no model): met on its third turn it
/// ends <c>complete</c> after that turn; never met it stops at its turn cap and at its token cap (<c>budget_limited</c>, its
/// spend shown); the same failing check three turns in a row asks the owner, who goes on or stops; pausing stops it between
/// turns and resuming goes on; it survives a restart. Every end is told and ledgered.
/// </summary>
public sealed class GoalLoopTests
{
    private static readonly string[] Words = ["zero", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"];

    [Fact]
    public async Task AGoalMetOnItsThirdTurn_EndsCompleteAfterThatTurn_ToldAndLedgered()
    {
        var (fake, prompts) = Scripted(turn => turn >= 3 ? "All green now.\nGOAL: MET" : $"Not yet, the {Words[turn]} try.\nGOAL: NOT MET");
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await IdleSessionAsync(world, all);

        var set = await world.Http.PutAsJsonAsync($"/api/sessions/{sessionId}/goal", new { text = "make the tests pass" });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var goal = await GoalAsync(all, sessionId, "complete");

        Assert.Equal(3, goal.GetProperty("turns").GetInt32());
        Assert.Equal(["hello", "Work toward", "Continue toward", "Continue toward"], prompts.Select(Start));
        Assert.Contains("GOAL: MET", prompts[1], StringComparison.Ordinal);
        Assert.Equal("complete", (await world.SessionAsync(sessionId)).GetProperty("goal").GetProperty("status").GetString());
        var ended = await LedgerAsync(world, "goal.ended", sessionId);
        Assert.Equal("complete", ended.GetProperty("status").GetString());
        Assert.Equal(3, ended.GetProperty("turns").GetInt32());
    }

    [Fact]
    public async Task AGoalNeverMet_StopsAtItsTurnCap_BudgetLimited_WithItsSpend()
    {
        var (fake, prompts) = Scripted(turn => $"Tried the {Words[turn]} thing.\nGOAL: NOT MET");
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await IdleSessionAsync(world, all);

        await PutGoalAsync(world, sessionId, new { text = "never", caps = new { turns = 4 } });
        var goal = await GoalAsync(all, sessionId, "budget_limited");

        Assert.Equal(4, goal.GetProperty("turns").GetInt32());
        Assert.Contains("turn cap (4)", goal.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(5, prompts.Count);
        Assert.Equal("budget_limited", (await LedgerAsync(world, "goal.ended", sessionId)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AGoalNeverMet_StopsAtItsTokenCap_BudgetLimited_WithTheTokensSpent()
    {
        var (fake, _) = Scripted(turn => $"Tried the {Words[turn]} thing.\nGOAL: NOT MET", usage: 1_100);
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await IdleSessionAsync(world, all);

        await PutGoalAsync(world, sessionId, new { text = "never", caps = new { tokens = 3_000 } });
        var goal = await GoalAsync(all, sessionId, "budget_limited");

        // Three turns of 1,100 tokens: the cap is passed by the third, which ends it.
        Assert.Equal(3, goal.GetProperty("turns").GetInt32());
        Assert.Equal(3_300, goal.GetProperty("tokens").GetInt64());
        Assert.Contains("token cap", goal.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(3_300, (await LedgerAsync(world, "goal.ended", sessionId)).GetProperty("tokens").GetInt64());
    }

    [Fact]
    public async Task TheSameFailingCheckThreeTurnsInARow_AsksTheOwner_WhoGoesOn_ThenStops()
    {
        var (fake, prompts) = Scripted(turn => $"Changed something, the {Words[turn]} time.");
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await IdleSessionAsync(world, all);

        await PutGoalAsync(world, sessionId, new { text = "fix the build", check = "echo 'FAIL: Widget_Works (expected 2, got 3)'; exit 1" });
        var waiting = await GoalAsync(all, sessionId, "waiting_for_owner");
        Assert.Equal(3, waiting.GetProperty("turns").GetInt32());
        Assert.Contains("FAIL: Widget_Works", waiting.GetProperty("lastNote").GetString(), StringComparison.Ordinal);
        Assert.Contains("FAIL: Widget_Works", prompts[^1], StringComparison.Ordinal);
        Assert.Equal(4, prompts.Count);

        var resumed = await world.Http.PostAsync($"/api/sessions/{sessionId}/goal/continue", null);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        await GoalAsync(all, sessionId, "waiting_for_owner", after: 5);
        Assert.Equal(7, prompts.Count);

        var stopped = await world.Http.PostAsync($"/api/sessions/{sessionId}/goal/stop", null);
        Assert.Equal("stalled", (await stopped.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        var again = await world.Http.PostAsync($"/api/sessions/{sessionId}/goal/continue", null);
        await ApiAssert.ProblemAsync(again, HttpStatusCode.Conflict, "GOAL_STATE_CONFLICT");
    }

    /// <summary>
    /// A check runs what the agent may have just written (the project's tests and scripts), after every turn with no new
    /// question: in a sandboxed project (the default) it runs in the session's sandbox, so it writes nothing outside the project.
    /// Run as the phone's own commands are, this check would exit 0 and leave its file.
    /// </summary>
    [Fact]
    public async Task ASandboxedProjectsCheck_RunsInTheSessionsSandbox_NothingWrittenOutside()
    {
        var (fake, _) = Scripted(turn => $"Tried the {Words[turn]} thing.");
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await IdleSessionAsync(world, all);
        var outside = $"/var/tmp/pc-goal-check-{Guid.NewGuid():N}";
        try
        {
            await PutGoalAsync(world, sessionId, new { text = "escape", check = $"touch '{outside}'", caps = new { turns = 1 } });
            var goal = await GoalAsync(all, sessionId, "budget_limited");

            Assert.False(File.Exists(outside), "the goal's check wrote outside the project: it ran unsandboxed");
            Assert.Contains("exit 1", goal.GetProperty("lastNote").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Fact]
    public async Task PausingStopsItBetweenTurns_AndResumingGoesOn()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (fake, prompts) = Scripted(turn => turn >= 2 ? "Done.\nGOAL: MET" : "Half way.\nGOAL: NOT MET", hold: turn => turn == 1 ? release.Task : Task.CompletedTask);
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await IdleSessionAsync(world, all);

        await PutGoalAsync(world, sessionId, new { text = "finish it" });
        await (await fake.SessionAsync(0)).SentAsync(2);
        var paused = await world.Http.PostAsync($"/api/sessions/{sessionId}/goal/pause", null);
        Assert.Equal("paused", (await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        var turnEnded = all.Received.Count(e => e.Event == "turn.completed");
        release.SetResult();
        await all.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle" && all.Received.Count(r => r.Event == "turn.completed") > turnEnded);

        // Its turn ended while paused: nothing was sent for it, and that turn is not the goal's.
        var held = await world.Http.GetOkAsync($"/api/sessions/{sessionId}/goal");
        Assert.Equal(("paused", 0), (held.GetProperty("status").GetString(), held.GetProperty("turns").GetInt32()));
        Assert.Equal(2, prompts.Count);

        await world.Http.PostAsync($"/api/sessions/{sessionId}/goal/resume", null);
        var done = await GoalAsync(all, sessionId, "complete");
        Assert.Equal(1, done.GetProperty("turns").GetInt32());
        Assert.StartsWith("Continue toward", prompts[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGoal_SurvivesARestart_ItsStateAndSpendReadBack_AndGoesOn()
    {
        var (fake, prompts) = Scripted(turn => turn >= 3 ? "Done.\nGOAL: MET" : $"Not yet, the {Words[turn]} go.\nGOAL: NOT MET",
            usage: 1_000, hold: turn => turn == 2 ? new TaskCompletionSource().Task : Task.CompletedTask);
        await using var world = await AgentWorld.FakeAsync(fake);
        var sessionId = "";
        await using (var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null))
        {
            sessionId = await IdleSessionAsync(world, all);
            await PutGoalAsync(world, sessionId, new { text = "get there", caps = new { turns = 6 } });
            await all.WaitForAsync(e => e.Event == "goal.updated" && e.Str("sessionId") == sessionId
                && e.Json.GetProperty("goal").GetProperty("turns").GetInt32() == 1);
            await (await fake.SessionAsync(0)).SentAsync(3);
        }

        // The server stops under the goal's second turn: the session is cut off, the goal kept active with its spend.
        await world.RestartServerAsync();
        var kept = await world.Http.GetOkAsync($"/api/sessions/{sessionId}/goal");
        Assert.Equal("active", kept.GetProperty("status").GetString());
        Assert.Equal((1, 1_000L), (kept.GetProperty("turns").GetInt32(), kept.GetProperty("tokens").GetInt64()));

        // Interrupted, it waits for the owner's resume, and goes on then.
        await using var after = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        await world.Http.PostAsync($"/api/sessions/{sessionId}/resume", null);
        var done = await GoalAsync(after, sessionId, "complete");
        Assert.True(done.GetProperty("turns").GetInt32() >= 2);
        Assert.True(done.GetProperty("tokens").GetInt64() >= 2_000);
    }

    /// <summary>A fake agent whose reply to the goal's nth turn is <paramref name="reply"/>(n); every prompt it took, in order.</summary>
    /// <param name="usage">Tokens each goal turn reports spending (input and output, half each).</param>
    internal static (FakeAgent Fake, List<string> Prompts) Scripted(Func<int, string> reply, long usage = 0, Func<int, Task>? hold = null)
    {
        var prompts = new List<string>();
        var fake = new FakeAgent();
        fake.Script = async (session, prompt) =>
        {
            int turn;
            lock (prompts)
            {
                prompts.Add(prompt.Text);
                turn = prompts.Count(p => Start(p) is "Work toward" or "Continue toward");
            }

            if (turn == 0)
            {
                await FakeAgent.Echo(session, prompt);
                return;
            }

            await (hold?.Invoke(turn) ?? Task.CompletedTask);
            if (usage > 0)
            {
                await session.Sink!.OnEventAsync(new UsageReport(usage / 2, usage - usage / 2, 0, 0, null), CancellationToken.None);
            }

            var text = reply(Math.Min(turn, Words.Length - 1));
            await session.SayAsync(text);
            await session.EndTurnAsync(text);
        };
        return (fake, prompts);
    }

    internal static string Start(string prompt) =>
        prompt.StartsWith("Work toward", StringComparison.Ordinal) ? "Work toward"
        : prompt.StartsWith("Continue toward", StringComparison.Ordinal) ? "Continue toward" : prompt;

    internal static async Task<string> IdleSessionAsync(AgentWorld world, SseClient all)
    {
        // Its first turn over (a goal set while a turn runs takes that turn's end as its own), and the session between turns.
        var sessionId = await world.StartSessionAsync("hello");
        var ended = await all.WaitForAsync("turn.completed");
        await all.WaitForAsync(e => e.Event == "session.status" && e.Str("status") == "idle" && e.Id > ended.Id);
        return sessionId;
    }

    internal static async Task PutGoalAsync(AgentWorld world, string sessionId, object goal)
    {
        var response = await world.Http.PutAsJsonAsync($"/api/sessions/{sessionId}/goal", goal);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Waits for the goal's <c>goal.updated</c> in <paramref name="state"/> (with more than <paramref name="after"/> turns).</summary>
    internal static async Task<JsonElement> GoalAsync(SseClient all, string sessionId, string state, int after = 0)
    {
        var changed = await all.WaitForAsync(e => e.Event == "goal.updated" && e.Str("sessionId") == sessionId
            && e.Json.GetProperty("goal") is { ValueKind: JsonValueKind.Object } goal && goal.GetProperty("status").GetString() == state
            && goal.GetProperty("turns").GetInt32() > after);
        return changed.Json.GetProperty("goal");
    }

    /// <summary>The detail of the session's last ledger entry of <paramref name="action"/>.</summary>
    internal static async Task<JsonElement> LedgerAsync(AgentWorld world, string action, string sessionId)
    {
        var page = await world.Http.GetOkAsync("/api/ledger?limit=1000");
        var entries = (page.ValueKind == JsonValueKind.Array ? page : page.GetProperty("entries")).EnumerateArray()
            .Where(e => e.GetProperty("action").GetString() == action && e.GetProperty("subject").GetString() == sessionId).ToList();
        Assert.NotEmpty(entries);
        var detail = entries[^1].GetProperty("detail");
        return detail.ValueKind == JsonValueKind.String ? JsonElement.Parse(detail.GetString()!) : detail;
    }
}
