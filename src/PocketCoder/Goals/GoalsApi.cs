using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Server;

namespace PocketCoder.Goals;

/// <summary>A goal to set, or an open goal's change (a field left out keeps its value; on a new goal, its default).</summary>
/// <param name="Text">What the agent should reach, in the owner's words.</param>
/// <param name="Check">A command run in the session's folder after each turn (e.g. <c>dotnet test</c>): exit 0 = met. Absent:
/// the agent judges, by its reply's last line. Running it is a command of one's own: it needs the right to run commands.
/// An empty string removes it from an open goal.</param>
public sealed record SetGoalRequest(
    [property: StringLength(GoalControls.MaxText, MinimumLength = 1, ErrorMessage = "'text' is 1 to {1} characters.")]
    [property: NoNulText(GoalControls.MaxText, ErrorMessage = "'text' is text of at most 4000 characters.")]
    string? Text,
    [property: NoNulText(GoalControls.MaxCheck, ErrorMessage = "'check' is a command of at most 1000 characters.")]
    string? Check = null,
    GoalCapsRequest? Caps = null);

/// <param name="Turns">Turns it may take (default 20).</param>
/// <param name="Minutes">Wall time it may run while active (default 120).</param>
/// <param name="Tokens">Tokens (input and output) it may spend (default: the project's session budget, else 2,000,000).</param>
/// <param name="NoProgressTurns">Turns in a row with the same outcome before the owner is asked (default 3).</param>
public sealed record GoalCapsRequest(
    [property: Range(1_000L, 10_000_000_000L, ErrorMessage = "'caps.tokens' is between {1} and {2}.")]
    long? Tokens = null,
    [property: Range(1, 10_080, ErrorMessage = "'caps.minutes' is between {1} and {2} (a week).")]
    int? Minutes = null,
    [property: Range(1, 1000, ErrorMessage = "'caps.turns' is between {1} and {2}.")]
    int? Turns = null,
    [property: Range(2, 100, ErrorMessage = "'caps.noProgressTurns' is between {1} and {2}.")]
    int? NoProgressTurns = null);

public sealed record GoalCapsResponse(long Tokens, int Minutes, int Turns, int NoProgressTurns);

/// <summary>A session's goal: what it is, where it stands, what it has spent against its caps, and what its last turn said.</summary>
/// <param name="Status"><c>active</c>, <c>paused</c>, <c>waiting_for_owner</c>; ended: <c>complete</c>, <c>budget_limited</c>,
/// <c>stalled</c>, <c>stopped</c> (docs/goals.md).</param>
/// <param name="Turns">Turns it has taken (judged).</param>
/// <param name="Tokens">Tokens (input and output) it has spent since it was set.</param>
/// <param name="ElapsedSeconds">Wall time while active.</param>
/// <param name="SameInARow">Turns in a row that ended with the same outcome (the owner is asked at <c>caps.noProgressTurns</c>).</param>
/// <param name="LastNote">What the last judged turn's check (exit and output tail) or verdict said.</param>
/// <param name="Reason">Why it ended, waits for the owner, or was paused.</param>
public sealed record GoalResponse(string Text, string? Check, string Status, int Turns, long Tokens, decimal CostUsd, long ElapsedSeconds,
    GoalCapsResponse Caps, int SameInARow, string? LastNote, string SetBy, DateTimeOffset SetAt, DateTimeOffset? EndedAt, string? Reason)
{
    public static GoalResponse From(Goal goal) => new(goal.Objective, goal.CheckCommand, goal.State.ToWire(), goal.Spend.Turns, goal.Spend.Tokens,
        goal.Spend.CostUsd, (long)goal.Spend.Elapsed.TotalSeconds,
        new GoalCapsResponse(goal.Caps.Tokens, goal.Caps.Minutes, goal.Caps.Turns, goal.Caps.NoProgressTurns),
        goal.SameInARow, goal.LastNote, goal.SetBy.Name, goal.SetAt, goal.EndedAt, goal.Reason);
}

public static class GoalsApi
{
    public static IServiceCollection AddGoals(this IServiceCollection services) => services
        .AddSingleton<GoalStore>().AddSingleton<GoalCheck>().AddSingleton<GoalNotices>().AddSingleton<GoalDriver>().AddSingleton<GoalControls>()
        .AddHostedService<GoalLoop>();

    public static void MapGoals(this IEndpointRouteBuilder api)
    {
        var group = api.MapGroup("/sessions/{id}/goal");
        group.MapGet("/", (string id, GoalControls goals) => GoalResponse.From(goals.Get(id))).WithName("GetSessionGoal");
        group.MapPut("/", (string id, SetGoalRequest request, GoalControls goals, ClaimsPrincipal user, CancellationToken ct) =>
            goals.SetAsync(id, request, user.Actor(), ct)).WithName("SetSessionGoal");
        group.MapDelete("/", async (string id, GoalControls goals, ClaimsPrincipal user, CancellationToken ct) =>
        {
            await goals.ClearAsync(id, user.Actor(), ct);
            return TypedResults.NoContent();
        }).WithName("ClearSessionGoal");
        group.MapPost("/pause", (string id, GoalControls goals, ClaimsPrincipal user, CancellationToken ct) =>
            goals.MoveAsync(id, GoalEvent.Pause, user.Actor(), ct)).WithName("PauseSessionGoal");
        group.MapPost("/resume", (string id, GoalControls goals, ClaimsPrincipal user, CancellationToken ct) =>
            goals.MoveAsync(id, GoalEvent.Resume, user.Actor(), ct)).WithName("ResumeSessionGoal");
        group.MapPost("/continue", (string id, GoalControls goals, ClaimsPrincipal user, CancellationToken ct) =>
            goals.MoveAsync(id, GoalEvent.OwnerContinue, user.Actor(), ct)).WithName("ContinueSessionGoal");
        group.MapPost("/stop", (string id, GoalControls goals, ClaimsPrincipal user, CancellationToken ct) =>
            goals.MoveAsync(id, GoalEvent.OwnerStop, user.Actor(), ct)).WithName("StopSessionGoal");
    }
}
