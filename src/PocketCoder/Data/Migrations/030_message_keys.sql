-- The keys phones give the messages they send (SendMessageRequest.clientId): a phone that lost the answer to a send, or kept
-- a message in its outbox while offline, sends it again with the same key, and the session takes it once.
CREATE TABLE message_keys (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
) WITHOUT ROWID;
