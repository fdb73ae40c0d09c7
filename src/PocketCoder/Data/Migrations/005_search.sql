-- Finding a session again: every prompt the owner sent is indexed (SQLite FTS5), and each session keeps a one-line
-- preview of its latest message. Both are kept by triggers on the event log, in the transaction that appends the
-- event, so they can never disagree with it. A session's title is its first prompt cut short, so prompts cover it.
ALTER TABLE sessions ADD COLUMN preview TEXT;

CREATE VIRTUAL TABLE session_search USING fts5(text, session_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER events_index_prompt AFTER INSERT ON events WHEN NEW.kind = 'message.user'
BEGIN
    INSERT INTO session_search (text, session_id) VALUES (json_extract(NEW.data, '$.text'), NEW.session_id);
END;

CREATE TRIGGER events_preview AFTER INSERT ON events WHEN NEW.kind IN ('message.user', 'message')
BEGIN
    UPDATE sessions SET preview = substr(trim(replace(replace(json_extract(NEW.data, '$.text'), char(10), ' '), char(13), ' ')), 1, 200)
    WHERE id = NEW.session_id;
END;

CREATE TRIGGER sessions_unindex AFTER DELETE ON sessions
BEGIN
    DELETE FROM session_search WHERE session_id = OLD.id;
END;

INSERT INTO session_search (text, session_id)
SELECT json_extract(data, '$.text'), session_id FROM events WHERE kind = 'message.user' ORDER BY id;

UPDATE sessions SET preview = (
    SELECT substr(trim(replace(replace(json_extract(e.data, '$.text'), char(10), ' '), char(13), ' ')), 1, 200)
    FROM events e WHERE e.session_id = sessions.id AND e.kind IN ('message.user', 'message') ORDER BY e.seq DESC LIMIT 1);
