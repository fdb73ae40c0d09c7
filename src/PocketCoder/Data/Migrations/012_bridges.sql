-- Chat bridges (Slack, Telegram, Feishu). Their tokens live in bridges.json (0600), never here.

-- A chat user linked with a pairing code: a device like any phone (revoking the device unlinks them).
CREATE TABLE bridge_people (
    bridge_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(id),
    user_name TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (bridge_id, user_id)
);

-- A chat (channel, group, direct chat) bound to a project; session_id is the chat's current session. A chat steers
-- only while the person who bound it is linked: revoking their device unbinds it (Devices.Revoke).
CREATE TABLE bridge_channels (
    bridge_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    chat_title TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    agent TEXT,
    session_id TEXT,
    bound_by TEXT NOT NULL,
    bound_by_device TEXT NOT NULL,
    bound_at TEXT NOT NULL,
    PRIMARY KEY (bridge_id, chat_id)
);
CREATE INDEX bridge_channels_session ON bridge_channels(session_id);
CREATE INDEX bridge_channels_binder ON bridge_channels(bound_by_device);

-- The message showing an approval in a chat, with the nonce its buttons carry: a press is taken only for this
-- message of this chat, and the message is updated when the approval is decided anywhere.
CREATE TABLE bridge_approval_messages (
    bridge_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    approval_id TEXT NOT NULL,
    message_id TEXT,
    nonce TEXT NOT NULL,
    settled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bridge_id, chat_id, approval_id)
);

-- Where each bridge's platform stream resumes (e.g. Telegram's update offset), and what it ignored.
CREATE TABLE bridge_state (
    bridge_id TEXT PRIMARY KEY,
    cursor TEXT,
    ignored INTEGER NOT NULL DEFAULT 0
);

-- Deliveries already handled: a platform that delivers one twice (a retry) is answered once.
CREATE TABLE bridge_deliveries (
    bridge_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (bridge_id, delivery_id)
);
