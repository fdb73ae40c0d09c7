using Microsoft.Data.Sqlite;
using PocketCoder.Auth;
using PocketCoder.Data;

namespace PocketCoder.Goals;

/// <summary>A session's goal as stored, with its spend as of now.</summary>
/// <param name="CheckCommand">Run in the session's worktree after each turn; exit 0 = met. Null: the agent's own verdict.</param>
/// <param name="SameInARow">How many turns in a row ended with <paramref name="LastOutcome"/>.</param>
/// <param name="LastNote">What the last turn's check or verdict said, for the owner (the check's exit and output tail).</param>
/// <param name="JudgedSeq">The seq of the last <c>turn.completed</c> the loop judged.</param>
/// <param name="Reason">Why it ended (the cap reached, who stopped it), waits for the owner, or was paused.</param>
public sealed record Goal(string SessionId, string Objective, string? CheckCommand, GoalState State, GoalCaps Caps, GoalSpend Spend,
    int SameInARow, string? LastOutcome, string? LastNote, long JudgedSeq, Actor SetBy, DateTimeOffset SetAt, DateTimeOffset? EndedAt, string? Reason);

/// <summary>
/// The goals table (migration 046): one goal per session, its state moved only as <see cref="GoalLifecycle"/> says and only
/// where the row still holds the state the table moved from. Its spend is the session's since the goal was set (read live
/// from the session's carried spend until it ends, then kept), its wall time counted only while it is active.
/// </summary>
public sealed class GoalStore(Database database, TimeProvider clock)
{
    private const string Select = """
        SELECT g.session_id, g.objective, g.check_command, g.state, g.max_turns, g.max_minutes, g.max_tokens, g.no_progress_turns,
            g.turns, g.same_in_a_row, g.last_outcome, g.last_note, g.base_tokens, g.base_cost_usd, g.tokens, g.cost_usd, g.elapsed_ms,
            g.active_since, g.judged_seq, g.set_by, g.set_by_device, g.set_at, g.ended_at, g.end_reason,
            COALESCE(s.tokens, 0), COALESCE(s.cost_usd, 0)
        FROM session_goals g LEFT JOIN session_spend s ON s.session_id = g.session_id
        """;

    public Goal? Find(string sessionId) =>
        database.Read(connection => connection.Query($"{Select} WHERE g.session_id = $id", Map, ("$id", sessionId))).FirstOrDefault();

    public Goal? Find(DbWrite write, string sessionId) => write.Query($"{Select} WHERE g.session_id = $id", Map, ("$id", sessionId)).FirstOrDefault();

    /// <summary>The goals that are not ended (active, paused or waiting for the owner).</summary>
    public IReadOnlyList<Goal> Open() => database.Read(connection =>
        connection.Query($"{Select} WHERE g.ended_at IS NULL", Map));

    /// <summary>The goals of these sessions, in one read (the session list).</summary>
    public IReadOnlyDictionary<string, Goal> Of(IEnumerable<string> sessionIds)
    {
        var ids = new System.Text.Json.Nodes.JsonArray([.. sessionIds.Select(id => System.Text.Json.Nodes.JsonValue.Create(id))]).ToJsonString();
        return database.Read(connection => connection.Query($"{Select} WHERE g.session_id IN (SELECT value FROM json_each($ids))", Map, ("$ids", ids)))
            .ToDictionary(g => g.SessionId, StringComparer.Ordinal);
    }

    /// <summary>A new goal, active now, replacing an ended one; its spend counts from what the session has spent so far.</summary>
    /// <remarks>A turn that ended before the goal was set is not its turn: the session's last event so far counts as judged.</remarks>
    public void Set(DbWrite write, string sessionId, string objective, string? check, GoalCaps caps, Actor actor)
    {
        var now = clock.GetUtcNow().ToDb();
        write.Execute("DELETE FROM session_goals WHERE session_id = $id", ("$id", sessionId));
        write.Execute(
            """
            INSERT INTO session_goals (session_id, objective, check_command, state, max_turns, max_minutes, max_tokens, no_progress_turns,
                base_tokens, base_cost_usd, active_since, judged_seq, set_by, set_by_device, set_at)
            SELECT $id, $objective, $check, $state, $turns, $minutes, $tokens, $same, COALESCE(s.tokens, 0), COALESCE(s.cost_usd, 0), $now,
                (SELECT COALESCE(MAX(e.seq), 0) FROM events e WHERE e.session_id = $id),
                $by, $device, $now
            FROM (SELECT 1) LEFT JOIN session_spend s ON s.session_id = $id
            """,
            ("$id", sessionId), ("$objective", objective), ("$check", check), ("$state", GoalState.Active.ToWire()), ("$turns", caps.Turns),
            ("$minutes", caps.Minutes), ("$tokens", caps.Tokens), ("$same", caps.NoProgressTurns), ("$now", now),
            ("$by", actor.Name), ("$device", actor.Id));
    }

    /// <summary>Changes what an open goal is, how it is checked and its caps; its state and spend stay.</summary>
    public void Edit(DbWrite write, string sessionId, string objective, string? check, GoalCaps caps) => write.Execute(
        """
        UPDATE session_goals SET objective = $objective, check_command = $check, max_turns = $turns, max_minutes = $minutes,
            max_tokens = $tokens, no_progress_turns = $same WHERE session_id = $id AND ended_at IS NULL
        """,
        ("$id", sessionId), ("$objective", objective), ("$check", check), ("$turns", caps.Turns), ("$minutes", caps.Minutes),
        ("$tokens", caps.Tokens), ("$same", caps.NoProgressTurns));

    /// <summary>A judged turn: counted, with its outcome and what it said.</summary>
    public void RecordTurn(DbWrite write, string sessionId, long seq, int sameInARow, string outcome, string note) => write.Execute(
        """
        UPDATE session_goals SET turns = turns + 1, judged_seq = $seq, same_in_a_row = $same, last_outcome = $outcome, last_note = $note
        WHERE session_id = $id AND state = 'active'
        """,
        ("$id", sessionId), ("$seq", seq), ("$same", sameInARow), ("$outcome", outcome), ("$note", note));

    /// <summary>A turn that ended while the goal was not active is not its turn: marked seen, never judged later.</summary>
    public void Seen(DbWrite write, string sessionId, long seq) =>
        write.Execute("UPDATE session_goals SET judged_seq = MAX(judged_seq, $seq) WHERE session_id = $id", ("$id", sessionId), ("$seq", seq));

    /// <summary>
    /// Moves the goal as the table says, where it still stands in <paramref name="from"/>: its wall time stops or starts with its
    /// being active, going on again counts its no-progress turns afresh, and an end keeps its spend and why.
    /// </summary>
    /// <returns>The state it moved to, or null when the table does not allow it or it was moved meanwhile.</returns>
    public GoalState? Move(DbWrite write, string sessionId, GoalState from, GoalEvent @event, string? reason = null)
    {
        if (GoalLifecycle.Next(from, @event) is not { } to)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        var moved = write.Execute(
            """
            UPDATE session_goals SET state = $to,
                elapsed_ms = elapsed_ms + CASE WHEN active_since IS NOT NULL AND $to <> 'active'
                    THEN MAX(0, CAST((julianday($now) - julianday(active_since)) * 86400000 AS INTEGER)) ELSE 0 END,
                active_since = CASE WHEN $to = 'active' THEN COALESCE(active_since, $now) ELSE NULL END,
                same_in_a_row = CASE WHEN $reset THEN 0 ELSE same_in_a_row END,
                tokens = CASE WHEN $ended THEN MAX(0, COALESCE((SELECT s.tokens FROM session_spend s WHERE s.session_id = $id), 0) - base_tokens) ELSE tokens END,
                cost_usd = CASE WHEN $ended THEN MAX(0, COALESCE((SELECT s.cost_usd FROM session_spend s WHERE s.session_id = $id), 0) - base_cost_usd) ELSE cost_usd END,
                ended_at = CASE WHEN $ended THEN $now ELSE NULL END,
                end_reason = CASE WHEN $ended OR $to IN ('waiting_for_owner', 'paused') THEN $reason ELSE NULL END
            WHERE session_id = $id AND state = $from
            """,
            ("$id", sessionId), ("$from", from.ToWire()), ("$to", to.ToWire()), ("$now", now.ToDb()), ("$reason", reason),
            ("$ended", to.IsEnded() ? 1 : 0), ("$reset", @event is GoalEvent.OwnerContinue or GoalEvent.Resume ? 1 : 0));
        return moved == 1 ? to : null;
    }

    public bool Delete(DbWrite write, string sessionId) => write.Execute("DELETE FROM session_goals WHERE session_id = $id", ("$id", sessionId)) == 1;

    private Goal Map(SqliteDataReader r)
    {
        var state = GoalLifecycle.FromWire(r.GetString(3));
        var ended = r.NullableTime(22);
        var activeSince = r.NullableTime(17);
        var elapsed = TimeSpan.FromMilliseconds(r.GetInt64(16)) + (activeSince is { } since ? Max(clock.GetUtcNow() - since) : TimeSpan.Zero);
        // Live until it ends (the session's carried spend less what it had spent before), then as it was when it ended.
        var spend = ended is null
            ? new GoalSpend(r.GetInt32(8), elapsed, Math.Max(0, r.GetInt64(24) - r.GetInt64(12)), Math.Max(0, (decimal)(r.GetDouble(25) - r.GetDouble(13))))
            : new GoalSpend(r.GetInt32(8), elapsed, r.GetInt64(14), (decimal)r.GetDouble(15));
        return new Goal(r.GetString(0), r.GetString(1), r.NullableString(2), state,
            new GoalCaps(r.GetInt32(4), r.GetInt32(5), r.GetInt64(6), r.GetInt32(7)), spend with { CostUsd = Math.Round(spend.CostUsd, 6) },
            r.GetInt32(9), r.NullableString(10), r.NullableString(11), r.GetInt64(18), new Actor(r.GetString(20), r.GetString(19)), r.Time(21), ended,
            r.NullableString(23));
    }

    private static TimeSpan Max(TimeSpan span) => span < TimeSpan.Zero ? TimeSpan.Zero : span;
}
