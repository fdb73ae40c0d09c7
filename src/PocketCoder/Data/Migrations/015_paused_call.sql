-- The tool call a session's agent paused on while it waited for the owner: the agent's transcript keeps the call
-- open, and whatever resumes the agent must apply the owner's decision to it (or deny it), never let it run unasked.
ALTER TABLE sessions ADD COLUMN paused_call TEXT;
