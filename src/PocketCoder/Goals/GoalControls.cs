using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Sessions;

namespace PocketCoder.Goals;

/// <summary>
/// The owner's commands on a session's goal: set or edit, pause, resume, go on or stop when asked, clear. Each is steering
/// the session (<see cref="SessionManager.EnsureMaySteer"/>); caps above the defaults, or above an open goal's, are a budget
/// raise (<see cref="Teams.RaiseGoalCaps"/>); a check command is a command of one's own (the right to run commands). All
/// three are the decision-rights table's answers.
/// </summary>
public sealed class GoalControls(GoalStore goals, GoalDriver driver, GoalNotices notices, SessionManager manager, SessionStore sessions,
    Teams.Authority authority, Teams.TeamPolicies policies, Data.Database database)
{
    public const int MaxText = 4000;
    public const int MaxCheck = 1000;

    public const int DefaultTurns = 20;
    public const int DefaultMinutes = 120;
    public const long DefaultTokens = 2_000_000;
    public const int DefaultNoProgressTurns = 3;

    /// <exception cref="ApiProblem">404 <c>GOAL_NOT_FOUND</c>.</exception>
    public Goal Get(string sessionId) => goals.Find(sessions.Get(sessionId).Id)
        ?? throw ApiProblem.NotFound(ErrorCodes.GoalNotFound, "This session has no goal: set one with PUT /api/sessions/{id}/goal.");

    /// <summary>The caps a goal gets unless its setter says otherwise: the project's session budget bounds its tokens.</summary>
    public GoalCaps Defaults(string projectId) => new(DefaultTurns, DefaultMinutes,
        policies.For(projectId).Budget.Session?.Tokens is { } budget ? Math.Min(budget, DefaultTokens) : DefaultTokens, DefaultNoProgressTurns);

    /// <summary>Sets a goal (replacing an ended one), or edits the open one; a new goal's first turn starts now if the session is between turns.</summary>
    public async Task<GoalResponse> SetAsync(string sessionId, SetGoalRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var session = sessions.Get(sessionId);
        manager.EnsureMaySteer(session.Id, actor);
        if (session.Status == SessionStatuses.Stopped)
        {
            throw ApiProblem.Conflict(ErrorCodes.SessionNotActive, "This session is stopped: a goal needs a session that can take turns.");
        }

        var started = await driver.ExclusivelyAsync(session.Id, () => Task.FromResult(Write(session, request, actor)), cancellationToken);
        notices.Changed(session.Id);
        if (started)
        {
            await driver.KickAsync(session.Id, first: true, cancellationToken);
        }

        return GoalResponse.From(Get(session.Id));
    }

    /// <summary>Pauses, resumes, goes on (asked) or stops (asked: <c>stalled</c>; else <c>stopped</c>) the goal, as the table allows.</summary>
    /// <exception cref="ApiProblem">409 <c>GOAL_STATE_CONFLICT</c> where the table does not allow it.</exception>
    public async Task<GoalResponse> MoveAsync(string sessionId, GoalEvent @event, Actor actor, CancellationToken cancellationToken)
    {
        var goal = Get(sessionId);
        manager.EnsureMaySteer(goal.SessionId, actor);
        // Stop when not asked: the owner ends it there and then.
        var asked = @event == GoalEvent.OwnerStop && goal.State != GoalState.WaitingForOwner ? GoalEvent.Stop : @event;
        var moved = await driver.ExclusivelyAsync(goal.SessionId, () =>
        {
            var now = goals.Find(goal.SessionId)!;
            return Task.FromResult(notices.Move(goal.SessionId, now.State, asked, actor, Reason(asked, actor)) is not null ? (GoalState?)now.State : null);
        }, cancellationToken);
        if (moved is null)
        {
            throw ApiProblem.Conflict(ErrorCodes.GoalStateConflict,
                $"The goal is {goals.Find(goal.SessionId)!.State.ToWire()}: it cannot be {Past(asked)} from there (docs/goals.md).");
        }

        if (asked is GoalEvent.Resume or GoalEvent.OwnerContinue)
        {
            await driver.KickAsync(goal.SessionId, first: false, cancellationToken);
        }

        return GoalResponse.From(Get(goal.SessionId));
    }

    /// <summary>Removes the goal; one still open ends <c>stopped</c> first (told and ledgered, never silently).</summary>
    public async Task ClearAsync(string sessionId, Actor actor, CancellationToken cancellationToken)
    {
        var goal = Get(sessionId);
        manager.EnsureMaySteer(goal.SessionId, actor);
        if (goal.Spend.Turns > 0)
        {
            // Clearing forgets what it spent, so the next goal's caps would count from zero: that is a raise (stopping is not).
            authority.Ensure(actor, sessions.Get(goal.SessionId).ProjectId, new Teams.RaiseGoalCaps());
        }

        await driver.ExclusivelyAsync(goal.SessionId, () =>
        {
            if (goals.Find(goal.SessionId) is { } now && !now.State.IsEnded())
            {
                notices.Move(goal.SessionId, now.State, GoalEvent.Stop, actor, $"Cleared by {actor.Name}.");
            }

            return Task.FromResult(database.Write(write =>
            {
                notices.Ledger(write, actor, "goal.cleared", goal.SessionId);
                return goals.Delete(write, goal.SessionId);
            }));
        }, cancellationToken);
        notices.Changed(goal.SessionId);
    }

    /// <summary>Writes the goal under the session's goal lock; true when a new goal was set (its first turn is to start).</summary>
    private bool Write(Session session, SetGoalRequest request, Actor actor)
    {
        var open = goals.Find(session.Id) is { } existing && !existing.State.IsEnded() ? existing : null;
        if (open is null && string.IsNullOrWhiteSpace(request.Text))
        {
            throw ApiProblem.Validation("'text' is required for a new goal: what the agent should reach.");
        }

        var defaults = Defaults(session.ProjectId);
        var before = open?.Caps ?? defaults;
        var asked = request.Caps ?? new GoalCapsRequest();
        var caps = new GoalCaps(asked.Turns ?? before.Turns, asked.Minutes ?? before.Minutes, asked.Tokens ?? before.Tokens,
            asked.NoProgressTurns ?? before.NoProgressTurns);
        if (caps.Turns is < 1 or > 1000 || caps.Minutes is < 1 or > 10_080 || caps.Tokens is < 1_000 or > 10_000_000_000 || caps.NoProgressTurns is < 2 or > 100)
        {
            throw ApiProblem.Validation("'caps' are turns 1 to 1000, minutes 1 to 10080, tokens 1000 to 10,000,000,000, noProgressTurns 2 to 100.");
        }
        // A new goal over one that spent is more of the same budget: clearing and setting again must not reset the caps' count.
        var spentBefore = open is null && goals.Find(session.Id) is { Spend.Turns: > 0 };
        if (spentBefore || caps.Turns > before.Turns || caps.Minutes > before.Minutes || caps.Tokens > before.Tokens
            || caps.NoProgressTurns > before.NoProgressTurns)
        {
            authority.Ensure(actor, session.ProjectId, new Teams.RaiseGoalCaps());
        }

        var check = request.Check is null ? open?.CheckCommand : string.IsNullOrWhiteSpace(request.Check) ? null : request.Check.Trim();
        if (check is not null && check != open?.CheckCommand)
        {
            authority.Ensure(actor, session.ProjectId, new Teams.UseRoute(Access.Shell));
        }

        var objective = string.IsNullOrWhiteSpace(request.Text) ? open!.Objective : request.Text.Trim();
        database.Write(write =>
        {
            if (open is null)
            {
                goals.Set(write, session.Id, objective, check, caps, actor);
            }
            else
            {
                goals.Edit(write, session.Id, objective, check, caps);
            }

            notices.Ledger(write, actor, open is null ? "goal.set" : "goal.edited", session.Id);
        });
        return open is null;
    }

    private static string? Reason(GoalEvent @event, Actor actor) => @event switch
    {
        GoalEvent.OwnerStop => $"{actor.Name} chose to stop after turns with no progress.",
        GoalEvent.Stop => $"Stopped by {actor.Name}.",
        GoalEvent.Pause => $"Paused by {actor.Name}.",
        _ => null,
    };

    private static string Past(GoalEvent @event) => @event switch
    {
        GoalEvent.Pause => "paused",
        GoalEvent.Resume => "resumed (only a paused goal is)",
        GoalEvent.OwnerContinue => "continued (only a goal waiting for the owner is)",
        _ => "stopped",
    };
}
