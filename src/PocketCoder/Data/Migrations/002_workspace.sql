-- One-shot shell commands run from a device: kept 7 days or 10,000 runs, whichever is fewer.
-- output holds the run's chunks as a JSON array of {stream, text} (at most 300 KB of text), so a
-- finished run replays with the same SSE ids it streamed live.
CREATE TABLE commands (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    command      TEXT NOT NULL,
    status       TEXT NOT NULL,
    started_by   TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    exit_code    INTEGER,
    duration_ms  INTEGER,
    timed_out    INTEGER NOT NULL DEFAULT 0,
    cancelled    INTEGER NOT NULL DEFAULT 0,
    truncated    INTEGER NOT NULL DEFAULT 0,
    output_bytes INTEGER NOT NULL DEFAULT 0,
    output       TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX commands_started ON commands(started_at);
CREATE INDEX commands_project ON commands(project_id, started_at);
