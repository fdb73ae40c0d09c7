-- Agent profiles: named presets per project for starting a session (agent, model, mode, own branch, instructions).
CREATE TABLE agent_profiles (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    agent TEXT NOT NULL,
    model TEXT,
    mode TEXT,
    worktree INTEGER,
    instructions TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, name)
);

-- The profile a session was started with, by name as it was then, and the instructions it added (kept with the session:
-- a restart resumes the agent with them, whatever became of the profile since).
ALTER TABLE sessions ADD COLUMN profile TEXT;
ALTER TABLE sessions ADD COLUMN instructions TEXT;
