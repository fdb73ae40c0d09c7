-- Who started a session, as the lists name them: the starting device's person (the device's own name for one that is no
-- one's), kept as it was then. Sessions started before this column existed are given the actor of their ledger entry
-- (session.started, or session.continued for a conversation carried on from a terminal).
ALTER TABLE sessions ADD COLUMN started_by TEXT;
UPDATE sessions SET started_by = (
    SELECT actor FROM ledger WHERE subject = sessions.id AND action IN ('session.started', 'session.continued') ORDER BY seq LIMIT 1);
