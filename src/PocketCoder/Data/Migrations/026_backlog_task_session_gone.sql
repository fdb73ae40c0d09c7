-- A session that never got going (its agent could not start) is deleted (SessionManager.DiscardUnstartedAsync), and the
-- backlog task that started it kept its id: the phone linked a failed task to a session that answered 404. A task now
-- forgets a session that is deleted, in the same statement; the ones already pointing nowhere are cleared.
UPDATE backlog_tasks SET session_id = NULL WHERE session_id IS NOT NULL AND session_id NOT IN (SELECT id FROM sessions);
CREATE TRIGGER IF NOT EXISTS backlog_tasks_forget_deleted_session AFTER DELETE ON sessions
BEGIN
    UPDATE backlog_tasks SET session_id = NULL WHERE session_id = OLD.id;
END;
