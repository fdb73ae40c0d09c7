-- Rewind and fork (docs/steering.md): where each turn's conversation can be cut after (Claude's chain entry that ended it, for
-- --resume-session-at; NULL for an agent that cannot fork its conversation), and, on a session made by a rewind or fork, the
-- earlier conversation its agent starts as a copy of until its first turn ends (the copy is the agent's own from then on).
ALTER TABLE turn_reviews ADD COLUMN resume_at TEXT;
ALTER TABLE sessions ADD COLUMN fork_conversation TEXT;
ALTER TABLE sessions ADD COLUMN fork_at TEXT;
-- A fork's worktree starts with its files as at the opening of the turn it forks from, not as its base commit has them.
ALTER TABLE session_preparations ADD COLUMN start_tree TEXT;
