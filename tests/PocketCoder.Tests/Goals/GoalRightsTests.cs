using System.Net;
using System.Net.Http.Json;
using PocketCoder.Auth;
using PocketCoder.Teams;
using PocketCoder.Tests.EndToEnd;
using PocketCoder.Tests.Infrastructure;

namespace PocketCoder.Tests.Goals;

/// <summary>
/// Who may set a session's goal: it is steering (a viewer may not); caps above the defaults are a budget raise (those who
/// decide budgets); a check command is a command of one's own (those who may run commands). The table's answers, asked
/// through the API as a phone asks them, and bad input a stable problem.
/// </summary>
public sealed class GoalRightsTests
{
    [Theory]
    [InlineData(Role.Viewer, false)]
    [InlineData(Role.Operator, false)]
    [InlineData(Role.Approver, true)]
    [InlineData(Role.Owner, true)]
    [Trait("Category", "Unit")]
    public void RaisingAGoalsCaps_IsABudgetRaise_InTheTable(Role role, bool allowed)
    {
        var right = DecisionRights.Check(new Decider("p", "P", role, Active: true), new RaiseGoalCaps(), TeamPolicy.Default);
        Assert.Equal(allowed, right.Allowed);
        Assert.Equal(allowed, DecisionRights.Check(new Decider("p", "P", role, Active: true), DecideCall.RaiseBudget, TeamPolicy.Default).Allowed);
    }

    [Fact]
    public async Task AViewerCannotSetAGoal_AnOperatorSetsOneWithinItsDefaults_ButRaisingItsCapsOrACheckNeedMore()
    {
        // The goal's first turn never ends: it stays open while its caps are changed.
        var (fake, _) = GoalLoopTests.Scripted(turn => "Working.\nGOAL: NOT MET", hold: _ => new TaskCompletionSource().Task);
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await GoalLoopTests.IdleSessionAsync(world, all);
        var viewer = await world.Server.PairPersonAsync("Vic", Role.Viewer);
        var operatorPhone = await world.Server.PairPersonAsync("Olu", Role.Operator);
        var approver = await world.Server.PairPersonAsync("Ana", Role.Approver);
        var path = $"/api/sessions/{sessionId}/goal";

        await ApiAssert.ProblemAsync(await viewer.Http.PutAsJsonAsync(path, new { text = "ship it" }), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        await ApiAssert.ProblemAsync(await operatorPhone.Http.PutAsJsonAsync(path, new { text = "ship it", caps = new { turns = 50 } }),
            HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        await ApiAssert.ProblemAsync(await operatorPhone.Http.PutAsJsonAsync(path, new { text = "ship it", check = "make test" }),
            HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        await ApiAssert.ProblemAsync(await world.Http.GetAsync(path), HttpStatusCode.NotFound, "GOAL_NOT_FOUND");

        // Asking the owner later (more turns without progress before the checkpoint) is a raise too.
        await ApiAssert.ProblemAsync(await operatorPhone.Http.PutAsJsonAsync(path, new { text = "ship it", caps = new { noProgressTurns = 9 } }),
            HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        var set = await operatorPhone.Http.PutAsJsonAsync(path, new { text = "ship it", caps = new { turns = 5, noProgressTurns = 2 } });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        await ApiAssert.ProblemAsync(await operatorPhone.Http.PutAsJsonAsync(path, new { caps = new { turns = 6 } }), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        await ApiAssert.ProblemAsync(await viewer.Http.PostAsync($"{path}/pause", null), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        var raised = await approver.Http.PutAsJsonAsync(path, new { caps = new { turns = 6 } });
        Assert.Equal(HttpStatusCode.OK, raised.StatusCode);
        Assert.Equal(6, (await ApiAssert.OkJsonAsync(raised)).GetProperty("caps").GetProperty("turns").GetInt32());
    }

    /// <summary>
    /// Clearing a goal that spent, or setting a new one over it, would count its caps from zero again: a raise, so an operator
    /// cannot buy another round by clearing and setting the same goal (an attacker review's finding). Stopping stays steering.
    /// </summary>
    [Fact]
    public async Task ClearingAGoalThatSpent_OrSettingAnotherOverIt_IsACapRaise()
    {
        var (fake, _) = GoalLoopTests.Scripted(turn => "Working.\nGOAL: NOT MET");
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await GoalLoopTests.IdleSessionAsync(world, all);
        var operatorPhone = await world.Server.PairPersonAsync("Olu", Role.Operator);
        var path = $"/api/sessions/{sessionId}/goal";

        await GoalLoopTests.PutGoalAsync(world, sessionId, new { text = "ship it", caps = new { turns = 1 } });
        await GoalLoopTests.GoalAsync(all, sessionId, "budget_limited");

        await ApiAssert.ProblemAsync(await operatorPhone.Http.PutAsJsonAsync(path, new { text = "ship it" }), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        await ApiAssert.ProblemAsync(await operatorPhone.Http.DeleteAsync(path), HttpStatusCode.Forbidden, "ROLE_FORBIDDEN");
        Assert.Equal(HttpStatusCode.NoContent, (await world.Http.DeleteAsync(path)).StatusCode);
    }

    [Fact]
    public async Task BadInput_IsAStableProblem_NeverA500()
    {
        var (fake, _) = GoalLoopTests.Scripted(turn => "Working.\nGOAL: NOT MET");
        await using var world = await AgentWorld.FakeAsync(fake);
        await using var all = await SseClient.ConnectAsync(world.Http, "/api/events?tail=true", null);
        var sessionId = await GoalLoopTests.IdleSessionAsync(world, all);
        var path = $"/api/sessions/{sessionId}/goal";

        await ApiAssert.ProblemAsync(await world.Http.PutAsJsonAsync(path, new { caps = new { turns = 3 } }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PutAsJsonAsync(path, new { text = "x", caps = new { turns = 0 } }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PutAsJsonAsync(path, new { text = "x", caps = new { tokens = 5 } }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PutAsJsonAsync(path, new { text = new string('x', 5000) }), HttpStatusCode.BadRequest, "VALIDATION_FAILED");
        await ApiAssert.ProblemAsync(await world.Http.PostAsync($"{path}/resume", null), HttpStatusCode.NotFound, "GOAL_NOT_FOUND");
        await ApiAssert.ProblemAsync(await world.Http.PutAsJsonAsync("/api/sessions/nothing/goal", new { text = "x" }), HttpStatusCode.NotFound, "SESSION_NOT_FOUND");
    }
}
