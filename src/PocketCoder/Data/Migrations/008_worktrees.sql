-- A session's own git worktree (SessionWorktrees): its branch, the base it merges into, and where it is checked out
-- (under the data folder). removed_at: the worktree is gone (the branch may live on).
CREATE TABLE session_worktrees (
    session_id  TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    branch      TEXT NOT NULL,
    base_ref    TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    removed_at  TEXT
);
