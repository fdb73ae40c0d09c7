-- Whether the agent runs an edited allow of this call (PermissionRequest.CanEditInput), kept with the question so that
-- listing and deciding need not ask which agent the session runs. Only Claude Code's calls could be edited until now.
ALTER TABLE approvals ADD COLUMN can_edit_input INTEGER NOT NULL DEFAULT 0;
UPDATE approvals SET can_edit_input = 1 WHERE session_id IN (SELECT id FROM sessions WHERE agent = 'claude-code');
