-- Messages the owner sent while a turn ran (MessageQueue): each starts a turn of its own, in order, once the one before
-- has ended; until then it can be edited or removed. attachments: what came with it, as sent (name and base64 data), so
-- the prompt is built when it starts; attachment_infos: what the app shows of them. started_at: being sent to the agent
-- (the row goes once the agent has it; a failed send, or a restart in between, puts it back).
CREATE TABLE queued_messages (
    id               TEXT PRIMARY KEY,
    session_id       TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    text             TEXT NOT NULL,
    attachments      TEXT,
    attachment_infos TEXT,
    sent_by          TEXT NOT NULL,
    queued_at        TEXT NOT NULL,
    started_at       TEXT
);
CREATE INDEX queued_messages_by_session ON queued_messages (session_id, position);
