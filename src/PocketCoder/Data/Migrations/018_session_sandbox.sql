-- How a session's agent runs (sandboxed or none), set each time it starts: the owner sees what applies to each session.
ALTER TABLE sessions ADD COLUMN sandbox TEXT;
