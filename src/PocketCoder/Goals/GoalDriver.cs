using System.Collections.Concurrent;
using PocketCoder.Auth;
using PocketCoder.Errors;
using PocketCoder.Realtime;
using PocketCoder.Sessions;

namespace PocketCoder.Goals;

/// <summary>
/// Owns each session's goal loop: when a turn of a session with an active goal ends, it judges the turn (the owner's check
/// command, or the agent's verdict line), decides with <see cref="GoalJudge"/> and moves the goal by its table
/// (<see cref="GoalLifecycle"/>); a goal not met, with room and progress, gets its next turn sent the way a phone's message is
/// (<see cref="SessionManager.SendAsync"/>, on the authority of whoever set it, asked again each time). One session's goal is
/// worked on by one caller at a time (a turn's end, the owner's resume, a restart's catch-up), so it never sends two turns.
/// </summary>
public sealed class GoalDriver(GoalStore goals, SessionManager manager, SessionStore sessions, EventLog events, GoalCheck check, GoalNotices notices,
    Data.Database database, ILogger<GoalDriver> logger)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="work"/> with the session's goal to itself.</summary>
    public async Task<T> ExclusivelyAsync<T>(string sessionId, Func<Task<T>> work, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(sessionId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await work().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A turn of the session ended (<paramref name="ended"/>, its <c>turn.completed</c>): judged once, if its goal is active.</summary>
    public Task TurnEndedAsync(StoredEvent ended, CancellationToken cancellationToken) => ExclusivelyAsync(ended.SessionId, async () =>
    {
        if (goals.Find(ended.SessionId) is not { } goal || goal.State.IsEnded() || ended.Seq <= goal.JudgedSeq
            || ended.As<TurnCompletedEvent>() is not { } turn)
        {
            return false;
        }

        if (goal.State != GoalState.Active)
        {
            database.Write(write => goals.Seen(write, goal.SessionId, ended.Seq));
            return false;
        }

        if (turn.StopReason == TurnCompletedEvent.Cancelled
            || sessions.Find(goal.SessionId)?.Status is SessionStatuses.Interrupted or SessionStatuses.Stopped)
        {
            database.Write(write => goals.Seen(write, goal.SessionId, ended.Seq));
            if (sessions.Find(goal.SessionId)?.Status is not (SessionStatuses.Interrupted or SessionStatuses.Stopped))
            {
                // The owner stopped the turn: the goal does not fight them for the session. (A turn cut off by a restart, or
                // by the session's stop, is neither judged nor a pause: the goal goes on when the session is resumed.)
                notices.Move(goal.SessionId, GoalState.Active, GoalEvent.Pause, Actor.System, "The owner stopped a turn of it; resume it to go on.");
            }

            return false;
        }

        await JudgeAsync(goal, ended, turn, cancellationToken).ConfigureAwait(false);
        return true;
    }, cancellationToken);

    /// <summary>
    /// Sends the goal's next turn now if it is active and its session between turns (set, resumed, gone on, back after a
    /// restart); while a turn runs, that turn's end drives it. A cap already reached ends it instead.
    /// </summary>
    public Task KickAsync(string sessionId, bool first, CancellationToken cancellationToken) => ExclusivelyAsync(sessionId, async () =>
    {
        if (goals.Find(sessionId) is not { State: GoalState.Active } goal || manager.IsWorking(sessionId)
            || sessions.Find(sessionId) is not { Status: not SessionStatuses.Stopped })
        {
            return false;
        }

        if (GoalJudge.CapReached(goal.Caps, goal.Spend) is { } cap)
        {
            notices.Move(sessionId, GoalState.Active, GoalEvent.CapReached, Actor.System, CapReason(goal, cap));
            return false;
        }

        await SendAsync(goal, first ? GoalPrompts.First(goal) : GoalPrompts.Next(goal, goal.LastNote), cancellationToken).ConfigureAwait(false);
        return true;
    }, cancellationToken);

    /// <summary>The session stopped (or failed): an open goal ends <c>stopped</c> (or waits for the owner).</summary>
    public Task SessionEndedAsync(string sessionId, bool failed, CancellationToken cancellationToken) => ExclusivelyAsync(sessionId, () =>
    {
        if (goals.Find(sessionId) is { } goal && !goal.State.IsEnded())
        {
            if (!failed)
            {
                notices.Move(sessionId, goal.State, GoalEvent.Stop, Actor.System, "Its session was stopped.");
            }
            else if (goal.State == GoalState.Active)
            {
                notices.Move(sessionId, goal.State, GoalEvent.CannotGoOn, Actor.System, "Its session's agent failed.");
            }
        }

        return Task.FromResult(true);
    }, cancellationToken);

    private async Task JudgeAsync(Goal goal, StoredEvent ended, TurnCompletedEvent turn, CancellationToken cancellationToken)
    {
        bool met;
        string outcome, note;
        if (goal.CheckCommand is not null)
        {
            var session = sessions.Get(goal.SessionId);
            GoalCheckResult result;
            try
            {
                result = await check.RunAsync(session.ProjectId, session.Id, goal, cancellationToken).ConfigureAwait(false);
            }
            catch (ApiProblem problem)
            {
                // Its worktree gone or being made: never a goal stuck silently, the owner is asked.
                result = new GoalCheckResult(false, "refused", $"The check could not run: {problem.Message}", Refused: true);
            }

            if (result.Refused)
            {
                database.Write(write => goals.Seen(write, goal.SessionId, ended.Seq));
                notices.Move(goal.SessionId, GoalState.Active, GoalEvent.CannotGoOn, Actor.System, result.Note);
                return;
            }

            (met, outcome, note) = (result.Met, result.Outcome, result.Note);
        }
        else
        {
            var reply = LastReply(goal.SessionId, ended.Seq) ?? turn.Result ?? "";
            var verdict = GoalJudge.Verdict(reply);
            (met, outcome, note) = (verdict == GoalVerdict.Met, GoalJudge.Outcome(reply),
                verdict switch { GoalVerdict.Met => "The agent said the goal is met.", GoalVerdict.NotMet => "The agent said the goal is not met yet.", _ => "The agent gave no verdict." });
        }

        var spend = goal.Spend with { Turns = goal.Spend.Turns + 1 };
        var decision = GoalJudge.AfterTurn(goal.Caps, spend, met, outcome, goal.LastOutcome, goal.SameInARow);
        database.Write(write => goals.RecordTurn(write, goal.SessionId, ended.Seq, decision.SameInARow, outcome, note));
        logger.LogInformation("Session {SessionId}: goal turn {Turn} judged {Event}", goal.SessionId, spend.Turns, decision.Event);
        var reason = decision.Event switch
        {
            GoalEvent.Met => $"Met after {spend.Turns} turn{(spend.Turns == 1 ? "" : "s")}: {Shorten(note)}",
            GoalEvent.CapReached => CapReason(goal with { Spend = spend }, decision.Cap!),
            GoalEvent.NoProgress => $"The same outcome {decision.SameInARow} turns in a row: {Shorten(note)}",
            _ => null,
        };
        if (decision.Event != GoalEvent.NotMet)
        {
            notices.Move(goal.SessionId, GoalState.Active, decision.Event, Actor.System, reason);
            return;
        }

        notices.Changed(goal.SessionId);
        await SendAsync(goals.Find(goal.SessionId)!, GoalPrompts.Next(goals.Find(goal.SessionId)!, goal.CheckCommand is null ? null : note), cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task SendAsync(Goal goal, string text, CancellationToken cancellationToken)
    {
        try
        {
            await manager.SendAsync(goal.SessionId, OwnerMessage.FromText(text), goal.SetBy, cancellationToken).ConfigureAwait(false);
        }
        catch (ApiProblem problem)
        {
            // Its setter may no longer steer the session (revoked, or the session's mode is beyond them), or it was stopped.
            notices.Move(goal.SessionId, GoalState.Active, GoalEvent.CannotGoOn, Actor.System, $"Its next turn could not be sent: {problem.Message}");
        }
    }

    /// <summary>The agent's last message of the turn that ended at <paramref name="endSeq"/> (its main thread's, not a subagent's).</summary>
    private string? LastReply(string sessionId, long endSeq)
    {
        foreach (var stored in events.ReadSessionBefore(sessionId, endSeq, 200).Reverse())
        {
            if (stored.Kind == UserMessageEvent.Kind)
            {
                return null;
            }

            if (stored.As<MessageEvent>() is { ParentToolCallId: null } message)
            {
                return message.Text;
            }
        }

        return null;
    }

    private static string CapReason(Goal goal, string cap) => cap switch
    {
        GoalJudge.TurnsCap => $"Its turn cap ({goal.Caps.Turns}) was reached before it was met.",
        GoalJudge.TokensCap => $"Its token cap ({goal.Caps.Tokens:N0}) was reached before it was met.",
        _ => $"Its wall-time cap ({goal.Caps.Minutes} min) was reached before it was met.",
    };

    private static string Shorten(string note) => note.Length > 300 ? note[..300] + "…" : note;
}
