-- Whether a new session of the project works on a branch of its own (a worktree) unless asked otherwise.
ALTER TABLE projects ADD COLUMN worktree_default INTEGER NOT NULL DEFAULT 0;
