-- The session list pages back by a cursor (issue #52): newest first by (created_at, id), so two sessions created in the same
-- instant are neither shown twice nor skipped at a page's edge. These replace 032's indexes on created_at alone.
DROP INDEX sessions_created;
DROP INDEX sessions_project_created;
CREATE INDEX sessions_created_id ON sessions (created_at, id);
CREATE INDEX sessions_project_created_id ON sessions (project_id, created_at, id);
-- Which session holds an agent's conversation (continuing one begun in a terminal; the conversations list): read per
-- conversation, so off an index, not a walk of every session.
CREATE INDEX sessions_conversation ON sessions (agent, agent_session_id);
