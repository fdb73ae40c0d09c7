-- A session's worktree while it is being made, after the session was answered (SessionWorktrees.Preparing.cs): what to make
-- it from, so a restart finishes it. failed: why it could not be made (or that the session was stopped first); the row then
-- stays, so the session never starts its agent in the project's own folder instead. Gone once the worktree is recorded.
CREATE TABLE session_preparations (
    session_id  TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    base_ref    TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    failed      TEXT
);
