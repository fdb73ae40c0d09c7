-- A session's goal (docs/goals.md): what it is, how it is checked, its caps, where it stands and what it has spent, so a
-- restart reads it back and goes on. One per session; a new goal replaces an ended one.
CREATE TABLE session_goals (
    session_id        TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    objective         TEXT NOT NULL,
    check_command     TEXT,
    state             TEXT NOT NULL,
    max_turns         INTEGER NOT NULL,
    max_minutes       INTEGER NOT NULL,
    max_tokens        INTEGER NOT NULL,
    no_progress_turns INTEGER NOT NULL,
    turns             INTEGER NOT NULL DEFAULT 0,
    same_in_a_row     INTEGER NOT NULL DEFAULT 0,
    last_outcome      TEXT,
    last_note         TEXT,
    -- What the session had spent when the goal was set: the goal's spend is the session's since.
    base_tokens       INTEGER NOT NULL,
    base_cost_usd     REAL NOT NULL,
    tokens            INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL NOT NULL DEFAULT 0,
    -- Wall time counts while active: what earlier stretches added, and when the current one began (null: not active).
    elapsed_ms        INTEGER NOT NULL DEFAULT 0,
    active_since      TEXT,
    -- The seq of the last turn.completed the loop judged: a turn that ended while the server was down is judged at its start.
    judged_seq        INTEGER NOT NULL DEFAULT 0,
    set_by            TEXT NOT NULL,
    set_by_device     TEXT NOT NULL,
    set_at            TEXT NOT NULL,
    ended_at          TEXT,
    end_reason        TEXT
);
