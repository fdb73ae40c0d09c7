-- Where each device wants to be told things: a browser's Web Push subscription, an ntfy topic, or both.
-- The last_* columns are what the Devices screen and health show: when it last worked, and how it last failed.
CREATE TABLE notification_channels (
    device_id       TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,           -- 'web_push' | 'ntfy'
    endpoint        TEXT NOT NULL,           -- the push service URL, or the ntfy topic URL
    p256dh          TEXT,                    -- Web Push: the browser's public key (base64url)
    auth            TEXT,                    -- Web Push: the browser's auth secret (base64url)
    token           TEXT,                    -- ntfy: an access token, if the topic needs one
    created_at      TEXT NOT NULL,
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    failures        INTEGER NOT NULL DEFAULT 0, -- consecutive
    PRIMARY KEY (device_id, kind)
);

-- Per device: what notifies, how much a notification says, quiet hours (JSON, see NotificationSettings).
CREATE TABLE notification_settings (
    device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    settings  TEXT NOT NULL
);

-- Every send and every deliberate non-send (suppressed because the device was looking). Kept to the newest 2,000.
CREATE TABLE notification_deliveries (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    channel   TEXT NOT NULL,
    event     TEXT NOT NULL,
    subject   TEXT,
    at        TEXT NOT NULL,
    outcome   TEXT NOT NULL,                 -- 'sent' | 'failed' | 'expired' | 'suppressed'
    status    INTEGER,
    detail    TEXT
);
CREATE INDEX notification_deliveries_device ON notification_deliveries(device_id, id);
