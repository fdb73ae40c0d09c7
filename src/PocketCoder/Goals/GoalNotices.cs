using System.Text.Json;
using System.Text.Json.Nodes;
using PocketCoder.Auth;
using PocketCoder.Data;
using PocketCoder.Notifications;
using PocketCoder.Realtime;

namespace PocketCoder.Goals;

/// <summary>
/// Tells what happens to a goal, never silently: every change is ledgered (with the spend) and told to every phone as an
/// ephemeral <c>goal.updated</c> on the dashboard stream (<c>GET /api/events</c>: the session's id and its goal as
/// <c>GET /api/sessions/{id}/goal</c> answers it, or null once cleared); an end (<c>goal.ended</c>) and a question to the
/// owner (<c>goal.waiting</c>) are notifications too, to every device whatever its settings (as a budget warning is).
/// </summary>
public sealed class GoalNotices(Database database, GoalStore goals, Ledger.LedgerStore ledger, EventHub hub, NotificationOutbox outbox,
    NotificationMessages messages)
{
    /// <summary>
    /// Moves the goal as the table says and tells it, in one transaction with its ledger entry; null when it may not move
    /// (the table does not allow it from where it stands, or it moved meanwhile).
    /// </summary>
    public GoalState? Move(string sessionId, GoalState from, GoalEvent @event, Actor actor, string? reason = null)
    {
        var moved = database.Write(write =>
        {
            if (goals.Move(write, sessionId, from, @event, reason) is not { } to)
            {
                return (GoalState?)null;
            }

            Ledger(write, actor, to.IsEnded() ? "goal.ended" : $"goal.{Action(@event)}", sessionId, reason);
            return to;
        });
        if (moved is { } state)
        {
            Changed(sessionId);
            if (state.IsEnded())
            {
                Notify(sessionId, NotificationKinds.GoalEnded, $"Goal {Said(state)}", reason);
            }
            else if (state == GoalState.WaitingForOwner)
            {
                Notify(sessionId, NotificationKinds.GoalWaiting, "Goal waits for you", $"{reason} Go on, or stop it?");
            }
        }

        return moved;
    }

    /// <summary>Ledgers a change that moves no state (set, edited, cleared) in the caller's transaction.</summary>
    public void Ledger(DbWrite write, Actor actor, string action, string sessionId, string? reason = null)
    {
        var goal = goals.Find(write, sessionId);
        var detail = new JsonObject { ["reason"] = reason, ["deviceId"] = actor.Id };
        if (goal is not null)
        {
            detail["objective"] = goal.Objective;
            detail["check"] = goal.CheckCommand;
            detail["status"] = goal.State.ToWire();
            detail["turns"] = goal.Spend.Turns;
            detail["elapsedSeconds"] = (long)goal.Spend.Elapsed.TotalSeconds;
            detail["tokens"] = goal.Spend.Tokens;
            detail["costUsd"] = goal.Spend.CostUsd;
            detail["caps"] = new JsonObject
            {
                ["turns"] = goal.Caps.Turns, ["minutes"] = goal.Caps.Minutes, ["tokens"] = goal.Caps.Tokens, ["noProgressTurns"] = goal.Caps.NoProgressTurns,
            };
        }

        ledger.Append(write, actor.Name, action, sessionId, detail);
    }

    /// <summary>Tells every phone the session's goal as it is now.</summary>
    public void Changed(string sessionId)
    {
        var goal = goals.Find(sessionId);
        var data = new JsonObject
        {
            ["sessionId"] = sessionId,
            ["goal"] = goal is null ? null : JsonSerializer.SerializeToNode(GoalResponse.From(goal), Server.WireJson.Default.GoalResponse),
        };
        hub.PublishEphemeral(new EphemeralEvent("goal.updated", data.ToJsonString()));
    }

    private void Notify(string sessionId, string kind, string what, string? summary)
    {
        var spend = goals.Find(sessionId) is { } goal ? $" Spent: {GoalJudge.Describe(goal.Spend)}." : "";
        var (projectName, title) = messages.Names(sessionId);
        var body = $"{(title is null ? "" : $"{title}: ")}{summary}{spend}";
        outbox.Dispatch(kind, sessionId, messages.ForSession(sessionId, kind, $"{what} · {projectName}", body, "A goal needs attention."), escalate: false);
    }

    private static string Said(GoalState state) => state switch
    {
        GoalState.Complete => "met",
        GoalState.BudgetLimited => "stopped at its cap",
        GoalState.Stalled => "stalled",
        _ => "stopped",
    };

    private static string Action(GoalEvent @event) => @event switch
    {
        GoalEvent.NoProgress or GoalEvent.CannotGoOn => "waiting",
        GoalEvent.Pause => "paused",
        GoalEvent.Resume => "resumed",
        GoalEvent.OwnerContinue => "continued",
        _ => @event.ToString().ToLowerInvariant(),
    };
}
