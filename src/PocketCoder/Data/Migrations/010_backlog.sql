-- A project's backlog (Backlog/): tasks that start one after another, each as a session of its own, and schedules that
-- add a task to it at the times of a cron expression.
-- status: waiting | running | done | failed | removed. schedule_id: the schedule that added it (null: added by hand).
CREATE TABLE backlog_tasks (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    prompt      TEXT NOT NULL,
    agent       TEXT NOT NULL,
    mode        TEXT NOT NULL,
    model       TEXT,
    worktree    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    session_id  TEXT,
    schedule_id TEXT,
    problem     TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
CREATE INDEX backlog_tasks_by_project ON backlog_tasks (project_id, status, position);
CREATE INDEX backlog_tasks_by_session ON backlog_tasks (session_id);

-- next_run_at: the next time the expression gives (UTC), advanced in the same transaction that adds the run's task, so
-- a restart never runs one time twice. missed_runs / last_missed_at: times that went by while the server was down.
CREATE TABLE schedules (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    cron           TEXT NOT NULL,
    time_zone      TEXT NOT NULL,
    prompt         TEXT NOT NULL,
    agent          TEXT NOT NULL,
    mode           TEXT NOT NULL,
    model          TEXT,
    worktree       INTEGER NOT NULL,
    enabled        INTEGER NOT NULL,
    next_run_at    TEXT,
    last_run_at    TEXT,
    missed_runs    INTEGER NOT NULL DEFAULT 0,
    last_missed_at TEXT,
    created_at     TEXT NOT NULL
);
